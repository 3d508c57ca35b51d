//! A 2-D k-d tree over point indices (kiddo), for neighbour queries in x/y.

use kiddo::{ImmutableKdTree, SquaredEuclidean};
use std::num::NonZero;

/// Immutable 2-D k-d tree over `(x, y)`; item `i` is the `i`-th point given.
pub struct KdIndex2 {
    tree: ImmutableKdTree<f64, 2>,
}

impl KdIndex2 {
    /// Builds the tree from coordinate columns of equal length.
    pub fn new(x: &[f64], y: &[f64]) -> Self {
        let pts: Vec<[f64; 2]> = x.iter().zip(y).map(|(&a, &b)| [a, b]).collect();
        KdIndex2 {
            tree: ImmutableKdTree::new_from_slice(&pts),
        }
    }

    /// The `k` nearest items to `(x, y)`: `(index, distance)` sorted by distance.
    pub fn nearest(&self, x: f64, y: f64, k: usize) -> Vec<(usize, f64)> {
        let Some(k) = NonZero::new(k) else {
            return Vec::new();
        };
        self.tree
            .nearest_n::<SquaredEuclidean>(&[x, y], k)
            .into_iter()
            .map(|nn| (nn.item as usize, nn.distance.sqrt()))
            .collect()
    }

    /// All items within `radius` of `(x, y)`, unsorted: `(index, distance)`.
    pub fn within(&self, x: f64, y: f64, radius: f64) -> Vec<(usize, f64)> {
        self.tree
            .within_unsorted::<SquaredEuclidean>(&[x, y], radius * radius)
            .into_iter()
            .map(|nn| (nn.item as usize, nn.distance.sqrt()))
            .collect()
    }
}

/// Point indices binned into the square cells of a grid over the points' extent (one counting
/// sort): the points near a rectangle are found by visiting the cells it meets instead of
/// testing every point, e.g. the points of each field plot among a chunk's.
pub struct CellIndex {
    x0: f64,
    y0: f64,
    cell_m: f64,
    ncols: usize,
    nrows: usize,
    /// `starts[c]..starts[c + 1]`: the run of cell `c` (row-major, row 0 at `y0`) in `items`.
    starts: Vec<u32>,
    /// Point indices by cell, ascending within a cell.
    items: Vec<u32>,
}

impl CellIndex {
    /// Bins the points `(x[i], y[i])` into cells of `cell_m` metres (larger when the extent
    /// would need more cells than points). Points with a non-finite coordinate are left out.
    pub fn new(x: &[f64], y: &[f64], cell_m: f64) -> Self {
        assert_eq!(x.len(), y.len(), "coordinate columns of one length");
        assert!(
            u32::try_from(x.len()).is_ok(),
            "CellIndex holds at most 2^32 - 1 points"
        );
        let finite = |i: usize| x[i].is_finite() && y[i].is_finite();
        let (mut x0, mut y0, mut x1, mut y1) = (f64::MAX, f64::MAX, f64::MIN, f64::MIN);
        for i in (0..x.len()).filter(|&i| finite(i)) {
            x0 = x0.min(x[i]);
            y0 = y0.min(y[i]);
            x1 = x1.max(x[i]);
            y1 = y1.max(y[i]);
        }
        if x0 > x1 {
            (x0, y0, x1, y1) = (0.0, 0.0, 0.0, 0.0);
        }
        // At most about one cell per point, so that a sparse cloud over a wide extent does not
        // allocate a huge grid.
        let area = (x1 - x0) * (y1 - y0);
        let cell_m = cell_m.max((area / x.len().max(1) as f64).sqrt()).max(1e-9);
        let ncols = ((x1 - x0) / cell_m) as usize + 1;
        let nrows = ((y1 - y0) / cell_m) as usize + 1;
        let mut index = CellIndex {
            x0,
            y0,
            cell_m,
            ncols,
            nrows,
            starts: vec![0; ncols * nrows + 1],
            items: Vec::new(),
        };
        let cell: Vec<u32> = (0..x.len())
            .map(|i| {
                if finite(i) {
                    let (c, r) = (index.col(x[i]), index.row(y[i]));
                    (r * ncols + c) as u32
                } else {
                    u32::MAX
                }
            })
            .collect();
        for &c in cell.iter().filter(|&&c| c != u32::MAX) {
            index.starts[c as usize + 1] += 1;
        }
        for c in 0..ncols * nrows {
            index.starts[c + 1] += index.starts[c];
        }
        let mut fill = index.starts.clone();
        index.items = vec![0; index.starts[ncols * nrows] as usize];
        for (i, &c) in cell.iter().enumerate().filter(|(_, &c)| c != u32::MAX) {
            let slot = &mut fill[c as usize];
            index.items[*slot as usize] = i as u32;
            *slot += 1;
        }
        index
    }

    /// The column of `x`, clamped to the grid (truncation of a non-negative offset is its
    /// floor; a negative one saturates to 0). Monotonic in `x`.
    fn col(&self, x: f64) -> usize {
        (((x - self.x0) / self.cell_m) as usize).min(self.ncols - 1)
    }

    fn row(&self, y: f64) -> usize {
        (((y - self.y0) / self.cell_m) as usize).min(self.nrows - 1)
    }

    /// Replaces `out` with the indices, ascending, of the points in the cells that meet the
    /// rectangle `[xmin, ymin, xmax, ymax]`: every point inside the rectangle, and others near
    /// it, for the caller's exact test.
    pub fn candidates(&self, rect: [f64; 4], out: &mut Vec<usize>) {
        out.clear();
        if self.items.is_empty() || !(rect[0] <= rect[2] && rect[1] <= rect[3]) {
            return;
        }
        let (c0, c1) = (self.col(rect[0]), self.col(rect[2]));
        let (r0, r1) = (self.row(rect[1]), self.row(rect[3]));
        for r in r0..=r1 {
            let (a, b) = (
                self.starts[r * self.ncols + c0] as usize,
                self.starts[r * self.ncols + c1 + 1] as usize,
            );
            out.extend(self.items[a..b].iter().map(|&i| i as usize));
        }
        out.sort_unstable();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cell_index_candidates_hold_every_point_of_the_rectangle_in_order() {
        let mut u = crate::testdata::uniform(7);
        let (x, y): (Vec<f64>, Vec<f64>) = (0..5000).map(|_| (u() * 100.0, u() * 100.0)).unzip();
        let index = CellIndex::new(&x, &y, 7.0);
        let mut got = Vec::new();
        for rect in [
            [10.0, 20.0, 35.0, 28.0],
            [-50.0, -50.0, 5.0, 200.0],
            [99.0, 99.0, 300.0, 300.0],
            [40.0, 40.0, 40.0, 40.0],
        ] {
            index.candidates(rect, &mut got);
            assert!(got.windows(2).all(|w| w[0] < w[1]), "ascending, no repeat");
            let inside: Vec<usize> = (0..x.len())
                .filter(|&i| {
                    x[i] >= rect[0] && x[i] <= rect[2] && y[i] >= rect[1] && y[i] <= rect[3]
                })
                .collect();
            let kept: Vec<usize> = got
                .iter()
                .copied()
                .filter(|&i| {
                    x[i] >= rect[0] && x[i] <= rect[2] && y[i] >= rect[1] && y[i] <= rect[3]
                })
                .collect();
            assert_eq!(kept, inside, "rectangle {rect:?}");
            assert!(got.len() < x.len(), "a subset, not every point");
        }
        // An empty rectangle or an empty cloud: no candidate.
        index.candidates([5.0, 5.0, 4.0, 6.0], &mut got);
        assert!(got.is_empty());
        CellIndex::new(&[], &[], 5.0).candidates([0.0, 0.0, 1.0, 1.0], &mut got);
        assert!(got.is_empty());
    }
}

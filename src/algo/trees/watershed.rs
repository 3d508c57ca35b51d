//! Marker-controlled watershed of the inverted CHM: crowns flood down from the tree tops
//! (Meyer's priority flooding; lidR `mcwatershed(chm, treetops, th_tree = 2)`, ForestTools
//! `mcws`).
//!
//! Each tree top is a marker. Cells are taken from a priority queue highest first; a taken
//! cell hands its label to its unlabelled 4-neighbours that are above `th_tree_m` and queues
//! them. Every cell above `th_tree_m` that is connected to a marker through such cells is
//! labelled by the marker whose flood reaches it first, which puts the crown boundaries on the
//! valleys of the CHM. Unlike region growing ([`super::dalponte2016`]) there is no limit on
//! crown size or on the height drop within a crown; smooth the CHM first (see
//! [`crate::algo::canopy::smooth`]) to avoid ragged boundaries.
//!
//! Parameters: `th_tree_m` (default 2 m, lidR). Determinism: queue ties (equal heights) are
//! broken by cell position (northernmost, then westernmost first), so the result depends neither
//! on input order nor on chunking. Seed cells are labelled whatever their value.
//!
//! Reference: Meyer F., Beucher S. (1990). Morphological segmentation. Journal of Visual
//! Communication and Image Representation 1(1), 21–46.
//!
//! See also: [`super::dalponte2016`], [`super::lmf`].

use super::Seed;
use crate::algo::canopy::is_valid;
use crate::raster::Raster;
use std::cmp::Ordering;
use std::collections::BinaryHeap;

#[derive(Debug, Clone, Copy, PartialEq)]
struct Item {
    v: f32,
    /// Global row (grows southward) and column of the cell, for tie-breaking.
    grow: i64,
    gcol: i64,
    cell: usize,
}

impl Eq for Item {}

impl Ord for Item {
    fn cmp(&self, o: &Self) -> Ordering {
        // Max-heap: higher value first; then smaller global row (north), then smaller column.
        self.v
            .total_cmp(&o.v)
            .then_with(|| o.grow.cmp(&self.grow))
            .then_with(|| o.gcol.cmp(&self.gcol))
    }
}

impl PartialOrd for Item {
    fn partial_cmp(&self, o: &Self) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}

/// Floods `chm` from `seeds`; returns the label raster (label `k + 1` for `seeds[k]`, 0 = none).
pub fn watershed(chm: &Raster<f32>, seeds: &[Seed], th_tree_m: f64) -> Raster<u32> {
    let g = chm.grid;
    let (nr, nc) = (g.nrows, g.ncols);
    // Global cell indices: the grid is aligned to multiples of res.
    let row0 = (-(g.y_max / g.res_m)).round() as i64;
    let col0 = (g.x_min / g.res_m).round() as i64;
    let mut label: Raster<u32> = Raster::filled(g, 0);
    let mut heap = BinaryHeap::new();
    let item = |r: usize, c: usize, v: f32| Item {
        v,
        grow: row0 + r as i64,
        gcol: col0 + c as i64,
        cell: r * nc + c,
    };
    for (k, s) in seeds.iter().enumerate() {
        if s.row >= nr || s.col >= nc {
            continue;
        }
        let v = chm.data[[s.row, s.col]];
        let v = if is_valid(v) { v } else { s.height_m as f32 };
        label.data[[s.row, s.col]] = k as u32 + 1;
        heap.push(item(s.row, s.col, v));
    }
    while let Some(it) = heap.pop() {
        let (r, c) = (it.cell / nc, it.cell % nc);
        let id = label.data[[r, c]];
        for (ru, cu) in super::neighbours4(r, c, nr, nc) {
            if label.data[[ru, cu]] != 0 {
                continue;
            }
            let v = chm.data[[ru, cu]];
            if !is_valid(v) || (v as f64) <= th_tree_m {
                continue;
            }
            label.data[[ru, cu]] = id;
            heap.push(item(ru, cu, v));
        }
    }
    label
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::raster::Grid;

    #[test]
    fn boundary_on_the_valley() {
        // A 1-D profile along a row: two peaks (20 at col 5, 14 at col 15), valley at col 11.
        let g = Grid {
            x_min: 0.0,
            y_max: 3.0,
            res_m: 1.0,
            ncols: 21,
            nrows: 3,
        };
        let mut chm = Raster::filled(g, 0.0f32);
        for r in 0..3 {
            for c in 0..21 {
                let a = 20.0 - 2.0 * (c as f32 - 5.0).abs();
                let b = 14.0 - 2.0 * (c as f32 - 15.0).abs();
                chm.data[[r, c]] = a.max(b).max(0.0);
            }
        }
        let seeds = vec![
            Seed::new(1, 5, 5.5, 1.5, 20.0),
            Seed::new(1, 15, 15.5, 1.5, 14.0),
        ];
        let l = watershed(&chm, &seeds, 2.0);
        // Heights: a(c) = 20 − 2|c − 5|, b(c) = 14 − 2|c − 15|; equal at c = 11.5.
        for c in 0..=11 {
            if chm.data[[1, c]] > 2.0 {
                assert_eq!(l.data[[1, c]], 1, "col {c}");
            }
        }
        for c in 12..21 {
            if chm.data[[1, c]] > 2.0 {
                assert_eq!(l.data[[1, c]], 2, "col {c}");
            }
        }
        // Cells at or below th_tree stay unlabelled.
        assert_eq!(l.data[[1, 20]], 2); // value 4
        assert_eq!(l.data[[1, 0]], 1); // value 10
    }
}

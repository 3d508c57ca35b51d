//! Convex hull of 2-D points (Andrew's monotone chain, O(n log n)) and polygon area: the crown
//! polygons of the tree table (lidR `crown_metrics(geom = "convex")`).
//!
//! The hull is returned counter-clockwise, without repeating the first vertex, and without
//! collinear vertices. Fewer than 3 non-collinear points give a degenerate hull (1 or 2
//! vertices), which callers must not write as a polygon.
//!
//! Reference: Andrew A.M. (1979). Another efficient algorithm for convex hulls in two
//! dimensions. Information Processing Letters 9(5), 216–219.
//!
//! See also: [`super::metrics`].

use crate::algo::terrain::{from_total_key, total_key};

fn cross(o: [f64; 2], a: [f64; 2], b: [f64; 2]) -> f64 {
    (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0])
}

/// Convex hull of `pts`, counter-clockwise.
pub fn convex_hull(pts: &[[f64; 2]]) -> Vec<[f64; 2]> {
    HullScratch::default().hull(pts.iter().copied())
}

/// The buffers of a convex hull, kept between the hulls of many crowns (no allocation per
/// crown but the result's).
#[derive(Debug, Default)]
pub(crate) struct HullScratch {
    keys: Vec<u128>,
    sorted: Vec<[f64; 2]>,
    chain: Vec<[f64; 2]>,
}

/// `(x, y)` as one integer ordered as `(x, y)` in `total_cmp` order: the `total_cmp` keys
/// with their sign bits flipped (unsigned order), x in the high half.
fn pack(q: [f64; 2]) -> u128 {
    let u = |v: f64| (total_key(v) as u64 ^ (1 << 63)) as u128;
    (u(q[0]) << 64) | u(q[1])
}

/// The inverse of [`pack`].
fn unpack(k: u128) -> [f64; 2] {
    let f = |b: u64| from_total_key((b ^ (1 << 63)) as i64);
    [f((k >> 64) as u64), f(k as u64)]
}

impl HullScratch {
    /// Convex hull of `pts`, counter-clockwise (as [`convex_hull`]).
    pub(crate) fn hull(&mut self, pts: impl Iterator<Item = [f64; 2]>) -> Vec<[f64; 2]> {
        // Sorted in `(x, y)` `total_cmp` order, as one integer key per point (a single
        // comparison instead of a `total_cmp` closure or a pair); equal keys are equal bit
        // patterns, so an unstable sort gives the same sequence.
        self.keys.clear();
        self.keys.extend(
            pts.filter(|q| q[0].is_finite() && q[1].is_finite())
                .map(pack),
        );
        self.keys.sort_unstable();
        self.sorted.clear();
        self.sorted.extend(self.keys.iter().map(|&k| unpack(k)));
        self.sorted.dedup();
        monotone_chain(&self.sorted, &mut self.chain);
        self.chain.clone()
    }
}

/// Andrew's monotone chain on points sorted in `(x, y)` order without duplicates: the hull
/// counter-clockwise in `h` (fewer than 3 points: the points themselves).
fn monotone_chain(p: &[[f64; 2]], h: &mut Vec<[f64; 2]>) {
    h.clear();
    if p.len() < 3 {
        h.extend_from_slice(p);
        return;
    }
    for &q in p {
        while h.len() >= 2 && cross(h[h.len() - 2], h[h.len() - 1], q) <= 0.0 {
            h.pop();
        }
        h.push(q);
    }
    let lower = h.len() + 1;
    for &q in p.iter().rev().skip(1) {
        while h.len() >= lower && cross(h[h.len() - 2], h[h.len() - 1], q) <= 0.0 {
            h.pop();
        }
        h.push(q);
    }
    h.pop();
}

/// Area of a simple polygon (shoelace), positive whatever the orientation.
pub fn polygon_area(poly: &[[f64; 2]]) -> f64 {
    if poly.len() < 3 {
        return 0.0;
    }
    // Relative to the first vertex, for precision with large projected coordinates.
    let o = poly[0];
    let mut s = 0.0;
    for i in 1..poly.len() - 1 {
        s += cross(o, poly[i], poly[i + 1]);
    }
    0.5 * s.abs()
}

/// `true` when `(x, y)` lies inside or on the convex polygon `poly` (counter-clockwise).
pub fn convex_contains(poly: &[[f64; 2]], x: f64, y: f64) -> bool {
    if poly.len() < 3 {
        return false;
    }
    (0..poly.len()).all(|i| cross(poly[i], poly[(i + 1) % poly.len()], [x, y]) >= -1e-9)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn square_with_inner_and_collinear_points() {
        let pts = [
            [0.0, 0.0],
            [2.0, 0.0],
            [1.0, 0.0],
            [2.0, 2.0],
            [0.0, 2.0],
            [1.0, 1.0],
            [0.0, 0.0],
        ];
        let h = convex_hull(&pts);
        assert_eq!(h, vec![[0.0, 0.0], [2.0, 0.0], [2.0, 2.0], [0.0, 2.0]]);
        assert_eq!(polygon_area(&h), 4.0);
        assert!(convex_contains(&h, 1.0, 1.0));
        assert!(convex_contains(&h, 2.0, 1.0));
        assert!(!convex_contains(&h, 2.1, 1.0));
    }

    #[test]
    fn integer_keys_order_as_total_cmp_and_round_trip() {
        let vals = [
            -1e300,
            -2.5,
            -1.0,
            -f64::MIN_POSITIVE,
            -5e-324,
            -0.0,
            0.0,
            5e-324,
            1.0,
            2.5,
            1e300,
        ];
        for a in vals {
            assert_eq!(from_total_key(total_key(a)).to_bits(), a.to_bits());
            for b in vals {
                assert_eq!(total_key(a).cmp(&total_key(b)), a.total_cmp(&b), "{a} {b}");
                let q = [a, b];
                assert_eq!(unpack(pack(q)).map(f64::to_bits), q.map(f64::to_bits));
                for c in [-1.0, 0.0, 2.5] {
                    let ord = a.total_cmp(&c).then(b.total_cmp(&a));
                    assert_eq!(pack(q).cmp(&pack([c, a])), ord, "{a} {b} {c}");
                }
            }
        }
    }

    #[test]
    fn hull_equals_the_hull_of_the_total_cmp_sort() {
        // The hull as it was computed with a `total_cmp` sort.
        let reference = |pts: &[[f64; 2]]| {
            let mut p: Vec<[f64; 2]> = pts.to_vec();
            p.sort_by(|a, b| a[0].total_cmp(&b[0]).then(a[1].total_cmp(&b[1])));
            p.dedup();
            let mut h = Vec::new();
            monotone_chain(&p, &mut h);
            h
        };
        let mut rnd = crate::testdata::uniform(5);
        for n in [3, 10, 100, 1000] {
            // Negative and zero coordinates, on a 0.25 m lattice (duplicates, collinear runs).
            let pts: Vec<[f64; 2]> = (0..n)
                .map(|_| {
                    [
                        ((rnd() - 0.5) * 40.0).round() * 0.25,
                        ((rnd() - 0.5) * 40.0).round() * 0.25,
                    ]
                })
                .collect();
            let h = convex_hull(&pts);
            assert!(n < 100 || h.len() >= 4);
            assert_eq!(h, reference(&pts));
        }
    }

    #[test]
    fn degenerate_inputs() {
        assert!(convex_hull(&[]).is_empty());
        assert_eq!(convex_hull(&[[1.0, 1.0], [1.0, 1.0]]).len(), 1);
        assert_eq!(convex_hull(&[[0.0, 0.0], [1.0, 1.0], [2.0, 2.0]]).len(), 2);
        assert_eq!(polygon_area(&[[0.0, 0.0], [1.0, 1.0]]), 0.0);
    }
}

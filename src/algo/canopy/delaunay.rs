//! The incremental Delaunay triangulation of the pit-free CHM: flat triangle and half-edge
//! arrays, exact predicates, Lawson flips, built point by point with a walk from the previous
//! insertion.
//!
//! It replaces `spade::DelaunayTriangulation::insert` (about 4 400 instructions an insertion on
//! the county tile, where this takes 1 800; most of the pit-free CHM's instructions, an
//! insertion there removing 5 triangles on average) and gives, insertion for insertion, the same
//! triangles, also where four or more points lie exactly on one circle (spade breaks no such
//! tie, so there the triangulation depends on the insertion order). Both do the same thing:
//! * the new point is located exactly (strictly inside a triangle, in the relative interior of
//!   an edge, or strictly outside the convex hull);
//! * a triangle holding it is split in three, an edge holding it in four (two on the hull);
//!   outside the hull it is joined to every hull edge it sees strictly (collinear hull edges are
//!   not joined);
//! * an edge opposite the new point is flipped exactly when the point lies strictly inside the
//!   circumcircle of the old triangle on the other side, and the two edges that flip exposes
//!   are tested in turn.
//!
//! Which old triangles go is then fixed by the point set and the old triangulation alone (those
//! whose open circumcircle holds the new point, connected to where it landed, each tested
//! against the same circle however it is reached), so the order of the tests does not matter
//! and the new triangles are the new point's star over the hole they leave. While all points lie
//! on one line there is no triangle (spade keeps a chain of edges); the first point off the line
//! is joined to every segment of it, as spade does. A point at the position of an existing
//! vertex replaces its data, without a new vertex, except while all points are collinear (where
//! spade keeps the old one); the pit-free CHM never inserts one (one return per cell).
//!
//! Point location is the visibility walk (Devillers, Pion & Teillaud 2002, *Walking in a
//! triangulation*), which terminates on a Delaunay triangulation; a step limit falls back to a
//! scan of every triangle all the same.

use crate::algo::terrain::delaunay as terrain_delaunay;
use spade::InsertionError;

/// No half-edge: the other side of a convex hull edge.
pub(crate) const NONE: u32 = u32::MAX;

/// A vertex: position and height.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct V {
    pub x: f64,
    pub y: f64,
    pub h: f64,
}

impl spade::HasPosition for V {
    type Scalar = f64;
    fn position(&self) -> spade::Point2<f64> {
        spade::Point2::new(self.x, self.y)
    }
}

/// The triangulation. Triangle `t` is made of half-edges `4t, 4t + 1, 4t + 2`, counter-clockwise
/// (y up); half-edge `e` goes from vertex `origin[e]` to `origin[next(e)]`. (Slot `4t + 3` is
/// unused: with a stride of 4 the next and previous half-edges and the triangle come from bit
/// operations instead of divisions by 3.)
#[derive(Debug, Clone, Default)]
pub(crate) struct Tin {
    pub verts: Vec<V>,
    pub origin: Vec<u32>,
    /// The opposite half-edge, or [`NONE`] on the hull.
    pub twin: Vec<u32>,
    /// The vertices while all of them are collinear (then there is no triangle).
    line: Vec<u32>,
    /// A half-edge of a triangle holding the last inserted point: where the next walk starts.
    last: u32,
    stack: Vec<u32>,
    hull: Vec<u32>,
    /// Whether the CPU has AVX (the insertions then run as [`Tin::insert_avx`]).
    #[cfg(target_arch = "x86_64")]
    avx: bool,
}

#[inline(always)]
fn next(e: u32) -> u32 {
    if e & 3 == 2 {
        e - 2
    } else {
        e + 1
    }
}

#[inline(always)]
fn prev(e: u32) -> u32 {
    if e & 3 == 0 {
        e + 2
    } else {
        e - 1
    }
}

/// The first half-edge of the triangle of `e`.
#[inline(always)]
fn first(e: u32) -> u32 {
    e & !3
}

/// Orientation with an exact sign: > 0 when `a, b, c` turn counter-clockwise, < 0 clockwise, 0
/// when collinear (the sign of spade's `side_query`, which calls [`robust::orient2d`]): the
/// terrain TIN's filtered predicate.
#[inline(always)]
fn orient(a: &V, b: &V, c: &V) -> f64 {
    terrain_delaunay::orient([a.x, a.y], [b.x, b.y], [c.x, c.y])
}

/// `true` when `d` lies strictly inside the circle through the counter-clockwise `a, b, c`,
/// exact (spade's `contained_in_circumference`, which calls [`robust::incircle`]): the terrain
/// TIN's filtered predicate, without its tie-breaking perturbation (spade breaks no tie).
#[inline(always)]
fn in_circle(a: &V, b: &V, c: &V, d: &V) -> bool {
    terrain_delaunay::in_circle([a.x, a.y], [b.x, b.y], [c.x, c.y], [d.x, d.y]) > 0.0
}

/// [`in_circle`] with a cheaper filter: the same floating-point determinant, certified by a
/// bound built from the lifts alone, `12ε (alift·blift + blift·clift + clift·alift)`, instead
/// of Shewchuk's permanent (six absolute values and eight more operations a test; the flips'
/// in-circle tests are a quarter of the pit-free CHM's instructions). The exact test decides
/// where it fails, so the answer is the same.
///
/// The bound covers Shewchuk's: `|x·y| ≤ (x² + y²)/2`, so each sum of two absolute products
/// in his permanent is at most half the sum of the two other points' lifts, and his permanent
/// at most `alift·blift + blift·clift + clift·alift`, up to the rounding of the two
/// computations (each a relative `(1 ± ε)^5` at most): his `(10 + 96ε)ε · (1 + 11ε)` and the
/// rounding of the product stay below `12ε`. It is looser by a factor of about 1.5 to 3, so
/// the exact test runs a little more often (still almost never: only on near-co-circular
/// quadruples).
#[inline(always)]
fn in_circle_lifts(a: &V, b: &V, c: &V, d: &V) -> bool {
    let (adx, ady) = (a.x - d.x, a.y - d.y);
    let (bdx, bdy) = (b.x - d.x, b.y - d.y);
    let (cdx, cdy) = (c.x - d.x, c.y - d.y);
    let alift = adx * adx + ady * ady;
    let blift = bdx * bdx + bdy * bdy;
    let clift = cdx * cdx + cdy * cdy;
    let det = alift * (bdx * cdy - cdx * bdy)
        + blift * (cdx * ady - adx * cdy)
        + clift * (adx * bdy - bdx * ady);
    let bound = alift * blift + blift * clift + clift * alift;
    if det.abs() > LIFTS_ERR_BOUND * bound {
        return det > 0.0;
    }
    in_circle_cold(a, b, c, d)
}

/// [`in_circle`] out of line, so that the flips' loop keeps its registers for the filter.
#[cold]
#[inline(never)]
fn in_circle_cold(a: &V, b: &V, c: &V, d: &V) -> bool {
    in_circle(a, b, c, d)
}

/// `12ε` (ε = half an ulp of 1): see [`in_circle_lifts`].
const LIFTS_ERR_BOUND: f64 = 12.0 * (f64::EPSILON * 0.5);

/// Where a point lies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Loc {
    /// Strictly inside the triangle of this half-edge.
    Face(u32),
    /// In the relative interior of the edge of this half-edge.
    Edge(u32),
    /// On the origin of this half-edge.
    Vertex(u32),
    /// Strictly outside the convex hull, strictly on the outer side of this hull half-edge.
    Outside(u32),
}

impl Tin {
    /// An empty triangulation with room for `n` vertices.
    pub fn with_capacity(n: usize) -> Tin {
        Tin {
            verts: Vec::with_capacity(n),
            origin: Vec::with_capacity(8 * n),
            twin: Vec::with_capacity(8 * n),
            #[cfg(target_arch = "x86_64")]
            avx: std::arch::is_x86_feature_detected!("avx"),
            ..Tin::default()
        }
    }

    /// Number of vertices.
    pub fn num_vertices(&self) -> usize {
        self.verts.len()
    }

    /// Number of triangles.
    pub fn num_triangles(&self) -> usize {
        self.origin.len() / 4
    }

    /// The corner vertex indices of triangle `t`, counter-clockwise.
    #[inline(always)]
    pub fn triangle(&self, t: usize) -> [u32; 3] {
        [
            self.origin[4 * t],
            self.origin[4 * t + 1],
            self.origin[4 * t + 2],
        ]
    }

    /// Inserts `v` (the same checks and the same triangles as spade's `insert`).
    pub fn insert(&mut self, v: V) -> Result<(), InsertionError> {
        #[cfg(target_arch = "x86_64")]
        if self.avx {
            debug_assert!(std::arch::is_x86_feature_detected!("avx"));
            // SAFETY: the CPU has AVX (`avx` is set only where it was detected).
            return unsafe { self.insert_avx(v) };
        }
        self.insert_portable(v)
    }

    /// [`Tin::insert`] compiled for AVX: the same operations (AVX has no fused multiply-add,
    /// so the same roundings), with three-operand instructions instead of the copies that
    /// two-operand SSE needs (the build's baseline is x86-64-v2); the walk, the split and the
    /// flips are inlined into it.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx")]
    unsafe fn insert_avx(&mut self, v: V) -> Result<(), InsertionError> {
        self.insert_portable(v)
    }

    #[inline(always)]
    fn insert_portable(&mut self, v: V) -> Result<(), InsertionError> {
        spade::validate_vertex(&v)?;
        if self.origin.is_empty() {
            self.insert_without_triangle(v);
            return Ok(());
        }
        match self.locate(&v) {
            Loc::Vertex(e) => {
                let i = self.origin[e as usize] as usize;
                self.verts[i] = v;
            }
            Loc::Face(e) => self.split_face(e, v),
            Loc::Edge(e) => self.split_edge(e, v),
            Loc::Outside(e) => self.join_hull(e, v),
        }
        Ok(())
    }

    /// Insertion while all the vertices are collinear.
    fn insert_without_triangle(&mut self, v: V) {
        let same = |w: &V| w.x == v.x && w.y == v.y;
        if self.line.len() < 2 {
            if let Some(&i) = self.line.iter().find(|&&i| same(&self.verts[i as usize])) {
                // spade replaces the first vertex by an equal second one.
                self.verts[i as usize] = v;
                return;
            }
            self.line.push(self.verts.len() as u32);
            self.verts.push(v);
            return;
        }
        // spade's first edge joins the first two vertices.
        debug_assert_eq!(self.line[0..2], [0, 1]);
        let o = orient(&self.verts[0], &self.verts[1], &v);
        if o == 0.0 {
            if !self.line.iter().any(|&i| same(&self.verts[i as usize])) {
                self.line.push(self.verts.len() as u32);
                self.verts.push(v);
            }
            return;
        }
        // The first point off the line: joined to every segment of the sorted line.
        let p = self.verts.len() as u32;
        self.verts.push(v);
        let mut line = std::mem::take(&mut self.line);
        line.sort_by(|&i, &j| {
            let (s, t) = (&self.verts[i as usize], &self.verts[j as usize]);
            s.x.total_cmp(&t.x).then(s.y.total_cmp(&t.y))
        });
        let m = line.len() - 1;
        for k in 0..m {
            let (s0, s1) = (line[k], line[k + 1]);
            let base = 4 * k as u32;
            if orient(&self.verts[s0 as usize], &self.verts[s1 as usize], &v) > 0.0 {
                // (s0, s1, p): s1 → p is shared with the next triangle's p → s1.
                self.origin.extend([s0, s1, p, NONE]);
                let t = if k + 1 < m { base + 6 } else { NONE };
                let u = if k > 0 { base - 3 } else { NONE };
                self.twin.extend([NONE, t, u, NONE]);
            } else {
                // (s1, s0, p): p → s1 is shared with the next triangle's s1 → p.
                self.origin.extend([s1, s0, p, NONE]);
                let t = if k + 1 < m { base + 5 } else { NONE };
                let u = if k > 0 { base - 2 } else { NONE };
                self.twin.extend([NONE, u, t, NONE]);
            }
        }
        self.last = 0;
    }

    /// Locates `p` by the visibility walk from the last insertion.
    #[inline(always)]
    fn locate(&self, p: &V) -> Loc {
        let mut e = self.last;
        // The half-edge just crossed (not tested again), or NONE at the start.
        let mut entered = NONE;
        let limit = self.num_triangles() + 16;
        'walk: for _ in 0..limit {
            let t = first(e);
            // The corners, loaded once for the three edges.
            let c0 = self.vert(self.origin_of(t));
            let c1 = self.vert(self.origin_of(t + 1));
            let c2 = self.vert(self.origin_of(t + 2));
            // Bit k: edge t + k holds p on its line.
            let mut zeros = 0u32;
            // Edge t + k, from `a` to `b`: crosses it when p lies strictly on its right.
            macro_rules! test {
                ($k:expr, $a:expr, $b:expr) => {
                    let h = t + $k;
                    if h != entered {
                        let o = orient($a, $b, p);
                        if o < 0.0 {
                            let tw = self.twin_of(h);
                            if tw == NONE {
                                return Loc::Outside(h);
                            }
                            entered = tw;
                            e = tw;
                            continue 'walk;
                        }
                        zeros |= ((o == 0.0) as u32) << $k;
                    }
                };
            }
            test!(0, c0, c1);
            test!(1, c1, c2);
            test!(2, c2, c0);
            let (z0, z1) = (t + zeros.trailing_zeros(), t + 31 - zeros.leading_zeros());
            return match zeros.count_ones() {
                0 => Loc::Face(t),
                1 => Loc::Edge(z0),
                // On the vertex the two collinear edges share.
                _ => Loc::Vertex(if next(z0) == z1 { z1 } else { z0 }),
            };
        }
        self.locate_by_scan(p)
    }

    /// Locates `p` by testing every triangle (the walk's fallback).
    #[cold]
    fn locate_by_scan(&self, p: &V) -> Loc {
        for t in (0..self.origin.len() as u32).step_by(4) {
            let o = [t, t + 1, t + 2].map(|h| {
                let a = &self.verts[self.origin[h as usize] as usize];
                let b = &self.verts[self.origin[next(h) as usize] as usize];
                (h, orient(a, b, p))
            });
            if o.iter().any(|&(_, s)| s < 0.0) {
                continue;
            }
            let zeros: Vec<u32> = o.iter().filter(|z| z.1 == 0.0).map(|z| z.0).collect();
            return match zeros.len() {
                0 => Loc::Face(t),
                1 => Loc::Edge(zeros[0]),
                _ => Loc::Vertex(if next(zeros[0]) == zeros[1] {
                    zeros[1]
                } else {
                    zeros[0]
                }),
            };
        }
        for h in 0..self.origin.len() as u32 {
            if h & 3 == 3 || self.twin[h as usize] != NONE {
                continue;
            }
            let a = &self.verts[self.origin[h as usize] as usize];
            let b = &self.verts[self.origin[next(h) as usize] as usize];
            if orient(a, b, p) < 0.0 {
                return Loc::Outside(h);
            }
        }
        unreachable!("a point is in a triangle or outside the convex hull")
    }

    #[inline(always)]
    fn link(&mut self, a: u32, b: u32) {
        self.set_twin(a, b);
        if b != NONE {
            self.set_twin(b, a);
        }
    }

    /// Writes the triangle of first half-edge `e` (an existing one, or the next one when `e` is
    /// the length of the arrays).
    #[inline(always)]
    fn set_triangle(&mut self, e: u32, [a, b, c]: [u32; 3]) {
        let i = e as usize;
        if i == self.origin.len() {
            self.origin.extend([a, b, c, NONE]);
            self.twin.extend([NONE; 4]);
        } else {
            self.origin[i..i + 3].copy_from_slice(&[a, b, c]);
        }
    }

    /// Splits the triangle of half-edge `t0` (its first) at `v`, strictly inside it.
    #[inline(always)]
    fn split_face(&mut self, t0: u32, v: V) {
        let p = self.verts.len() as u32;
        self.verts.push(v);
        let [a, b, c] = self.triangle(t0 as usize / 4);
        let (tbc, tca) = (self.twin[t0 as usize + 1], self.twin[t0 as usize + 2]);
        let e1 = self.origin.len() as u32;
        let e2 = e1 + 4;
        // (a, b, p) in t0's place (a → b keeps its twin), (b, c, p), (c, a, p).
        self.set_triangle(t0, [a, b, p]);
        self.set_triangle(e1, [b, c, p]);
        self.set_triangle(e2, [c, a, p]);
        self.link(e1, tbc);
        self.link(e2, tca);
        self.link(t0 + 1, e1 + 2);
        self.link(e1 + 1, e2 + 2);
        self.link(e2 + 1, t0 + 2);
        self.last = t0;
        self.legalize(&[t0, e1, e2]);
    }

    /// Splits the edge of half-edge `e` at `v`, in its relative interior.
    #[inline(never)]
    fn split_edge(&mut self, e: u32, v: V) {
        let p = self.verts.len() as u32;
        self.verts.push(v);
        let f = self.twin[e as usize];
        // The triangle of e: (a, b, c) with e = a → b.
        let (en, ep) = (next(e), prev(e));
        let (a, b, c) = (
            self.origin[e as usize],
            self.origin[en as usize],
            self.origin[ep as usize],
        );
        let (tbc, tca) = (self.twin[en as usize], self.twin[ep as usize]);
        let x = first(e);
        let y = self.origin.len() as u32;
        // (c, a, p) in e's place, (b, c, p) new.
        self.set_triangle(x, [c, a, p]);
        self.set_triangle(y, [b, c, p]);
        self.link(x, tca);
        self.link(y, tbc);
        self.link(y + 1, x + 2);
        self.last = x;
        if f == NONE {
            // a → p and p → b on the hull.
            self.twin[x as usize + 1] = NONE;
            self.twin[y as usize + 2] = NONE;
            self.legalize(&[x, y]);
            return;
        }
        // The other triangle: (b, a, d) with f = b → a.
        let (fnx, fp) = (next(f), prev(f));
        let d = self.origin[fp as usize];
        let (tad, tdb) = (self.twin[fnx as usize], self.twin[fp as usize]);
        let z = first(f);
        let w = self.origin.len() as u32;
        // (a, d, p) in f's place, (d, b, p) new.
        self.set_triangle(z, [a, d, p]);
        self.set_triangle(w, [d, b, p]);
        self.link(z, tad);
        self.link(w, tdb);
        self.link(w + 1, y + 2); // b → p with p → b
        self.link(z + 1, w + 2); // d → p with p → d
        self.link(x + 1, z + 2); // a → p with p → a
        self.legalize(&[x, y, z, w]);
    }

    /// Joins `v`, strictly outside the hull, to every hull edge it sees strictly, starting from
    /// the visible hull half-edge `e`.
    #[inline(never)]
    fn join_hull(&mut self, e: u32, v: V) {
        let seen = |tin: &Tin, h: u32| {
            let a = &tin.verts[tin.origin[h as usize] as usize];
            let b = &tin.verts[tin.origin[next(h) as usize] as usize];
            orient(a, b, &v) < 0.0
        };
        let mut hull = std::mem::take(&mut self.hull);
        hull.clear();
        // Back along the hull, then forward (hull half-edges run counter-clockwise).
        let mut h = e;
        loop {
            let mut g = prev(h);
            while self.twin[g as usize] != NONE {
                g = prev(self.twin[g as usize]);
            }
            if g == e || !seen(self, g) {
                break;
            }
            h = g;
        }
        let first = h;
        loop {
            hull.push(h);
            let mut g = next(h);
            while self.twin[g as usize] != NONE {
                g = next(self.twin[g as usize]);
            }
            if g == first || !seen(self, g) {
                break;
            }
            h = g;
        }
        let p = self.verts.len() as u32;
        self.verts.push(v);
        let e0 = self.origin.len() as u32;
        for (k, h) in hull.iter_mut().enumerate() {
            let (a, b) = (self.origin[*h as usize], self.origin[next(*h) as usize]);
            let t = e0 + 4 * k as u32;
            // (b, a, p): b → a faces h, p → b faces the next triangle's b → p.
            self.set_triangle(t, [b, a, p]);
            self.link(t, *h);
            if k > 0 {
                self.link(t + 1, t - 2);
            }
            *h = t;
        }
        self.last = e0;
        self.legalize(&hull);
        self.hull = hull;
    }

    /// Flips the edges of half-edges `edges` (whose triangles' third corner is the new point,
    /// the last vertex) and the edges that flips expose, while the new point lies strictly
    /// inside the circumcircle of the old triangle across.
    #[inline(always)]
    fn legalize(&mut self, edges: &[u32]) {
        let p = self.verts.len() as u32 - 1;
        let vp = *self.vert(p);
        // The stack, with its top in a local: room for every edge ever on it, as each flip
        // pops one edge and pushes two and there are fewer flips than vertices (each makes the
        // new point's degree one larger).
        let need = edges.len() + self.verts.len();
        if self.stack.len() < need {
            self.stack.resize(need.max(2 * self.stack.len()), 0);
        }
        let mut stack = std::mem::take(&mut self.stack);
        stack[..edges.len()].copy_from_slice(edges);
        let mut top = edges.len();
        while top > 0 {
            top -= 1;
            debug_assert!(top < stack.len());
            // SAFETY: top < edges.len() + flips so far <= stack.len() (above).
            let a = unsafe { *stack.get_unchecked(top) };
            let b = self.twin_of(a);
            if b == NONE {
                continue;
            }
            // a: a0 → a1 in (a0, a1, p); b: a1 → a0 in (a1, a0, q).
            debug_assert_eq!(self.origin_of(prev(a)), p);
            let a0 = self.origin_of(a);
            let a1 = self.origin_of(next(a));
            let q = self.origin_of(prev(b));
            if !in_circle_lifts(self.vert(a1), self.vert(a0), self.vert(q), &vp) {
                continue;
            }
            let (ap, bn) = self.flip(a, b);
            debug_assert!(top + 2 <= stack.len());
            // SAFETY: as above, one flip more.
            unsafe {
                *stack.get_unchecked_mut(top) = ap;
                *stack.get_unchecked_mut(top + 1) = bn;
            }
            top += 2;
        }
        self.stack = stack;
    }

    /// Flips the edge of `a` (a0 → a1 in (a0, a1, p), p the last vertex) and its twin `b`
    /// (a1 → a0 in (a1, a0, q)): (q, p, a0) in a's triangle, (p, q, a1) in b's. Returns the
    /// half-edges now opposite p, a0 → q and q → a1. (It reloads what the test loaded, so
    /// that the test keeps fewer values alive: most tests flip nothing.)
    #[inline(always)]
    fn flip(&mut self, a: u32, b: u32) -> (u32, u32) {
        let (an, ap) = (next(a), prev(a));
        let (bn, bp) = (next(b), prev(b));
        let p = self.origin_of(ap);
        let a0 = self.origin_of(a);
        let a1 = self.origin_of(an);
        let q = self.origin_of(bp);
        let (t_an, t_ap) = (self.twin_of(an), self.twin_of(ap));
        let (t_bn, t_bp) = (self.twin_of(bn), self.twin_of(bp));
        self.set_origin(a, q);
        self.set_origin(an, p);
        self.set_origin(ap, a0);
        self.set_origin(b, p);
        self.set_origin(bn, q);
        self.set_origin(bp, a1);
        self.link(an, t_ap);
        self.link(ap, t_bn);
        self.link(bn, t_bp);
        self.link(bp, t_an);
        // a and b stay each other's twins.
        (ap, bn)
    }

    // Unchecked accessors for the hot loops (the walk and the flips). Invariant: every
    // half-edge held in `twin` (other than NONE, which callers test first), in `last`, or
    // derived from one by `next`/`prev`/`first` is below `origin.len()` (= `twin.len()`), as
    // the arrays only grow, a triangle's four slots at a time; and every vertex held in
    // `origin` at a triangle's first three slots is below `verts.len()`. Debug builds check.

    #[inline(always)]
    fn origin_of(&self, e: u32) -> u32 {
        debug_assert!((e as usize) < self.origin.len() && e & 3 != 3);
        // SAFETY: the invariant above.
        unsafe { *self.origin.get_unchecked(e as usize) }
    }

    #[inline(always)]
    fn twin_of(&self, e: u32) -> u32 {
        debug_assert!((e as usize) < self.twin.len());
        // SAFETY: the invariant above.
        unsafe { *self.twin.get_unchecked(e as usize) }
    }

    #[inline(always)]
    fn vert(&self, i: u32) -> &V {
        debug_assert!((i as usize) < self.verts.len());
        // SAFETY: the invariant above.
        unsafe { self.verts.get_unchecked(i as usize) }
    }

    #[inline(always)]
    fn set_origin(&mut self, e: u32, v: u32) {
        debug_assert!((e as usize) < self.origin.len() && (v as usize) < self.verts.len());
        // SAFETY: the invariant above.
        unsafe { *self.origin.get_unchecked_mut(e as usize) = v }
    }

    #[inline(always)]
    fn set_twin(&mut self, e: u32, f: u32) {
        debug_assert!((e as usize) < self.twin.len());
        // SAFETY: the invariant above.
        unsafe { *self.twin.get_unchecked_mut(e as usize) = f }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use spade::{DelaunayTriangulation, Triangulation};

    /// The triangles as sorted corner-position triples, sorted.
    fn ours(t: &Tin) -> Vec<[u64; 6]> {
        let mut out: Vec<[u64; 6]> = (0..t.num_triangles())
            .map(|k| key(t.triangle(k).map(|i| t.verts[i as usize])))
            .collect();
        out.sort_unstable();
        out
    }

    fn theirs(t: &DelaunayTriangulation<V>) -> Vec<[u64; 6]> {
        let mut out: Vec<[u64; 6]> = t
            .inner_faces()
            .map(|f| key(f.vertices().map(|v| *v.data())))
            .collect();
        out.sort_unstable();
        out
    }

    fn key(c: [V; 3]) -> [u64; 6] {
        let mut p = c.map(|v| (v.x.to_bits(), v.y.to_bits()));
        p.sort_unstable();
        [p[0].0, p[0].1, p[1].0, p[1].1, p[2].0, p[2].1]
    }

    /// Inserts `pts` into both, comparing the triangles every `every` insertions, and checks
    /// that every triangle is counter-clockwise and every twin consistent.
    fn same_as_spade(pts: &[V], every: usize) {
        let mut a = Tin::with_capacity(pts.len());
        let mut b: DelaunayTriangulation<V> = DelaunayTriangulation::new();
        for (i, &v) in pts.iter().enumerate() {
            a.insert(v).unwrap();
            b.insert(v).unwrap();
            if (i + 1) % every == 0 || i + 1 == pts.len() {
                assert_eq!(a.num_vertices(), b.num_vertices(), "after {}", i + 1);
                assert_eq!(ours(&a), theirs(&b), "after {}", i + 1);
                for t in 0..a.num_triangles() {
                    let [p, q, r] = a.triangle(t).map(|i| a.verts[i as usize]);
                    assert!(orient(&p, &q, &r) > 0.0);
                }
                for e in 0..a.twin.len() {
                    let f = a.twin[e];
                    if f != NONE {
                        assert_eq!(a.twin[f as usize], e as u32);
                        assert_eq!(a.origin[f as usize], a.origin[next(e as u32) as usize]);
                    }
                }
            }
        }
        // Every vertex keeps its data, heights included.
        for (i, v) in b.vertices().enumerate() {
            assert_eq!(a.verts[i], *v.data());
        }
    }

    fn v(x: f64, y: f64) -> V {
        V { x, y, h: x - y }
    }

    #[test]
    fn random_points_give_spades_triangles() {
        let mut rnd = crate::testdata::uniform(5);
        let pts: Vec<V> = (0..3000)
            .map(|_| v(500_000.0 + rnd() * 80.0, 4_000_000.0 + rnd() * 80.0))
            .collect();
        same_as_spade(&pts, 97);
    }

    #[test]
    fn lattices_with_co_circular_points_give_spades_triangles() {
        // Jittered lattices quantized to the centimetre: many exactly co-circular quadruples,
        // points on edges and on the hull's lines, in a scrambled and in a row order.
        let mut rnd = crate::testdata::uniform(9);
        for jitter in [0.0, 0.02, 0.1] {
            let mut pts: Vec<V> = Vec::new();
            for i in 0..40 {
                for j in 0..40 {
                    let jx = (rnd() * jitter * 100.0).round() / 100.0;
                    let jy = (rnd() * jitter * 100.0).round() / 100.0;
                    pts.push(v(
                        520_000.0 + i as f64 * 0.5 + jx,
                        3_400_000.0 + j as f64 * 0.5 + jy,
                    ));
                }
            }
            same_as_spade(&pts, 211);
            let mut k = 7u64;
            for i in (1..pts.len()).rev() {
                k = k
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                pts.swap(i, (k >> 33) as usize % (i + 1));
            }
            same_as_spade(&pts, 211);
        }
    }

    #[test]
    fn collinear_starts_and_points_outside_the_hull_give_spades_triangles() {
        // A line first (unsorted, both directions), then points on either side, on the line's
        // extension, on hull edges and far outside.
        let mut pts: Vec<V> = [3.0, 0.0, 5.0, 1.0, 4.0]
            .iter()
            .map(|&t| v(10.0 + t, 20.0 + 2.0 * t))
            .collect();
        pts.extend([
            v(12.0, 30.0),
            v(10.0 + 7.0, 20.0 + 14.0),
            v(10.0 - 2.0, 20.0 - 4.0),
            v(30.0, 0.0),
            v(0.0, 50.0),
            v(-5.0, 0.0),
            v(21.0, 15.0),
            v(100.0, 100.0),
            v(11.5, 23.0),
        ]);
        same_as_spade(&pts, 1);
        // The first point off the line on the other side.
        let mut pts2: Vec<V> = (0..6).map(|t| v(t as f64, 0.0)).rev().collect();
        pts2.extend([v(2.5, -1.0), v(7.0, 0.0), v(2.5, 3.0), v(-3.0, 0.0)]);
        same_as_spade(&pts2, 1);
        // Duplicates: at the start, on the line, and later.
        let pts3 = [
            v(0.0, 0.0),
            V {
                h: 9.0,
                ..v(0.0, 0.0)
            },
            v(1.0, 1.0),
            V {
                h: 7.0,
                ..v(1.0, 1.0)
            },
            v(2.0, 0.0),
            v(1.0, 0.2),
            V {
                h: 5.0,
                ..v(1.0, 0.2)
            },
            V {
                h: 4.0,
                ..v(2.0, 0.0)
            },
        ];
        same_as_spade(&pts3, 1);
    }

    #[test]
    fn the_scan_finds_what_the_walk_finds() {
        let mut rnd = crate::testdata::uniform(11);
        let mut t = Tin::with_capacity(500);
        for _ in 0..500 {
            t.insert(v((rnd() * 50.0).round(), (rnd() * 50.0).round()))
                .unwrap();
        }
        for _ in 0..500 {
            let p = v((rnd() * 70.0 - 10.0).round(), (rnd() * 70.0 - 10.0).round());
            let (w, s) = (t.locate(&p), t.locate_by_scan(&p));
            match (w, s) {
                (Loc::Face(a), Loc::Face(b)) => assert_eq!(a, b),
                (Loc::Edge(a), Loc::Edge(b)) => assert!(a == b || t.twin[a as usize] == b),
                (Loc::Vertex(a), Loc::Vertex(b)) => {
                    assert_eq!(t.origin[a as usize], t.origin[b as usize])
                }
                (Loc::Outside(a), Loc::Outside(b)) => {
                    assert_eq!(t.twin[a as usize], NONE);
                    assert_eq!(t.twin[b as usize], NONE);
                }
                other => panic!("{other:?}"),
            }
        }
    }

    #[test]
    fn the_lifts_filter_gives_the_exact_in_circle_answer() {
        // Random quadruples at county coordinates, centimetre-quantized lattices (many exactly
        // co-circular) and points pushed by an ulp off a circle: the cheaper filter and the exact
        // test agree, whether the filter decides or not.
        let mut rnd = crate::testdata::uniform(17);
        let mut n_tie = 0;
        for k in 0..200_000 {
            let (ox, oy) = (520_000.0 + rnd() * 200.0, 3_400_000.0 + rnd() * 200.0);
            let mut pt = |s: f64| {
                let (x, y) = (ox + rnd() * s, oy + rnd() * s);
                if k % 3 == 0 {
                    v((x * 100.0).round() / 100.0, (y * 100.0).round() / 100.0)
                } else if k % 3 == 1 {
                    v((x * 2.0).round() / 2.0, (y * 2.0).round() / 2.0)
                } else {
                    v(x, y)
                }
            };
            let (a, b, c, mut d) = (pt(1.5), pt(1.5), pt(1.5), pt(1.5));
            if orient(&a, &b, &c) <= 0.0 {
                continue;
            }
            if k % 7 == 0 {
                // The reflection of a corner across the circle's centre lies on it; nudged.
                let (ax, ay, bx, by, cx, cy) =
                    (a.x - c.x, a.y - c.y, b.x - c.x, b.y - c.y, 0.0, 0.0);
                let den = 2.0 * (ax * by - ay * bx);
                let ux = (by * (ax * ax + ay * ay) - ay * (bx * bx + by * by)) / den + cx;
                let uy = (ax * (bx * bx + by * by) - bx * (ax * ax + ay * ay)) / den + cy;
                d = v(2.0 * (c.x + ux) - a.x, 2.0 * (c.y + uy) - a.y);
                d.x = f64::from_bits(d.x.to_bits().wrapping_add(k % 3 - 1));
            }
            let exact = in_circle(&a, &b, &c, &d);
            assert_eq!(
                in_circle_lifts(&a, &b, &c, &d),
                exact,
                "{a:?} {b:?} {c:?} {d:?}"
            );
            let s = terrain_delaunay::in_circle([a.x, a.y], [b.x, b.y], [c.x, c.y], [d.x, d.y]);
            n_tie += (s == 0.0) as usize;
        }
        assert!(n_tie > 100, "{n_tie}");
    }

    #[test]
    fn invalid_coordinates_are_refused() {
        let mut t = Tin::default();
        assert!(t.insert(v(f64::NAN, 0.0)).is_err());
        assert_eq!(t.num_vertices(), 0);
    }
}

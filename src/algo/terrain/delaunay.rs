//! Planar Delaunay triangulation by sweep-hull, with exact predicates, and point location by
//! walking.
//!
//! Algorithm: the sweep-hull ("S-hull") of Sinclair, D. A. (2010), *S-hull: a fast radial
//! sweep-hull routine for Delaunay triangulation* (arXiv:1604.01428), as implemented by Mapbox
//! Delaunator (V. Agafonkin, ISC licence) and its Rust port `delaunator` 1.x, whose structure
//! this follows: a seed triangle near the centre of the points; the other points inserted in
//! order of distance from its circumcentre, each joined to the edges of the advancing convex hull
//! it sees (an angular hash finds one); Lawson (1977) edge flips restore the Delaunay property
//! after each insertion. The result is kept in flat arrays: `triangles` (three vertex indices per
//! triangle, clockwise with y up) and `halfedges` (the opposite half-edge of each, or [`EMPTY`]
//! on the convex hull).
//!
//! Departures from Delaunator:
//! * exact predicates: orientation is Shewchuk's adaptive `orient2d` (as in `delaunator` 1.x),
//!   and the in-circle test deciding each flip is Shewchuk's adaptive `incircle` instead of
//!   Delaunator's floating-point determinant, so the triangulation is Delaunay for the exact
//!   coordinates;
//! * co-circular points: where four points lie exactly on one circle (the in-circle determinant
//!   is zero) the tie is broken by the symbolic perturbation of Devillers, O. & Teillaud, M.
//!   (2011), *Perturbations for Delaunay and weighted Delaunay 3D triangulations*, Computational
//!   Geometry 44(3) — in its 2D form as in CGAL's `Delaunay_triangulation_2::
//!   side_of_oriented_circle`: points are perturbed in `(x, y)` lexicographic order. The
//!   triangulation is then unique and depends only on the point set, not on the insertion
//!   order, and a Delaunay triangle of a set is a Delaunay triangle of every subset holding its
//!   corners, even on lattices;
//! * no point is dropped: Delaunator skips a point that sees no hull edge (a near-duplicate, or a
//!   point inside the hull because floating-point distances misordered it). Here such a point is
//!   located by walking and inserted into the triangle (or onto the edge) that holds it, then
//!   legalized — so the sweep is correct for any insertion order, the distance order only making
//!   it fast. The seed's third point is chosen among points exactly off the line of the first
//!   two. Input points must be distinct (exact duplicates are skipped);
//! * indices are `u32`;
//! * the sweep's distance order is a radix sort (`terrain::radix`); after the sweep,
//!   [`Triangulation::spatially_ordered`] renumbers triangles and vertices in Morton order, for
//!   the point locations and scans that follow.
//!
//! The TIN itself is built by [`triangulate_in_brio_order`]: the same predicates, flips and hull
//! joins, but the points inserted in a biased randomized insertion order (Amenta, Choi & Rote
//! 2003), Hilbert-sorted within its rounds, each located by the walk below from the last
//! triangle made (Lawson's incremental construction, as CGAL's spatially sorted insertion).
//! Measured on the county tile's 278 k ground points: 3.0 flips and 9.0 in-circle tests per
//! point against the sweep's 5.1 and 12.3 (its fans of thin triangles from each point to the
//! hull are mostly flipped away), plus 3 walk steps. The perturbation makes the triangulation
//! independent of the order, so both constructions give the same triangles; the sweep
//! ([`Triangulation::new`]) stays as the reference the tests compare with.
//!
//! Point location ([`Triangulation::locate`]) is the visibility walk of Devillers, O., Pion, S.
//! & Teillaud, M. (2002), *Walking in a triangulation*, IJFCS 13(2), in its "remembering" form
//! (the edge just crossed is not tested again), starting from the triangle where the previous
//! query ended; with exact orientations it tells a face, an edge or a vertex apart exactly. On a
//! Delaunay triangulation the walk always terminates.

/// No half-edge (the other side of a convex hull edge) / no vertex.
pub const EMPTY: u32 = u32::MAX;

/// A Delaunay triangulation of a point set: flat triangle and half-edge arrays.
#[derive(Debug, Clone, Default)]
pub struct Triangulation {
    /// Three vertex indices per triangle, clockwise (y up). Half-edge `h` goes from
    /// `triangles[h]` to `triangles[next(h)]`.
    pub triangles: Vec<u32>,
    /// Per half-edge, the opposite half-edge in the adjacent triangle, or [`EMPTY`] on the hull.
    pub halfedges: Vec<u32>,
}

/// Where a query point lies in a triangulation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Location {
    /// On a vertex (index of the point).
    Vertex(u32),
    /// In the relative interior of the edge of half-edge `h` (either of its two half-edges).
    Edge(u32),
    /// Strictly inside a triangle (its index).
    Face(u32),
    /// Strictly outside the convex hull (there is no triangle).
    Outside,
}

/// The next half-edge in the same triangle.
#[inline]
pub fn next_halfedge(h: u32) -> u32 {
    if h % 3 == 2 {
        h - 2
    } else {
        h + 1
    }
}

/// The previous half-edge in the same triangle.
#[inline]
pub fn prev_halfedge(h: u32) -> u32 {
    if h.is_multiple_of(3) {
        h + 2
    } else {
        h - 1
    }
}

#[inline]
fn coord(p: [f64; 2]) -> robust::Coord<f64> {
    robust::Coord { x: p[0], y: p[1] }
}

/// Half an ulp of 1: Shewchuk's `epsilon`.
const EPS: f64 = f64::EPSILON * 0.5;
/// Shewchuk's error bounds of the floating-point orientation and in-circle determinants.
const CCW_ERR_BOUND_A: f64 = (3.0 + 16.0 * EPS) * EPS;
const ICC_ERR_BOUND_A: f64 = (10.0 + 96.0 * EPS) * EPS;

/// Orientation with an exact sign: > 0 when `a, b, c` turn counter-clockwise (y up), < 0
/// clockwise, 0 when collinear. The floating-point determinant is returned when Shewchuk's
/// static bound certifies its sign (the first stage of his `orient2d`, inlined here), else
/// [`robust::orient2d`] decides.
#[inline(always)]
pub(crate) fn orient(a: [f64; 2], b: [f64; 2], c: [f64; 2]) -> f64 {
    match orient_filtered(a, b, c) {
        Some(det) => det,
        None => robust::orient2d(coord(a), coord(b), coord(c)),
    }
}

/// The floating-point orientation determinant of [`orient`] when its sign is certified, `None`
/// when the exact computation must decide.
#[inline(always)]
fn orient_filtered(a: [f64; 2], b: [f64; 2], c: [f64; 2]) -> Option<f64> {
    let left = (a[0] - c[0]) * (b[1] - c[1]);
    let right = (a[1] - c[1]) * (b[0] - c[0]);
    let det = left - right;
    (det.abs() > CCW_ERR_BOUND_A * (left.abs() + right.abs())).then_some(det)
}

/// In-circle test with an exact sign: > 0 when `d` is inside the circle through the
/// counter-clockwise `a, b, c`, 0 when co-circular. Floating-point determinant when its sign
/// is certified (the first stage of Shewchuk's `incircle`, inlined), else [`robust::incircle`].
#[inline(always)]
pub(crate) fn in_circle(a: [f64; 2], b: [f64; 2], c: [f64; 2], d: [f64; 2]) -> f64 {
    in_circle_filtered(a, b, c, d, f64::INFINITY)
        .unwrap_or_else(|| robust::incircle(coord(a), coord(b), coord(c), coord(d)))
}

/// The floating-point in-circle determinant of [`in_circle`] when its sign is certified, `None`
/// when the exact computation must decide. `bound` is a static error bound of the determinant
/// for the point set ([`in_circle_static_bound`]), tried first: beyond it the sign is certain
/// without Shewchuk's per-test bound (the permanent, ~20 more operations); below it, his bound.
#[inline(always)]
fn in_circle_filtered(
    a: [f64; 2],
    b: [f64; 2],
    c: [f64; 2],
    d: [f64; 2],
    bound: f64,
) -> Option<f64> {
    let (adx, ady) = (a[0] - d[0], a[1] - d[1]);
    let (bdx, bdy) = (b[0] - d[0], b[1] - d[1]);
    let (cdx, cdy) = (c[0] - d[0], c[1] - d[1]);
    let (bdxcdy, cdxbdy) = (bdx * cdy, cdx * bdy);
    let (cdxady, adxcdy) = (cdx * ady, adx * cdy);
    let (adxbdy, bdxady) = (adx * bdy, bdx * ady);
    let alift = adx * adx + ady * ady;
    let blift = bdx * bdx + bdy * bdy;
    let clift = cdx * cdx + cdy * cdy;
    let det = alift * (bdxcdy - cdxbdy) + blift * (cdxady - adxcdy) + clift * (adxbdy - bdxady);
    if det.abs() > bound {
        return Some(det);
    }
    let permanent = (bdxcdy.abs() + cdxbdy.abs()) * alift
        + (cdxady.abs() + adxcdy.abs()) * blift
        + (adxbdy.abs() + bdxady.abs()) * clift;
    (det.abs() > ICC_ERR_BOUND_A * permanent).then_some(det)
}

/// A static error bound of the in-circle determinant of [`in_circle_filtered`] over `pts`:
/// with every coordinate difference at most `w` (the larger side of the bounding box), each
/// of the permanent's three terms is at most `2 w^2 * 2 w^2`, so Shewchuk's bound
/// `ICC_ERR_BOUND_A * permanent` is at most `ICC_ERR_BOUND_A * 12 w^4` (times a margin for the
/// roundings of the differences, products and of `w` itself). A determinant beyond it has a
/// certain sign. Infinite (the static filter never decides) outside `1e-50 <= w <= 1e60`,
/// where underflow or overflow could break the analysis, or with an infinite coordinate.
fn in_circle_static_bound(pts: &[[f64; 2]]) -> f64 {
    let [x0, y0, x1, y1] = bounding_box(pts);
    let w = (x1 - x0).max(y1 - y0);
    // (A NaN coordinate, which `min` and `max` pass over, makes every determinant it enters
    // NaN, which no bound certifies.)
    if !(1e-50..=1e60).contains(&w) {
        return f64::INFINITY;
    }
    ICC_ERR_BOUND_A * 12.0 * (w * w) * (w * w) * (1.0 + 1e-6)
}

/// `true` when `d` is inside the circle through the counter-clockwise triangle `a, b, c`, exact,
/// with co-circular ties broken by the symbolic perturbation of Devillers & Teillaud (2011)
/// (CGAL's 2D `side_of_oriented_circle` with `perturb = true`). `bound` as in
/// [`in_circle_filtered`].
#[inline(always)]
fn in_circle_perturbed(a: [f64; 2], b: [f64; 2], c: [f64; 2], d: [f64; 2], bound: f64) -> bool {
    match in_circle_filtered(a, b, c, d, bound) {
        Some(det) => det > 0.0,
        None => in_circle_exact_perturbed(a, b, c, d),
    }
}

/// [`in_circle_perturbed`] when the filters cannot decide (rare: out of the hot path).
#[cold]
#[inline(never)]
fn in_circle_exact_perturbed(a: [f64; 2], b: [f64; 2], c: [f64; 2], d: [f64; 2]) -> bool {
    let s = robust::incircle(coord(a), coord(b), coord(c), coord(d));
    if s != 0.0 {
        return s > 0.0;
    }
    co_circular_tie(a, b, c, d)
}

/// The side of `d` of [`in_circle_perturbed`] when it lies exactly on the circle (rare: out of
/// the hot path).
#[cold]
#[inline(never)]
fn co_circular_tie(a: [f64; 2], b: [f64; 2], c: [f64; 2], d: [f64; 2]) -> bool {
    // Sort the four points lexicographically; look at the two largest.
    let mut order = [(a, 0u8), (b, 1), (c, 2), (d, 3)];
    order.sort_unstable_by(|p, q| p.0[0].total_cmp(&q.0[0]).then(p.0[1].total_cmp(&q.0[1])));
    for &(_, which) in order[2..].iter().rev() {
        let o = match which {
            3 => return false,
            2 => orient(a, b, d),
            1 => orient(a, d, c),
            _ => orient(d, b, c),
        };
        if o != 0.0 {
            return o > 0.0;
        }
    }
    false
}

/// The advancing convex hull of the sweep: a doubly linked list of hull vertices, with the
/// half-edge of each hull edge and an angular hash to find a visible edge quickly.
struct Hull {
    prev: Vec<u32>,
    next: Vec<u32>,
    /// Per hull vertex `v`: the half-edge `v → next[v]`.
    tri: Vec<u32>,
    hash: Vec<u32>,
    start: u32,
    centre: [f64; 2],
    /// Scratch stack of half-edges to legalize.
    stack: Vec<u32>,
    /// The static error bound of the in-circle tests over the points
    /// ([`in_circle_static_bound`]).
    icc_bound: f64,
}

impl Hull {
    /// The hull of the seed triangle `seed` (counter-clockwise, its half-edges 0, 1, 2) among
    /// the points `pts`, with `hash_len` buckets of edge starts around `centre`.
    fn around_seed(pts: &[[f64; 2]], seed: [u32; 3], hash_len: usize, centre: [f64; 2]) -> Hull {
        let n = pts.len();
        let mut hull = Hull {
            prev: vec![0; n],
            next: vec![0; n],
            tri: vec![0; n],
            hash: vec![EMPTY; hash_len],
            start: seed[0],
            centre,
            stack: Vec::new(),
            icc_bound: in_circle_static_bound(pts),
        };
        for k in 0..3 {
            let (a, b) = (seed[k], seed[(k + 1) % 3]);
            hull.next[a as usize] = b;
            hull.prev[b as usize] = a;
            hull.tri[a as usize] = k as u32;
        }
        hull
    }

    fn hash_key(&self, p: [f64; 2]) -> usize {
        let dx = p[0] - self.centre[0];
        let dy = p[1] - self.centre[1];
        let q = dx / (dx.abs() + dy.abs());
        let a = (if dy > 0.0 { 3.0 - q } else { 1.0 + q }) / 4.0; // [0, 1], NaN at the centre
        let len = self.hash.len();
        // `len * a` is in [0, len] (or NaN, which casts to 0): the cast truncates like `floor`,
        // and only `len` itself wraps.
        let k = (len as f64 * a) as usize;
        if k >= len {
            k - len
        } else {
            k
        }
    }

    fn hash_edge(&mut self, p: [f64; 2], i: u32) {
        let k = self.hash_key(p);
        self.hash[k] = i;
    }

    /// A hull edge (its first vertex) that `p` sees strictly, and whether it is the walk's
    /// start (so edges before it may be visible too); `None` when `p` sees none.
    fn find_visible_edge(&self, p: [f64; 2], pts: &[[f64; 2]]) -> Option<(u32, bool)> {
        let key = self.hash_key(p);
        let len = self.hash.len();
        let mut start = self.start;
        let mut k = key;
        for _ in 0..len {
            let s = self.hash[k];
            if s != EMPTY && self.next[s as usize] != EMPTY {
                start = s;
                break;
            }
            k = if k + 1 == len { 0 } else { k + 1 };
        }
        let start = self.prev[start as usize];
        let mut e = start;
        while orient(p, pts[e as usize], pts[self.next[e as usize] as usize]) <= 0.0 {
            e = self.next[e as usize];
            if e == start {
                return None;
            }
        }
        Some((e, e == start))
    }
}

impl Triangulation {
    /// Number of triangles.
    pub fn len(&self) -> usize {
        self.triangles.len() / 3
    }

    /// `true` when there is no triangle (fewer than 3 points, or all on one line).
    pub fn is_empty(&self) -> bool {
        self.triangles.is_empty()
    }

    /// The Delaunay triangulation of `pts` (distinct points; an exact duplicate is left out).
    /// No triangle when there are fewer than three points or all lie on one line.
    pub fn new(pts: &[[f64; 2]]) -> Triangulation {
        Self::with_order(pts, None)
    }

    /// [`Triangulation::new`], inserting the points in `order` instead of the sweep's (for
    /// tests of the insertion of points inside the hull).
    fn with_order(pts: &[[f64; 2]], order: Option<&[u32]>) -> Triangulation {
        let Some(seed) = seed_triangle(pts) else {
            return Triangulation::default();
        };
        let order: Vec<u32> = match order {
            Some(o) => o.to_vec(),
            None => by_distance(pts, seed_centre(pts, seed)),
        };
        Self::sweep(pts, seed, order)
    }

    /// The sweep from the seed triangle `(i0, i1, i2)`, inserting the other points in `order`.
    fn sweep(
        pts: &[[f64; 2]],
        (i0, i1, i2): (u32, u32, u32),
        order: impl IntoIterator<Item = u32>,
    ) -> Triangulation {
        let n = pts.len();
        assert!(n < EMPTY as usize, "too many points for u32 indices");
        let (p0, p1, p2) = (pts[i0 as usize], pts[i1 as usize], pts[i2 as usize]);
        let centre = sweep_centre(p0, p1, p2);
        let max_triangles = 2 * n - 5;
        let mut t = Triangulation {
            triangles: Vec::with_capacity(max_triangles * 3),
            halfedges: Vec::with_capacity(max_triangles * 3),
        };
        t.add_triangle(i0, i1, i2, EMPTY, EMPTY, EMPTY);

        let hash_len = ((n as f64).sqrt().ceil() as usize).max(1);
        let mut hull = Hull::around_seed(pts, [i0, i1, i2], hash_len, centre);
        hull.hash_edge(p0, i0);
        hull.hash_edge(p1, i1);
        hull.hash_edge(p2, i2);

        for i in order {
            if i == i0 || i == i1 || i == i2 {
                continue;
            }
            let p = pts[i as usize];
            let Some((e, walk_back)) = hull.find_visible_edge(p, pts) else {
                t.insert_inside(i, pts, &mut hull);
                continue;
            };
            t.join_hull(i, e, walk_back, pts, &mut hull);
            hull.hash_edge(p, i);
            hull.hash_edge(pts[hull.start as usize], hull.start);
        }
        t.triangles.shrink_to_fit();
        t.halfedges.shrink_to_fit();
        t
    }

    /// Joins point `i`, outside the hull, to the hull edges it sees strictly, starting from the
    /// visible edge of hull vertex `e` (and, with `walk_back`, looking at the edges before it
    /// too), legalizing each new triangle; `i` takes its place on the hull. Leaves `hull.start`
    /// at the vertex before `i`.
    #[inline(always)]
    fn join_hull(
        &mut self,
        i: u32,
        mut e: u32,
        walk_back: bool,
        pts: &[[f64; 2]],
        hull: &mut Hull,
    ) {
        let t = self;
        let p = pts[i as usize];
        // The first triangle from the point, then flips.
        let eu = e as usize;
        let tt = t.add_triangle(e, i, hull.next[eu], EMPTY, EMPTY, hull.tri[eu]);
        hull.tri[i as usize] = t.legalize(tt + 2, pts, hull);
        hull.tri[eu] = tt;
        // Walk forward along the hull, adding triangles.
        let mut nx = hull.next[eu];
        loop {
            let q = hull.next[nx as usize];
            if orient(p, pts[nx as usize], pts[q as usize]) <= 0.0 {
                break;
            }
            let tt = t.add_triangle(nx, i, q, hull.tri[i as usize], EMPTY, hull.tri[nx as usize]);
            hull.tri[i as usize] = t.legalize(tt + 2, pts, hull);
            hull.next[nx as usize] = EMPTY; // removed from the hull
            nx = q;
        }
        // Walk backward from the other side.
        if walk_back {
            loop {
                let q = hull.prev[e as usize];
                if orient(p, pts[q as usize], pts[e as usize]) <= 0.0 {
                    break;
                }
                let tt = t.add_triangle(q, i, e, EMPTY, hull.tri[e as usize], hull.tri[q as usize]);
                t.legalize(tt + 2, pts, hull);
                hull.tri[q as usize] = tt;
                hull.next[e as usize] = EMPTY;
                e = q;
            }
        }
        hull.prev[i as usize] = e;
        hull.next[i as usize] = nx;
        hull.prev[nx as usize] = i;
        hull.next[e as usize] = i;
        hull.start = e;
    }

    /// Incremental insertion of the points in index order, each located by a walk from the
    /// last triangle made (Lawson's incremental algorithm with the walk of [`Self::locate`]):
    /// the seed is the first two points and the first point exactly off their line; a point
    /// outside the hull is joined to the hull edges it sees, as in the sweep.
    fn incremental(pts: &[[f64; 2]]) -> Triangulation {
        let n = pts.len();
        assert!(n < EMPTY as usize, "too many points for u32 indices");
        if n < 3 {
            return Triangulation::default();
        }
        let (i0, i1) = (0u32, 1u32);
        let (p0, p1) = (pts[0], pts[1]);
        let Some(k2) = pts[2..].iter().position(|&p| orient(p0, p1, p) != 0.0) else {
            return Triangulation::default();
        };
        let i2 = 2 + k2 as u32;
        let (i1, i2) = if orient(p0, p1, pts[i2 as usize]) > 0.0 {
            (i2, i1)
        } else {
            (i1, i2)
        };
        let max_triangles = 2 * n - 5;
        let mut t = Triangulation {
            triangles: Vec::with_capacity(max_triangles * 3),
            halfedges: Vec::with_capacity(max_triangles * 3),
        };
        t.add_triangle(i0, i1, i2, EMPTY, EMPTY, EMPTY);
        let mut hull = Hull::around_seed(pts, [i0, i1, i2], 1, p0);
        let mut last = 0u32;
        for i in 2..n as u32 {
            if i == i0 || i == i1 || i == i2 {
                continue;
            }
            let (loc, ended, exit) = t.walk(pts, pts[i as usize], last);
            match loc {
                Location::Outside => {
                    t.join_hull(i, t.triangles[exit as usize], true, pts, &mut hull);
                }
                Location::Vertex(_) => {
                    last = ended;
                    continue;
                }
                _ => t.insert_at(i, loc, pts, &mut hull),
            }
            last = t.len() as u32 - 1;
        }
        t.triangles.shrink_to_fit();
        t.halfedges.shrink_to_fit();
        t
    }

    fn add_triangle(&mut self, i0: u32, i1: u32, i2: u32, a: u32, b: u32, c: u32) -> u32 {
        let t = self.triangles.len() as u32;
        self.triangles.extend_from_slice(&[i0, i1, i2]);
        self.halfedges.extend_from_slice(&[a, b, c]);
        for (k, h) in [a, b, c].into_iter().enumerate() {
            if h != EMPTY {
                self.halfedges[h as usize] = t + k as u32;
            }
        }
        t
    }

    /// Appends `k` placeholder triangles, returning the index of the first.
    fn reserve_triangles(&mut self, k: usize) -> u32 {
        let t = self.len() as u32;
        self.triangles.resize(self.triangles.len() + 3 * k, EMPTY);
        self.halfedges.resize(self.halfedges.len() + 3 * k, EMPTY);
        t
    }

    /// Writes triangle `t` (its vertices and the opposites of its three half-edges, linking them
    /// back).
    fn set_triangle(&mut self, t: u32, v: [u32; 3], opp: [u32; 3]) {
        let base = 3 * t as usize;
        self.triangles[base..base + 3].copy_from_slice(&v);
        self.halfedges[base..base + 3].copy_from_slice(&opp);
        for (k, h) in opp.into_iter().enumerate() {
            if h != EMPTY {
                self.halfedges[h as usize] = 3 * t + k as u32;
            }
        }
    }

    /// Flips the edge of half-edge `a` and the edges it exposes until all are locally Delaunay
    /// (the point opposite `a` being the one just inserted). Returns the half-edge that ends the
    /// chain (Delaunator's `ar`).
    fn legalize(&mut self, mut a: u32, pts: &[[f64; 2]], hull: &mut Hull) -> u32 {
        //           pl                    pl
        //          /||\                  /  \
        //       al/ || \bl            al/    \a
        //        /  ||  \              /      \
        //       /  a||b  \    flip    /___ar___\
        //     p0\   ||   /p1   =>   p0\---bl---/p1
        //        \  ||  /              \      /
        //       ar\ || /br             b\    /br
        //          \||/                  \  /
        //           pr                    pr
        let (tri, he) = (&mut self.triangles[..], &mut self.halfedges[..]);
        // The invariants that make the unchecked accesses below sound, checked once here: the
        // arrays have one entry per half-edge, `a` and every half-edge stored in `he` other
        // than EMPTY (hence every one stacked) is below their length — each is written as
        // `3 * t + k` of an existing triangle `t` — and every vertex in `tri` indexes `pts`
        // (the sweep indexes `pts` with a point, bounds-checked, before it enters a triangle).
        assert_eq!(tri.len(), he.len());
        assert!((a as usize) < he.len());
        let bound = hull.icc_bound;
        // The stack as a local: its length and buffer stay in registers.
        let mut stack = std::mem::take(&mut hull.stack);
        // The inserted point p0 is opposite every edge tested: flips keep it at `prev(a)` of
        // the edge kept and of the edge stacked.
        let p0 = pts[tri[prev_halfedge(a) as usize] as usize];
        let ar = loop {
            debug_assert!((a as usize) < he.len());
            // SAFETY: `a` is a half-edge (invariants above).
            let b = unsafe { *he.get_unchecked(a as usize) };
            let ar = prev_halfedge(a);
            let illegal = b != EMPTY && {
                let al = next_halfedge(a);
                let bl = prev_halfedge(b);
                debug_assert!((b as usize) < he.len());
                // SAFETY: `a`, `al`, `b`, `bl` are half-edges of existing triangles, their
                // vertices indices into `pts` (invariants above).
                let (pr, pl, p1) = unsafe {
                    (
                        *pts.get_unchecked(*tri.get_unchecked(a as usize) as usize),
                        *pts.get_unchecked(*tri.get_unchecked(al as usize) as usize),
                        *pts.get_unchecked(*tri.get_unchecked(bl as usize) as usize),
                    )
                };
                debug_assert_eq!(p0, pts[tri[ar as usize] as usize]);
                // (p0, pr, pl) is clockwise: (p0, pl, pr) counter-clockwise.
                in_circle_perturbed(p0, pl, pr, p1, bound)
            };
            if !illegal {
                match stack.pop() {
                    Some(next) => {
                        a = next;
                        continue;
                    }
                    None => break ar,
                }
            }
            let bl = prev_halfedge(b);
            // SAFETY: `a`, `b`, `ar`, `bl` are half-edges, and so are `hbl` and `har` when not
            // EMPTY (invariants above).
            unsafe {
                let (v1, v0) = (
                    *tri.get_unchecked(bl as usize),
                    *tri.get_unchecked(ar as usize),
                );
                *tri.get_unchecked_mut(a as usize) = v1;
                *tri.get_unchecked_mut(b as usize) = v0;
                let hbl = *he.get_unchecked(bl as usize);
                let har = *he.get_unchecked(ar as usize);
                if hbl == EMPTY {
                    // The flipped edge's other side was on the hull: its hull edge, from `v1`,
                    // moves from half-edge `bl` to `a`. (Delaunator searches the hull for the
                    // vertex whose edge is `bl`; it is the edge's first vertex.)
                    debug_assert_eq!(hull.tri[v1 as usize], bl);
                    hull.tri[v1 as usize] = a;
                }
                *he.get_unchecked_mut(a as usize) = hbl;
                *he.get_unchecked_mut(b as usize) = har;
                *he.get_unchecked_mut(ar as usize) = bl;
                if hbl != EMPTY {
                    debug_assert!((hbl as usize) < he.len());
                    *he.get_unchecked_mut(hbl as usize) = a;
                }
                if har != EMPTY {
                    debug_assert!((har as usize) < he.len());
                    *he.get_unchecked_mut(har as usize) = b;
                }
                *he.get_unchecked_mut(bl as usize) = ar;
            }
            stack.push(next_halfedge(b));
        };
        hull.stack = stack;
        ar
    }

    /// Inserts point `i`, which sees no hull edge, into the triangle or onto the edge holding
    /// it, then legalizes the edges around it. An exact duplicate of a vertex is left out.
    fn insert_inside(&mut self, i: u32, pts: &[[f64; 2]], hull: &mut Hull) {
        let start = hull.tri[hull.start as usize] / 3;
        let loc = self.locate(pts, pts[i as usize], start).0;
        self.insert_at(i, loc, pts, hull);
    }

    /// Inserts point `i` at its location `loc` (not [`Location::Outside`]) in the triangulation:
    /// splits the triangle, or the edge (and the triangles on its sides), then legalizes the
    /// edges around it. An exact duplicate of a vertex is left out.
    fn insert_at(&mut self, i: u32, loc: Location, pts: &[[f64; 2]], hull: &mut Hull) {
        let p = pts[i as usize];
        let legal: [u32; 4];
        let touched: [u32; 4];
        let mut joined_hull = false;
        match loc {
            Location::Vertex(_) => return,
            Location::Outside => {
                // Cannot happen: a point outside the hull sees one of its edges.
                debug_assert!(false, "point outside the hull but sees no hull edge");
                return;
            }
            Location::Face(t) => {
                // The common case, written out: only what changes is written. Triangle t keeps
                // its first two corners and first half-edge (whose opposite already points to
                // it), and is (a, b, i); (b, c, i) and (c, a, i) are appended: the same arrays
                // as `set_triangle` of the three.
                let base = 3 * t as usize;
                let [a, b, c] = [
                    self.triangles[base],
                    self.triangles[base + 1],
                    self.triangles[base + 2],
                ];
                let [ha, hb, hc] = [
                    self.halfedges[base],
                    self.halfedges[base + 1],
                    self.halfedges[base + 2],
                ];
                let t1 = self.len() as u32;
                let t2 = t1 + 1;
                self.triangles[base + 2] = i;
                self.halfedges[base + 1] = 3 * t1 + 2;
                self.halfedges[base + 2] = 3 * t2 + 1;
                self.triangles.extend_from_slice(&[b, c, i, c, a, i]);
                self.halfedges.extend_from_slice(&[
                    hb,
                    3 * t2 + 2,
                    3 * t + 1,
                    hc,
                    3 * t + 2,
                    3 * t1 + 1,
                ]);
                for (h, at, v) in [(ha, 3 * t, a), (hb, 3 * t1, b), (hc, 3 * t2, c)] {
                    if h == EMPTY {
                        // A hull edge: its half-edge (maybe moved).
                        hull.tri[v as usize] = at;
                    } else {
                        self.halfedges[h as usize] = at;
                    }
                }
                // One legalization pass from the first new edge, the others waiting on its
                // stack.
                debug_assert!(hull.stack.is_empty());
                hull.stack.extend([3 * t2, 3 * t1]);
                self.legalize(3 * t, pts, hull);
                return;
            }
            Location::Edge(h) => {
                let (e1, e2) = (next_halfedge(h), prev_halfedge(h));
                let t = h / 3;
                let [a, b, c] = [
                    self.triangles[h as usize],
                    self.triangles[e1 as usize],
                    self.triangles[e2 as usize],
                ];
                let (hb, hc) = (self.halfedges[e1 as usize], self.halfedges[e2 as usize]);
                let f = self.halfedges[h as usize];
                let u = self.reserve_triangles(if f == EMPTY { 1 } else { 2 });
                if f == EMPTY {
                    // On a hull edge a → b: (a, i, c) and (i, b, c); i joins the hull.
                    self.set_triangle(t, [a, i, c], [EMPTY, 3 * u + 2, hc]);
                    self.set_triangle(u, [i, b, c], [EMPTY, hb, 3 * t + 1]);
                    let (au, iu, bu) = (a as usize, i as usize, b as usize);
                    hull.next[au] = i;
                    hull.prev[iu] = a;
                    hull.next[iu] = b;
                    hull.prev[bu] = i;
                    hull.hash_edge(p, i);
                    joined_hull = true;
                    legal = [3 * t + 2, 3 * u + 1, EMPTY, EMPTY];
                    touched = [t, u, EMPTY, EMPTY];
                } else {
                    // Across b → a in triangle t' = (b, a, d).
                    let tp = f / 3;
                    let (f1, f2) = (next_halfedge(f), prev_halfedge(f));
                    let d = self.triangles[f2 as usize];
                    let (ha, hd) = (self.halfedges[f1 as usize], self.halfedges[f2 as usize]);
                    let w = u + 1;
                    // t: (a, i, c), u: (i, b, c), t': (b, i, d), w: (i, a, d).
                    self.set_triangle(t, [a, i, c], [3 * w, 3 * u + 2, hc]);
                    self.set_triangle(u, [i, b, c], [3 * tp, hb, 3 * t + 1]);
                    self.set_triangle(tp, [b, i, d], [3 * u, 3 * w + 2, hd]);
                    self.set_triangle(w, [i, a, d], [3 * t, ha, 3 * tp + 1]);
                    legal = [3 * t + 2, 3 * u + 1, 3 * tp + 2, 3 * w + 1];
                    touched = [t, u, tp, w];
                }
            }
        }
        // Hull edges among the rewritten triangles: their half-edges moved.
        for &t in touched.iter().filter(|&&t| t != EMPTY) {
            for h in 3 * t..3 * t + 3 {
                if self.halfedges[h as usize] == EMPTY {
                    hull.tri[self.triangles[h as usize] as usize] = h;
                }
            }
        }
        // One legalization pass from the first new edge, the others waiting on its stack.
        debug_assert!(hull.stack.is_empty());
        hull.stack
            .extend(legal[1..].iter().rev().filter(|&&h| h != EMPTY));
        self.legalize(legal[0], pts, hull);
        if joined_hull {
            // `i` joined the hull: flips may have moved its outgoing hull edge (Delaunator
            // tracks it through `legalize`'s result). Turn around `i` from its incoming hull
            // edge, whose slot flips never move, to the outgoing one.
            let a = hull.prev[i as usize];
            let mut h = next_halfedge(hull.tri[a as usize]);
            while self.halfedges[h as usize] != EMPTY {
                h = next_halfedge(self.halfedges[h as usize]);
            }
            hull.tri[i as usize] = h;
        }
    }

    /// The same triangles renumbered for locality of reference: vertices in Morton (Z-order)
    /// order of their cell in a 2⁸ × 2⁸ grid over the points' bounding box, triangles in that
    /// order of the cell of their corner that comes first (ties in their old order, in both);
    /// each triangle keeps its first corner and orientation. Returns it and, per new vertex, its
    /// old index. Point locations of spatially sorted queries, and scans over the triangles,
    /// then touch memory almost sequentially, where the sweep's numbering goes round in rings.
    /// (Cells, not full keys: one counting-sort pass over the 2¹⁶ cells instead of four radix
    /// passes; a cell holds a few triangles, within a few cache lines.) The sort keys carry
    /// their index packed above the cell: 8-byte items instead of 16-byte (key, index) pairs,
    /// half the sort's memory.
    pub fn spatially_ordered(&self, pts: &[[f64; 2]]) -> (Triangulation, Vec<u32>) {
        use super::radix::sort_by_digits;
        let grid = super::MortonGrid::covering(pts.iter().map(|p| (p[0], p[1])));
        let mut scratch: Vec<u64> = Vec::new();
        // The top 16 of the key's 32 bits: the cell, in the low 16 bits; the index above.
        let mut keyed: Vec<u64> = pts
            .iter()
            .enumerate()
            .map(|(v, p)| (v as u64) << 32 | grid.key(p[0], p[1]) >> 16)
            .collect();
        sort_by_digits::<1, 16, u64>(&mut keyed, &mut scratch, |&k| k);
        let old_vertex: Vec<u32> = keyed.iter().map(|&k| (k >> 32) as u32).collect();
        // The keys' indices are 0..n, each once: the sort permuted them.
        let new_vertex = inverse_permutation(&old_vertex);
        // Cell per new vertex index: increasing, so the smallest corner index has the
        // smallest cell.
        let cell_of_new: Vec<u16> = keyed.iter().map(|&k| k as u16).collect();
        keyed.clear();
        keyed.extend(self.triangles.chunks_exact(3).enumerate().map(|(t, v)| {
            let first = new_vertex[v[0] as usize]
                .min(new_vertex[v[1] as usize])
                .min(new_vertex[v[2] as usize]);
            (t as u64) << 32 | cell_of_new[first as usize] as u64
        }));
        drop(cell_of_new);
        sort_by_digits::<1, 16, u64>(&mut keyed, &mut scratch, |&k| k);
        drop(scratch);
        // As for the vertices: the triangle indices 0..m, permuted.
        let old_triangle: Vec<u32> = keyed.iter().map(|&k| (k >> 32) as u32).collect();
        drop(keyed);
        let new_triangle = inverse_permutation(&old_triangle);
        drop(old_triangle);
        // The old triangles read in order and scattered to their new places: independent
        // iterations, whose cache misses overlap. (Moving them in place along the cycles of
        // the permutation saves this copy's memory but chains each step's misses to the
        // previous one's: measured ~13 ms slower on the county tile's 557 k triangles.)
        // Written into the vectors' spare capacity: each slot once (below), so they are not
        // filled first.
        let len = self.triangles.len();
        let mut triangles: Vec<u32> = Vec::with_capacity(len);
        let mut halfedges: Vec<u32> = Vec::with_capacity(len);
        {
            let (tri_out, he_out) = (
                &mut triangles.spare_capacity_mut()[..len],
                &mut halfedges.spare_capacity_mut()[..len],
            );
            for ((v, h), &new) in self
                .triangles
                .chunks_exact(3)
                .zip(self.halfedges.chunks_exact(3))
                .zip(&new_triangle)
            {
                let n = 3 * new as usize;
                for k in 0..3 {
                    tri_out[n + k].write(new_vertex[v[k] as usize]);
                    he_out[n + k].write(if h[k] == EMPTY {
                        EMPTY
                    } else {
                        3 * new_triangle[(h[k] / 3) as usize] + h[k] % 3
                    });
                }
            }
        }
        // SAFETY: `new_triangle` is a permutation of 0..m (checked in debug builds by
        // `inverse_permutation`), so the loop wrote slots `3 * new + k` for every new triangle
        // and k < 3: all `len = 3 m` of them.
        unsafe {
            triangles.set_len(len);
            halfedges.set_len(len);
        }
        (
            Triangulation {
                triangles,
                halfedges,
            },
            old_vertex,
        )
    }

    /// Locates `p` by a remembering visibility walk from triangle `start` (any triangle; clamped
    /// to a valid one). Returns the location and the triangle where the walk ended (a good start
    /// for the next nearby query). Must not be called on an empty triangulation.
    pub fn locate(&self, pts: &[[f64; 2]], p: [f64; 2], start: u32) -> (Location, u32) {
        let (loc, t, _) = self.walk(pts, p, start);
        (loc, t)
    }

    /// [`Triangulation::locate`], also giving, for a point outside the hull, the hull
    /// half-edge the walk left by (one that `p` sees strictly); [`EMPTY`] otherwise.
    ///
    /// Each triangle after the first is entered through an edge whose two corners (and their
    /// positions relative to `p`) are those of the edge just crossed: only its third corner is
    /// read, and only its two other edges are tested, in the order the rotation gives them.
    /// The same tests on the same values as testing every edge but the entry one in each
    /// triangle, so the same path.
    #[inline(always)]
    fn walk(&self, pts: &[[f64; 2]], p: [f64; 2], start: u32) -> (Location, u32, u32) {
        let n_tri = self.len() as u32;
        debug_assert!(n_tri > 0);
        let t = if start < n_tri { start } else { 0 };
        // The sign of edge (a, b) of a clockwise triangle seen from p: > 0 when p is strictly
        // beyond it. `qa, qb` are the corners, `da, db` the same relative to p (so the
        // determinant is `orient_filtered(qa, qb, p)`'s). An uncertain sign is most often a
        // query exactly at a vertex (a ground point), whose location is that vertex whatever
        // the walk's state; the exact orientation decides otherwise.
        macro_rules! side {
            ($t:expr, $va:expr, $qa:expr, $da:expr, $vb:expr, $qb:expr, $db:expr) => {{
                let (da, db) = ($da, $db);
                let left = da[0] * db[1];
                let right = da[1] * db[0];
                let det = left - right;
                if det.abs() > CCW_ERR_BOUND_A * (left.abs() + right.abs()) {
                    det
                } else {
                    if p == $qa {
                        return (Location::Vertex($va), $t, EMPTY);
                    }
                    if p == $qb {
                        return (Location::Vertex($vb), $t, EMPTY);
                    }
                    robust::orient2d(coord($qa), coord($qb), coord(p))
                }
            }};
        }
        // The first triangle: its three edges, from the rotation's first (1: the rotation
        // starts at 0 and turns before each triangle).
        let mut turn = 1u32;
        let base = 3 * t;
        let bu = base as usize;
        let v: [u32; 3] = self.triangles[bu..bu + 3].try_into().unwrap();
        let q = v.map(|i| pts[i as usize]);
        let d = q.map(|c| [c[0] - p[0], c[1] - p[1]]);
        let mut zero = 0u8;
        // Edge k (corner k to corner k1): crossed when p is strictly beyond, giving the
        // half-edge entered and the corners of the crossed edge.
        let (mut opp, ka, kb) = 'first: {
            for (k, k1) in [(1usize, 2usize), (2, 0), (0, 1)] {
                let o = side!(t, v[k], q[k], d[k], v[k1], q[k1], d[k1]);
                if o > 0.0 {
                    let h = base + k as u32;
                    let opp = self.halfedges[h as usize];
                    if opp == EMPTY {
                        return (Location::Outside, t, h);
                    }
                    break 'first (opp, k, k1);
                }
                zero |= ((o == 0.0) as u8) << k;
            }
            return (classify(zero, base, v), t, EMPTY);
        };
        // The crossed edge went from corner `a` to corner `b`: in the triangle entered, the
        // entry half-edge goes from `b` to `a`.
        let (mut va, mut qa, mut da) = (v[ka], q[ka], d[ka]);
        let (mut vb, mut qb, mut db) = (v[kb], q[kb], d[kb]);
        loop {
            let t = opp / 3;
            let base = 3 * t;
            let kk = opp - base;
            // Edge r goes from a to the third corner c, edge l from c to b.
            let kr = if kk == 2 { 0 } else { kk + 1 };
            let kl = if kk == 0 { 2 } else { kk - 1 };
            turn = if turn == 2 { 0 } else { turn + 1 };
            let vc = self.triangles[(base + kl) as usize];
            debug_assert_eq!(
                (
                    self.triangles[opp as usize],
                    self.triangles[(base + kr) as usize]
                ),
                (vb, va)
            );
            let qc = pts[vc as usize];
            let dc = [qc[0] - p[0], qc[1] - p[1]];
            // The rotation tests kk (skipped), kr, kl from turn = kk or kr; kl, kk, kr from kl.
            // Tests one edge: crosses it (into `opp`, its far corner taking the place given)
            // when the query is strictly beyond it, else tells whether the query is on its line.
            macro_rules! cross_or_on {
                ($k:expr, $side:expr, $moved:stmt) => {{
                    let o = $side;
                    if o > 0.0 {
                        let h = base + $k;
                        opp = self.halfedges[h as usize];
                        if opp == EMPTY {
                            return (Location::Outside, t, h);
                        }
                        $moved
                        continue;
                    }
                    o == 0.0
                }};
            }
            let (zr, zl);
            if turn != kl {
                zr = cross_or_on!(
                    kr,
                    side!(t, va, qa, da, vc, qc, dc),
                    (vb, qb, db) = (vc, qc, dc)
                );
                zl = cross_or_on!(
                    kl,
                    side!(t, vc, qc, dc, vb, qb, db),
                    (va, qa, da) = (vc, qc, dc)
                );
            } else {
                zl = cross_or_on!(
                    kl,
                    side!(t, vc, qc, dc, vb, qb, db),
                    (va, qa, da) = (vc, qc, dc)
                );
                zr = cross_or_on!(
                    kr,
                    side!(t, va, qa, da, vc, qc, dc),
                    (vb, qb, db) = (vc, qc, dc)
                );
            }
            let zero = (zr as u8) << kr | (zl as u8) << kl;
            let bu = base as usize;
            let v: [u32; 3] = self.triangles[bu..bu + 3].try_into().unwrap();
            return (classify(zero, base, v), t, EMPTY);
        }
    }
}

/// Where a walk that crossed no edge of triangle `base / 3` (corners `v`) stops, from the
/// edges whose line holds the query point (bit k: edge k, from corner k to corner k + 1).
#[inline(always)]
fn classify(zero: u8, base: u32, v: [u32; 3]) -> Location {
    match zero {
        0b000 => Location::Face(base / 3),
        0b001 => Location::Edge(base),
        0b010 => Location::Edge(base + 1),
        0b100 => Location::Edge(base + 2),
        // Two edges through p: p is their common vertex, opposite the third edge m, i.e. the
        // first vertex of half-edge prev(m).
        0b011 => Location::Vertex(v[1]),
        0b110 => Location::Vertex(v[2]),
        0b101 => Location::Vertex(v[0]),
        _ => unreachable!("degenerate triangle"),
    }
}

/// The inverse of the permutation `p` of `0..p.len()`: `inv[p[k]] = k`. Every slot is written
/// once, so the vector is not filled first (`vec![0; n]` would be a memset pass over it). `p`
/// must be a permutation (checked in debug builds): the callers' are the indices `0..n` carried
/// through a sort.
fn inverse_permutation(p: &[u32]) -> Vec<u32> {
    let n = p.len();
    let mut inv: Vec<u32> = Vec::with_capacity(n);
    let out = &mut inv.spare_capacity_mut()[..n];
    for (k, &i) in p.iter().enumerate() {
        out[i as usize].write(k as u32);
    }
    debug_assert!({
        let mut seen = vec![false; n];
        p.iter()
            .all(|&i| !std::mem::replace(&mut seen[i as usize], true))
    });
    // SAFETY: `p` is a permutation of 0..n (checked above in debug builds): the loop wrote
    // every slot of 0..n.
    unsafe { inv.set_len(n) };
    inv
}

/// The order in which the sweep inserts the points (by distance from the seed triangle's
/// circumcentre; identity when there is no triangle). Triangulating the points permuted into
/// this order gives the same triangulation (it is unique) with sequential memory access: the
/// points the sweep touches are the ones it inserted last.
#[cfg(test)]
pub fn sweep_order(pts: &[[f64; 2]]) -> Vec<u32> {
    match seed_triangle(pts) {
        Some(seed) => by_distance(pts, seed_centre(pts, seed)),
        None => (0..pts.len() as u32).collect(),
    }
}

/// The points in the sweep's insertion order (by distance from the seed triangle's
/// circumcentre, ties by index), that order, and the
/// triangulation of the reordered points: the same triangulation as
/// `Triangulation::new` of the reordered points, with one seed search and one distance sort
/// instead of two.
pub fn triangulate_in_sweep_order(pts: &[[f64; 2]]) -> (Vec<[f64; 2]>, Vec<u32>, Triangulation) {
    let Some(seed) = seed_triangle(pts) else {
        let identity = (0..pts.len() as u32).collect();
        return (pts.to_vec(), identity, Triangulation::default());
    };
    let order = by_distance(pts, seed_centre(pts, seed));
    let sorted: Vec<[f64; 2]> = order.iter().map(|&i| pts[i as usize]).collect();
    // The seed's corners, renumbered into the sorted points.
    let mut at = [EMPTY; 3];
    for (k, &i) in order.iter().enumerate() {
        for (a, s) in at.iter_mut().zip([seed.0, seed.1, seed.2]) {
            if i == s {
                *a = k as u32;
            }
        }
    }
    let t = Triangulation::sweep(&sorted, (at[0], at[1], at[2]), 0..sorted.len() as u32);
    (sorted, order, t)
}

/// The points in the order of insertion of [`Triangulation::incremental`] (a biased randomized
/// insertion order, [`brio_order`]), that order, and their triangulation: the Delaunay
/// triangulation of the points (unique, co-circular ties included), numbered in that order.
pub fn triangulate_in_brio_order(pts: &[[f64; 2]]) -> (Vec<[f64; 2]>, Vec<u32>, Triangulation) {
    let order = brio_order(pts);
    let sorted: Vec<[f64; 2]> = order.iter().map(|&i| pts[i as usize]).collect();
    let t = Triangulation::incremental(&sorted);
    (sorted, order, t)
}

/// A biased randomized insertion order (BRIO; Amenta, N., Choi, S. & Rote, G. (2003),
/// *Incremental constructions con BRIO*, SoCG): each point is drawn into one of `R + 1` rounds,
/// the last with probability 1/2, the one before with 1/4, and so on (the first round holds
/// about 64 points), from a hash of its index, so the order is a function of the input alone;
/// within a round the points follow a Hilbert curve over the bounding box (2¹⁶ steps a side,
/// ties by index). Each round is then about as dense as the triangulation it is inserted into,
/// and consecutive points are neighbours: about 3 flips, 9 in-circle tests and 3 walk steps per
/// point, where the sweep's distance order needed 5 flips and 12 tests (its new triangles fan
/// from the point to the hull and most are flipped away).
fn brio_order(pts: &[[f64; 2]]) -> Vec<u32> {
    let n = pts.len();
    let grid = super::MortonGrid::covering(pts.iter().map(|p| (p[0], p[1])));
    let table = hilbert_table();
    let rounds = (n / 64).max(1).ilog2();
    let mut keyed: Vec<(u64, u32)> = pts
        .iter()
        .enumerate()
        .map(|(i, p)| {
            // splitmix64's finalizer: trailing zeros geometric with p = 1/2.
            let mut z = (i as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15);
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^= z >> 31;
            let round = rounds - z.trailing_zeros().min(rounds);
            let key = (round as u64) << 32 | hilbert_of_morton(&table, grid.key(p[0], p[1]));
            (key, i as u32)
        })
        .collect();
    // Rounds below 2^6 (n < 2^38): 38 bits, in four passes of 10 (five of 8 bits before);
    // stable from index order, ties by index.
    super::radix::sort_by_digits::<4, 10, _>(&mut keyed, &mut Vec::new(), |&(k, _)| k);
    keyed.into_iter().map(|(_, i)| i).collect()
}

/// The Hilbert curve as a state machine over Morton keys, four levels (one byte of the key)
/// at a time: `table[state][byte]` holds the four levels' Hilbert digits (low byte) and the
/// next state (bits 8-9). A state is the transform of the sub-square (bit 0: both coordinates
/// complemented, bit 1: swapped), as in the classic `xy2d` loop.
fn hilbert_table() -> [[u16; 256]; 4] {
    let mut table = [[0u16; 256]; 4];
    for (state, row) in table.iter_mut().enumerate() {
        for (byte, out) in row.iter_mut().enumerate() {
            let (mut c, mut w) = ((state & 1) as u32, (state >> 1) as u32);
            let mut digits = 0u16;
            for level in (0..4).rev() {
                let (xb, yb) = (
                    (byte >> (2 * level)) as u32 & 1,
                    (byte >> (2 * level + 1)) as u32 & 1,
                );
                let (tx, ty) = (xb ^ c, yb ^ c);
                let (rx, ry) = if w == 1 { (ty, tx) } else { (tx, ty) };
                digits = digits << 2 | ((3 * rx) ^ ry) as u16;
                if ry == 0 {
                    c ^= rx;
                    w ^= 1;
                }
            }
            *out = digits | ((c | w << 1) as u16) << 8;
        }
    }
    table
}

/// The Hilbert index of the cell of Morton key `m` (below 2³², x bits even, y bits odd).
#[inline]
fn hilbert_of_morton(table: &[[u16; 256]; 4], m: u64) -> u64 {
    let mut state = 0usize;
    let mut h = 0u64;
    for b in (0..4).rev() {
        let e = table[state][((m >> (8 * b)) & 0xff) as usize];
        h = h << 8 | (e & 0xff) as u64;
        state = (e >> 8) as usize;
    }
    h
}

/// The circumcentre of the seed triangle `seed` of `pts` ([`sweep_centre`]).
fn seed_centre(pts: &[[f64; 2]], (i0, i1, i2): (u32, u32, u32)) -> [f64; 2] {
    sweep_centre(pts[i0 as usize], pts[i1 as usize], pts[i2 as usize])
}

/// The sweep's centre: the seed's circumcentre (its centroid if that overflows).
fn sweep_centre(p0: [f64; 2], p1: [f64; 2], p2: [f64; 2]) -> [f64; 2] {
    let c = circumcentre(p0, p1, p2);
    if c[0].is_finite() && c[1].is_finite() {
        c
    } else {
        [(p0[0] + p1[0] + p2[0]) / 3.0, (p0[1] + p1[1] + p2[1]) / 3.0]
    }
}

/// Point indices by increasing distance from `centre` (ties by index).
fn by_distance(pts: &[[f64; 2]], centre: [f64; 2]) -> Vec<u32> {
    // Integer keys in `f64::total_cmp`'s order, so that the sort compares plain integers: the
    // order is that of `total_cmp`, ties by index.
    let mut keyed: Vec<(u64, u32)> = pts
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let (dx, dy) = (p[0] - centre[0], p[1] - centre[1]);
            // The sign bit flipped: unsigned order is the signed key's order.
            let key = super::total_key(dx * dx + dy * dy) as u64 ^ (1 << 63);
            (key, i as u32)
        })
        .collect();
    // Stable from index order: ties by index.
    super::radix::sort_by_key::<8, u32>(&mut keyed, &mut Vec::new());
    keyed.into_iter().map(|(_, i)| i).collect()
}

/// The seed triangle: the point nearest the bounding-box centre, its nearest neighbour, and the
/// point exactly off their line making the smallest circumcircle; clockwise (y up). `None` when
/// there are fewer than three points or all are collinear.
/// `[xmin, ymin, xmax, ymax]` of the points (infinities reversed when empty).
fn bounding_box(pts: &[[f64; 2]]) -> [f64; 4] {
    let (mut x0, mut y0, mut x1, mut y1) = (
        f64::INFINITY,
        f64::INFINITY,
        f64::NEG_INFINITY,
        f64::NEG_INFINITY,
    );
    for p in pts {
        x0 = x0.min(p[0]);
        y0 = y0.min(p[1]);
        x1 = x1.max(p[0]);
        y1 = y1.max(p[1]);
    }
    [x0, y0, x1, y1]
}

fn seed_triangle(pts: &[[f64; 2]]) -> Option<(u32, u32, u32)> {
    if pts.len() < 3 {
        return None;
    }
    let [x0, y0, x1, y1] = bounding_box(pts);
    let c = [(x0 + x1) / 2.0, (y0 + y1) / 2.0];
    let d2 = |a: [f64; 2], b: [f64; 2]| (a[0] - b[0]).powi(2) + (a[1] - b[1]).powi(2);
    let nearest = |q: [f64; 2], skip: Option<usize>| -> Option<usize> {
        let mut best = (f64::INFINITY, None);
        for (i, p) in pts.iter().enumerate() {
            if Some(i) == skip || *p == q && skip.is_some() {
                continue;
            }
            let d = d2(*p, q);
            if d < best.0 || best.1.is_none() {
                best = (d, Some(i));
            }
        }
        best.1
    };
    let i0 = nearest(c, None)?;
    let p0 = pts[i0];
    let i1 = nearest(p0, Some(i0))?;
    let p1 = pts[i1];
    // Smallest circumradius among points exactly off the line p0 p1; any such point when every
    // radius overflows.
    let mut best: (f64, Option<usize>) = (f64::INFINITY, None);
    for (i, &p) in pts.iter().enumerate() {
        if i == i0 || i == i1 {
            continue;
        }
        let r = circumradius2(p0, p1, p);
        let better = r < best.0 || (best.1.is_none() && !r.is_nan());
        if better && orient(p0, p1, p) != 0.0 {
            best = (r, Some(i));
        }
    }
    let i2 = match best.1 {
        Some(i) => i,
        None => pts
            .iter()
            .enumerate()
            .position(|(i, &p)| i != i0 && i != i1 && orient(p0, p1, p) != 0.0)?,
    };
    let (i0, i1, i2) = (i0 as u32, i1 as u32, i2 as u32);
    Some(if orient(p0, p1, pts[i2 as usize]) > 0.0 {
        (i0, i2, i1)
    } else {
        (i0, i1, i2)
    })
}

fn circumdelta(a: [f64; 2], b: [f64; 2], c: [f64; 2]) -> (f64, f64) {
    let (dx, dy) = (b[0] - a[0], b[1] - a[1]);
    let (ex, ey) = (c[0] - a[0], c[1] - a[1]);
    let bl = dx * dx + dy * dy;
    let cl = ex * ex + ey * ey;
    let d = 0.5 / (dx * ey - dy * ex);
    ((ey * bl - dy * cl) * d, (dx * cl - ex * bl) * d)
}

fn circumradius2(a: [f64; 2], b: [f64; 2], c: [f64; 2]) -> f64 {
    let (x, y) = circumdelta(a, b, c);
    x * x + y * y
}

fn circumcentre(a: [f64; 2], b: [f64; 2], c: [f64; 2]) -> [f64; 2] {
    let (x, y) = circumdelta(a, b, c);
    [a[0] + x, a[1] + y]
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};

    fn random(n: usize, seed: u64) -> Vec<[f64; 2]> {
        let mut rng = rand_pcg::Pcg64::seed_from_u64(seed);
        (0..n)
            .map(|_| {
                [
                    500_000.0 + rng.random_range(0.0..100.0),
                    3_400_000.0 + rng.random_range(0.0..100.0),
                ]
            })
            .collect()
    }

    /// Checks the structure (half-edge symmetry, clockwise triangles, every point used), the
    /// hull (convex, holding every point) and the empty-circumcircle property by brute force
    /// (ties: no point strictly inside).
    fn check(pts: &[[f64; 2]], t: &Triangulation) {
        let n_tri = t.len() as u32;
        let mut used = vec![false; pts.len()];
        for h in 0..3 * n_tri {
            let o = t.halfedges[h as usize];
            if o != EMPTY {
                assert_eq!(t.halfedges[o as usize], h, "half-edge symmetry");
                assert_eq!(
                    t.triangles[o as usize],
                    t.triangles[next_halfedge(h) as usize]
                );
                assert_eq!(
                    t.triangles[next_halfedge(o) as usize],
                    t.triangles[h as usize]
                );
            }
            used[t.triangles[h as usize] as usize] = true;
        }
        assert!(used.iter().all(|&u| u), "every point is a vertex");
        let hull: Vec<u32> = (0..3 * n_tri)
            .filter(|&h| t.halfedges[h as usize] == EMPTY)
            .collect();
        for tr in 0..n_tri {
            let v = [0, 1, 2].map(|k| pts[t.triangles[(3 * tr + k) as usize] as usize]);
            assert!(orient(v[0], v[1], v[2]) < 0.0, "triangle {tr} is clockwise");
            for (i, &p) in pts.iter().enumerate() {
                if v.contains(&p) {
                    continue;
                }
                let s = robust::incircle(coord(v[0]), coord(v[2]), coord(v[1]), coord(p));
                assert!(
                    s <= 0.0,
                    "point {i} inside the circumcircle of triangle {tr}"
                );
            }
        }
        for &h in &hull {
            let a = pts[t.triangles[h as usize] as usize];
            let b = pts[t.triangles[next_halfedge(h) as usize] as usize];
            assert!(
                pts.iter().all(|&p| orient(a, b, p) <= 0.0),
                "hull is convex"
            );
        }
        // Euler: triangles = 2n - 2 - hull edges.
        assert_eq!(n_tri as usize, 2 * pts.len() - 2 - hull.len());
    }

    fn brute_locate(pts: &[[f64; 2]], t: &Triangulation, p: [f64; 2]) -> Location {
        if let Some(i) = pts.iter().position(|&q| q == p) {
            if t.triangles.contains(&(i as u32)) {
                return Location::Vertex(i as u32);
            }
        }
        for tr in 0..t.len() as u32 {
            let o = [0, 1, 2].map(|k| {
                let h = 3 * tr + k;
                orient(
                    pts[t.triangles[h as usize] as usize],
                    pts[t.triangles[next_halfedge(h) as usize] as usize],
                    p,
                )
            });
            if o.iter().all(|&v| v < 0.0) {
                return Location::Face(tr);
            }
            if o.iter().all(|&v| v <= 0.0) {
                let k = o.iter().position(|&v| v == 0.0).unwrap() as u32;
                return Location::Edge(3 * tr + k);
            }
        }
        Location::Outside
    }

    /// The same location up to which of an edge's two half-edges names it.
    fn same(t: &Triangulation, a: Location, b: Location) -> bool {
        match (a, b) {
            (Location::Edge(h), Location::Edge(g)) => h == g || t.halfedges[h as usize] == g,
            _ => a == b,
        }
    }

    #[test]
    fn random_points_are_delaunay() {
        for (n, seed) in [(3, 1), (10, 2), (200, 3), (1500, 4)] {
            let pts = random(n, seed);
            let t = Triangulation::new(&pts);
            check(&pts, &t);
        }
    }

    #[test]
    fn lattices_and_circles_give_one_triangulation_whatever_the_order() {
        // A square lattice (every cell has 4 co-circular corners), a lattice with one point
        // moved, and points on one circle (exactly representable: Pythagorean triples).
        let mut sets: Vec<Vec<[f64; 2]>> = Vec::new();
        let lattice: Vec<[f64; 2]> = (0..15)
            .flat_map(|i| (0..12).map(move |j| [1000.0 + i as f64, 2000.0 + 0.5 * j as f64]))
            .collect();
        sets.push(lattice.clone());
        let mut moved = lattice;
        moved[40][0] += 0.25;
        sets.push(moved);
        let mut circle = vec![[0.0, 0.0]];
        for (a, b) in [(3.0, 4.0), (5.0, 0.0), (0.0, 5.0), (4.0, 3.0)] {
            for (sa, sb) in [(1.0, 1.0), (-1.0, 1.0), (1.0, -1.0), (-1.0, -1.0)] {
                let p = [sa * a, sb * b];
                if !circle.contains(&p) {
                    circle.push(p);
                }
            }
        }
        sets.push(circle);
        for pts in sets {
            let t = Triangulation::new(&pts);
            check(&pts, &t);
            let canon = |pts: &[[f64; 2]], t: &Triangulation| {
                let mut tris: Vec<[[u64; 2]; 3]> = (0..t.len())
                    .map(|k| {
                        let mut v = [0, 1, 2].map(|j| {
                            let p = pts[t.triangles[3 * k + j] as usize];
                            [p[0].to_bits(), p[1].to_bits()]
                        });
                        v.sort();
                        v
                    })
                    .collect();
                tris.sort();
                tris
            };
            let reference = canon(&pts, &t);
            let mut rng = rand_pcg::Pcg64::seed_from_u64(9);
            for _ in 0..5 {
                let mut shuffled = pts.clone();
                for i in (1..shuffled.len()).rev() {
                    shuffled.swap(i, rng.random_range(0..=i));
                }
                let u = Triangulation::new(&shuffled);
                check(&shuffled, &u);
                assert_eq!(
                    canon(&shuffled, &u),
                    reference,
                    "same triangles in any order"
                );
            }
        }
    }

    #[test]
    fn collinear_and_tiny_sets_have_no_triangle() {
        assert!(Triangulation::new(&[]).is_empty());
        assert!(Triangulation::new(&[[0.0, 0.0], [1.0, 1.0]]).is_empty());
        let line: Vec<[f64; 2]> = (0..50)
            .map(|i| [i as f64 * 0.1, 2.0 * i as f64 * 0.1])
            .collect();
        assert!(Triangulation::new(&line).is_empty());
        // A line plus one point off it: a fan.
        let mut fan = line.clone();
        fan.push([0.0, 5.0]);
        let t = Triangulation::new(&fan);
        check(&fan, &t);
        assert_eq!(t.len(), 49);
    }

    #[test]
    fn exact_duplicates_are_left_out() {
        let mut pts = random(300, 5);
        let dup: Vec<[f64; 2]> = pts[..40].to_vec();
        pts.extend(dup);
        let t = Triangulation::new(&pts);
        let mut used = vec![false; pts.len()];
        for &v in &t.triangles {
            used[v as usize] = true;
        }
        assert_eq!(used.iter().filter(|&&u| u).count(), 300);
        check(&pts[..300], &t);
    }

    #[test]
    fn any_insertion_order_is_delaunay() {
        // Inserting in a random order instead of the sweep's distance order sends most points
        // inside the hull: the walk-and-split path (faces and edges, on lattices) must give the
        // same triangulation.
        for pts in [random(600, 6), {
            (0..20)
                .flat_map(|i| (0..20).map(move |j| [i as f64, j as f64]))
                .collect::<Vec<_>>()
        }] {
            let reference = Triangulation::new(&pts);
            let mut rng = rand_pcg::Pcg64::seed_from_u64(3);
            let mut order: Vec<u32> = (0..pts.len() as u32).collect();
            for i in (1..order.len()).rev() {
                order.swap(i, rng.random_range(0..=i));
            }
            let t = Triangulation::with_order(&pts, Some(&order));
            check(&pts, &t);
            let key = |t: &Triangulation| {
                let mut v: Vec<[u32; 3]> = (0..t.len())
                    .map(|k| {
                        let mut a = [
                            t.triangles[3 * k],
                            t.triangles[3 * k + 1],
                            t.triangles[3 * k + 2],
                        ];
                        a.sort();
                        a
                    })
                    .collect();
                v.sort();
                v
            };
            assert_eq!(key(&t), key(&reference));
        }
    }

    #[test]
    fn location_equals_brute_force() {
        let mut pts = random(400, 7);
        // A lattice patch so that queries land exactly on edges and vertices.
        for i in 0..6 {
            for j in 0..6 {
                pts.push([500_200.0 + i as f64, 3_400_000.0 + j as f64]);
            }
        }
        let t = Triangulation::new(&pts);
        check(&pts, &t);
        let mut rng = rand_pcg::Pcg64::seed_from_u64(8);
        let mut queries: Vec<[f64; 2]> = (0..2000)
            .map(|_| {
                [
                    499_950.0 + rng.random_range(0.0..300.0),
                    3_399_950.0 + rng.random_range(0.0..200.0),
                ]
            })
            .collect();
        queries.extend(pts.iter().step_by(7));
        for i in 0..11 {
            for j in 0..11 {
                queries.push([500_200.0 + 0.5 * i as f64, 3_400_000.0 + 0.5 * j as f64]);
            }
        }
        // Midpoints of edges (exact only sometimes) and hull vertices.
        for h in (0..t.halfedges.len()).step_by(5) {
            let a = pts[t.triangles[h] as usize];
            let b = pts[t.triangles[next_halfedge(h as u32) as usize] as usize];
            queries.push([(a[0] + b[0]) / 2.0, (a[1] + b[1]) / 2.0]);
        }
        let mut start = 0;
        let (mut faces, mut edges, mut vertices, mut outside) = (0, 0, 0, 0);
        for q in queries {
            let (loc, ended) = t.locate(&pts, q, start);
            start = ended;
            let want = brute_locate(&pts, &t, q);
            assert!(
                same(&t, loc, want),
                "{q:?}: walk {loc:?}, brute force {want:?}"
            );
            match loc {
                Location::Face(_) => faces += 1,
                Location::Edge(_) => edges += 1,
                Location::Vertex(_) => vertices += 1,
                Location::Outside => outside += 1,
            }
        }
        assert!(faces > 100 && edges > 20 && vertices > 50 && outside > 100);
    }

    #[test]
    fn spatial_renumbering_keeps_the_triangles_and_locations() {
        let mut pts = random(3000, 31);
        // A lattice patch: co-circular ties, queries on edges and vertices.
        for i in 0..8 {
            for j in 0..8 {
                pts.push([500_120.0 + i as f64, 3_400_000.0 + j as f64]);
            }
        }
        let t = Triangulation::new(&pts);
        let (u, old) = t.spatially_ordered(&pts);
        let mut seen = old.clone();
        seen.sort_unstable();
        assert_eq!(
            seen,
            (0..pts.len() as u32).collect::<Vec<_>>(),
            "a permutation"
        );
        let renumbered: Vec<[f64; 2]> = old.iter().map(|&i| pts[i as usize]).collect();
        check(&renumbered, &u);
        // The numbering itself (moved in place): vertices, then triangles by the cell of their
        // first corner, each stably from the old order, as a plain sort gives it.
        let grid = crate::algo::terrain::MortonGrid::covering(pts.iter().map(|p| (p[0], p[1])));
        let cell = |v: u32| grid.key(pts[v as usize][0], pts[v as usize][1]) >> 16;
        let mut want_old: Vec<u32> = (0..pts.len() as u32).collect();
        want_old.sort_by_key(|&v| (cell(v), v));
        assert_eq!(old, want_old);
        let mut new_vertex = vec![0u32; pts.len()];
        for (new, &o) in old.iter().enumerate() {
            new_vertex[o as usize] = new as u32;
        }
        let first = |o: usize| {
            (0..3)
                .map(|k| new_vertex[t.triangles[3 * o + k] as usize])
                .min()
        };
        let mut order: Vec<usize> = (0..t.len()).collect();
        order.sort_by_key(|&o| (cell(old[first(o).unwrap() as usize]), o));
        let mut new_triangle = vec![0u32; t.len()];
        for (new, &o) in order.iter().enumerate() {
            new_triangle[o] = new as u32;
        }
        for (new, &o) in order.iter().enumerate() {
            for k in 0..3 {
                let v = new_vertex[t.triangles[3 * o + k] as usize];
                assert_eq!(u.triangles[3 * new + k], v);
                let h = t.halfedges[3 * o + k];
                let h = if h == EMPTY {
                    EMPTY
                } else {
                    3 * new_triangle[(h / 3) as usize] + h % 3
                };
                assert_eq!(u.halfedges[3 * new + k], h);
            }
        }
        let key = |t: &Triangulation, map: &dyn Fn(u32) -> u32| {
            let mut v: Vec<[u32; 3]> = t
                .triangles
                .chunks(3)
                .map(|c| {
                    // Rotated to start at the smallest: the same oriented triangle.
                    let a = [map(c[0]), map(c[1]), map(c[2])];
                    let m = (0..3).min_by_key(|&k| a[k]).unwrap();
                    [a[m], a[(m + 1) % 3], a[(m + 2) % 3]]
                })
                .collect();
            v.sort();
            v
        };
        assert_eq!(key(&t, &|i| i), key(&u, &|i| old[i as usize]));
        // Consecutive triangles are near each other: the mean distance between the first
        // corners of consecutive triangles is far below the sweep's.
        let step = |t: &Triangulation, p: &[[f64; 2]]| {
            let c: Vec<[f64; 2]> = t.triangles.chunks(3).map(|v| p[v[0] as usize]).collect();
            c.windows(2)
                .map(|w| ((w[0][0] - w[1][0]).powi(2) + (w[0][1] - w[1][1]).powi(2)).sqrt())
                .sum::<f64>()
                / c.len() as f64
        };
        assert!(step(&u, &renumbered) * 4.0 < step(&t, &pts));
        let mut rng = rand_pcg::Pcg64::seed_from_u64(32);
        let mut queries: Vec<[f64; 2]> = (0..3000)
            .map(|_| {
                [
                    499_990.0 + rng.random_range(0.0..120.0),
                    3_399_990.0 + rng.random_range(0.0..120.0),
                ]
            })
            .collect();
        queries.extend(pts.iter().step_by(3));
        for i in 0..15 {
            queries.push([500_120.0 + 0.5 * i as f64, 3_400_000.0 + 0.5 * i as f64]);
        }
        let (mut s, mut r) = (0, 0);
        for q in queries {
            let (a, ended) = t.locate(&pts, q, s);
            s = ended;
            let (b, ended) = u.locate(&renumbered, q, r);
            r = ended;
            let b_in_old = match b {
                Location::Vertex(v) => Location::Vertex(old[v as usize]),
                Location::Face(f) => {
                    let v = [0, 1, 2].map(|k| old[u.triangles[3 * f as usize + k] as usize]);
                    let f0 = (0..t.len())
                        .find(|&k| {
                            let w = &t.triangles[3 * k..3 * k + 3];
                            v.iter().all(|x| w.contains(x))
                        })
                        .unwrap();
                    Location::Face(f0 as u32)
                }
                Location::Edge(h) => {
                    let (p, n) = (
                        old[u.triangles[h as usize] as usize],
                        old[u.triangles[next_halfedge(h) as usize] as usize],
                    );
                    let g = (0..t.triangles.len() as u32)
                        .find(|&g| {
                            t.triangles[g as usize] == p
                                && t.triangles[next_halfedge(g) as usize] == n
                        })
                        .unwrap();
                    Location::Edge(g)
                }
                Location::Outside => Location::Outside,
            };
            assert!(same(&t, a, b_in_old), "{q:?}: {a:?} vs {b:?}");
        }
    }

    #[test]
    fn distance_order_is_total_cmp_order_ties_by_index() {
        let mut pts = random(3000, 5);
        // Equal distances (ties), the centre itself (zero), far points.
        pts.extend([
            [1.0, 0.0],
            [0.0, 1.0],
            [-1.0, 0.0],
            [0.0, 0.0],
            [1e300, 0.0],
        ]);
        let centre = [0.0, 0.0];
        let d = |p: &[f64; 2]| p[0] * p[0] + p[1] * p[1];
        let mut reference: Vec<u32> = (0..pts.len() as u32).collect();
        reference.sort_by(|&a, &b| {
            d(&pts[a as usize])
                .total_cmp(&d(&pts[b as usize]))
                .then(a.cmp(&b))
        });
        assert_eq!(by_distance(&pts, centre), reference);
    }

    #[test]
    fn sweep_order_gives_the_same_triangulation() {
        let pts = random(2000, 12);
        let t = Triangulation::new(&pts);
        let order = sweep_order(&pts);
        let permuted: Vec<[f64; 2]> = order.iter().map(|&i| pts[i as usize]).collect();
        let u = Triangulation::new(&permuted);
        let key = |t: &Triangulation, map: &dyn Fn(u32) -> u32| {
            let mut v: Vec<[u32; 3]> = t
                .triangles
                .chunks(3)
                .map(|c| {
                    let mut a = [map(c[0]), map(c[1]), map(c[2])];
                    a.sort();
                    a
                })
                .collect();
            v.sort();
            v
        };
        assert_eq!(key(&t, &|i| i), key(&u, &|i| order[i as usize]));
        // The one-pass form: the same points, order and triangles; on a lattice too (ties).
        let (sorted, order2, w) = triangulate_in_sweep_order(&pts);
        assert_eq!(order2, order);
        assert_eq!(sorted, permuted);
        assert_eq!(key(&t, &|i| i), key(&w, &|i| order[i as usize]));
        let lattice: Vec<[f64; 2]> = (0..900)
            .map(|k| [(k % 30) as f64 * 0.5, (k / 30) as f64 * 0.5])
            .collect();
        let (_, lo, lw) = triangulate_in_sweep_order(&lattice);
        let lt = Triangulation::new(&lattice);
        assert_eq!(key(&lt, &|i| i), key(&lw, &|i| lo[i as usize]));
        // The BRIO incremental construction: the same triangles (ties included), a valid
        // structure, and its order a permutation.
        for set in [&pts, &lattice] {
            let (sorted, order, b) = triangulate_in_brio_order(set);
            check(&sorted, &b);
            let mut seen = order.clone();
            seen.sort_unstable();
            assert_eq!(seen, (0..set.len() as u32).collect::<Vec<_>>());
            assert_eq!(
                key(&Triangulation::new(set), &|i| i),
                key(&b, &|i| order[i as usize])
            );
        }
        assert!(triangulate_in_sweep_order(&[[0.0, 0.0], [1.0, 1.0]])
            .2
            .is_empty());
    }

    #[test]
    fn quantized_points_equal_spade_up_to_co_circular_ties() {
        // LAS-like coordinates (1 cm) at about 2 points per m²: exact co-circular quadruples
        // occur. Every edge must be locally Delaunay (which makes the triangulation Delaunay),
        // and every triangle that spade's bulk loader does not produce must have a co-circular
        // tie on one of its edges.
        use spade::{DelaunayTriangulation, Point2, Triangulation as _};
        let mut pts = random(80_000, 21);
        for p in &mut pts {
            p[0] = 500_000.0 + ((p[0] - 500_000.0) * 2.0 * 100.0).round() / 100.0;
            p[1] = 3_400_000.0 + ((p[1] - 3_400_000.0) * 2.0 * 100.0).round() / 100.0;
        }
        pts.sort_by(|a, b| a[0].total_cmp(&b[0]).then(a[1].total_cmp(&b[1])));
        pts.dedup();
        let t = Triangulation::new(&pts);
        let at = |v: u32| pts[v as usize];
        let mut tie_edge = vec![false; t.halfedges.len()];
        let mut ties = 0;
        for h in 0..t.halfedges.len() as u32 {
            let o = t.halfedges[h as usize];
            if o == EMPTY {
                continue;
            }
            let (a, b) = (
                at(t.triangles[h as usize]),
                at(t.triangles[next_halfedge(h) as usize]),
            );
            let c = at(t.triangles[prev_halfedge(h) as usize]);
            let d = at(t.triangles[prev_halfedge(o) as usize]);
            // (a, b, c) clockwise: (a, c, b) counter-clockwise.
            let s = robust::incircle(coord(a), coord(c), coord(b), coord(d));
            assert!(s <= 0.0, "edge {h} is not locally Delaunay");
            if s == 0.0 {
                tie_edge[h as usize] = true;
                ties += 1;
            }
        }
        let sp: DelaunayTriangulation<Point2<f64>> =
            DelaunayTriangulation::bulk_load(pts.iter().map(|p| Point2::new(p[0], p[1])).collect())
                .unwrap();
        let key = |v: [[f64; 2]; 3]| {
            let mut k = v.map(|p| [p[0].to_bits(), p[1].to_bits()]);
            k.sort();
            k
        };
        let theirs: std::collections::HashSet<[[u64; 2]; 3]> = sp
            .inner_faces()
            .map(|f| key(f.vertices().map(|v| [v.position().x, v.position().y])))
            .collect();
        assert_eq!(theirs.len(), t.len());
        let mut different = 0;
        for k in 0..t.len() as u32 {
            let v = [0, 1, 2].map(|j| at(t.triangles[(3 * k + j) as usize]));
            if !theirs.contains(&key(v)) {
                different += 1;
                assert!(
                    (3 * k..3 * k + 3).any(|h| tie_edge[h as usize]),
                    "triangle {k} differs from spade's without a co-circular tie"
                );
            }
        }
        eprintln!(
            "{} triangles, {ties} co-circular half-edges, {different} triangles differ from spade",
            t.len()
        );
    }

    #[test]
    #[ignore]
    fn timing_one_million_points() {
        // Quantized to 1 cm like LAS coordinates, about 2 points per m².
        let mut pts = random(1_000_000, 1);
        for p in &mut pts {
            p[0] = (p[0] * 100.0).round() / 100.0;
            p[1] = 3_400_000.0 + ((p[1] - 3_400_000.0) * 7.0 * 100.0).round() / 100.0;
        }
        pts.sort_by(|a, b| a[0].total_cmp(&b[0]).then(a[1].total_cmp(&b[1])));
        pts.dedup();
        let t0 = std::time::Instant::now();
        let t = Triangulation::new(&pts);
        eprintln!(
            "1 M points, x-sorted: {:?}, {} triangles",
            t0.elapsed(),
            t.len()
        );
        let t0 = std::time::Instant::now();
        let order = sweep_order(&pts);
        let permuted: Vec<[f64; 2]> = order.iter().map(|&i| pts[i as usize]).collect();
        let t = Triangulation::new(&permuted);
        eprintln!(
            "1 M points, sweep order: {:?}, {} triangles",
            t0.elapsed(),
            t.len()
        );
    }

    #[test]
    fn incremental_handles_a_collinear_start_and_points_outside() {
        // The first points on one line (seeded by the first point off it), then points on both
        // sides, on the line beyond its ends, and inside: every path of the insertion.
        let mut pts: Vec<[f64; 2]> = (0..12).map(|i| [i as f64, 0.5 * i as f64]).collect();
        pts.extend([
            [3.0, 9.0],
            [-4.0, -2.0],
            [20.0, 10.0],
            [5.0, -6.0],
            [2.0, 1.5],
        ]);
        pts.extend(
            random(300, 41)
                .iter()
                .map(|p| [(p[0] - 500_000.0) / 5.0, (p[1] - 3_400_000.0) / 8.0]),
        );
        let t = Triangulation::incremental(&pts);
        check(&pts, &t);
        let line: Vec<[f64; 2]> = (0..20).map(|i| [i as f64, 2.0 * i as f64]).collect();
        assert!(Triangulation::incremental(&line).is_empty());
        assert!(triangulate_in_brio_order(&line).2.is_empty());
        assert!(triangulate_in_brio_order(&[[0.0, 0.0], [1.0, 0.0]])
            .2
            .is_empty());
    }

    #[test]
    fn hilbert_keys_walk_between_neighbouring_cells() {
        // Over a 64 x 64 corner of the 2^16 grid every cell once, each next to the previous.
        let table = hilbert_table();
        let spread = |v: u64| (0..16).fold(0u64, |m, b| m | ((v >> b) & 1) << (2 * b));
        let mut cells: Vec<(u64, [i64; 2])> = (0..64 * 64)
            .map(|k| {
                let (x, y) = (k % 64, k / 64);
                let m = spread(x) | spread(y) << 1;
                (hilbert_of_morton(&table, m), [x as i64, y as i64])
            })
            .collect();
        cells.sort_unstable();
        for w in cells.windows(2) {
            assert_eq!(w[1].0, w[0].0 + 1, "consecutive indices");
            let d = (w[0].1[0] - w[1].1[0]).abs() + (w[0].1[1] - w[1].1[1]).abs();
            assert_eq!(d, 1, "{:?} then {:?}", w[0], w[1]);
        }
    }
}

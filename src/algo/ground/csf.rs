//! CSF, the Cloth Simulation Filter of Zhang et al. (2016).
//!
//! The cloud is turned upside down (`h = −z`) and a cloth of particles, one every
//! `cloth_resolution_m` on a grid two particles wider than the cloud on each side, is dropped
//! onto it from just above its highest point:
//! 1. **Intersection heights**: each particle takes the inverted height of the point nearest to
//!    it among the points whose nearest particle it is; particles without points take the
//!    height of the first filled particle found along their row (right, then left), then along
//!    their column (down, then up), else of the nearest filled particle, as the official code.
//! 2. **Simulation** (at most `iterations` steps): every movable particle moves under gravity
//!    (Verlet integration, acceleration `0.2 · time_step²`, damping 0.01); then each particle is
//!    pulled towards its 16 neighbours (distance 1 and 2 along rows, columns and diagonals):
//!    when both are movable each moves half the height difference, when only one is movable it
//!    moves `1 − 2^−rigidness` of it (the paper's 1/2, 3/4, 7/8 for rigidness 1, 2, 3); a
//!    particle that falls below its intersection height is put on it and pinned. The run stops
//!    early when the largest displacement of a movable particle in a step is below 5 mm.
//! 3. **Slope post-processing** (`slope_smooth`, the official `bSloopSmooth`): in every
//!    4-connected group of more than 50 still-movable particles, particles next to a pinned one
//!    whose intersection heights differ by less than `smooth_threshold_m` are pinned onto their
//!    intersection height, and this spreads through the group (official `movableFilter`).
//! 4. **Classification**: a point is ground when its distance to the cloth (bilinear between the
//!    four surrounding particles) is below `class_threshold_m`.
//!
//! Parameters and defaults (official CSF / PyPI `cloth-simulation-filter` / PDAL
//! `filters.csf`): `cloth_resolution_m` 1.0, `rigidness` 3, `time_step` 0.65, `iterations` 500,
//! `class_threshold_m` 0.5, `slope_smooth` true, `smooth_threshold_m` 0.3 (PDAL `hdiff`).
//! lidR's `csf()` uses resolution 0.5, rigidness 1 and no post-processing.
//!
//! Departures from the official code (jianboqi/CSF): (a) the pair moves follow the paper
//! (1/2; 1/2, 3/4, 7/8), whereas the official code moves `0.3, 0.42, 0.468` when both
//! particles are movable and `0.3, 0.51, 0.657` when one is ([`CsfMoves::Official`] gives
//! those); (b) the constraint pass is Gauss–Seidel in a fixed order of 8-row bands (even bands,
//! then odd bands) instead of a racy OpenMP loop, so the result does not depend on the number
//! of threads; (c) rows and columns that hold no movable particle within two cells are skipped,
//! which changes nothing but the time; (d) the particle grid starts two particles before the
//! multiple of `cloth_resolution_m` at or below the smallest x and y (the official code starts at
//! the smallest x and y themselves), so that buffered chunks of a catalog share their particles.
//!
//! Reference: Zhang, W., Qi, J., Wan, P., Wang, H., Xie, D., Wang, X., Yan, G., 2016. An
//! easy-to-use airborne LiDAR data filtering method based on cloth simulation. Remote Sensing
//! 8(6), 501.
//!
//! See also: [`super::smrf`], [`super::auto`], PDAL `filters.csf`, lidR `csf()`.

use super::surface::{CellGrid, Surface};
use super::FilterOutput;
use crate::{Error, Result};
use rayon::prelude::*;
use std::collections::VecDeque;

/// Which fractions of the height difference a constraint moves (see the module doc).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CsfMoves {
    /// Zhang et al. (2016): 1/2 when both move; `1 − 2^−rigidness` when one moves.
    Paper,
    /// jianboqi/CSF `Particle.h` tables `doubleMove1` / `singleMove1`.
    Official,
}

/// CSF parameters. `Default` = the official implementation's defaults.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Csf {
    /// Distance between cloth particles in metres (1.0).
    pub cloth_resolution_m: f64,
    /// Rigidness 1 (steep), 2 (terraces) or 3 (flat) (3).
    pub rigidness: u8,
    /// Time step of the simulation (0.65).
    pub time_step: f64,
    /// Maximum number of simulation steps (500).
    pub iterations: usize,
    /// Points closer than this to the cloth are ground, metres (0.5).
    pub class_threshold_m: f64,
    /// Slope post-processing (true).
    pub slope_smooth: bool,
    /// Height difference below which post-processing pins a particle, metres (0.3).
    pub smooth_threshold_m: f64,
    /// Move fractions of the constraint step (paper).
    pub moves: CsfMoves,
}

impl Default for Csf {
    fn default() -> Self {
        Csf {
            cloth_resolution_m: 1.0,
            rigidness: 3,
            time_step: 0.65,
            iterations: 500,
            class_threshold_m: 0.5,
            slope_smooth: true,
            smooth_threshold_m: 0.3,
            moves: CsfMoves::Paper,
        }
    }
}

const DAMPING: f64 = 0.01;
const GRAVITY: f64 = 0.2;
/// Official `MAX_PARTICLE_FOR_POSTPROCESSIN`.
const MIN_COMPONENT: usize = 50;
/// Rows per band of the constraint pass (must exceed 4 so same-parity bands never touch).
const BAND: usize = 8;
/// Particles above which the simulation uses rayon.
const PAR_PARTICLES: usize = 1 << 15;

/// The 16 constraint neighbours of a particle as (dcol, drow).
const NEIGHBOURS: [(isize, isize); 16] = [
    (-1, 0),
    (1, 0),
    (0, -1),
    (0, 1),
    (-1, -1),
    (1, 1),
    (1, -1),
    (-1, 1),
    (-2, 0),
    (2, 0),
    (0, -2),
    (0, 2),
    (-2, -2),
    (2, 2),
    (2, -2),
    (-2, 2),
];

impl Csf {
    /// Checks the parameters, naming the first bad one.
    pub fn validate(&self) -> Result<()> {
        if !(self.cloth_resolution_m > 0.0 && self.cloth_resolution_m.is_finite()) {
            return Err(Error::Config(format!(
                "csf cloth_resolution_m must be > 0, got {}",
                self.cloth_resolution_m
            )));
        }
        if !(1..=3).contains(&self.rigidness) {
            return Err(Error::Config(format!(
                "csf rigidness must be 1, 2 or 3, got {}",
                self.rigidness
            )));
        }
        if !(self.time_step > 0.0 && self.time_step.is_finite()) {
            return Err(Error::Config(format!(
                "csf time_step must be > 0, got {}",
                self.time_step
            )));
        }
        if !(self.class_threshold_m > 0.0 && self.class_threshold_m.is_finite()) {
            return Err(Error::Config(format!(
                "csf class_threshold_m must be > 0, got {}",
                self.class_threshold_m
            )));
        }
        if !(self.smooth_threshold_m >= 0.0 && self.smooth_threshold_m.is_finite()) {
            return Err(Error::Config(format!(
                "csf smooth_threshold_m must be >= 0, got {}",
                self.smooth_threshold_m
            )));
        }
        Ok(())
    }

    /// (both movable, one movable) move fractions.
    fn move_fractions(&self) -> (f64, f64) {
        let ri = self.rigidness as i32;
        match self.moves {
            CsfMoves::Paper => (0.5, 1.0 - 0.5f64.powi(ri)),
            CsfMoves::Official => (0.5 * (1.0 - 0.4f64.powi(ri)), 1.0 - 0.7f64.powi(ri)),
        }
    }

    /// Classifies the points `(x, y, z)`: `ground[i]` is `true` for bare earth. Also returns the
    /// cloth as a surface (original, not inverted, heights).
    pub fn classify(&self, x: &[f64], y: &[f64], z: &[f64]) -> Result<FilterOutput> {
        self.validate()?;
        let Some(bb) = CellGrid::around(x, y, self.cloth_resolution_m) else {
            return Ok(FilterOutput::empty());
        };
        let res = self.cloth_resolution_m;
        let w = bb.cols + 3; // floor(extent / res) + 4
        let h = bb.rows + 3;
        if w * h > super::smrf::MAX_CELLS {
            return Err(Error::data(
                "csf",
                format!("{w} × {h} particles of {res} m: the extent is too large for the cloth resolution (check the CRS units or use chunks)"),
            ));
        }
        let ox = bb.x0 - 2.0 * res;
        let oy = bb.y0 - 2.0 * res;
        let zmin = z.iter().cloned().fold(f64::INFINITY, f64::min);
        let t0 = std::time::Instant::now();
        let mut cloth = Cloth::new(w, h, -zmin + 0.05);
        cloth.rasterize(x, y, z, ox, oy, res);
        let t_raster = t0.elapsed().as_secs_f64();
        let (double_move, single_move) = self.move_fractions();
        let steps = cloth.simulate(
            self.iterations,
            -GRAVITY * self.time_step * self.time_step,
            double_move,
            single_move,
        );
        let t_sim = t0.elapsed().as_secs_f64() - t_raster;
        if self.slope_smooth {
            cloth.movable_filter(self.smooth_threshold_m);
        }
        log::debug!(
            "csf: {w} × {h} particles, {steps} steps; rasterize {t_raster:.3} s, simulate {t_sim:.3} s, post {:.3} s",
            t0.elapsed().as_secs_f64() - t_sim - t_raster
        );
        let thr = self.class_threshold_m;
        let test = |i: usize| {
            let dx = (x[i] - ox) / res;
            let dy = (y[i] - oy) / res;
            let c0 = (dx as usize).min(w - 2);
            let r0 = (dy as usize).min(h - 2);
            let sx = dx - c0 as f64;
            let sy = dy - r0 as f64;
            let p = |c: usize, r: usize| cloth.pos[r * w + c];
            let f = p(c0, r0) * (1.0 - sx) * (1.0 - sy)
                + p(c0, r0 + 1) * (1.0 - sx) * sy
                + p(c0 + 1, r0 + 1) * sx * sy
                + p(c0 + 1, r0) * sx * (1.0 - sy);
            (f + z[i]).abs() < thr
        };
        let ground: Vec<bool> = if x.len() >= 1 << 16 {
            (0..x.len()).into_par_iter().map(test).collect()
        } else {
            (0..x.len()).map(test).collect()
        };
        let surface = Surface {
            grid: CellGrid {
                x0: ox - 0.5 * res,
                y0: oy - 0.5 * res,
                cell: res,
                cols: w,
                rows: h,
            },
            z: cloth.pos.iter().map(|v| -v).collect(),
        };
        log::debug!("csf: total {:.3} s", t0.elapsed().as_secs_f64());
        Ok(FilterOutput {
            ground,
            surface: Some(surface),
        })
    }
}

/// The particle grid: heights only (particles never move in x or y).
struct Cloth {
    w: usize,
    h: usize,
    pos: Vec<f64>,
    old: Vec<f64>,
    movable: Vec<bool>,
    /// Intersection height (inverted) per particle.
    hv: Vec<f64>,
    /// Per row, the half-open column span holding movable particles (empty: lo >= hi).
    span: Vec<(usize, usize)>,
}

impl Cloth {
    fn new(w: usize, h: usize, start: f64) -> Cloth {
        Cloth {
            w,
            h,
            pos: vec![start; w * h],
            old: vec![start; w * h],
            movable: vec![true; w * h],
            hv: vec![f64::NEG_INFINITY; w * h],
            span: vec![(0, w); h],
        }
    }

    /// Official `RasterTerrian`: nearest point per particle, then scan-line filling.
    fn rasterize(&mut self, x: &[f64], y: &[f64], z: &[f64], ox: f64, oy: f64, res: f64) {
        let (w, h) = (self.w, self.h);
        let mut best = vec![f64::INFINITY; w * h];
        for i in 0..x.len() {
            let dx = (x[i] - ox) / res;
            let dy = (y[i] - oy) / res;
            let c = ((dx + 0.5) as usize).min(w - 1);
            let r = ((dy + 0.5) as usize).min(h - 1);
            let k = r * w + c;
            let d = (dx - c as f64).powi(2) + (dy - r as f64).powi(2);
            if d < best[k] {
                best[k] = d;
                self.hv[k] = -z[i];
            }
        }
        let filled: Vec<bool> = self.hv.iter().map(|v| v.is_finite()).collect();
        if filled.iter().all(|&f| f) {
            return;
        }
        // Nearest filled particle to the right / left in each row, below / above in each column.
        let none = usize::MAX;
        let mut right = vec![none; w * h];
        let mut left = vec![none; w * h];
        for r in 0..h {
            let mut next = none;
            for c in (0..w).rev() {
                right[r * w + c] = next;
                if filled[r * w + c] {
                    next = r * w + c;
                }
            }
            let mut prev = none;
            for c in 0..w {
                left[r * w + c] = prev;
                if filled[r * w + c] {
                    prev = r * w + c;
                }
            }
        }
        let mut down = vec![none; w * h];
        let mut up = vec![none; w * h];
        for c in 0..w {
            let mut prev = none;
            for r in 0..h {
                down[r * w + c] = prev;
                if filled[r * w + c] {
                    prev = r * w + c;
                }
            }
            let mut next = none;
            for r in (0..h).rev() {
                up[r * w + c] = next;
                if filled[r * w + c] {
                    next = r * w + c;
                }
            }
        }
        let mut unresolved = Vec::new();
        for k in 0..w * h {
            if filled[k] {
                continue;
            }
            let src = [right[k], left[k], down[k], up[k]]
                .into_iter()
                .find(|&s| s != none);
            match src {
                Some(s) => self.hv[k] = self.hv[s],
                None => unresolved.push(k),
            }
        }
        // Official `findHeightValByNeighbor`: breadth-first search over the constraint graph.
        for k in unresolved {
            let mut seen = vec![false; w * h];
            let mut q = VecDeque::from([k]);
            seen[k] = true;
            while let Some(p) = q.pop_front() {
                if filled[p] {
                    self.hv[k] = self.hv[p];
                    break;
                }
                let (c, r) = ((p % w) as isize, (p / w) as isize);
                for (dc, dr) in NEIGHBOURS {
                    let (cc, rr) = (c + dc, r + dr);
                    if cc >= 0 && rr >= 0 && (cc as usize) < w && (rr as usize) < h {
                        let n = rr as usize * w + cc as usize;
                        if !seen[n] {
                            seen[n] = true;
                            q.push_back(n);
                        }
                    }
                }
            }
        }
    }

    /// Runs the simulation; returns the number of steps taken.
    fn simulate(&mut self, iterations: usize, accel: f64, dm: f64, sm: f64) -> usize {
        let (w, h) = (self.w, self.h);
        let par = w * h >= PAR_PARTICLES;
        for step in 0..iterations {
            // Gravity (Verlet), movable particles only.
            {
                let span = &self.span;
                type Row<'a> = (usize, ((&'a mut [f64], &'a mut [f64]), &'a [bool]));
                let upd = |(r, ((p, o), m)): Row| {
                    let (lo, hi) = span[r];
                    for c in lo..hi {
                        if m[c] {
                            let t = p[c];
                            p[c] = t + (t - o[c]) * (1.0 - DAMPING) + accel;
                            o[c] = t;
                        }
                    }
                };
                if par {
                    self.pos
                        .par_chunks_mut(w)
                        .zip(self.old.par_chunks_mut(w))
                        .zip(self.movable.par_chunks(w))
                        .enumerate()
                        .for_each(upd);
                } else {
                    self.pos
                        .chunks_mut(w)
                        .zip(self.old.chunks_mut(w))
                        .zip(self.movable.chunks(w))
                        .enumerate()
                        .for_each(upd);
                }
            }
            self.satisfy_constraints(dm, sm, par);
            // Largest displacement of a movable particle, then collisions.
            let mut max_diff: f64 = 0.0;
            for r in 0..h {
                let (lo, hi) = self.span[r];
                let mut nlo = usize::MAX;
                let mut nhi = 0;
                for c in lo..hi {
                    let k = r * w + c;
                    if !self.movable[k] {
                        continue;
                    }
                    max_diff = max_diff.max((self.old[k] - self.pos[k]).abs());
                    if self.pos[k] < self.hv[k] {
                        self.pos[k] = self.hv[k];
                        self.movable[k] = false;
                    } else {
                        nlo = nlo.min(c);
                        nhi = c + 1;
                    }
                }
                self.span[r] = if nlo == usize::MAX {
                    (0, 0)
                } else {
                    (nlo, nhi)
                };
            }
            if max_diff != 0.0 && max_diff < 0.005 {
                return step + 1;
            }
            if max_diff == 0.0 && self.span.iter().all(|s| s.0 >= s.1) {
                return step + 1;
            }
        }
        iterations
    }

    /// One pass of the internal forces, band by band (even bands, then odd bands).
    fn satisfy_constraints(&mut self, dm: f64, sm: f64, par: bool) {
        let (w, h) = (self.w, self.h);
        // Column span per row that can be touched: movable spans of rows r-2..=r+2, widened by 2.
        let mut active: Vec<(usize, usize)> = vec![(0, 0); h];
        for (r, act) in active.iter_mut().enumerate() {
            let (mut lo, mut hi) = (usize::MAX, 0);
            for rr in r.saturating_sub(2)..(r + 3).min(h) {
                let (a, b) = self.span[rr];
                if a < b {
                    lo = lo.min(a);
                    hi = hi.max(b);
                }
            }
            *act = if lo == usize::MAX {
                (0, 0)
            } else {
                (lo.saturating_sub(2), (hi + 2).min(w))
            };
        }
        if log::log_enabled!(log::Level::Trace) {
            let work: usize = active.iter().map(|(a, b)| b.saturating_sub(*a)).sum();
            let nm = self.movable.iter().filter(|&&m| m).count();
            log::trace!("csf step: {work} particles visited, {nm} movable");
        }
        let nb = h.div_ceil(BAND);
        let movable = &self.movable;
        let active = &active;
        for parity in 0..2 {
            // Disjoint regions: band rows plus a 2-row halo on each side.
            let mut regions: Vec<(usize, usize, &mut [f64])> = Vec::new();
            let mut rest: &mut [f64] = &mut self.pos;
            let mut consumed = 0; // rows already split off
            for b in (parity..nb).step_by(2) {
                let r0 = b * BAND;
                let r1 = ((b + 1) * BAND).min(h);
                if (r0..r1).all(|r| active[r].0 >= active[r].1) {
                    continue;
                }
                let g0 = r0.saturating_sub(2).max(consumed);
                let g1 = (r1 + 2).min(h);
                let (_, tail) = std::mem::take(&mut rest).split_at_mut((g0 - consumed) * w);
                let (mine, tail) = tail.split_at_mut((g1 - g0) * w);
                rest = tail;
                consumed = g1;
                regions.push((g0, r0, mine));
                let _ = r1;
            }
            let offs = NEIGHBOURS.map(|(dc, dr)| dr * w as isize + dc);
            let run = |(g0, r0, region): (usize, usize, &mut [f64])| {
                let r1 = (r0 + BAND).min(h);
                for (r, &span) in active.iter().enumerate().take(r1).skip(r0) {
                    relax_row(region, g0, movable, (w, h), r, span, &offs, (dm, sm));
                }
            };
            if par && regions.len() > 1 {
                regions.into_par_iter().for_each(run);
            } else {
                regions.into_iter().for_each(run);
            }
        }
    }

    /// Official `movableFilter` + `findUnmovablePoint` + `handle_slop_connected`.
    fn movable_filter(&mut self, smooth: f64) {
        let (w, h) = (self.w, self.h);
        let mut visited = vec![false; w * h];
        let mut cpos = vec![0usize; w * h];
        let mut connected: Vec<usize> = Vec::new();
        let mut neighbours: Vec<[usize; 4]> = Vec::new();
        let mut queue = VecDeque::new();
        const NONE: usize = usize::MAX;
        for x in 0..w {
            for y in 0..h {
                let start = y * w + x;
                if !self.movable[start] || visited[start] {
                    continue;
                }
                connected.clear();
                neighbours.clear();
                connected.push(start);
                visited[start] = true;
                cpos[start] = 0;
                queue.clear();
                queue.push_back(start);
                while let Some(p) = queue.pop_front() {
                    let (cx, cy) = (p % w, p / w);
                    let mut nb = [NONE; 4];
                    let cand = [
                        (cx > 0).then(|| p - 1),
                        (cx + 1 < w).then(|| p + 1),
                        (cy > 0).then(|| p - w),
                        (cy + 1 < h).then(|| p + w),
                    ];
                    for (slot, q) in cand.into_iter().enumerate() {
                        let Some(q) = q else { continue };
                        if !self.movable[q] {
                            continue;
                        }
                        if !visited[q] {
                            visited[q] = true;
                            cpos[q] = connected.len();
                            connected.push(q);
                            queue.push_back(q);
                        }
                        nb[slot] = cpos[q];
                    }
                    neighbours.push(nb);
                }
                if connected.len() > MIN_COMPONENT {
                    self.handle_slope(&connected, &neighbours, smooth);
                }
            }
        }
    }

    fn handle_slope(&mut self, connected: &[usize], neighbours: &[[usize; 4]], smooth: f64) {
        let (w, h) = (self.w, self.h);
        let mut edge = Vec::new();
        for (i, &k) in connected.iter().enumerate() {
            let (x, y) = (k % w, k / w);
            let refs = [
                (x > 0).then(|| k - 1),
                (x + 1 < w).then(|| k + 1),
                (y > 0).then(|| k - w),
                (y + 1 < h).then(|| k + w),
            ];
            for q in refs.into_iter().flatten() {
                if !self.movable[q] && (self.hv[k] - self.hv[q]).abs() < smooth {
                    if self.movable[k] {
                        self.pos[k] = self.hv[k];
                    }
                    self.movable[k] = false;
                    edge.push(i);
                    break;
                }
            }
        }
        let mut seen = vec![false; connected.len()];
        let mut q = VecDeque::new();
        for &e in &edge {
            seen[e] = true;
            q.push_back(e);
        }
        while let Some(i) = q.pop_front() {
            let kc = connected[i];
            for &j in neighbours[i].iter().filter(|&&j| j != usize::MAX) {
                let kn = connected[j];
                if (self.hv[kc] - self.hv[kn]).abs() < smooth {
                    if self.movable[kn] {
                        self.pos[kn] = self.hv[kn];
                    }
                    self.movable[kn] = false;
                    if !seen[j] {
                        seen[j] = true;
                        q.push_back(j);
                    }
                }
            }
        }
    }
}

/// Applies the 16 constraints of the particles `lo..hi` of row `r`, in order. `region` holds
/// rows `g0..` of the cloth; `offs` are the neighbours' flat offsets.
#[allow(clippy::too_many_arguments)]
#[inline]
fn relax_row(
    region: &mut [f64],
    g0: usize,
    movable: &[bool],
    (w, h): (usize, usize),
    r: usize,
    (lo, hi): (usize, usize),
    offs: &[isize; 16],
    (dm, sm): (f64, f64),
) {
    let row_interior = r >= 2 && r + 2 < h;
    // The paper's moves are powers of two (1/2 and 1 − 2^−RI): the running height of the
    // particle is then kept as `a · inv` with `inv` a power of two, and each constraint costs one
    // addition on the dependency chain (`a += hq · scale`) instead of a multiply-add; the
    // results are the same up to rounding. Other move fractions take the general path.
    let keep = 1.0 - sm;
    let pow2 = dm == 0.5 && keep > 0.0 && keep.log2().fract() == 0.0;
    for c in lo..hi {
        let k = r * w + c;
        let lk = (r - g0) * w + c;
        let mp = movable[k];
        let interior = row_interior && c >= 2 && c + 2 < w;
        let mut hp = region[lk];
        let (mut a, mut scale, mut inv) = (hp, 1.0f64, 1.0f64);
        for (n, &off) in offs.iter().enumerate() {
            if !interior {
                let (dc, dr) = NEIGHBOURS[n];
                let (cc, rr) = (c as isize + dc, r as isize + dr);
                if cc < 0 || rr < 0 || cc >= w as isize || rr >= h as isize {
                    continue;
                }
            }
            let q = (k as isize + off) as usize;
            let lq = (lk as isize + off) as usize;
            let mq = movable[q];
            let hq = region[lq];
            if pow2 {
                if mp {
                    if mq {
                        a += hq * scale;
                        scale *= 2.0;
                        inv *= 0.5;
                        region[lq] = a * inv;
                    } else {
                        a += hq * (1.0 / keep - 1.0) * scale;
                        scale /= keep;
                        inv *= keep;
                    }
                } else if mq {
                    region[lq] = hq * keep + a * inv * sm;
                }
            } else if mp {
                if mq {
                    region[lq] = hq * (1.0 - dm) + hp * dm;
                    hp = hp * (1.0 - dm) + hq * dm;
                } else {
                    hp = hp * keep + hq * sm;
                }
            } else if mq {
                region[lq] = hq * keep + hp * sm;
            }
        }
        region[lk] = if pow2 { a * inv } else { hp };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 50 m × 50 m of gently undulating ground every 0.5 m, with a 10 m × 10 m, 6 m box.
    fn scene() -> (Vec<f64>, Vec<f64>, Vec<f64>, Vec<bool>) {
        let (mut x, mut y, mut z, mut t) = (vec![], vec![], vec![], vec![]);
        for i in 0..100 {
            for j in 0..100 {
                let (px, py) = (i as f64 * 0.5 + 0.13, j as f64 * 0.5 + 0.29);
                let g = 10.0 + 0.5 * (px / 8.0).sin() + 0.02 * py;
                let b = (20.0..30.0).contains(&px) && (15.0..25.0).contains(&py);
                x.push(px);
                y.push(py);
                z.push(if b { g + 6.0 } else { g });
                t.push(!b);
            }
        }
        (x, y, z, t)
    }

    #[test]
    fn cloth_separates_box_from_ground() {
        let (x, y, z, t) = scene();
        for moves in [CsfMoves::Paper, CsfMoves::Official] {
            let out = Csf {
                moves,
                ..Csf::default()
            }
            .classify(&x, &y, &z)
            .unwrap();
            let wrong = out.ground.iter().zip(&t).filter(|(a, b)| a != b).count();
            assert!(
                wrong as f64 / t.len() as f64 <= 0.01,
                "{moves:?}: {wrong} of {} wrong",
                t.len()
            );
            let s = out.surface.unwrap();
            let g = 10.0 + 0.5 * (25.0f64 / 8.0).sin() + 0.02 * 20.0;
            assert!((s.bilinear(25.0, 20.0) - g).abs() < 1.0);
        }
    }

    #[test]
    fn same_result_with_one_or_many_threads() {
        // Large enough for the parallel path (> PAR_PARTICLES particles).
        let (mut x, mut y, mut z) = (vec![], vec![], vec![]);
        for i in 0..300 {
            for j in 0..150 {
                let (px, py) = (i as f64 * 0.9, j as f64 * 1.3);
                x.push(px);
                y.push(py);
                let roof = ((i / 20) + (j / 15)) % 3 == 0 && i % 20 > 4 && j % 15 > 4;
                z.push((px * 0.05).sin() * 3.0 + if roof { 5.0 } else { 0.0 });
            }
        }
        let run = |threads| {
            rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap()
                .install(|| Csf::default().classify(&x, &y, &z).unwrap())
        };
        let a = run(1);
        let b = run(4);
        assert_eq!(a.ground, b.ground);
        assert_eq!(a.surface.unwrap().z, b.surface.unwrap().z);
    }

    #[test]
    fn validate_rejects_bad_rigidness() {
        assert!(Csf {
            rigidness: 4,
            ..Csf::default()
        }
        .validate()
        .is_err());
        assert!(Csf::default().validate().is_ok());
    }
}

//! SMRF, the Simple Morphological Filter of Pingel, Clarke & McBride (2013).
//!
//! Steps, as in the paper:
//! 1. **Minimum surface** `ZImin`: the lowest z per `cell_m` cell; empty cells are filled by
//!    the "spring" (membrane) inpainting the paper found best ([`super::surface::inpaint`]).
//! 2. **Low outliers**: the progressive filter below run on `−ZImin` with slope 5 (500 %) and a
//!    one-cell window flags cells that lie far below their neighbours.
//! 3. **Object mask**: for radius `r = 1 … ceil(window_m / cell_m)` the surface is opened with a
//!    disk of radius `r` cells; a cell whose opened height drops by more than
//!    `slope · cell_m · r` from the previous radius' opening is an object cell.
//! 4. **Provisional DEM** `ZIpro`: `ZImin` with object, low-outlier and empty cells removed and
//!    re-inpainted.
//! 5. **Classification**: a point is ground when `|z − ZIpro(x, y)| ≤ threshold_m + scalar ·
//!    s(x, y)`, where `ZIpro(x, y)` is a bicubic interpolation of the provisional DEM at the point
//!    (the paper's "splined cubic", not PDAL's value of the point's cell) and `s` the bilinearly
//!    interpolated slope (rise over run) of `ZIpro`.
//!
//! Parameters and defaults (PDAL 2.8 `filters.smrf`, which are the paper's single-parameter-set
//! values): `cell_m` 1.0, `slope` 0.15, `window_m` 18.0, `threshold_m` 0.5, `scalar` 1.25,
//! `shape` disk (PDAL uses a diamond; `shape = "diamond"` reproduces it), `cut_m` 0 (no net
//! cutting).
//!
//! Departures: (a) empty cells of `ZImin` are re-inpainted in `ZIpro` too (PDAL keeps their
//! first fill, which may lean on object cells); (b) voids are filled with a coarse-to-fine
//! membrane solver instead of D'Errico's sparse direct solve (same equations, approximate
//! solution); (c) net cutting, when enabled, opens the surface with a disk of radius
//! `2·ceil(cut_m / cell_m)` cells on net lines every `ceil(cut_m / cell_m)` cells, as PDAL.
//!
//! Reference: Pingel, T.J., Clarke, K.C., McBride, W.A., 2013. An improved simple morphological
//! filter for the terrain classification of airborne LIDAR data. ISPRS J. Photogramm. Remote
//! Sens. 77, 21–30.
//!
//! See also: [`super::csf`] (cloth simulation), [`super::auto`] (chooses parameters from the
//! data), PDAL `filters.smrf`.

use super::surface::{self, CellGrid, Padded, Shape, Surface};
use super::FilterOutput;
use crate::{Error, Result};
use rayon::prelude::*;

/// SMRF parameters. `Default` = PDAL 2.8 / Pingel et al. (2013) single-set values.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Smrf {
    /// Cell size of the minimum surface in metres (PDAL `cell`, 1.0).
    pub cell_m: f64,
    /// Slope tolerance, rise over run (PDAL `slope`, 0.15).
    pub slope: f64,
    /// Maximum window radius in metres (PDAL `window`, 18 × cell).
    pub window_m: f64,
    /// Elevation threshold in metres (PDAL `threshold`, 0.5).
    pub threshold_m: f64,
    /// Elevation scalar: threshold added per unit of slope (PDAL `scalar`, 1.25).
    pub scalar: f64,
    /// Net-cutting spacing in metres for very large buildings; 0 = off (PDAL `cut`, 0).
    pub cut_m: f64,
    /// Structuring element of the opening (paper: disk; PDAL: diamond).
    pub shape: Shape,
}

impl Default for Smrf {
    fn default() -> Self {
        Smrf {
            cell_m: 1.0,
            slope: 0.15,
            window_m: 18.0,
            threshold_m: 0.5,
            scalar: 1.25,
            cut_m: 0.0,
            shape: Shape::Disk,
        }
    }
}

/// Grids larger than this many cells are refused (a sign of a wrong cell size or CRS units).
pub(crate) const MAX_CELLS: usize = 400_000_000;

impl Smrf {
    /// Checks the parameters, naming the first bad one.
    pub fn validate(&self) -> Result<()> {
        let pos = |name: &str, v: f64| {
            if v > 0.0 && v.is_finite() {
                Ok(())
            } else {
                Err(Error::Config(format!("smrf {name} must be > 0, got {v}")))
            }
        };
        let nonneg = |name: &str, v: f64| {
            if v >= 0.0 && v.is_finite() {
                Ok(())
            } else {
                Err(Error::Config(format!("smrf {name} must be >= 0, got {v}")))
            }
        };
        pos("cell_m", self.cell_m)?;
        pos("slope", self.slope)?;
        pos("window_m", self.window_m)?;
        nonneg("threshold_m", self.threshold_m)?;
        nonneg("scalar", self.scalar)?;
        nonneg("cut_m", self.cut_m)
    }

    /// Classifies the points `(x, y, z)`: `ground[i]` is `true` for bare earth. Also returns the
    /// provisional DEM. The points must be finite; an empty input gives an empty output.
    pub fn classify(&self, x: &[f64], y: &[f64], z: &[f64]) -> Result<FilterOutput> {
        self.validate()?;
        let Some(grid) = CellGrid::around(x, y, self.cell_m) else {
            return Ok(FilterOutput::empty());
        };
        if grid.len() > MAX_CELLS {
            return Err(Error::data(
                "smrf",
                format!(
                    "{} × {} cells of {} m: the extent is too large for the cell size (check the CRS units or use chunks)",
                    grid.cols, grid.rows, self.cell_m
                ),
            ));
        }
        let surface = self.provisional_surface(&grid, x, y, z, None);
        let ground = classify_by_surface(&surface, x, y, z, self.threshold_m, self.scalar);
        Ok(FilterOutput {
            ground,
            surface: Some(surface),
        })
    }

    /// Steps 1–4: the provisional DEM `ZIpro` on `grid`. `slope_map`, if given, replaces the
    /// single slope tolerance by one per cell (see [`super::auto`]).
    pub fn provisional_surface(
        &self,
        grid: &CellGrid,
        x: &[f64],
        y: &[f64],
        z: &[f64],
        slope_map: Option<&[f64]>,
    ) -> Surface {
        self.masks(grid, x, y, z, slope_map).provisional()
    }

    /// Steps 1–3: the minimum surface and its low-outlier and object masks.
    pub fn masks(
        &self,
        grid: &CellGrid,
        x: &[f64],
        y: &[f64],
        z: &[f64],
        slope_map: Option<&[f64]>,
    ) -> SmrfMasks {
        let mut m = self.minimum(grid, x, y, z);
        let (cols, rows) = (grid.cols, grid.rows);
        let tol_owned;
        let tol: &[f64] = match slope_map {
            Some(m) => m,
            None => {
                tol_owned = vec![self.slope; m.zimin.len()];
                &tol_owned
            }
        };
        let max_radius = self.max_radius(grid.cell);
        m.obj = if self.cut_m > 0.0 {
            let (net, is_net) = self.net_cut(&m.zimin, cols, rows, grid.cell);
            let mut obj =
                progressive_filter(&net, cols, rows, grid.cell, tol, max_radius, self.shape);
            for (o, n) in obj.iter_mut().zip(&is_net) {
                *o |= *n;
            }
            obj
        } else {
            progressive_filter(&m.zimin, cols, rows, grid.cell, tol, max_radius, self.shape)
        };
        m
    }

    /// Steps 1–2: the minimum surface, inpainted, and its low outliers; no object cell yet.
    pub fn minimum(&self, grid: &CellGrid, x: &[f64], y: &[f64], z: &[f64]) -> SmrfMasks {
        let (cols, rows) = (grid.cols, grid.rows);
        let raw = surface::min_surface(grid, x, y, z);
        let mut zimin = raw.clone();
        surface::inpaint(&mut zimin, cols, rows);
        let neg: Vec<f64> = zimin.iter().map(|v| -v).collect();
        let low = progressive_filter(
            &neg,
            cols,
            rows,
            grid.cell,
            &vec![5.0; neg.len()],
            1,
            self.shape,
        );
        let obj = vec![false; zimin.len()];
        SmrfMasks {
            grid: *grid,
            raw,
            zimin,
            low,
            obj,
        }
    }

    /// Largest radius of step 3's openings, in cells, on cells of `cell` metres.
    pub fn max_radius(&self, cell: f64) -> usize {
        (self.window_m / cell).ceil().max(1.0) as usize
    }

    /// Net cutting (Pingel et al. 2013, §3.2; PDAL `cut`): net lines carry the surface opened
    /// with a radius of `2·ceil(cut/cell)` cells.
    fn net_cut(&self, zimin: &[f64], cols: usize, rows: usize, cell: f64) -> (Vec<f64>, Vec<bool>) {
        let v = (self.cut_m / cell).ceil().max(1.0) as usize;
        let big = surface::open(zimin, cols, rows, 2 * v, self.shape);
        let mut out = zimin.to_vec();
        let mut is_net = vec![false; zimin.len()];
        for r in 0..rows {
            for c in 0..cols {
                if r % v == 0 || c % v == 0 {
                    out[r * cols + c] = big[r * cols + c];
                    is_net[r * cols + c] = true;
                }
            }
        }
        (out, is_net)
    }
}

/// The grids of SMRF's steps 1–3.
#[derive(Debug, Clone)]
pub struct SmrfMasks {
    pub grid: CellGrid,
    /// Lowest z per cell, NaN where empty.
    pub raw: Vec<f64>,
    /// `raw` with the empty cells inpainted.
    pub zimin: Vec<f64>,
    /// Low-outlier cells.
    pub low: Vec<bool>,
    /// Object cells.
    pub obj: Vec<bool>,
}

impl SmrfMasks {
    /// `true` for a cell that holds points and is neither object nor low outlier.
    pub fn is_ground(&self, i: usize) -> bool {
        self.raw[i].is_finite() && !self.obj[i] && !self.low[i]
    }

    /// Step 4: the provisional DEM, `zimin` at the ground cells, inpainted elsewhere.
    pub fn provisional(&self) -> Surface {
        let (cols, rows) = (self.grid.cols, self.grid.rows);
        let mut zipro: Vec<f64> = (0..self.raw.len())
            .map(|i| {
                if self.is_ground(i) {
                    self.zimin[i]
                } else {
                    f64::NAN
                }
            })
            .collect();
        if !surface::inpaint(&mut zipro, cols, rows) {
            // Every cell was flagged (a tiny or pathological input): fall back to the minimum
            // surface rather than to nothing.
            log::warn!("smrf: every cell was flagged as object; using the minimum surface");
            zipro = self.zimin.clone();
        }
        Surface {
            grid: self.grid,
            z: zipro,
        }
    }
}

/// The progressive morphological filter of SMRF: opens `z` with radii `1 ..= max_radius` and
/// flags cells whose opened height drops by more than `slope[i] · cell · r` between
/// consecutive radii (`slope` ≥ 0).
pub fn progressive_filter(
    z: &[f64],
    cols: usize,
    rows: usize,
    cell: f64,
    slope: &[f64],
    max_radius: usize,
    shape: Shape,
) -> Vec<bool> {
    let critical = critical_slopes(z, cols, rows, cell, &[max_radius], shape);
    slope.iter().zip(&critical[0]).map(|(s, c)| s < c).collect()
}

/// The progressive filter's openings summarised per cell: for each maximum radius of
/// `max_radii` (ascending), the smallest slope tolerance `s ≥ 0` at which the cell stays
/// ground, so that [`progressive_filter`] flags cell `i` exactly when `slope[i] < c[i]`
/// (floating-point products included). One series of openings thus serves every tolerance map
/// and every window up to the largest: the automatic filter's first pass, seed pass and
/// slope-adaptive pass share theirs.
///
/// Each radius' erosion comes from the previous one ([`surface::ErosionSeries`]) and its
/// dilation row by row ([`surface::RowDilation`]), each opened row compared at once. Their
/// minima and maxima are [`surface::erode`]'s and [`surface::dilate`]'s, over the same cells in
/// another order, so an opened value could differ from [`surface::open`]'s only in the sign of
/// a zero; no drop and no critical slope sees that sign (a zero drop never exceeds
/// `c · t ≥ +0`, and `x − (±0)` is `x`).
pub fn critical_slopes(
    z: &[f64],
    cols: usize,
    rows: usize,
    cell: f64,
    max_radii: &[usize],
    shape: Shape,
) -> Vec<Vec<f64>> {
    debug_assert!(max_radii.windows(2).all(|w| w[0] <= w[1]));
    let max_radius = max_radii.last().copied().unwrap_or(0);
    let n = z.len();
    // Radius 0: no opening, nothing flagged.
    let mut out = vec![vec![0.0; n]; max_radii.iter().filter(|&&m| m == 0).count()];
    if n == 0 || max_radius == 0 {
        out.resize(max_radii.len(), vec![0.0; n]);
        return out;
    }
    // The dilations run on bands of rows (each with its own margins of input rows), in
    // parallel on large grids.
    let band_rows = if n >= surface::PAR_CELLS {
        (16 * max_radius).max(64)
    } else {
        rows
    };
    let bands: Vec<std::ops::Range<usize>> = (0..rows)
        .step_by(band_rows)
        .map(|b| b..(b + band_rows).min(rows))
        .collect();
    let mut dilations: Vec<surface::RowDilation> = bands
        .iter()
        .map(|_| surface::RowDilation::new(cols))
        .collect();
    let mut crit = vec![0.0; n];
    let mut prev = z.to_vec();
    let mut erosion = surface::ErosionSeries::new(z, cols, rows, max_radius, shape);
    for r in 1..=max_radius {
        erosion.advance();
        let erosion = &erosion;
        type Band<'a> = (
            (&'a std::ops::Range<usize>, &'a mut surface::RowDilation),
            (&'a mut [f64], &'a mut [f64]),
        );
        let run = |((band, dilation), (crit, prev)): Band| {
            dilation.dilate_band(
                rows,
                r,
                shape,
                band.clone(),
                |s, row| row.copy_from_slice(erosion.row(s)),
                |y, opened| {
                    let k = (y - band.start) * cols;
                    update_row(
                        &mut crit[k..k + cols],
                        &mut prev[k..k + cols],
                        opened,
                        r,
                        cell,
                    )
                },
            );
        };
        let chunk = band_rows * cols;
        if bands.len() > 1 {
            bands
                .par_iter()
                .zip(dilations.par_iter_mut())
                .zip(crit.par_chunks_mut(chunk).zip(prev.par_chunks_mut(chunk)))
                .for_each(run);
        } else {
            bands
                .iter()
                .zip(dilations.iter_mut())
                .zip(crit.chunks_mut(chunk).zip(prev.chunks_mut(chunk)))
                .for_each(run);
        }
        for _ in max_radii.iter().filter(|&&m| m == r) {
            out.push(crit.clone());
        }
    }
    out
}

/// One row of the progressive filter at radius `r`: the opened row against the previous
/// radius' (`prev`, replaced by it), into the critical slopes `crit`.
#[inline]
fn update_row(crit: &mut [f64], prev: &mut [f64], opened: &[f64], r: usize, cell: f64) {
    let t = cell * r as f64;
    let n = crit.len();
    assert!(prev.len() == n && opened.len() == n);
    let mut done = 0;
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU has AVX2 (checked on the line above); the three rows have one length
        // (asserted above).
        done = unsafe { update_row_avx2(crit, prev, opened, t) };
    }
    let (crit, prev, opened) = (&mut crit[done..], &mut prev[done..], &opened[done..]);
    for ((c, p), &o) in crit.iter_mut().zip(prev.iter_mut()).zip(opened) {
        let drop = *p - o;
        // Flagged at this radius for every tolerance below `critical_slope(drop, t)`.
        if drop > *c * t {
            *c = critical_slope(drop, t);
        }
        *p = o;
    }
}

/// [`update_row`] four cells at a time (the same difference, product and comparison), the
/// cells whose critical slope rises one by one; returns the number of cells done (all but the
/// last `len % 4`).
///
/// # Safety
/// The CPU must have AVX2; `prev` and `opened` at least as long as `crit`.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn update_row_avx2(crit: &mut [f64], prev: &mut [f64], opened: &[f64], t: f64) -> usize {
    use std::arch::x86_64::*;
    let n = crit.len();
    debug_assert!(prev.len() >= n && opened.len() >= n);
    let n4 = n - n % 4;
    let tv = _mm256_set1_pd(t);
    let (pc, pp, po) = (crit.as_mut_ptr(), prev.as_mut_ptr(), opened.as_ptr());
    let mut i = 0;
    while i < n4 {
        // SAFETY: i + 4 ≤ n4 ≤ the length of the three rows.
        unsafe {
            let o = surface::load4(po.add(i));
            let drop = _mm256_sub_pd(surface::load4(pp.add(i)), o);
            let c = surface::load4(pc.add(i));
            // `drop > c · t` (ordered: false for NaN, as the scalar test).
            let rise = _mm256_movemask_pd(_mm256_cmp_pd::<_CMP_GT_OQ>(drop, _mm256_mul_pd(c, tv)));
            surface::store4(pp.add(i), o);
            if rise != 0 {
                let mut d = [0.0; 4];
                _mm256_storeu_pd(d.as_mut_ptr(), drop);
                for (l, &d) in d.iter().enumerate() {
                    if rise & (1 << l) != 0 {
                        *pc.add(i + l) = critical_slope(d, t);
                    }
                }
            }
        }
        i += 4;
    }
    n4
}

/// The smallest `s` with `s · t ≥ drop` in floating point (`drop`, `t` > 0): a cell whose
/// opening drops by `drop` over a radius step of `t` metres is flagged exactly for the
/// tolerances below it (`drop > s · t`, the product rounded as in the paper's test).
fn critical_slope(drop: f64, t: f64) -> f64 {
    let mut s = drop / t;
    while s * t < drop {
        s = s.next_up();
    }
    loop {
        let below = s.next_down();
        if below >= 0.0 && below * t >= drop {
            s = below;
        } else {
            return s;
        }
    }
}

/// Step 5: ground when `|z − S(x, y)| ≤ threshold + scalar · slope(x, y)`, with `S` sampled
/// bicubically and the slope bilinearly.
pub fn classify_by_surface(
    s: &Surface,
    x: &[f64],
    y: &[f64],
    z: &[f64],
    threshold_m: f64,
    scalar: f64,
) -> Vec<bool> {
    let slope = Surface {
        grid: s.grid,
        z: s.slope(),
    };
    let (s, slope) = (Padded::new(s), Padded::new(&slope));
    // Blocks of points: the surfaces are sampled for a block at a time (four points per
    // instruction where the CPU can).
    const BLOCK: usize = 1024;
    let buffers = || (vec![0.0; BLOCK], vec![0.0; BLOCK]);
    let test = |(ez, sl): &mut (Vec<f64>, Vec<f64>), (b, out): (usize, &mut [bool])| {
        let (k, n) = (b * BLOCK, out.len());
        let (ez, sl) = (&mut ez[..n], &mut sl[..n]);
        surface::bicubic_and_bilinear_many(&s, &slope, &x[k..k + n], &y[k..k + n], ez, sl);
        for i in 0..n {
            out[i] = (z[k + i] - ez[i]).abs() <= threshold_m + scalar * sl[i];
        }
    };
    let mut ground = vec![false; x.len()];
    if x.len() >= 1 << 16 {
        ground
            .par_chunks_mut(BLOCK)
            .enumerate()
            .for_each_init(buffers, test);
    } else {
        let mut b = buffers();
        ground
            .chunks_mut(BLOCK)
            .enumerate()
            .for_each(|c| test(&mut b, c));
    }
    ground
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A 60 m × 60 m sloping plane sampled every 0.7 m with a 12 m × 12 m, 8 m high "building".
    fn scene() -> (Vec<f64>, Vec<f64>, Vec<f64>, Vec<bool>) {
        let (mut x, mut y, mut z, mut truth) = (vec![], vec![], vec![], vec![]);
        let mut k = 0u64;
        let mut jitter = || {
            k = k
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((k >> 33) as f64 / (1u64 << 31) as f64) - 0.5
        };
        for i in 0..86 {
            for j in 0..86 {
                let px = i as f64 * 0.7 + 0.2 * jitter();
                let py = j as f64 * 0.7 + 0.2 * jitter();
                let ground = 50.0 + 0.1 * px + 0.05 * py + 0.03 * jitter();
                let building = (20.0..32.0).contains(&px) && (25.0..37.0).contains(&py);
                x.push(px);
                y.push(py);
                z.push(if building { ground + 8.0 } else { ground });
                truth.push(!building);
            }
        }
        (x, y, z, truth)
    }

    #[test]
    fn separates_a_building_from_sloping_ground() {
        let (x, y, z, truth) = scene();
        let out = Smrf::default().classify(&x, &y, &z).unwrap();
        let wrong = out
            .ground
            .iter()
            .zip(&truth)
            .filter(|(a, b)| a != b)
            .count();
        assert!(
            wrong as f64 / truth.len() as f64 <= 0.002,
            "{wrong} of {} wrong",
            truth.len()
        );
        let s = out.surface.unwrap();
        // Under the building the provisional DEM follows the plane, not the roof.
        let under = s.bilinear(26.0, 31.0);
        assert!((under - (50.0 + 2.6 + 1.55)).abs() < 0.3, "{under}");
    }

    /// The critical slopes flag exactly the cells the paper's test flags, radius by radius,
    /// for any tolerance map (including tolerances on the boundaries themselves).
    #[test]
    fn critical_slopes_flag_as_the_direct_test() {
        let (cols, rows) = (37, 29);
        let z: Vec<f64> = (0..cols * rows)
            .map(|i| 300.0 + ((i * 7919) % 101) as f64 * 0.037 - (i % 13) as f64 * 0.21)
            .collect();
        let direct = |slope: &[f64], max_radius: usize| {
            let mut obj = vec![false; z.len()];
            let mut prev = z.clone();
            for r in 1..=max_radius {
                let opened = surface::open(&z, cols, rows, r, Shape::Disk);
                for i in 0..z.len() {
                    obj[i] |= prev[i] - opened[i] > slope[i] * (0.5 * r as f64);
                }
                prev = opened;
            }
            obj
        };
        let crit = critical_slopes(&z, cols, rows, 0.5, &[3, 9], Shape::Disk);
        // With radius 0 first.
        let with_0 = critical_slopes(&z, cols, rows, 0.5, &[0, 3, 9], Shape::Disk);
        assert_eq!(with_0[0], vec![0.0; z.len()]);
        assert_eq!(with_0[1..], crit[..]);
        for (k, &max_radius) in [3, 9].iter().enumerate() {
            let mut maps: Vec<Vec<f64>> = [0.0, 0.05, 0.15, 0.6, 3.0]
                .iter()
                .map(|&s| vec![s; z.len()])
                .collect();
            maps.push((0..z.len()).map(|i| 0.01 * (i % 50) as f64).collect());
            maps.push(crit[k].clone());
            maps.push(crit[k].iter().map(|c| c.next_down().max(0.0)).collect());
            for slope in &maps {
                let via: Vec<bool> = slope.iter().zip(&crit[k]).map(|(s, c)| s < c).collect();
                assert_eq!(via, direct(slope, max_radius), "radius {max_radius}");
            }
        }
        assert!(crit[1].iter().zip(&crit[0]).all(|(a, b)| a >= b));
    }

    /// On a grid large enough to be cut into bands of rows (run in parallel): the critical
    /// slopes of whole-grid openings, bit for bit.
    #[test]
    fn critical_slopes_in_bands_are_those_of_whole_grid_openings() {
        let (cols, rows) = (150, 130);
        assert!(cols * rows >= surface::PAR_CELLS && rows > 64);
        let z: Vec<f64> = (0..cols * rows)
            .map(|i| 300.0 + ((i * 7919) % 101) as f64 * 0.037 - (i % 13) as f64 * 0.21)
            .collect();
        let bits = |v: &[Vec<f64>]| -> Vec<Vec<u64>> {
            v.iter()
                .map(|c| c.iter().map(|x| x.to_bits()).collect())
                .collect()
        };
        for shape in [Shape::Disk, Shape::Diamond] {
            let mut crit = vec![0.0; z.len()];
            let mut prev = z.clone();
            let mut expect = Vec::new();
            for r in 1..=5 {
                let opened = surface::open(&z, cols, rows, r, shape);
                update_row(&mut crit, &mut prev, &opened, r, 0.7);
                if r == 2 || r == 5 {
                    expect.push(crit.clone());
                }
            }
            let got = critical_slopes(&z, cols, rows, 0.7, &[2, 5], shape);
            assert_eq!(bits(&got), bits(&expect), "{shape:?}");
        }
    }

    #[test]
    fn diamond_shape_also_works_and_validate_rejects_bad_values() {
        let (x, y, z, truth) = scene();
        let out = Smrf {
            shape: Shape::Diamond,
            ..Smrf::default()
        }
        .classify(&x, &y, &z)
        .unwrap();
        let wrong = out
            .ground
            .iter()
            .zip(&truth)
            .filter(|(a, b)| a != b)
            .count();
        assert!(wrong as f64 / truth.len() as f64 <= 0.002);
        assert!(Smrf {
            cell_m: 0.0,
            ..Smrf::default()
        }
        .validate()
        .is_err());
        assert!(Smrf {
            slope: f64::NAN,
            ..Smrf::default()
        }
        .validate()
        .is_err());
    }
}

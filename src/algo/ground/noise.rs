//! Noise flagging before ground classification (flagged points get class 7 and are never ground
//! candidates).
//!
//! * **SOR**, statistical outlier removal (Rusu et al. 2008, PCL; lidR `sor()`; PDAL
//!   `filters.outlier method=statistical`): for every point the mean 3-D distance to its `k`
//!   nearest neighbours (kiddo k-d tree); a point is noise when that mean exceeds the mean of all
//!   those means plus `multiplier` standard deviations. Defaults `k` 10, `multiplier` 3 (lidR);
//!   PDAL uses 8 and 2.
//! * **IVF**, isolated voxel filter (LAStools `lasnoise`, lidR `ivf()`): space is cut into
//!   cubes of `res_m`; a point is noise when the 3 × 3 × 3 cubes around its own hold fewer than
//!   `min_neighbours` other points. Defaults `res_m` 5, `min_neighbours` 3, which is lidR's
//!   `ivf(res = 5, n = 2)` of its documentation example ("at most 2 other points"; lidR's
//!   function default `n = 6` flags real ground in sparse data: on ISPRS sample 41, at
//!   0.6 points/m² with data gaps, it raises the total error from 4.3 % to 6.2 %); lasnoise's
//!   defaults (step 4, isolated 5) are `res_m = 4, min_neighbours = 5` give or take its own
//!   point.
//!
//! The default is IVF: it is cheap (a sort), flags the isolated low and high points that break
//! ground filters, and at 5 m leaves sparse canopy alone, whereas SOR at low density also flags
//! legitimate tree tops. Points with non-finite coordinates are never flagged here.
//!
//! See also: [`super::smrf`] (its own low-outlier pass), lidR `classify_noise()`.

use crate::{Error, Result};
use kiddo::{ImmutableKdTree, SquaredEuclidean};
use rayon::prelude::*;
use std::num::NonZero;

/// Which noise filters run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum NoiseMethod {
    /// No noise flagging.
    None,
    /// Statistical outlier removal.
    Sor,
    /// Isolated voxel filter.
    Ivf,
    /// Both (a point flagged by either is noise).
    Both,
}

/// SOR parameters (lidR `sor()` defaults).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Sor {
    /// Neighbours per point (10).
    pub k: usize,
    /// Standard deviations above the mean (3.0).
    pub multiplier: f64,
}

impl Default for Sor {
    fn default() -> Self {
        Sor {
            k: 10,
            multiplier: 3.0,
        }
    }
}

/// IVF parameters (lidR `ivf()` defaults).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Ivf {
    /// Voxel side in metres (5.0).
    pub res_m: f64,
    /// A point with fewer other points than this in its 27 voxels is noise (3).
    pub min_neighbours: usize,
}

impl Default for Ivf {
    fn default() -> Self {
        Ivf {
            res_m: 5.0,
            min_neighbours: 3,
        }
    }
}

/// The `[ground.noise]` section.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NoiseConfig {
    /// Which filters run (ivf).
    pub method: NoiseMethod,
    pub sor: Sor,
    pub ivf: Ivf,
}

impl Default for NoiseConfig {
    fn default() -> Self {
        NoiseConfig {
            method: NoiseMethod::Ivf,
            sor: Sor::default(),
            ivf: Ivf::default(),
        }
    }
}

impl NoiseConfig {
    /// Checks the parameters of the filters that run.
    pub fn validate(&self) -> Result<()> {
        if matches!(self.method, NoiseMethod::Sor | NoiseMethod::Both) {
            if self.sor.k == 0 {
                return Err(Error::Config("noise sor k must be >= 1".into()));
            }
            if !(self.sor.multiplier.is_finite()) {
                return Err(Error::Config(format!(
                    "noise sor multiplier must be finite, got {}",
                    self.sor.multiplier
                )));
            }
        }
        if matches!(self.method, NoiseMethod::Ivf | NoiseMethod::Both)
            && !(self.ivf.res_m > 0.0 && self.ivf.res_m.is_finite())
        {
            return Err(Error::Config(format!(
                "noise ivf res_m must be > 0, got {}",
                self.ivf.res_m
            )));
        }
        Ok(())
    }
}

/// Flags noise among the points with `usable[i]`; returns one flag per point.
pub fn detect(
    cfg: &NoiseConfig,
    x: &[f64],
    y: &[f64],
    z: &[f64],
    usable: &[bool],
) -> Result<Vec<bool>> {
    cfg.validate()?;
    let n = x.len();
    let mut out = vec![false; n];
    if cfg.method == NoiseMethod::None {
        return Ok(out);
    }
    let idx: Vec<usize> = (0..n).filter(|&i| usable[i]).collect();
    if idx.is_empty() {
        return Ok(out);
    }
    // The usable points' coordinates: the columns themselves when every point is usable.
    let subset = |v: &[f64]| -> Vec<f64> { idx.iter().map(|&i| v[i]).collect() };
    let copies;
    let (px, py, pz): (&[f64], &[f64], &[f64]) = if idx.len() == n {
        (x, y, z)
    } else {
        copies = (subset(x), subset(y), subset(z));
        (&copies.0, &copies.1, &copies.2)
    };
    let mut flag = vec![false; idx.len()];
    if matches!(cfg.method, NoiseMethod::Sor | NoiseMethod::Both) {
        for (f, s) in flag.iter_mut().zip(sor(px, py, pz, &cfg.sor)) {
            *f |= s;
        }
    }
    if matches!(cfg.method, NoiseMethod::Ivf | NoiseMethod::Both) {
        for (f, s) in flag.iter_mut().zip(ivf(px, py, pz, &cfg.ivf)) {
            *f |= s;
        }
    }
    if idx.len() == n {
        out = flag;
    } else {
        for (k, &i) in idx.iter().enumerate() {
            out[i] = flag[k];
        }
    }
    let nf = out.iter().filter(|&&f| f).count();
    log::debug!(
        "noise: {nf} of {} points flagged ({:?})",
        idx.len(),
        cfg.method
    );
    Ok(out)
}

/// Statistical outlier removal; `true` = noise. Fewer than `k + 1` points: nothing is flagged.
pub fn sor(x: &[f64], y: &[f64], z: &[f64], p: &Sor) -> Vec<bool> {
    let n = x.len();
    if n <= p.k || p.k == 0 {
        return vec![false; n];
    }
    // Centre the coordinates: projected eastings/northings lose precision when squared.
    let (cx, cy, cz) = (x[0], y[0], z[0]);
    let pts: Vec<[f64; 3]> = (0..n).map(|i| [x[i] - cx, y[i] - cy, z[i] - cz]).collect();
    let tree: ImmutableKdTree<f64, 3> = ImmutableKdTree::new_from_slice(&pts);
    let k1 = NonZero::new(p.k + 1).expect("k + 1 > 0");
    let mean_dist = |i: usize| {
        let nn = tree.nearest_n::<SquaredEuclidean>(&pts[i], k1);
        // The point itself is among the results at distance 0 (or a duplicate of it is).
        let s: f64 = nn.iter().map(|m| m.distance.sqrt()).sum();
        s / p.k as f64
    };
    let d: Vec<f64> = if n >= 1 << 14 {
        (0..n).into_par_iter().map(mean_dist).collect()
    } else {
        (0..n).map(mean_dist).collect()
    };
    let mean = d.iter().sum::<f64>() / n as f64;
    let var = d.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / n as f64;
    let limit = mean + p.multiplier * var.sqrt();
    d.iter().map(|&v| v > limit).collect()
}

/// Isolated voxel filter; `true` = noise.
///
/// The voxel counts live in a dense 3-D array when the occupied box holds at most
/// [`DENSE_VOXELS_PER_POINT`] voxels per point (a tile or chunk: O(points)), else in a sorted
/// list of occupied voxels searched by bisection; both give the same flags.
pub fn ivf(x: &[f64], y: &[f64], z: &[f64], p: &Ivf) -> Vec<bool> {
    let n = x.len();
    if n == 0 {
        return Vec::new();
    }
    // One length for the three columns: the per-point reads below need no bounds checks.
    let (x, y, z) = (&x[..n], &y[..n], &z[..n]);
    let ([xlo, xhi], [ylo, yhi], [zlo, zhi]) = (min_max(x), min_max(y), min_max(z));
    // Voxel edges on multiples of res_m: chunks of a catalog share their voxels.
    let snap = |v: f64| (v / p.res_m).floor() * p.res_m;
    let (x0, y0, z0) = (snap(xlo), snap(ylo), snap(zlo));
    // Voxel coordinates offset by 1 so that the neighbour at -1 is still >= 0; 21 bits each.
    // The truncation, clamped at 0, is the floor of a value that cannot be below -1; through
    // `i64` it is one instruction on SSE2 (`as u64` is a branchy sequence), and from 2⁶³ on it
    // saturates into the same clamp.
    const MASK: u64 = VOXEL_MASK;
    let v = |c: f64, o: f64| ((((c - o) / p.res_m) as i64).max(0) as u64 + 1).min(MASK - 1);
    let coord = |i: usize| [v(x[i], x0), v(y[i], y0), v(z[i], z0)];
    // Box sizes with room for the neighbour at +1 (the voxel coordinate grows with the
    // coordinate, so the largest is the maximum's).
    let dims = [v(xhi, x0) + 2, v(yhi, y0) + 2, v(zhi, z0) + 2];
    let voxels = dims.iter().try_fold(1u64, |a, &d| a.checked_mul(d));
    let dense = voxels.is_some_and(|v| {
        v <= (DENSE_VOXELS_PER_POINT * n as u64).max(1 << 16) && v <= u32::MAX as u64
    });
    let around: Vec<u32> = if dense {
        // Each point's voxel, kept for the second pass (4 bytes a point).
        let voxel = dense_voxels((x, y, z), [x0, y0, z0], p.res_m, dims, coord);
        ivf_dense(&voxel, dims)
    } else {
        ivf_sorted(&(0..n).map(coord).collect::<Vec<_>>())
    };
    around
        .iter()
        .map(|&a| ((a - 1) as usize) < p.min_neighbours)
        .collect()
}

/// The minimum and maximum of `v` (NaN ignored, as `f64::min`/`max` do; ±∞ when no number),
/// in four independent lanes so that the compiler can keep them in vector registers: min and
/// max are exact, so the lanes' order changes no result.
fn min_max(v: &[f64]) -> [f64; 2] {
    let (mut lo, mut hi) = ([f64::INFINITY; 4], [f64::NEG_INFINITY; 4]);
    let mut quads = v.chunks_exact(4);
    for q in &mut quads {
        for k in 0..4 {
            lo[k] = lo[k].min(q[k]);
            hi[k] = hi[k].max(q[k]);
        }
    }
    for &x in quads.remainder() {
        lo[0] = lo[0].min(x);
        hi[0] = hi[0].max(x);
    }
    [
        lo.into_iter().fold(f64::INFINITY, f64::min),
        hi.into_iter().fold(f64::NEG_INFINITY, f64::max),
    ]
}

/// Most voxels per point [`ivf`] allocates a dense array for.
const DENSE_VOXELS_PER_POINT: u64 = 8;

/// The index of each point's voxel in the dense array of `dims` voxels (at most `u32::MAX`):
/// `(a · ny + b) · nz + c` of the voxel coordinates `coord(i)` of [`ivf`], whose voxel edges
/// start at `origin`, every `res` metres. With AVX2 four points at a time: the same quotients,
/// clamped into `0 ..= MASK − 2` before the truncation instead of after it (the same voxel: the
/// clamp's bounds are whole numbers), the products in 32-bit lanes (exact: every index is below
/// `dims`' product).
fn dense_voxels(
    (x, y, z): (&[f64], &[f64], &[f64]),
    origin: [f64; 3],
    res: f64,
    dims: [u64; 3],
    coord: impl Fn(usize) -> [u64; 3],
) -> Vec<u32> {
    let n = x.len();
    assert!(y.len() == n && z.len() == n);
    assert!(dims.iter().product::<u64>() <= u32::MAX as u64);
    let [_, ny, nz] = dims.map(|d| d as usize);
    let flat = |p: [u64; 3]| ((p[0] as usize * ny + p[1] as usize) * nz + p[2] as usize) as u32;
    let mut voxel = vec![0u32; n];
    let mut done = 0;
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU has AVX2 (checked on the line above); the columns have one length
        // and the voxels' product fits in a u32 (asserted above).
        done = unsafe { dense_voxels_avx2((x, y, z), origin, res, dims, &mut voxel) };
    }
    for (i, v) in voxel.iter_mut().enumerate().skip(done) {
        *v = flat(coord(i));
    }
    voxel
}

/// [`dense_voxels`] four points at a time; returns the number of points done (all but the last
/// `len % 4`).
///
/// # Safety
/// The CPU must have AVX2; `x`, `y`, `z` and `out` of one length; the product of `dims` at most
/// `u32::MAX`.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn dense_voxels_avx2(
    (x, y, z): (&[f64], &[f64], &[f64]),
    origin: [f64; 3],
    res: f64,
    dims: [u64; 3],
    out: &mut [u32],
) -> usize {
    use std::arch::x86_64::*;
    let n = x.len();
    debug_assert!(y.len() == n && z.len() == n && out.len() == n);
    let n4 = n - n % 4;
    let (zero, top, res) = (
        _mm256_setzero_pd(),
        _mm256_set1_pd((VOXEL_MASK - 2) as f64),
        _mm256_set1_pd(res),
    );
    let one = _mm_set1_epi32(1);
    let (ny, nz) = (
        _mm_set1_epi32(dims[1] as i32),
        _mm_set1_epi32(dims[2] as i32),
    );
    // ((q as i64).max(0) as u64 + 1).min(MASK − 1) for q = (c − o) / res: `max(q, 0)` is 0
    // for q < 0, −0.0 and NaN (`_mm256_max_pd(q, 0)` is `q > 0 ? q : 0`), and the truncation
    // of min(·, MASK − 2), plus 1, is that value.
    let axis = |p: *const f64, o: f64| {
        // SAFETY: the caller reads four values at `p`, within its column.
        let q = _mm256_div_pd(
            _mm256_sub_pd(unsafe { _mm256_loadu_pd(p) }, _mm256_set1_pd(o)),
            res,
        );
        _mm_add_epi32(
            _mm256_cvttpd_epi32(_mm256_min_pd(_mm256_max_pd(q, zero), top)),
            one,
        )
    };
    let mut i = 0;
    while i < n4 {
        // SAFETY: i + 4 ≤ n4 ≤ n, the length of every column and of `out`.
        unsafe {
            let a = axis(x.as_ptr().add(i), origin[0]);
            let b = axis(y.as_ptr().add(i), origin[1]);
            let c = axis(z.as_ptr().add(i), origin[2]);
            let k = _mm_add_epi32(
                _mm_mullo_epi32(_mm_add_epi32(_mm_mullo_epi32(a, ny), b), nz),
                c,
            );
            _mm_storeu_si128(out.as_mut_ptr().add(i).cast(), k);
        }
        i += 4;
    }
    n4
}

/// The largest voxel coordinate of [`ivf`] is `VOXEL_MASK − 1` (21 bits each).
const VOXEL_MASK: u64 = (1 << 21) - 1;

/// Points in the 27 voxels around each point's own (itself included), from a dense count array
/// of `dims` voxels summed over 3 × 3 × 3 boxes one axis at a time; `voxel` holds each point's
/// voxel.
fn ivf_dense(voxel: &[u32], dims: [u64; 3]) -> Vec<u32> {
    let [nx, ny, nz] = dims.map(|d| d as usize);
    let at = |a: usize, b: usize, c: usize| (a * ny + b) * nz + c;
    let mut count = vec![0u32; nx * ny * nz];
    for &k in voxel {
        count[k as usize] += 1;
    }
    // Box sums along z, then y, then x; the outermost voxels of each axis hold no point and are
    // never read, so the sums skip them.
    let mut sz = vec![0u32; count.len()];
    for k in 0..nx * ny {
        let (src, dst) = (&count[k * nz..(k + 1) * nz], &mut sz[k * nz..(k + 1) * nz]);
        for c in 1..nz - 1 {
            dst[c] = src[c - 1] + src[c] + src[c + 1];
        }
    }
    let mut sy = vec![0u32; count.len()];
    for a in 0..nx {
        for b in 1..ny - 1 {
            for c in 0..nz {
                sy[at(a, b, c)] = sz[at(a, b - 1, c)] + sz[at(a, b, c)] + sz[at(a, b + 1, c)];
            }
        }
    }
    // Neighbours along x are `ny · nz` apart.
    let step = ny * nz;
    voxel
        .iter()
        .map(|&k| {
            let k = k as usize;
            sy[k - step] + sy[k] + sy[k + step]
        })
        .collect()
}

/// As [`ivf_dense`], from the sorted occupied voxels (any extent).
fn ivf_sorted(coords: &[[u64; 3]]) -> Vec<u32> {
    const MASK: u64 = (1 << 21) - 1;
    let keys: Vec<u64> = coords
        .iter()
        .map(|c| (c[0] << 42) | (c[1] << 21) | c[2])
        .collect();
    let mut sorted = keys.clone();
    sorted.sort_unstable();
    // Unique keys and their counts.
    let mut uk: Vec<u64> = Vec::new();
    let mut uc: Vec<u32> = Vec::new();
    for &k in &sorted {
        if uk.last() == Some(&k) {
            *uc.last_mut().expect("non-empty") += 1;
        } else {
            uk.push(k);
            uc.push(1);
        }
    }
    // Points around each occupied voxel (own voxel included).
    let around: Vec<u32> = uk
        .iter()
        .map(|&k| {
            let (a, b, c) = ((k >> 42) & MASK, (k >> 21) & MASK, k & MASK);
            let mut s = 0u32;
            for da in [a - 1, a, a + 1] {
                for db in [b - 1, b, b + 1] {
                    for dc in [c - 1, c, c + 1] {
                        let q = (da << 42) | (db << 21) | dc;
                        if let Ok(j) = uk.binary_search(&q) {
                            s += uc[j];
                        }
                    }
                }
            }
            s
        })
        .collect();
    keys.iter()
        .map(|k| around[uk.binary_search(k).expect("key present")])
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cloud_with_outliers() -> (Vec<f64>, Vec<f64>, Vec<f64>) {
        let (mut x, mut y, mut z) = (vec![], vec![], vec![]);
        for i in 0..60 {
            for j in 0..60 {
                x.push(i as f64 * 0.5);
                y.push(j as f64 * 0.5);
                z.push(100.0 + 0.01 * i as f64);
            }
        }
        // Three isolated points: 40 m above, 25 m below, and one far off to the side.
        x.extend([10.0, 20.0, 60.0]);
        y.extend([10.0, 5.0, 60.0]);
        z.extend([140.0, 75.0, 100.0]);
        (x, y, z)
    }

    #[test]
    fn sor_and_ivf_flag_exactly_the_isolated_points() {
        let (x, y, z) = cloud_with_outliers();
        let n = x.len();
        let s = sor(&x, &y, &z, &Sor::default());
        let v = ivf(&x, &y, &z, &Ivf::default());
        for flags in [&s, &v] {
            assert_eq!(flags[n - 3..], [true, true, true]);
            assert_eq!(flags[..n - 3].iter().filter(|&&f| f).count(), 0);
        }
        let cfg = NoiseConfig {
            method: NoiseMethod::Both,
            ..NoiseConfig::default()
        };
        let mut usable = vec![true; n];
        usable[n - 1] = false;
        let d = detect(&cfg, &x, &y, &z, &usable).unwrap();
        assert_eq!(d[n - 3..], [true, true, false]);
    }

    #[test]
    fn dense_and_sorted_voxel_counts_agree() {
        let mut rnd = crate::testdata::uniform(7);
        // Clustered points with isolated ones between clusters.
        let coords: Vec<[u64; 3]> = (0..3000)
            .map(|i| {
                let spread = if i % 10 == 0 { 40.0 } else { 6.0 };
                [
                    1 + (rnd() * spread) as u64,
                    1 + (rnd() * spread) as u64,
                    1 + (rnd() * 9.0) as u64,
                ]
            })
            .collect();
        let mut dims = [0u64; 3];
        for c in &coords {
            for j in 0..3 {
                dims[j] = dims[j].max(c[j] + 2);
            }
        }
        let (ny, nz) = (dims[1], dims[2]);
        let voxel: Vec<u32> = coords
            .iter()
            .map(|c| ((c[0] * ny + c[1]) * nz + c[2]) as u32)
            .collect();
        assert_eq!(ivf_dense(&voxel, dims), ivf_sorted(&coords));
    }

    /// Each point's voxel four points at a time (with AVX2) is the one computed point by point,
    /// below the origin, inside, and beyond the 21 bits of a voxel coordinate.
    #[test]
    fn dense_voxels_are_those_of_each_point() {
        let (origin, res) = ([520000.0, 3400200.0, 80.0], 5.0);
        let (mut x, mut y, mut z) = (vec![], vec![], vec![]);
        for i in 0..1003 {
            let f = |m: usize, s: f64| ((i * m) % 97) as f64 * s - 7.0;
            x.push(origin[0] + f(37, 4.9));
            y.push(origin[1] + f(53, 5.1));
            z.push(origin[2] + f(71, 0.77));
        }
        x.extend([
            origin[0] - 5.0,
            origin[0] + 1e9,
            origin[0] - 0.0,
            origin[0] + 5.0,
        ]);
        y.extend([
            origin[1] + 4.999,
            origin[1] - 1e9,
            origin[1] + 1e12,
            origin[1],
        ]);
        z.extend([
            origin[2],
            origin[2] + 10.0,
            origin[2] - 0.1,
            origin[2] + 1e7,
        ]);
        let dims = [101, 103, 107];
        const MASK: u64 = VOXEL_MASK;
        let v = |c: f64, o: f64| ((((c - o) / res) as i64).max(0) as u64 + 1).min(MASK - 1);
        let coord = |i: usize| [v(x[i], origin[0]), v(y[i], origin[1]), v(z[i], origin[2])];
        let got = dense_voxels((&x, &y, &z), origin, res, dims, coord);
        for i in 0..x.len() {
            let c = coord(i);
            let want = ((c[0] * dims[1] + c[1]) * dims[2] + c[2]) as u32;
            assert_eq!(got[i], want, "{} {} {}", x[i], y[i], z[i]);
        }
    }

    #[test]
    fn tiny_inputs_flag_nothing_or_everything_sensibly() {
        assert!(sor(&[1.0], &[1.0], &[1.0], &Sor::default()) == vec![false]);
        // A lone point has no neighbour: isolated.
        assert!(ivf(&[1.0], &[1.0], &[1.0], &Ivf::default()) == vec![true]);
        assert!(ivf(&[], &[], &[], &Ivf::default()).is_empty());
    }
}

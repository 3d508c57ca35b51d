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
    const MASK: u64 = (1 << 21) - 1;
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
        ivf_dense(n, coord, dims)
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

/// Points in the 27 voxels around each point's own (itself included), from a dense count array
/// summed over 3 × 3 × 3 boxes one axis at a time.
fn ivf_dense(n: usize, coord: impl Fn(usize) -> [u64; 3], dims: [u64; 3]) -> Vec<u32> {
    let [nx, ny, nz] = dims.map(|d| d as usize);
    let at = |a: usize, b: usize, c: usize| (a * ny + b) * nz + c;
    let flat = |p: [u64; 3]| at(p[0] as usize, p[1] as usize, p[2] as usize);
    // Each point's voxel, kept for the second pass (4 bytes a point).
    let voxel: Vec<u32> = (0..n).map(|i| flat(coord(i)) as u32).collect();
    let mut count = vec![0u32; nx * ny * nz];
    for &k in &voxel {
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
        assert_eq!(
            ivf_dense(coords.len(), |i| coords[i], dims),
            ivf_sorted(&coords)
        );
    }

    #[test]
    fn tiny_inputs_flag_nothing_or_everything_sensibly() {
        assert!(sor(&[1.0], &[1.0], &[1.0], &Sor::default()) == vec![false]);
        // A lone point has no neighbour: isolated.
        assert!(ivf(&[1.0], &[1.0], &[1.0], &Ivf::default()) == vec![true]);
        assert!(ivf(&[], &[], &[], &Ivf::default()).is_empty());
    }
}

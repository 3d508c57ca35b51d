//! Synthetic point clouds with known truth: rolling terrain plus trees of known apex position,
//! height and crown radius. Used by tests that need ground truth (ground filters, DTM, tree
//! detection, chunk invariance) and by the demo's synthetic county.
//!
//! Each pulse lands at a uniformly random (x, y). Under a crown it returns from the crown
//! surface (first return) and, with probability `p_ground_under_canopy`, from the ground (last
//! return); elsewhere it returns from the ground only. Ground returns carry class 2, crown
//! returns class 5: the classification *is* the truth.

use crate::points::{class, Crs, LasMeta, PointCloud};
use rand::{Rng, SeedableRng};
use rand_pcg::Pcg64;

/// Parameters of a synthetic scene.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SynthParams {
    /// Lower-left corner.
    pub origin: [f64; 2],
    /// Width and height.
    pub size_m: [f64; 2],
    /// Pulses per square metre.
    pub pulses_per_m2: f64,
    /// Trees per hectare.
    pub trees_per_ha: f64,
    /// Tree heights are drawn uniformly in this range.
    pub tree_height_m: [f64; 2],
    /// Terrain slope along x (rise over run).
    pub slope_x: f64,
    /// Amplitude of the terrain's undulation.
    pub undulation_m: f64,
    /// Base terrain elevation.
    pub base_z_m: f64,
    /// Probability that a pulse under a crown also returns from the ground.
    pub p_ground_under_canopy: f64,
    /// Random seed.
    pub seed: u64,
    /// EPSG code written into the header.
    pub epsg: u32,
    /// Multiplies tree heights (crown radius by its square root, DBH likewise): 1 = as drawn;
    /// below 1 gives the same stand some years younger.
    pub height_factor: f64,
}

impl Default for SynthParams {
    fn default() -> Self {
        SynthParams {
            origin: [500_000.0, 3_400_000.0],
            size_m: [100.0, 100.0],
            pulses_per_m2: 10.0,
            trees_per_ha: 150.0,
            tree_height_m: [8.0, 28.0],
            slope_x: 0.1,
            undulation_m: 2.0,
            base_z_m: 100.0,
            p_ground_under_canopy: 0.5,
            seed: 42,
            // CGCS2000 / 3-degree Gauss-Kruger CM 111E (central Hubei).
            epsg: 4546,
            height_factor: 1.0,
        }
    }
}

/// A synthetic tree: apex position, height, crown radius and a DBH consistent with them.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct SynthTree {
    pub x: f64,
    pub y: f64,
    /// Ground elevation under the apex.
    pub ground_z: f64,
    pub height_m: f64,
    pub crown_radius_m: f64,
    pub dbh_cm: f64,
}

impl SynthParams {
    /// Terrain elevation at `(x, y)`.
    pub fn terrain_z(&self, x: f64, y: f64) -> f64 {
        let u = x - self.origin[0];
        let v = y - self.origin[1];
        self.base_z_m
            + self.slope_x * u
            + self.undulation_m * ((u / 37.0).sin() * (v / 23.0).cos() + 0.5 * (v / 11.0).sin())
    }
}

/// Crown surface height above ground at horizontal distance `d` from the apex: a half-ellipsoid
/// of semi-axes `r` and `0.6·h` on top of a bare stem.
pub fn crown_height(t: &SynthTree, d: f64) -> Option<f64> {
    if d >= t.crown_radius_m {
        return None;
    }
    let depth = 0.6 * t.height_m;
    let q = d / t.crown_radius_m;
    Some(t.height_m - depth + depth * (1.0 - q * q).sqrt())
}

/// Rounds to the 1 cm grid of the synthetic header exactly as a reader decodes it
/// (`raw · 0.01 + offset`), so the points in memory equal those read back from a file.
fn quantize(v: f64, offset: f64) -> f64 {
    ((v - offset) / 0.01).round() * 0.01 + offset
}

/// Places trees at random, at least `0.8·(r1 + r2)` apart so crowns stay separable.
pub fn trees(p: &SynthParams) -> Vec<SynthTree> {
    trees_where(p, &|_, _| 1.0)
}

/// Places trees as [`trees`] does, thinned by `density(x, y)` ∈ [0, 1] (the share of
/// `trees_per_ha` wanted at that place: 0 on cropland, 1 in closed forest). Heights are
/// multiplied by `p.height_factor`, so two calls that differ only in it give the same trees,
/// grown (the two survey years of a demo).
pub fn trees_where(p: &SynthParams, density: &dyn Fn(f64, f64) -> f64) -> Vec<SynthTree> {
    let mut rng = Pcg64::seed_from_u64(p.seed ^ 0x7472_6565);
    let area_ha = p.size_m[0] * p.size_m[1] / 10_000.0;
    let target = (p.trees_per_ha * area_ha).round() as usize;
    let mut out: Vec<SynthTree> = Vec::with_capacity(target);
    // Spacing checks against a bucket grid of placed trees (crowns are at most a few metres).
    let cell = 8.0;
    let nx = (p.size_m[0] / cell).ceil() as usize + 1;
    let ny = (p.size_m[1] / cell).ceil() as usize + 1;
    let mut buckets: Vec<Vec<usize>> = vec![Vec::new(); nx * ny];
    // Unscaled crown radii: spacing is decided at full size, so `height_factor` changes sizes,
    // never which trees exist.
    let mut radius: Vec<f64> = Vec::with_capacity(target);
    let bucket = |x: f64, y: f64| -> (i64, i64) {
        (
            ((x - p.origin[0]) / cell) as i64,
            ((y - p.origin[1]) / cell) as i64,
        )
    };
    let mut attempts = 0;
    while attempts < target * 50 && (out.len() as f64) < target as f64 {
        attempts += 1;
        let h = rng.random_range(p.tree_height_m[0]..=p.tree_height_m[1]);
        // Crown radius grows with height (roughly 0.1·h + 1 m).
        let r = 1.0 + 0.1 * h;
        let x = p.origin[0] + rng.random_range(0.0..p.size_m[0]);
        let y = p.origin[1] + rng.random_range(0.0..p.size_m[1]);
        let d = density(x, y).clamp(0.0, 1.0);
        // No extra draw where the density is full: the default scene stays as it always was.
        if d < 1.0 && rng.random::<f64>() >= d {
            continue;
        }
        let (bx, by) = bucket(x, y);
        let reach = ((0.8 * (r + 1.0 + 0.1 * p.tree_height_m[1])) / cell).ceil() as i64;
        let mut clash = false;
        'scan: for iy in (by - reach).max(0)..=(by + reach).min(ny as i64 - 1) {
            for ix in (bx - reach).max(0)..=(bx + reach).min(nx as i64 - 1) {
                for &k in &buckets[iy as usize * nx + ix as usize] {
                    let t: &SynthTree = &out[k];
                    if ((t.x - x).powi(2) + (t.y - y).powi(2)).sqrt() < 0.8 * (radius[k] + r) {
                        clash = true;
                        break 'scan;
                    }
                }
            }
        }
        if clash {
            continue;
        }
        // DBH from a height–crown allometry of the Jucker et al. 2017 form D = a·(H·CD)^b,
        // fixed at the tree's full size; the crown and height grow with `height_factor`.
        let dbh = 0.557 * (h * 2.0 * r).powf(0.809) * 1.6;
        let hf = p.height_factor;
        buckets[by.clamp(0, ny as i64 - 1) as usize * nx + bx.clamp(0, nx as i64 - 1) as usize]
            .push(out.len());
        radius.push(r);
        out.push(SynthTree {
            x,
            y,
            ground_z: p.terrain_z(x, y),
            height_m: h * hf,
            crown_radius_m: r * hf.sqrt(),
            dbh_cm: dbh * hf,
        });
    }
    out
}

/// Generates the scene: the point cloud (format 1, scale 1 cm) and its trees.
pub fn generate(p: &SynthParams) -> (PointCloud, Vec<SynthTree>) {
    generate_where(p, &|_, _| 1.0)
}

/// [`generate`] with trees thinned by `density(x, y)` (see [`trees_where`]).
pub fn generate_where(
    p: &SynthParams,
    density: &dyn Fn(f64, f64) -> f64,
) -> (PointCloud, Vec<SynthTree>) {
    let trees = trees_where(p, density);
    let mut rng = Pcg64::seed_from_u64(p.seed);
    let format = las::point::Format::new(1).expect("format 1");
    let meta = LasMeta::synthetic(
        format,
        [0.01; 3],
        [p.origin[0], p.origin[1], 0.0],
        Crs::from_epsg(p.epsg),
    );
    let mut c = PointCloud::empty(meta);
    let n_pulses = (p.pulses_per_m2 * p.size_m[0] * p.size_m[1]).round() as usize;
    c.reserve(n_pulses * 2);
    // A coarse bucket grid of trees so each pulse checks only nearby crowns.
    let cell = 10.0;
    let nx = (p.size_m[0] / cell).ceil() as usize + 1;
    let ny = (p.size_m[1] / cell).ceil() as usize + 1;
    let mut buckets = vec![Vec::new(); nx * ny];
    for (i, t) in trees.iter().enumerate() {
        let bx = ((t.x - p.origin[0]) / cell) as usize;
        let by = ((t.y - p.origin[1]) / cell) as usize;
        buckets[by.min(ny - 1) * nx + bx.min(nx - 1)].push(i);
    }
    let mut used: std::collections::HashSet<(i64, i64)> =
        std::collections::HashSet::with_capacity(n_pulses);
    for pulse in 0..n_pulses {
        // Quantized to the 1 cm scale of the header, so that the points in memory are exactly
        // the points a file of this cloud holds.
        let x = quantize(
            p.origin[0] + rng.random_range(0.0..p.size_m[0]),
            p.origin[0],
        );
        let y = quantize(
            p.origin[1] + rng.random_range(0.0..p.size_m[1]),
            p.origin[1],
        );
        // Two pulses never share a position (tests rely on distinct ground xy).
        let key = (
            ((x - p.origin[0]) * 100.0).round() as i64,
            ((y - p.origin[1]) * 100.0).round() as i64,
        );
        if !used.insert(key) {
            continue;
        }
        let g = p.terrain_z(x, y);
        let bx = ((x - p.origin[0]) / cell) as i64;
        let by = ((y - p.origin[1]) / cell) as i64;
        let mut top: Option<f64> = None;
        for dy in -2..=2 {
            for dx in -2..=2 {
                let (ix, iy) = (bx + dx, by + dy);
                if ix < 0 || iy < 0 || ix >= nx as i64 || iy >= ny as i64 {
                    continue;
                }
                for &ti in &buckets[iy as usize * nx + ix as usize] {
                    let t = &trees[ti];
                    let d = ((t.x - x).powi(2) + (t.y - y).powi(2)).sqrt();
                    if let Some(h) = crown_height(t, d) {
                        let hz = t.ground_z + h;
                        top = Some(top.map_or(hz, |v: f64| v.max(hz)));
                    }
                }
            }
        }
        let noise = |rng: &mut Pcg64| rng.random_range(-0.03..0.03);
        let push = |c: &mut PointCloud, z: f64, rn: u8, nr: u8, cls: u8| {
            c.x.push(x);
            c.y.push(y);
            c.z.push(z);
            c.intensity
                .push(if cls == class::GROUND { 400 } else { 150 });
            c.return_number.push(rn);
            c.number_of_returns.push(nr);
            c.classification.push(cls);
            c.flags.push(0);
            c.scanner_channel.push(0);
            c.scan_angle_deg.push(0.0);
            c.user_data.push(0);
            c.point_source_id.push(1);
            c.is_buffer.push(false);
            if let Some(v) = &mut c.gps_time {
                v.push(pulse as f64 * 1e-5);
            }
        };
        match top {
            Some(tz) => {
                let both = rng.random_bool(p.p_ground_under_canopy);
                let nr = if both { 2 } else { 1 };
                let tz = tz + noise(&mut rng);
                push(&mut c, quantize(tz, 0.0), 1, nr, class::HIGH_VEGETATION);
                if both {
                    let gz = g + noise(&mut rng);
                    push(&mut c, quantize(gz, 0.0), 2, 2, class::GROUND);
                }
            }
            None => {
                let gz = g + noise(&mut rng);
                push(&mut c, quantize(gz, 0.0), 1, 1, class::GROUND);
            }
        }
    }
    (c, trees)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn growth_changes_sizes_not_positions_and_density_thins() {
        let p = SynthParams {
            size_m: [80.0, 80.0],
            ..Default::default()
        };
        let full = trees(&p);
        let young = trees(&SynthParams {
            height_factor: 0.8,
            ..p.clone()
        });
        assert_eq!(full.len(), young.len());
        for (a, b) in full.iter().zip(&young) {
            assert_eq!((a.x, a.y), (b.x, b.y));
            assert!((b.height_m - 0.8 * a.height_m).abs() < 1e-12);
        }
        // No trees in the east half.
        let half = trees_where(&p, &|x, _| if x < p.origin[0] + 40.0 { 1.0 } else { 0.0 });
        assert!(!half.is_empty());
        assert!(half.iter().all(|t| t.x < p.origin[0] + 40.0));
        // Spacing holds.
        for (i, a) in full.iter().enumerate() {
            for b in &full[i + 1..] {
                let d = ((a.x - b.x).powi(2) + (a.y - b.y).powi(2)).sqrt();
                assert!(d >= 0.8 * (a.crown_radius_m + b.crown_radius_m) - 1e-9);
            }
        }
    }
}

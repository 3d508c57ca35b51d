//! A synthetic open oak savanna with broad, lobed crowns and known trees: the test scene for
//! tree detection on broadleaf open woodland, where no real tile with a field inventory is
//! shared (the shared real tiles are conifer or mixed mountain forest).
//!
//! The scene follows published descriptions of oak savannas and dehesas rather than any
//! detector: 20–40 trees per hectare (dehesa stocking, e.g. Moreno & Pulido 2009; Californian
//! blue-oak savanna is similar), heights 8–15 m, open-grown crowns about as wide as the tree is
//! tall (crown radius 0.35–0.55·h, i.e. 3–8 m), crown base at 0.3·h. A crown is not one dome:
//! an open-grown oak carries its foliage on a few major limbs, so the crown surface here is
//! the highest of a leader lobe near the stem (the apex, at height h; half the crown radius)
//! and 2–6 limb lobes
//! further out, each a half-ellipsoid cap 3–15 % lower than the apex, plus a leaf-cluster
//! roughness of ±0.15 m on a ~0.7 m scale. The saddles between lobes are then 0.3–2 m deep,
//! the gaps between trees reach the grass.
//!
//! Pulses land uniformly at random; under a crown the first return comes from its surface and,
//! with probability `p_ground_under_canopy`, a last return from the ground. Flat terrain with a
//! gentle slope, so height = z − terrain is exact. Truth: the stem position (the leader lobe's
//! centre, within 0.15·R of it, is the apex) and the apex height.
//!
//! Reference: Moreno G., Pulido F.J. (2009). The functioning, management and persistence of
//! dehesas. In: Agroforestry in Europe, Springer, 127–160.

use crate::points::{class, Crs, LasMeta, PointCloud};
use rand::{Rng, SeedableRng};
use rand_pcg::Pcg64;

/// Parameters of a savanna scene.
#[derive(Debug, Clone)]
pub struct SavannaParams {
    /// Lower-left corner.
    pub origin: [f64; 2],
    /// Width and height, metres.
    pub size_m: [f64; 2],
    pub pulses_per_m2: f64,
    pub trees_per_ha: f64,
    /// Tree heights are drawn uniformly in this range, metres.
    pub tree_height_m: [f64; 2],
    /// Probability that a pulse under a crown also returns from the ground.
    pub p_ground_under_canopy: f64,
    pub seed: u64,
}

impl Default for SavannaParams {
    fn default() -> Self {
        SavannaParams {
            origin: [600_000.0, 4_200_000.0],
            size_m: [150.0, 150.0],
            pulses_per_m2: 10.0,
            trees_per_ha: 30.0,
            tree_height_m: [8.0, 15.0],
            p_ground_under_canopy: 0.3,
            seed: 11,
        }
    }
}

/// One crown lobe: a half-ellipsoid cap of radius `r_m` centred at `(x, y)` with its top at
/// `top_m` above ground and vertical semi-axis `depth_m`.
#[derive(Debug, Clone, Copy)]
struct Lobe {
    x: f64,
    y: f64,
    r_m: f64,
    top_m: f64,
    depth_m: f64,
}

/// A savanna tree: stem position, apex height, crown radius, and its lobes.
#[derive(Debug, Clone)]
pub struct SavannaTree {
    pub x: f64,
    pub y: f64,
    pub height_m: f64,
    pub crown_radius_m: f64,
    lobes: Vec<Lobe>,
    /// Phases of the roughness field.
    phase: [f64; 4],
}

impl SavannaTree {
    /// Crown surface height above ground at `(x, y)`, if the point lies under the crown.
    pub fn surface_m(&self, x: f64, y: f64) -> Option<f64> {
        let base = 0.3 * self.height_m;
        let mut best: Option<f64> = None;
        for l in &self.lobes {
            let q2 = ((x - l.x).powi(2) + (y - l.y).powi(2)) / (l.r_m * l.r_m);
            if q2 >= 1.0 {
                continue;
            }
            let z = (l.top_m - l.depth_m + l.depth_m * (1.0 - q2).sqrt()).max(base);
            best = Some(best.map_or(z, |b: f64| b.max(z)));
        }
        // Leaf-cluster roughness (~0.7 m wavelength, ±0.15 m), never above the apex.
        best.map(|z| {
            let k = std::f64::consts::TAU / 0.7;
            let p = &self.phase;
            let rough = 0.075 * ((k * x + p[0]).sin() * (k * 0.8 * y + p[1]).cos())
                + 0.075 * ((k * 0.9 * y + p[2]).sin() * (k * 1.1 * x + p[3]).cos());
            (z + rough).min(self.height_m)
        })
    }
}

/// Places the trees: Poisson positions thinned so that stems stand at least
/// `0.9·(R₁ + R₂)` apart (open-grown crowns barely touch).
pub fn savanna_trees(p: &SavannaParams) -> Vec<SavannaTree> {
    let mut rng = Pcg64::seed_from_u64(p.seed ^ 0x5341_5641);
    let target = (p.trees_per_ha * p.size_m[0] * p.size_m[1] / 10_000.0).round() as usize;
    let mut out: Vec<SavannaTree> = Vec::with_capacity(target);
    let mut attempts = 0;
    while out.len() < target && attempts < 200 * target.max(1) {
        attempts += 1;
        let h = rng.random_range(p.tree_height_m[0]..=p.tree_height_m[1]);
        let big_r = rng.random_range(0.35..0.55) * h;
        let x = p.origin[0] + rng.random_range(0.0..p.size_m[0]);
        let y = p.origin[1] + rng.random_range(0.0..p.size_m[1]);
        if out.iter().any(|t| {
            ((t.x - x).powi(2) + (t.y - y).powi(2)).sqrt() < 0.9 * (t.crown_radius_m + big_r)
        }) {
            continue;
        }
        // The crown envelope: a broad dome of radius R and vertical semi-axis 0.35·h.
        let depth = 0.35 * h;
        let envelope = |d: f64| h - depth * (1.0 - (1.0 - (d / big_r).powi(2)).max(0.0).sqrt());
        let mut lobes = Vec::new();
        // The leader clump: the apex, near the stem.
        let (a0, d0) = (
            rng.random_range(0.0..std::f64::consts::TAU),
            rng.random_range(0.0..0.15) * big_r,
        );
        lobes.push(Lobe {
            x: x + d0 * a0.cos(),
            y: y + d0 * a0.sin(),
            r_m: 0.45 * big_r,
            top_m: h,
            depth_m: 0.25 * h,
        });
        // Limb clumps around it, their tops on the envelope, up to 5 % of h below it.
        let n = rng.random_range(3..=7);
        let a_start = rng.random_range(0.0..std::f64::consts::TAU);
        for k in 0..n {
            let a =
                a_start + std::f64::consts::TAU * k as f64 / n as f64 + rng.random_range(-0.3..0.3);
            let d = rng.random_range(0.4..0.65) * big_r;
            lobes.push(Lobe {
                x: x + d * a.cos(),
                y: y + d * a.sin(),
                r_m: (rng.random_range(0.35..0.45) * big_r).min(big_r - d),
                top_m: envelope(d) - rng.random_range(0.0..0.05) * h,
                depth_m: 0.25 * h,
            });
        }
        let phase = [
            rng.random_range(0.0..7.0),
            rng.random_range(0.0..7.0),
            rng.random_range(0.0..7.0),
            rng.random_range(0.0..7.0),
        ];
        out.push(SavannaTree {
            x,
            y,
            height_m: h,
            crown_radius_m: big_r,
            lobes,
            phase,
        });
    }
    out
}

/// Terrain elevation: a gentle 3 % slope along x above 200 m.
pub fn savanna_terrain_z(p: &SavannaParams, x: f64, _y: f64) -> f64 {
    200.0 + 0.03 * (x - p.origin[0])
}

/// The scene: point cloud (format 1, 1 cm scale; ground class 2, crowns class 5) and trees.
pub fn generate_savanna(p: &SavannaParams) -> (PointCloud, Vec<SavannaTree>) {
    let trees = savanna_trees(p);
    let mut rng = Pcg64::seed_from_u64(p.seed);
    let format = las::point::Format::new(1).expect("format 1");
    let meta = LasMeta::synthetic(
        format,
        [0.01; 3],
        [p.origin[0], p.origin[1], 0.0],
        Crs::from_epsg(32630),
    );
    let mut c = PointCloud::empty(meta);
    let n = (p.pulses_per_m2 * p.size_m[0] * p.size_m[1]).round() as usize;
    c.reserve(n * 2);
    // Trees bucketed on a 20 m grid (crowns are at most ~8 m in radius).
    let cell = 20.0;
    let nx = (p.size_m[0] / cell).ceil() as usize + 1;
    let ny = (p.size_m[1] / cell).ceil() as usize + 1;
    let mut buckets = vec![Vec::new(); nx * ny];
    for (i, t) in trees.iter().enumerate() {
        let bx = (((t.x - p.origin[0]) / cell) as usize).min(nx - 1);
        let by = (((t.y - p.origin[1]) / cell) as usize).min(ny - 1);
        buckets[by * nx + bx].push(i);
    }
    let q = |v: f64, o: f64| ((v - o) / 0.01).round() * 0.01 + o;
    for pulse in 0..n {
        let x = q(
            p.origin[0] + rng.random_range(0.0..p.size_m[0]),
            p.origin[0],
        );
        let y = q(
            p.origin[1] + rng.random_range(0.0..p.size_m[1]),
            p.origin[1],
        );
        let g = savanna_terrain_z(p, x, y);
        let (bx, by) = (
            ((x - p.origin[0]) / cell) as i64,
            ((y - p.origin[1]) / cell) as i64,
        );
        let mut top: Option<f64> = None;
        for dy in -1..=1 {
            for dx in -1..=1 {
                let (ix, iy) = (bx + dx, by + dy);
                if ix < 0 || iy < 0 || ix >= nx as i64 || iy >= ny as i64 {
                    continue;
                }
                for &ti in &buckets[iy as usize * nx + ix as usize] {
                    if let Some(h) = trees[ti].surface_m(x, y) {
                        top = Some(top.map_or(h, |v: f64| v.max(h)));
                    }
                }
            }
        }
        let mut push = |z: f64, rn: u8, nr: u8, cls: u8| {
            c.x.push(x);
            c.y.push(y);
            c.z.push(q(z, 0.0));
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
        let noise = rng.random_range(-0.03..0.03);
        match top {
            Some(h) => {
                let both = rng.random_bool(p.p_ground_under_canopy);
                let nr = if both { 2 } else { 1 };
                push(g + h + noise, 1, nr, class::HIGH_VEGETATION);
                if both {
                    push(g + noise, 2, 2, class::GROUND);
                }
            }
            None => push(g + noise, 1, 1, class::GROUND),
        }
    }
    (c, trees)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lobed_broad_crowns_with_the_apex_at_the_leader() {
        let p = SavannaParams::default();
        let t = savanna_trees(&p);
        // 30 trees/ha on 2.25 ha.
        assert!(t.len() >= 60, "{}", t.len());
        for tr in &t {
            assert!(tr.lobes.len() >= 3);
            assert!(tr.crown_radius_m >= 0.35 * tr.height_m - 1e-9);
            // The apex is the leader's top, within 0.15·R of the stem.
            let s = tr.surface_m(tr.lobes[0].x, tr.lobes[0].y).unwrap();
            assert!(s <= tr.height_m && s > tr.height_m - 0.2);
            assert!(tr
                .surface_m(tr.x + 1.01 * tr.crown_radius_m, tr.y)
                .is_none());
        }
    }
}

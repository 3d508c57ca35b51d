//! Spatial overlay of the base-year and measurement-year patches into accounting units
//! (carbon-accounting.md §4.1): every non-empty intersection of a t₁ patch with a t₂ patch is
//! one unit carrying both years' class codes and the change flag.
//!
//! * Candidates come from a uniform grid over the t₂ bounding boxes (cell ≈ 2 × the mean patch
//!   size), so the work is O(n · neighbours), not O(n²). Intersections are computed by GEOS
//!   through the [`PolygonOps`] trait (implemented in `crate::vector::geos`), in parallel.
//! * Slivers: intersections smaller than `sliver_m2` (default 1 m²) are dropped and logged.
//!   If dropping would remove every piece of a patch, its largest piece is kept and flagged
//!   `sliver` so that no patch disappears.
//! * Areas: the spec uses the survey's ellipsoidal area (TBMJ), not the planar area. Each unit's
//!   area is the TBMJ of its patch in the *area year* (default t₂, the current survey; option
//!   `area_year`), apportioned by planar-area share: `A_unit = TBMJ · a_unit / (a_patch − a_slivers)`.
//!   Sliver area is thereby redistributed over the patch's kept units, so Σ unit areas of a
//!   fully covered patch equals its TBMJ exactly. Parts of a patch covered by no patch of the
//!   other year are *gaps*: reported with their apportioned area, never silently lost.
//!   Balance: Σ unit area + Σ gap area = Σ TBMJ (area year) to floating-point precision, and
//!   Σ unit + sliver + gap planar areas = Σ patch planar areas within GEOS precision; the tests
//!   assert both to 1e-9 relative (measured: ≤ 3e-16 on the synthetic county). A shortfall
//!   below 1e-6 of a patch's area is GEOS noise, not a gap.
//! * Overlapping patches within one survey make Σ intersections exceed a patch's area; that is
//!   an error naming the patches (double-counted area).
//!
//! See also: `crate::vector::geos` (GEOS intersection), `density.rs`, `pipeline.rs`.

use super::geom::{Bbox, MultiPolygon};
use super::Patch;
use crate::{Error, Result};
use rayon::prelude::*;
use std::collections::HashMap;

/// The polygon operation the overlay needs (GEOS in production).
pub trait PolygonOps: Sync {
    /// Areal intersection of two (valid) multipolygons; lower-dimensional parts are dropped.
    fn intersection(&self, a: &MultiPolygon, b: &MultiPolygon) -> Result<MultiPolygon>;
}

/// Which survey's area field is apportioned to the units.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AreaYear {
    T1,
    #[default]
    T2,
}

/// Overlay settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct OverlayOptions {
    /// Intersections below this planar area (m²) are slivers.
    pub sliver_m2: f64,
    pub area_year: AreaYear,
}

impl Default for OverlayOptions {
    fn default() -> Self {
        OverlayOptions {
            sliver_m2: 1.0,
            area_year: AreaYear::T2,
        }
    }
}

/// One accounting unit's geometry and area.
#[derive(Debug, Clone)]
pub struct UnitGeom {
    /// `"{t1 id}|{t2 id}"`.
    pub id: String,
    /// Index of the t₁ and t₂ patch.
    pub i1: usize,
    pub i2: usize,
    pub geom: MultiPolygon,
    pub planar_m2: f64,
    /// Apportioned ellipsoidal area (ha).
    pub area_ha: f64,
    /// Kept although below the sliver threshold (it is all that is left of a patch).
    pub sliver_kept: bool,
}

/// A dropped sliver.
#[derive(Debug, Clone)]
pub struct Sliver {
    pub i1: usize,
    pub i2: usize,
    pub planar_m2: f64,
    /// Location (a point inside it).
    pub at: [f64; 2],
}

/// Part of a patch covered by no patch of the other year.
#[derive(Debug, Clone)]
pub struct Gap {
    /// 0 = a t₁ patch, 1 = a t₂ patch.
    pub year_ix: usize,
    pub patch: usize,
    pub planar_m2: f64,
    /// Apportioned area (ha) when the patch is in the area year, else 0.
    pub area_ha: f64,
}

/// Area bookkeeping of the overlay.
#[derive(Debug, Clone, Default)]
pub struct AreaBalance {
    /// Σ planar patch area per year (m²).
    pub patch_planar_m2: [f64; 2],
    /// Σ area field per year (ha).
    pub patch_area_ha: [f64; 2],
    pub unit_planar_m2: f64,
    pub unit_area_ha: f64,
    pub sliver_planar_m2: f64,
    /// Σ gap planar area per year (m²).
    pub gap_planar_m2: [f64; 2],
    /// Σ gap area in the area year (ha).
    pub gap_area_ha: f64,
    pub area_year: usize,
    /// |Σ unit + gap area − Σ TBMJ| / Σ TBMJ (area year).
    pub closure_area_rel: f64,
    /// Worst |units + slivers + gaps − patches| / patches over the two years (planar).
    pub closure_planar_rel: f64,
}

/// Result of the overlay.
#[derive(Debug, Clone, Default)]
pub struct Overlay {
    pub units: Vec<UnitGeom>,
    pub slivers: Vec<Sliver>,
    pub gaps: Vec<Gap>,
    pub balance: AreaBalance,
}

/// A uniform grid over bounding boxes.
struct BboxGrid {
    x0: f64,
    y0: f64,
    cell: f64,
    nx: usize,
    ny: usize,
    buckets: HashMap<(usize, usize), Vec<usize>>,
}

impl BboxGrid {
    fn new(boxes: &[Bbox]) -> BboxGrid {
        let mut all = Bbox::EMPTY;
        let mut mean_side = 0.0;
        let mut n = 0usize;
        for b in boxes.iter().filter(|b| !b.is_empty()) {
            all = all.union(b);
            mean_side += 0.5 * (b.width() + b.height());
            n += 1;
        }
        let cell = if n > 0 {
            (2.0 * mean_side / n as f64).max(1e-6)
        } else {
            1.0
        };
        let (x0, y0) = if all.is_empty() {
            (0.0, 0.0)
        } else {
            (all.xmin, all.ymin)
        };
        let nx = if all.is_empty() {
            1
        } else {
            ((all.width() / cell).floor() as usize + 1).min(4096)
        };
        let ny = if all.is_empty() {
            1
        } else {
            ((all.height() / cell).floor() as usize + 1).min(4096)
        };
        let mut g = BboxGrid {
            x0,
            y0,
            cell,
            nx,
            ny,
            buckets: HashMap::new(),
        };
        for (i, b) in boxes.iter().enumerate() {
            if b.is_empty() {
                continue;
            }
            let (c0, r0, c1, r1) = g.range(b);
            for r in r0..=r1 {
                for c in c0..=c1 {
                    g.buckets.entry((c, r)).or_default().push(i);
                }
            }
        }
        g
    }

    fn range(&self, b: &Bbox) -> (usize, usize, usize, usize) {
        let ix = |x: f64| (((x - self.x0) / self.cell).floor().max(0.0) as usize).min(self.nx - 1);
        let iy = |y: f64| (((y - self.y0) / self.cell).floor().max(0.0) as usize).min(self.ny - 1);
        (ix(b.xmin), iy(b.ymin), ix(b.xmax), iy(b.ymax))
    }

    fn candidates(&self, b: &Bbox, boxes: &[Bbox]) -> Vec<usize> {
        let (c0, r0, c1, r1) = self.range(b);
        let mut v = Vec::new();
        for r in r0..=r1 {
            for c in c0..=c1 {
                if let Some(ix) = self.buckets.get(&(c, r)) {
                    v.extend(ix.iter().copied().filter(|&i| boxes[i].intersects(b)));
                }
            }
        }
        v.sort_unstable();
        v.dedup();
        v
    }
}

/// Overlays the two years' patches (see the module doc).
pub fn overlay(
    t1: &[Patch],
    t2: &[Patch],
    ops: &dyn PolygonOps,
    opts: &OverlayOptions,
) -> Result<Overlay> {
    let boxes2: Vec<Bbox> = t2.iter().map(|p| p.geom.bbox()).collect();
    let index = BboxGrid::new(&boxes2);
    // All areal intersections, in parallel over t1 patches.
    let pieces: Vec<Vec<(usize, usize, MultiPolygon, f64)>> = t1
        .par_iter()
        .enumerate()
        .map(
            |(i1, p)| -> Result<Vec<(usize, usize, MultiPolygon, f64)>> {
                let b = p.geom.bbox();
                let mut out = Vec::new();
                if b.is_empty() {
                    return Ok(out);
                }
                for i2 in index.candidates(&b, &boxes2) {
                    let g = ops.intersection(&p.geom, &t2[i2].geom).map_err(|e| {
                        Error::data(
                            format!("overlay of t1 patch {} with t2 patch {}", p.id, t2[i2].id),
                            e,
                        )
                    })?;
                    let a = g.area();
                    if a > 0.0 {
                        out.push((i1, i2, g, a));
                    }
                }
                Ok(out)
            },
        )
        .collect::<Result<_>>()?;
    let pieces: Vec<(usize, usize, MultiPolygon, f64)> = pieces.into_iter().flatten().collect();

    let n = [t1.len(), t2.len()];
    let mut covered = [vec![0.0; n[0]], vec![0.0; n[1]]];
    for (i1, i2, _, a) in &pieces {
        covered[0][*i1] += a;
        covered[1][*i2] += a;
    }
    // Overlaps within one survey: a patch covered more than its own area.
    let mut overlaps = Vec::new();
    for (y, patches) in [t1, t2].iter().enumerate() {
        for (i, p) in patches.iter().enumerate() {
            let excess = covered[y][i] - p.planar_m2;
            if excess > opts.sliver_m2.max(1e-6 * p.planar_m2) {
                let others: Vec<&str> = pieces
                    .iter()
                    .filter(|pc| if y == 0 { pc.0 == i } else { pc.1 == i })
                    .map(|pc| {
                        if y == 0 {
                            t2[pc.1].id.as_str()
                        } else {
                            t1[pc.0].id.as_str()
                        }
                    })
                    .collect();
                overlaps.push(format!(
                    "t{} patch {} is covered {:.2} m² more than its area by t{} patches {} (which overlap each other)",
                    y + 1,
                    p.id,
                    excess,
                    2 - y,
                    others.join(", ")
                ));
            }
        }
    }
    if !overlaps.is_empty() {
        return Err(Error::data(
            "overlay",
            format!(
                "{} patches overlap within a survey (area would be counted twice; fix the topology): {}",
                overlaps.len(),
                overlaps.join("; ")
            ),
        ));
    }

    let ay = match opts.area_year {
        AreaYear::T1 => 0,
        AreaYear::T2 => 1,
    };
    let area_patches = if ay == 0 { t1 } else { t2 };
    let patch_of = |pc: &(usize, usize, MultiPolygon, f64)| if ay == 0 { pc.0 } else { pc.1 };
    // Slivers, except the largest piece of a patch that would otherwise vanish (either year).
    let mut keep: Vec<bool> = pieces.iter().map(|p| p.3 >= opts.sliver_m2).collect();
    for (y, &ny) in n.iter().enumerate() {
        let mut best: HashMap<usize, usize> = HashMap::new();
        let mut has_kept: Vec<bool> = vec![false; ny];
        for (k, pc) in pieces.iter().enumerate() {
            let i = if y == 0 { pc.0 } else { pc.1 };
            if keep[k] {
                has_kept[i] = true;
            }
            let e = best.entry(i).or_insert(k);
            if pieces[*e].3 < pc.3 {
                *e = k;
            }
        }
        for (i, k) in best {
            if !has_kept[i] {
                keep[k] = true;
            }
        }
    }
    let mut sliver_m2_of = vec![0.0; area_patches.len()];
    let mut slivers = Vec::new();
    for (k, pc) in pieces.iter().enumerate() {
        if !keep[k] {
            sliver_m2_of[patch_of(pc)] += pc.3;
            let at = pc.2.interior_point();
            log::info!(
                "sliver dropped: t1 {} × t2 {}, {:.4} m² at ({:.2}, {:.2})",
                t1[pc.0].id,
                t2[pc.1].id,
                pc.3,
                at[0],
                at[1]
            );
            slivers.push(Sliver {
                i1: pc.0,
                i2: pc.1,
                planar_m2: pc.3,
                at,
            });
        }
    }
    let mut units = Vec::new();
    for (k, (i1, i2, g, a)) in pieces.into_iter().enumerate() {
        if !keep[k] {
            continue;
        }
        let j = if ay == 0 { i1 } else { i2 };
        let p = &area_patches[j];
        let denom = p.planar_m2 - sliver_m2_of[j];
        let area_ha = if denom > 0.0 {
            p.area_ha * a / denom
        } else {
            0.0
        };
        units.push(UnitGeom {
            id: format!("{}|{}", t1[i1].id, t2[i2].id),
            i1,
            i2,
            planar_m2: a,
            area_ha,
            geom: g,
            sliver_kept: a < opts.sliver_m2,
        });
    }
    // Gaps: patch area not covered by the other year.
    let mut gaps = Vec::new();
    let mut bal = AreaBalance {
        area_year: ay,
        ..Default::default()
    };
    for (y, patches) in [t1, t2].iter().enumerate() {
        for (i, p) in patches.iter().enumerate() {
            bal.patch_planar_m2[y] += p.planar_m2;
            bal.patch_area_ha[y] += p.area_ha;
            let gap = p.planar_m2 - covered[y][i];
            // Below the GEOS noise level a difference is not a gap.
            if gap > 1e-6 * p.planar_m2.max(1.0) {
                let area_ha = if y == ay {
                    let denom = p.planar_m2 - sliver_m2_of[i];
                    if denom > 0.0 {
                        p.area_ha * gap / denom
                    } else {
                        p.area_ha
                    }
                } else {
                    0.0
                };
                if gap >= opts.sliver_m2 {
                    log::warn!(
                        "t{} patch {}: {:.2} m² not covered by any t{} patch",
                        y + 1,
                        p.id,
                        gap,
                        2 - y
                    );
                }
                bal.gap_planar_m2[y] += gap;
                bal.gap_area_ha += area_ha;
                gaps.push(Gap {
                    year_ix: y,
                    patch: i,
                    planar_m2: gap,
                    area_ha,
                });
            }
        }
    }
    bal.unit_planar_m2 = units.iter().map(|u| u.planar_m2).sum();
    bal.unit_area_ha = units.iter().map(|u| u.area_ha).sum();
    bal.sliver_planar_m2 = slivers.iter().map(|s| s.planar_m2).sum();
    let t = bal.patch_area_ha[ay];
    bal.closure_area_rel = if t > 0.0 {
        (bal.unit_area_ha + bal.gap_area_ha - t).abs() / t
    } else {
        0.0
    };
    bal.closure_planar_rel = (0..2)
        .map(|y| {
            let p = bal.patch_planar_m2[y];
            if p > 0.0 {
                (bal.unit_planar_m2 + bal.sliver_planar_m2 + bal.gap_planar_m2[y] - p).abs() / p
            } else {
                0.0
            }
        })
        .fold(0.0, f64::max);
    Ok(Overlay {
        units,
        slivers,
        gaps,
        balance: bal,
    })
}

#[cfg(test)]
mod tests {
    use super::super::geom::Polygon;
    use super::*;

    /// Intersection of axis-aligned rectangles (each input one rectangle): enough to test the
    /// bookkeeping without GEOS.
    struct RectOps;

    impl PolygonOps for RectOps {
        fn intersection(&self, a: &MultiPolygon, b: &MultiPolygon) -> Result<MultiPolygon> {
            let (p, q) = (a.bbox(), b.bbox());
            let (x0, y0) = (p.xmin.max(q.xmin), p.ymin.max(q.ymin));
            let (x1, y1) = (p.xmax.min(q.xmax), p.ymax.min(q.ymax));
            Ok(if x1 > x0 && y1 > y0 {
                MultiPolygon::single(Polygon::rect(x0, y0, x1, y1))
            } else {
                MultiPolygon::default()
            })
        }
    }

    fn p(id: &str, x0: f64, x1: f64, tbmj_ha: f64) -> Patch {
        let g = MultiPolygon::single(Polygon::rect(x0, 0.0, x1, 100.0));
        Patch {
            id: id.into(),
            code: "0301".into(),
            class: None,
            county: "420999".into(),
            county_name: String::new(),
            stratum: String::new(),
            area_ha: tbmj_ha,
            planar_m2: g.area(),
            geom: g,
            fid: 0,
        }
    }

    #[test]
    fn slivers_dropped_redistributed_or_kept_and_areas_apportioned() {
        // t1: A [0,100], D [100,200]; t2: B [0,100.005], E [100.005,199.995], C [199.995,200].
        // D∩B = 0.5 m² is dropped (D has other pieces); D∩C = 0.5 m² is all of C: kept, flagged.
        let t1 = vec![p("A", 0.0, 100.0, 1.001), p("D", 100.0, 200.0, 1.002)];
        let t2 = vec![
            p("B", 0.0, 100.005, 1.0006),
            p("E", 100.005, 199.995, 0.9995),
            p("C", 199.995, 200.0, 0.00005),
        ];
        let ov = overlay(&t1, &t2, &RectOps, &OverlayOptions::default()).unwrap();
        assert_eq!(ov.slivers.len(), 1);
        assert_eq!((ov.slivers[0].i1, ov.slivers[0].i2), (1, 0));
        assert!((ov.slivers[0].planar_m2 - 0.5).abs() < 1e-6);
        let ids: Vec<&str> = ov.units.iter().map(|u| u.id.as_str()).collect();
        assert_eq!(ids, ["A|B", "D|E", "D|C"]);
        assert!(ov.units[2].sliver_kept && !ov.units[0].sliver_kept);
        // B's TBMJ goes entirely to A|B (its sliver with D is redistributed).
        assert!((ov.units[0].area_ha - 1.0006).abs() < 1e-12);
        assert!((ov.units[2].area_ha - 0.00005).abs() < 1e-15);
        assert!(ov.balance.closure_area_rel < 1e-12);
        assert!(ov.balance.closure_planar_rel < 1e-12);
        // Apportioning the t1 areas instead: A|B gets all of A, D's pieces share D's TBMJ.
        let ov = overlay(
            &t1,
            &t2,
            &RectOps,
            &OverlayOptions {
                sliver_m2: 1.0,
                area_year: AreaYear::T1,
            },
        )
        .unwrap();
        assert!((ov.units[0].area_ha - 1.001).abs() < 1e-12);
        assert!((ov.units[1].area_ha + ov.units[2].area_ha - 1.002).abs() < 1e-12);
    }
}

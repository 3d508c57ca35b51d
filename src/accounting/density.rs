//! Carbon density per accounting unit, year and pool (carbon-accounting.md §1, §2 step 6, §4.2).
//!
//! Each year uses **its own class and method** (a changed unit may be cropland by defaults at
//! t₁ and forest by LiDAR at t₂). Per pool the first available source wins:
//! 1. **LiDAR rasters** (t C/ha per pool: agc, bgc, dw, lt, soc), when the year's class is in
//!    the source's `classes` and the valid raster cells cover at least `min_coverage` of the
//!    unit: the area-weighted mean over the exact cell–polygon intersection areas
//!    ([`zonal`](super::zonal)). Partly covered units use the covered part's mean; units below
//!    `min_coverage` fall back to the next source; both are reported with their area
//!    ([`CoverageIssue`]). Cells flagged in an optional `extrapolated` raster (outside the
//!    model's calibration range) set the `extrapolated` flag.
//! 2. **Plot table** row of the class and stratum ([`plots`](super::plots)).
//! 3. **Soil layer table** for SOC ([`soil`](super::soil)), to the reference depth.
//! 4. **Defaults** from the parameter file (flag `default_used`): AGB (t d.m./ha) → AGC = AGB·CF
//!    and BGC = AGB·R·CF (R from the root-to-shoot table with its 125 t/ha step; not added when
//!    the default already includes roots), or AGC given directly; dead wood, litter and SOC in
//!    t C/ha. Dead wood and litter of non-forest classes without a source are 0 by the IPCC
//!    Tier 1 rule; any other pool with no source is *not estimated* (NE, density 0) and counted
//!    for the report. CF: `wood` for forest and garden, `herbaceous` for the other classes.
//!
//! An unchanged unit (same class in both years) uses the same method in both years (§4.2):
//! when the LiDAR rasters are usable in one year only (coverage), both years fall back to the
//! next source; see [`lidar_usable`].
//!
//! Out-of-scope classes (built-up, water, …): biomass and DOM are 0; SOC per params
//! `soc.out_of_scope`: `retain` keeps the SOC of the unit's in-scope year (same value, same
//! error source, so it cancels in the sink), `zero` sets it to 0; flag `out_of_scope_class`.
//!
//! Uncertainty sources (see `uncertainty.rs`): a plot row is one source shared by every unit
//! using it (paired t₁/t₂ rows split into a common and a t₂-only key with the plots'
//! correlation); a default is one source shared by both years; the LiDAR model error
//! (`model_u_pct`) is one source per model id (the same id in both years = the same source);
//! the per-cell SE raster gives each unit its own residual source, the cells taken as
//! independent (`se_mode = "residual"`: Var = Σ wᵢ²seᵢ²), or — `se_mode = "total"` — the SE
//! as fully correlated within the model (conservative: the area-weighted mean SE, one key per
//! model).
//!
//! See also: `pipeline.rs` (calls this per unit), `stock.rs`.

use super::plots::{paired_r, PlotTable};
use super::soil::SoilTable;
use super::uncertainty::{Registry, Term, Z95};
use super::zonal::{self, Coverage};
use super::{Flags, LandClass, Method, Pool, Pools};
use crate::params::Params;
use crate::raster::{Grid, Raster};
use crate::{Error, Result};

/// How the LiDAR SE raster is interpreted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SeMode {
    /// Cell errors independent (residual error); model error from `model_u_pct`.
    #[default]
    Residual,
    /// Cell SE fully correlated across all cells and units of the model (conservative).
    Total,
}

/// A LiDAR carbon-density source of one year: per-pool rasters on one grid.
#[derive(Debug, Clone)]
pub struct LidarSource {
    /// Where it came from (for messages and the report).
    pub name: String,
    pub grid: Grid,
    /// t C/ha per pool (AGB, BGB, DW, LT, SOC order); absent pools come from other sources.
    pub pools: [Option<Raster<f64>>; 5],
    /// Per-cell prediction SE (t C/ha) of the sum of the LiDAR pools.
    pub se: Option<Raster<f64>>,
    /// Non-zero where the cell lies outside the model's calibration range.
    pub extrapolated: Option<Raster<f64>>,
    /// Classes the rasters are used for.
    pub classes: Vec<LandClass>,
    /// `lidar_aba` or `lidar_itd`.
    pub method: Method,
    pub se_mode: SeMode,
    /// Identity of the model: units (and years) with the same id share its error.
    pub model_id: String,
    /// Model-level (systematic) 95 % uncertainty in %, where known.
    pub model_u_pct: Option<f64>,
    /// Minimum covered share of a unit for the rasters to be used.
    pub min_coverage: f64,
    /// Extrapolated share of the covered area (%) above which a unit-year is flagged.
    pub extrapolation_flag_pct: f64,
    /// The model file's content, shown in the report.
    pub model_info: Option<serde_json::Value>,
    /// The class the model was calibrated for (model.json `class`), where known: units of
    /// another class that take these rasters are flagged `model_other_class`.
    pub model_class: Option<LandClass>,
    /// Root-to-shoot zone the BGB raster was made with: its ratio's uncertainty is a source of
    /// the LiDAR BGB, shared with every other use of that ratio.
    pub root_shoot_zone: Option<String>,
    /// Pool rasters of the folder that hold a class default (read, not used as LiDAR values).
    pub default_pools: Vec<String>,
}

impl LidarSource {
    /// Checks that every raster shares the grid.
    pub fn check(&self) -> Result<()> {
        let rs = self
            .pools
            .iter()
            .flatten()
            .chain(self.se.iter())
            .chain(self.extrapolated.iter());
        for r in rs {
            if r.grid != self.grid {
                return Err(Error::data(
                    &self.name,
                    "all LiDAR rasters of one year must share one grid (origin, cell size, extent)",
                ));
            }
        }
        if self.pools.iter().all(Option::is_none) {
            return Err(Error::data(
                &self.name,
                "no pool raster (agc, bgc, dw, lt, soc) given",
            ));
        }
        Ok(())
    }
}

/// Zonal LiDAR statistics of one unit.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LidarZonal {
    pub pools: [Option<f64>; 5],
    /// Planar area of valid cells inside the unit (m²), judged on the first pool raster.
    pub valid_m2: f64,
    /// Unit planar area (m²).
    pub unit_m2: f64,
    /// SD of the unit mean with independent cell errors: √Σ(wᵢ·seᵢ)².
    pub se_indep: Option<f64>,
    /// Area-weighted mean SE.
    pub se_mean: Option<f64>,
    /// Area of covered cells flagged as extrapolated (m²).
    pub extrapolated_m2: f64,
}

impl LidarZonal {
    /// Covered share of the unit.
    pub fn covered_frac(&self) -> f64 {
        if self.unit_m2 > 0.0 {
            (self.valid_m2 / self.unit_m2).min(1.0)
        } else {
            0.0
        }
    }
}

/// Zonal statistics of a LiDAR source over a coverage (from [`zonal::cell_coverage`]).
pub fn lidar_zonal(src: &LidarSource, cov: &Coverage, unit_m2: f64) -> LidarZonal {
    let mut z = LidarZonal {
        unit_m2,
        ..Default::default()
    };
    let reference = src.pools.iter().flatten().next();
    if let Some(r) = reference {
        z.valid_m2 = zonal::weighted_mean(r, cov).map_or(0.0, |m| m.1);
    }
    for (k, r) in src.pools.iter().enumerate() {
        if let Some(r) = r {
            z.pools[k] = zonal::weighted_mean(r, cov).map(|m| m.0);
        }
    }
    if let (Some(se), Some(r)) = (&src.se, reference) {
        let (mut sw, mut s2, mut s1) = (0.0, 0.0, 0.0);
        for c in &cov.cells {
            let v = r.data[[c.row, c.col]];
            let e = se.data[[c.row, c.col]];
            if v.is_finite() && v != r.nodata && e.is_finite() && e != se.nodata && e >= 0.0 {
                sw += c.area_m2;
                s2 += (c.area_m2 * e).powi(2);
                s1 += c.area_m2 * e;
            }
        }
        if sw > 0.0 {
            z.se_indep = Some(s2.sqrt() / sw);
            z.se_mean = Some(s1 / sw);
        }
    }
    if let (Some(x), Some(r)) = (&src.extrapolated, reference) {
        for c in &cov.cells {
            let v = r.data[[c.row, c.col]];
            let f = x.data[[c.row, c.col]];
            if v.is_finite() && v != r.nodata && f.is_finite() && f != x.nodata && f != 0.0 {
                z.extrapolated_m2 += c.area_m2;
            }
        }
    }
    z
}

/// Where a pool's density came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum PoolSource {
    Lidar,
    Plot,
    /// Plot stand volumes by volume–BEF (carbon-accounting.md §3.2).
    VolumeBef,
    Soil,
    Default,
    /// Not estimated: no source had a value (density 0).
    NotEstimated,
    /// Dead wood or litter of a non-forest class with no source: 0 by the IPCC Tier 1 rule.
    Tier1Zero,
    /// Out-of-scope class: 0 by rule (or SOC retained from the other year).
    OutOfScope,
    RetainedSoc,
}

impl PoolSource {
    pub fn name(self) -> &'static str {
        match self {
            PoolSource::Lidar => "LiDAR raster",
            PoolSource::Plot => "plot table",
            PoolSource::VolumeBef => "plot stand volume (volume–BEF)",
            PoolSource::Soil => "soil layer table",
            PoolSource::Default => "parameter default",
            PoolSource::NotEstimated => "not estimated (NE)",
            PoolSource::Tier1Zero => "0 (IPCC Tier 1: no DOM outside forest)",
            PoolSource::OutOfScope => "out of scope (0)",
            PoolSource::RetainedSoc => "out of scope, SOC retained",
        }
    }

    /// The method code F-1 and the GeoPackage write per pool (`NE` = not estimated: the value
    /// field is empty, never 0).
    pub fn code(self) -> &'static str {
        match self {
            PoolSource::Lidar => "lidar",
            PoolSource::Plot => "plot",
            PoolSource::VolumeBef => "volume_bef",
            PoolSource::Soil => "soil",
            PoolSource::Default => "default",
            PoolSource::NotEstimated => "NE",
            PoolSource::Tier1Zero => "tier1_zero",
            PoolSource::OutOfScope => "out_of_scope",
            PoolSource::RetainedSoc => "retained_soc",
        }
    }
}

/// Density of one unit in one year.
#[derive(Debug, Clone, PartialEq)]
pub struct YearDensity {
    pub class: LandClass,
    /// t C/ha per pool.
    pub pools: Pools,
    pub method: Method,
    pub pool_source: [PoolSource; 5],
    pub flags: Flags,
    /// Density terms per pool for the uncertainty (values in t C/ha).
    pub terms: Vec<(Pool, Term)>,
    /// Share of the LiDAR-covered area outside the model's calibration range, when the LiDAR
    /// rasters were used and an extrapolation raster was given.
    pub extrapolated_share: Option<f64>,
}

impl YearDensity {
    /// A density given directly (no uncertainty terms), e.g. for worked examples.
    pub fn given(class: LandClass, pools: Pools, method: Method) -> YearDensity {
        YearDensity {
            class,
            pools,
            method,
            pool_source: [PoolSource::Plot; 5],
            flags: Flags::default(),
            terms: Vec::new(),
            extrapolated_share: None,
        }
    }
}

/// A unit whose LiDAR coverage is incomplete.
#[derive(Debug, Clone, PartialEq)]
pub struct CoverageIssue {
    pub unit: String,
    pub year: i32,
    pub unit_m2: f64,
    pub uncovered_m2: f64,
    /// `true` when the rasters were not used (coverage below `min_coverage`).
    pub fell_back: bool,
}

/// The density sources of one year.
#[derive(Debug, Clone, Copy)]
pub struct YearSources<'a> {
    /// 0 = t₁, 1 = t₂.
    pub year_ix: usize,
    pub year: i32,
    pub lidar: Option<&'a LidarSource>,
    pub plots: Option<&'a PlotTable>,
    /// The other year's plot table (for paired rows).
    pub plots_other: Option<&'a PlotTable>,
    pub other_year: i32,
    pub soil: Option<&'a SoilTable>,
}

/// `true` when the LiDAR source would be used for `class` given the unit's zonal statistics.
pub fn lidar_usable(src: Option<&LidarSource>, z: Option<&LidarZonal>, class: LandClass) -> bool {
    match (src, z) {
        (Some(l), Some(z)) => {
            l.classes.contains(&class) && z.valid_m2 > 0.0 && z.covered_frac() >= l.min_coverage
        }
        _ => false,
    }
}

/// Density of one unit in one year for an in-scope or out-of-scope class; the out-of-scope SOC
/// rule that needs the other year is applied by [`apply_out_of_scope_soc`].
#[allow(clippy::too_many_arguments)]
pub fn year_density(
    reg: &mut Registry,
    params: &Params,
    src: &YearSources,
    unit_id: &str,
    class: LandClass,
    stratum: &str,
    lidar: Option<&LidarZonal>,
    issues: &mut Vec<CoverageIssue>,
) -> Result<YearDensity> {
    let mut d = YearDensity {
        class,
        pools: [0.0; 5],
        method: Method::Default,
        pool_source: [PoolSource::NotEstimated; 5],
        flags: Flags::default(),
        terms: Vec::new(),
        extrapolated_share: None,
    };
    let tlabel = format!("t{}", src.year_ix + 1);
    if !class.in_scope() {
        d.flags.set(Flags::OUT_OF_SCOPE_CLASS);
        d.pool_source = [PoolSource::OutOfScope; 5];
        return Ok(d);
    }
    let mut done = [false; 5];
    // 1. LiDAR.
    if let (Some(l), Some(z)) = (src.lidar, lidar) {
        if l.classes.contains(&class) {
            let frac = z.covered_frac();
            let usable = lidar_usable(Some(l), Some(z), class);
            if frac < 1.0 - 1e-6 {
                issues.push(CoverageIssue {
                    unit: unit_id.to_string(),
                    year: src.year,
                    unit_m2: z.unit_m2,
                    uncovered_m2: z.unit_m2 - z.valid_m2.min(z.unit_m2),
                    fell_back: !usable,
                });
            }
            if usable {
                let lidar_total: f64 = z.pools.iter().flatten().sum();
                let mut sources = Vec::new();
                if let Some(u) = l.model_u_pct.filter(|u| *u > 0.0) {
                    let name = format!("lidar_model:{}", l.model_id);
                    sources.push(reg.simple(
                        &name,
                        &format!("LiDAR model {} systematic error (±{u:.2} %)", l.model_id),
                        u / 100.0,
                    ));
                }
                if lidar_total > 0.0 {
                    match l.se_mode {
                        SeMode::Residual => {
                            if let Some(se) = z.se_indep {
                                let name = format!("lidar_resid:{tlabel}:{unit_id}");
                                sources.push(reg.simple(
                                    &name,
                                    "LiDAR residual error of one unit",
                                    Z95 * se / lidar_total,
                                ));
                            }
                        }
                        SeMode::Total => {
                            if let Some(se) = z.se_mean {
                                let name = format!("lidar_se:{tlabel}:{unit_id}");
                                let key = format!("lidar_se_model:{}", l.model_id);
                                sources.push(reg.source(
                                    &name,
                                    "LiDAR prediction SE (correlated within the model)",
                                    &[(&key, Z95 * se / lidar_total)],
                                ));
                            }
                        }
                    }
                }
                // The BGB raster is AGB × R: the ratio's error is shared with every other use
                // of the same zone's ratio (default-path BGB included, both years).
                let rs_source = l.root_shoot_zone.as_ref().and_then(|zone| {
                    let u = params.root_shoot.zones.get(zone)?.u_pct?;
                    (u > 0.0).then(|| {
                        reg.simple(
                            &format!("param:root_shoot:{zone}"),
                            &format!("root-to-shoot ratio {zone} (±{u} %)"),
                            u / 100.0,
                        )
                    })
                });
                for p in Pool::ALL {
                    if let Some(v) = z.pools[p.ix()] {
                        d.pools[p.ix()] = v;
                        d.pool_source[p.ix()] = PoolSource::Lidar;
                        done[p.ix()] = true;
                        let mut s = sources.clone();
                        if p == Pool::Bgb {
                            s.extend(rs_source);
                        }
                        d.terms.push((
                            p,
                            Term {
                                value: v,
                                sources: s,
                            },
                        ));
                    }
                }
                if done[Pool::Agb.ix()] {
                    d.method = l.method;
                }
                if l.extrapolated.is_some() && z.valid_m2 > 0.0 {
                    let share = (z.extrapolated_m2 / z.valid_m2).min(1.0);
                    d.extrapolated_share = Some(share);
                    if share * 100.0 > l.extrapolation_flag_pct {
                        d.flags.set(Flags::EXTRAPOLATED);
                    }
                }
                if l.model_class.is_some_and(|mc| mc != class) {
                    d.flags.set(Flags::MODEL_OTHER_CLASS);
                }
            }
        }
    }
    // 2. Plot table.
    if let Some(tab) = src.plots {
        for p in Pool::ALL {
            if done[p.ix()] {
                continue;
            }
            let Some(row) = tab.lookup(class, stratum, p, src.year) else {
                continue;
            };
            let rowkey = format!(
                "{}:{}:{}:{}",
                class.name(),
                row.stratum,
                p.name(),
                row.year.map_or("all".to_string(), |y| y.to_string())
            );
            let file = tab.path.display().to_string();
            let u = row.half_width().map_or(0.0, |h| {
                if row.mean != 0.0 {
                    h / row.mean.abs()
                } else {
                    0.0
                }
            });
            if row.n < 2 {
                log::warn!(
                    "{file}: {} '{}' {} has n = {}: no sampling uncertainty",
                    class.name(),
                    row.stratum,
                    p.name(),
                    row.n
                );
            }
            // Paired with the other year's row of the same class/stratum/pool?
            let other = src
                .plots_other
                .and_then(|t| t.lookup(class, stratum, p, src.other_year))
                .filter(|o| o.year.is_some() || !std::ptr::eq(*o, row));
            let pair_key = format!("plot_pair:{}:{}:{}", class.name(), row.stratum, p.name());
            // The conversion from field units, named in the source list.
            let conv: String = row.formulas.iter().map(|f| format!("; {f}")).collect();
            let sid = match other.and_then(|o| {
                let (r1, r2) = if src.year_ix == 0 { (row, o) } else { (o, row) };
                paired_r(r1, r2)
            }) {
                Some(_) if src.year_ix == 0 => reg.source(
                    &format!("plot:{tlabel}:{file}:{rowkey}"),
                    &format!("plot mean {} ({} plots, paired{conv})", rowkey, row.n),
                    &[(&pair_key, u)],
                ),
                Some(r) => reg.source(
                    &format!("plot:{tlabel}:{file}:{rowkey}"),
                    &format!(
                        "plot mean {} ({} plots, paired r = {r:.4}{conv})",
                        rowkey, row.n
                    ),
                    &[
                        (&pair_key, r * u),
                        (
                            &format!("{pair_key}:t2only"),
                            (1.0 - r * r).max(0.0).sqrt() * u,
                        ),
                    ],
                ),
                None => reg.simple(
                    &format!("plot:{file}:{rowkey}"),
                    &format!("plot mean {} ({} plots{conv})", rowkey, row.n),
                    u,
                ),
            };
            d.pools[p.ix()] = row.mean;
            d.pool_source[p.ix()] = if row.volume_bef {
                PoolSource::VolumeBef
            } else {
                PoolSource::Plot
            };
            done[p.ix()] = true;
            d.terms.push((
                p,
                Term {
                    value: row.mean,
                    sources: vec![sid],
                },
            ));
            if p == Pool::Agb {
                d.method = if row.volume_bef {
                    Method::VolumeBef
                } else {
                    Method::Plot
                };
            }
        }
    }
    // 3. Soil layer table (SOC).
    if !done[Pool::Soc.ix()] {
        if let Some(soil) = src.soil {
            if let Some(prof) = soil.lookup(class, stratum, src.year) {
                let depth = params.soc.reference_depth_cm;
                let (socd, u) = prof
                    .socd(depth)
                    .map_err(|e| Error::data(format!("{}", soil.path.display()), e))?;
                let name = format!(
                    "soil:{}:{}:{}:{}",
                    soil.path.display(),
                    class.name(),
                    prof.stratum,
                    prof.year.map_or("all".to_string(), |y| y.to_string())
                );
                let sid = reg.simple(
                    &name,
                    &format!(
                        "soil profile {} '{}' 0-{depth} cm",
                        class.name(),
                        prof.stratum
                    ),
                    u,
                );
                d.pools[Pool::Soc.ix()] = socd;
                d.pool_source[Pool::Soc.ix()] = PoolSource::Soil;
                done[Pool::Soc.ix()] = true;
                d.terms.push((
                    Pool::Soc,
                    Term {
                        value: socd,
                        sources: vec![sid],
                    },
                ));
            }
        }
    }
    // 4. Defaults.
    let def = params.class_defaults(class);
    let cf = super::field_units::live_cf(params, class);
    let mut used_default = false;
    let est_source = |reg: &mut Registry, key: &str, e: &crate::params::Estimate| {
        let u = e.u_pct().unwrap_or(0.0) / 100.0;
        reg.simple(
            &format!("default:{}:{key}", class.name()),
            &format!("{} default {key}: {}", class.name(), e.source),
            u,
        )
    };
    if !done[Pool::Agb.ix()] {
        if let Some(agb) = &def.agb_t_ha {
            let s = est_source(reg, "agb_t_ha", agb);
            let agc = agb.mean * cf;
            d.pools[Pool::Agb.ix()] = agc;
            d.terms.push((
                Pool::Agb,
                Term {
                    value: agc,
                    sources: vec![s],
                },
            ));
            d.pool_source[Pool::Agb.ix()] = PoolSource::Default;
            done[Pool::Agb.ix()] = true;
            used_default = true;
            if !done[Pool::Bgb.ix()] && !def.bgb_included {
                let zone = &params.root_shoot.default_zone;
                let r = params.root_shoot.ratio(None, agb.mean)?;
                let ru = params
                    .root_shoot
                    .zones
                    .get(zone)
                    .and_then(|z| z.u_pct)
                    .unwrap_or(0.0);
                let rs = reg.simple(
                    &format!("param:root_shoot:{zone}"),
                    &format!("root-to-shoot ratio {zone} (±{ru} %)"),
                    ru / 100.0,
                );
                let bgc = agb.mean * r * cf;
                d.pools[Pool::Bgb.ix()] = bgc;
                d.terms.push((
                    Pool::Bgb,
                    Term {
                        value: bgc,
                        sources: vec![s, rs],
                    },
                ));
                d.pool_source[Pool::Bgb.ix()] = PoolSource::Default;
                done[Pool::Bgb.ix()] = true;
            } else if def.bgb_included {
                // The default's biomass already includes roots: BGB is in the AGB column.
                d.pool_source[Pool::Bgb.ix()] = PoolSource::Default;
                done[Pool::Bgb.ix()] = true;
            }
        } else if let Some(agc) = &def.agc_tc_ha {
            let s = est_source(reg, "agc_tc_ha", agc);
            d.pools[Pool::Agb.ix()] = agc.mean;
            d.terms.push((
                Pool::Agb,
                Term {
                    value: agc.mean,
                    sources: vec![s],
                },
            ));
            d.pool_source[Pool::Agb.ix()] = PoolSource::Default;
            done[Pool::Agb.ix()] = true;
            used_default = true;
        }
    }
    for (p, e, key) in [
        (Pool::Dw, &def.dead_wood_tc_ha, "dead_wood_tc_ha"),
        (Pool::Lt, &def.litter_tc_ha, "litter_tc_ha"),
        (Pool::Soc, &def.soc_tc_ha, "soc_tc_ha"),
    ] {
        if done[p.ix()] {
            continue;
        }
        if let Some(e) = e {
            let s = est_source(reg, key, e);
            d.pools[p.ix()] = e.mean;
            d.terms.push((
                p,
                Term {
                    value: e.mean,
                    sources: vec![s],
                },
            ));
            d.pool_source[p.ix()] = PoolSource::Default;
            used_default = true;
        }
    }
    if used_default {
        d.flags.set(Flags::DEFAULT_USED);
    }
    // IPCC Tier 1: dead organic matter outside forest is zero (carbon-accounting.md §1.2).
    if class != LandClass::Forest {
        for p in [Pool::Dw, Pool::Lt] {
            if d.pool_source[p.ix()] == PoolSource::NotEstimated {
                d.pool_source[p.ix()] = PoolSource::Tier1Zero;
            }
        }
    }
    if matches!(
        d.pool_source[Pool::Agb.ix()],
        PoolSource::Default | PoolSource::NotEstimated
    ) {
        d.method = Method::Default;
    }
    if d.pool_source.contains(&PoolSource::NotEstimated) {
        d.flags.set(Flags::NOT_ESTIMATED);
    }
    Ok(d)
}

/// Applies `soc.out_of_scope` ("retain" or "zero") to a unit's two years: an out-of-scope year
/// takes the SOC of the in-scope year under "retain".
pub fn apply_out_of_scope_soc(d: &mut [YearDensity; 2], policy: &str) {
    if policy != "retain" {
        return;
    }
    for (oos, other) in [(0usize, 1usize), (1, 0)] {
        if !d[oos].class.in_scope() && d[other].class.in_scope() {
            let soc = d[other].pools[Pool::Soc.ix()];
            let terms: Vec<(Pool, Term)> = d[other]
                .terms
                .iter()
                .filter(|(p, _)| *p == Pool::Soc)
                .cloned()
                .collect();
            d[oos].pools[Pool::Soc.ix()] = soc;
            d[oos].terms.extend(terms);
            d[oos].pool_source[Pool::Soc.ix()] = PoolSource::RetainedSoc;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::geom::{MultiPolygon, Polygon};
    use super::super::uncertainty::half_width;
    use super::*;

    fn grid() -> Grid {
        Grid {
            x_min: 0.0,
            y_max: 100.0,
            res_m: 10.0,
            ncols: 10,
            nrows: 10,
        }
    }

    fn lidar(classes: Vec<LandClass>) -> LidarSource {
        let g = grid();
        let mut agc = Raster::filled(g, -9999.0);
        let mut se = Raster::filled(g, -9999.0);
        for r in 0..10 {
            for c in 0..8 {
                // Columns 8-9 have no data.
                agc.data[[r, c]] = 10.0 * c as f64;
                se.data[[r, c]] = 5.0;
            }
        }
        let mut bgc = agc.clone();
        bgc.data
            .mapv_inplace(|v| if v == -9999.0 { v } else { 0.25 * v });
        LidarSource {
            name: "test".into(),
            grid: g,
            pools: [Some(agc), Some(bgc), None, None, None],
            se: Some(se),
            extrapolated: None,
            classes,
            method: Method::LidarAba,
            se_mode: SeMode::Residual,
            model_id: "m1".into(),
            model_u_pct: Some(10.0),
            min_coverage: 0.5,
            model_info: None,
            model_class: None,
            root_shoot_zone: None,
            default_pools: Vec::new(),
            extrapolation_flag_pct: 5.0,
        }
    }

    fn zonal_of(src: &LidarSource, x0: f64, x1: f64) -> LidarZonal {
        let poly = MultiPolygon::single(Polygon::rect(x0, 20.0, x1, 40.0));
        let cov = zonal::cell_coverage(&poly, &src.grid);
        lidar_zonal(src, &cov, poly.area())
    }

    #[test]
    fn lidar_zonal_mean_se_and_coverage() {
        let l = lidar(vec![LandClass::Forest]);
        // x 15..35: columns 1 (half), 2, 3 (half) → weights 5,10,5 of values 10,20,30.
        let z = zonal_of(&l, 15.0, 35.0);
        assert!((z.pools[0].unwrap() - 20.0).abs() < 1e-12);
        assert!((z.pools[1].unwrap() - 5.0).abs() < 1e-12);
        assert!((z.covered_frac() - 1.0).abs() < 1e-12);
        // 8 cells' worth of area: weights 0.125 each (half cells) and 0.25 → sd = 5·√Σw².
        let w = [0.125, 0.125, 0.25, 0.25, 0.125, 0.125];
        let expect = 5.0 * w.iter().map(|x| x * x).sum::<f64>().sqrt();
        assert!((z.se_indep.unwrap() - expect).abs() < 1e-12);
        // Partly outside the data (x 70..90: half nodata).
        let z = zonal_of(&l, 70.0, 90.0);
        assert!((z.covered_frac() - 0.5).abs() < 1e-12);
        assert!((z.pools[0].unwrap() - 70.0).abs() < 1e-12);
        // Cells outside the calibration range flag the unit.
        let mut l2 = lidar(vec![LandClass::Forest]);
        let mut x = Raster::filled(l2.grid, 0.0);
        x.data[[6, 2]] = 1.0;
        l2.extrapolated = Some(x);
        let z = zonal_of(&l2, 15.0, 35.0);
        assert!(
            (z.extrapolated_m2 - 100.0).abs() < 1e-9,
            "{}",
            z.extrapolated_m2
        );
        let src = YearSources {
            year_ix: 0,
            year: 2020,
            lidar: Some(&l2),
            plots: None,
            plots_other: None,
            other_year: 2025,
            soil: None,
        };
        let d = year_density(
            &mut Registry::default(),
            &Params::defaults(),
            &src,
            "u",
            LandClass::Forest,
            "",
            Some(&z),
            &mut Vec::new(),
        )
        .unwrap();
        assert!(d.flags.has(Flags::EXTRAPOLATED));
    }

    #[test]
    fn method_per_year_class_and_fallback() {
        let p = Params::defaults();
        let l = lidar(vec![LandClass::Forest]);
        let mut reg = Registry::default();
        let mut issues = Vec::new();
        let src = YearSources {
            year_ix: 1,
            year: 2025,
            lidar: Some(&l),
            plots: None,
            plots_other: None,
            other_year: 2020,
            soil: None,
        };
        let z = zonal_of(&l, 15.0, 35.0);
        let f = year_density(
            &mut reg,
            &p,
            &src,
            "u1",
            LandClass::Forest,
            "",
            Some(&z),
            &mut issues,
        )
        .unwrap();
        assert_eq!(f.method, Method::LidarAba);
        assert_eq!(f.pools[0], 20.0);
        assert_eq!(
            f.pool_source[2],
            PoolSource::NotEstimated,
            "forest dead wood has no default"
        );
        assert_eq!(f.pool_source[3], PoolSource::Default);
        assert!(f.flags.has(Flags::DEFAULT_USED));
        // Cropland is not a LiDAR class: defaults (AGB 0, SOC 33.71).
        let c = year_density(
            &mut reg,
            &p,
            &src,
            "u1",
            LandClass::Cropland,
            "",
            Some(&z),
            &mut issues,
        )
        .unwrap();
        assert_eq!(c.method, Method::Default);
        assert_eq!(c.pools[4], 33.71);
        // Forest mostly outside coverage: falls back to defaults, reported.
        let z = zonal_of(&l, 75.0, 100.0);
        let f = year_density(
            &mut reg,
            &p,
            &src,
            "u2",
            LandClass::Forest,
            "",
            Some(&z),
            &mut issues,
        )
        .unwrap();
        assert_eq!(f.method, Method::Default);
        assert!((f.pools[0] - 258.4 * 0.47).abs() < 1e-9);
        assert!(
            (f.pools[1] - 258.4 * 0.246 * 0.47).abs() < 1e-9,
            "R above the 125 t/ha step"
        );
        assert_eq!(issues.len(), 1);
        assert!(issues[0].fell_back);
        assert!((issues[0].uncovered_m2 - 400.0).abs() < 1e-9);
        // Grassland default already includes roots: BGB stays 0.
        let g = year_density(
            &mut reg,
            &p,
            &src,
            "u3",
            LandClass::Grassland,
            "",
            None,
            &mut issues,
        )
        .unwrap();
        assert!((g.pools[0] - 13.5 * 0.47).abs() < 1e-12 && g.pools[1] == 0.0);
    }

    #[test]
    fn out_of_scope_soc_retain_cancels_in_the_difference() {
        let p = Params::defaults();
        let mut reg = Registry::default();
        let mut issues = Vec::new();
        let mk = |ix: usize| YearSources {
            year_ix: ix,
            year: 2020 + 5 * ix as i32,
            lidar: None,
            plots: None,
            plots_other: None,
            other_year: 2025 - 5 * ix as i32,
            soil: None,
        };
        let a = year_density(
            &mut reg,
            &p,
            &mk(0),
            "u",
            LandClass::Cropland,
            "",
            None,
            &mut issues,
        )
        .unwrap();
        let b = year_density(
            &mut reg,
            &p,
            &mk(1),
            "u",
            LandClass::OutOfScope,
            "",
            None,
            &mut issues,
        )
        .unwrap();
        let mut d = [a.clone(), b.clone()];
        apply_out_of_scope_soc(&mut d, "retain");
        assert_eq!(d[1].pools, [0.0, 0.0, 0.0, 0.0, 33.71]);
        assert!(d[1].flags.has(Flags::OUT_OF_SCOPE_CLASS));
        let h = half_width(
            &reg,
            d[0].terms
                .iter()
                .map(|t| (-1.0, &t.1))
                .chain(d[1].terms.iter().map(|t| (1.0, &t.1))),
        );
        assert!(h.abs() < 1e-12, "retained SOC must cancel, got {h}");
        let mut z = [a, b];
        apply_out_of_scope_soc(&mut z, "zero");
        assert_eq!(z[1].pools, [0.0; 5]);
    }
}

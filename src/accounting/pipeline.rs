//! The whole accounting computation on loaded inputs (carbon-accounting.md §4–§5):
//! overlay → zonal LiDAR statistics → density per unit, year and pool → out-of-scope SOC rule
//! (and optional equivalent-soil-mass correction) → stocks and sinks → uncertainty sources and
//! the ledger → county and regional sums, transition matrix → approach 1 and approach 2.
//!
//! Per unit: county = the t₂ patch's county (the current survey), stratum of each year = that
//! year's patch stratum, area = apportioned TBMJ (`overlay.rs`). Every unit's area carries one
//! area error source per (county, class t₁ → class t₂) group (`area_u_pct`, shared by both
//! years, so it scales the sink rather than adding to it, §5.4).
//!
//! See also: `src/cli/account.rs` (I/O around this), `tables.rs`, `report.rs`.

use super::aggregate::{self, AggRow, Transition};
use super::density::{self, CoverageIssue, LidarZonal, PoolSource, YearSources};
use super::inputs::Sources;
use super::montecarlo::{self, McOptions, McResult};
use super::overlay::{self, AreaBalance, Gap, OverlayOptions, PolygonOps, Sliver};
use super::sink::check_years;
use super::uncertainty::{self, Ledger, LedgerTerm, Registry, Term, A1};
use super::zonal;
use super::{Flags, LandClass, Method, PatchSet, Pool, Repair, UnitResult};
use crate::params::Params;
use crate::{Error, Result};
use rayon::prelude::*;
use std::collections::BTreeMap;
use std::time::Instant;

/// Settings of one accounting run.
#[derive(Debug, Clone)]
pub struct AccountOptions {
    pub overlay: OverlayOptions,
    /// 95 % relative uncertainty of areas (%).
    pub area_u_pct: f64,
    /// Approach 2 settings; `None` skips the Monte Carlo.
    pub mc: Option<McOptions>,
    /// Equivalent-soil-mass correction of SOC from soil tables.
    pub esm: bool,
    /// County code → name, for counties whose patches carry no name.
    pub county_names: BTreeMap<String, String>,
}

impl Default for AccountOptions {
    fn default() -> Self {
        AccountOptions {
            overlay: OverlayOptions::default(),
            area_u_pct: 2.0,
            mc: Some(McOptions::default()),
            esm: false,
            county_names: BTreeMap::new(),
        }
    }
}

/// Everything the computation needs.
#[derive(Debug, Clone)]
pub struct AccountInputs {
    pub t1: PatchSet,
    pub t2: PatchSet,
    pub sources: [Sources; 2],
    pub params: Params,
    pub options: AccountOptions,
}

/// What the report shows of a LiDAR source.
#[derive(Debug, Clone)]
pub struct LidarInfo {
    /// Folder or file it came from.
    pub name: String,
    pub model_id: String,
    pub model_u_pct: Option<f64>,
    /// The model file's content.
    pub model: Option<serde_json::Value>,
}

/// Everything the computation produced.
#[derive(Debug, Clone)]
pub struct Accounting {
    pub years: [i32; 2],
    pub dt_years: f64,
    /// Plausibility findings (`checks.csv`, warnings in the report).
    pub checks: Vec<super::checks::Check>,
    pub units: Vec<UnitResult>,
    pub slivers: Vec<Sliver>,
    pub gaps: Vec<Gap>,
    pub balance: AreaBalance,
    pub registry: Registry,
    pub ledger: Ledger,
    pub counties: Vec<AggRow>,
    pub region: AggRow,
    /// Approach 1 per county (ledger group order = `counties` order), region last.
    pub a1: Vec<A1>,
    pub mc: Option<McResult>,
    pub transitions: BTreeMap<(LandClass, LandClass), Transition>,
    /// The transition matrix per county (county code, class t₁, class t₂), with uncertainty.
    pub county_transitions: BTreeMap<(String, LandClass, LandClass), Transition>,
    pub coverage: Vec<CoverageIssue>,
    pub repairs: Vec<Repair>,
    /// Area (ha) per year, pool and where its density came from.
    pub pool_source_area: BTreeMap<(usize, Pool, PoolSource), f64>,
    /// Area (ha) per year and method.
    pub method_area: BTreeMap<(usize, Method), f64>,
    /// Area (ha) per (year, class) with a pool not estimated.
    pub ne_area: BTreeMap<(usize, LandClass, Pool), f64>,
    /// Largest contributors to the regional sink uncertainty (key, variance share).
    pub contributors: Vec<(String, f64)>,
    pub n_esm_corrected: usize,
    /// Unchanged units whose LiDAR rasters were usable in one year only, so that both years
    /// used the next source.
    pub n_lidar_one_year_only: usize,
    /// Patch counts and files.
    pub patch_counts: [usize; 2],
    pub patch_files: [String; 2],
    pub crs_wkt: Option<String>,
    /// The LiDAR sources per year (for the report).
    pub lidar_info: [Option<LidarInfo>; 2],
    pub params: Params,
    pub options: AccountOptions,
    /// Wall-clock seconds per stage.
    pub timings: Vec<(String, f64)>,
}

/// Runs the accounting (see the module doc).
pub fn account(inp: AccountInputs, ops: &dyn PolygonOps) -> Result<Accounting> {
    let AccountInputs {
        t1,
        t2,
        sources,
        params,
        options,
    } = inp;
    let years = [t1.year, t2.year];
    let dt = check_years(years[0], years[1])?;
    for set in [&t1, &t2] {
        if let Some(p) = set.patches.iter().find(|p| p.class.is_none()) {
            return Err(Error::data(
                set.path.display(),
                format!(
                    "patch {} has no accounting class (run classify first)",
                    p.id
                ),
            ));
        }
    }
    let mut timings = Vec::new();
    let t0 = Instant::now();
    let ov = overlay::overlay(&t1.patches, &t2.patches, ops, &options.overlay)?;
    timings.push(("overlay".to_string(), t0.elapsed().as_secs_f64()));
    if ov.units.is_empty() {
        return Err(Error::data(
            "overlay",
            format!(
                "no accounting units: the {} and {} patches do not overlap (different areas, or coordinates in different CRS?)",
                years[0], years[1]
            ),
        ));
    }
    log::info!(
        "overlay: {} + {} patches -> {} units, {} slivers, {} gaps",
        t1.patches.len(),
        t2.patches.len(),
        ov.units.len(),
        ov.slivers.len(),
        ov.gaps.len()
    );

    // Zonal LiDAR statistics, in parallel; one coverage per distinct grid.
    let t0 = Instant::now();
    let l1 = sources[0].lidar.as_ref();
    let l2 = sources[1].lidar.as_ref();
    let zonals: Vec<[Option<LidarZonal>; 2]> = ov
        .units
        .par_iter()
        .map(|u| {
            let mut out: [Option<LidarZonal>; 2] = [None, None];
            let c1 = l1.map(|l| zonal::cell_coverage(&u.geom, &l.grid));
            let c2 = match (l1, l2) {
                (Some(a), Some(b)) if a.grid == b.grid => c1.clone(),
                (_, Some(b)) => Some(zonal::cell_coverage(&u.geom, &b.grid)),
                _ => None,
            };
            if let (Some(l), Some(c)) = (l1, &c1) {
                out[0] = Some(density::lidar_zonal(l, c, u.planar_m2));
            }
            if let (Some(l), Some(c)) = (l2, &c2) {
                out[1] = Some(density::lidar_zonal(l, c, u.planar_m2));
            }
            out
        })
        .collect();
    timings.push(("zonal".to_string(), t0.elapsed().as_secs_f64()));

    // Densities, stocks and sinks per unit.
    let t0 = Instant::now();
    let mut reg = Registry::default();
    let mut coverage = Vec::new();
    let ys = |ix: usize| YearSources {
        year_ix: ix,
        year: years[ix],
        lidar: sources[ix].lidar.as_ref(),
        plots: sources[ix].plots.as_ref(),
        plots_other: sources[1 - ix].plots.as_ref(),
        other_year: years[1 - ix],
        soil: sources[ix].soil.as_ref(),
    };
    let src = [ys(0), ys(1)];
    let mut units = Vec::with_capacity(ov.units.len());
    let mut n_esm = 0;
    let mut n_consistency = 0usize;
    let area_rel = options.area_u_pct / 100.0;
    for (ug, z) in ov.units.iter().zip(&zonals) {
        let p = [&t1.patches[ug.i1], &t2.patches[ug.i2]];
        // Same class in both years: same method in both (§4.2). LiDAR usable in one year only
        // → both years use the next source; the uncovered year is reported.
        let mut zz = [z[0].as_ref(), z[1].as_ref()];
        if p[0].class == p[1].class {
            let c = p[0].class.expect("classified");
            let ok = [0, 1].map(|y| density::lidar_usable(src[y].lidar, zz[y], c));
            if ok[0] != ok[1] {
                let y_ok = if ok[0] { 0 } else { 1 };
                log::debug!(
                    "unit {}: LiDAR usable in {} only; both years use the next source",
                    ug.id,
                    years[y_ok]
                );
                zz[y_ok] = None;
                n_consistency += 1;
            }
        }
        let mut dd = [
            year_density(
                &mut reg,
                &params,
                &src[0],
                &ug.id,
                p[0],
                zz[0],
                &mut coverage,
            )?,
            year_density(
                &mut reg,
                &params,
                &src[1],
                &ug.id,
                p[1],
                zz[1],
                &mut coverage,
            )?,
        ];
        density::apply_out_of_scope_soc(&mut dd, &params.soc.out_of_scope);
        if options.esm && esm_correct(&mut dd, &src, &p, &params)? {
            n_esm += 1;
        }
        let county = if p[1].county.is_empty() {
            &p[0].county
        } else {
            &p[1].county
        };
        let name = if !p[1].county_name.is_empty() {
            p[1].county_name.clone()
        } else {
            options
                .county_names
                .get(county)
                .cloned()
                .unwrap_or_default()
        };
        let mut u = UnitResult::new(
            &ug.id,
            county,
            &name,
            [p[0].code.clone(), p[1].code.clone()],
            ug.area_ha,
            dd,
            dt,
        );
        u.planar_m2 = ug.planar_m2;
        u.geom = ug.geom.clone();
        if ug.sliver_kept {
            u.flags.set(Flags::SLIVER);
        }
        // Approach 1 per unit.
        let area_src = reg.simple(
            &format!(
                "area:{}:{}>{}",
                u.county,
                u.class[0].name(),
                u.class[1].name()
            ),
            &format!(
                "area of {} → {} in county {}",
                u.class[0].name(),
                u.class[1].name(),
                u.county
            ),
            area_rel,
        );
        for y in 0..2 {
            let h = uncertainty::half_width(&reg, u.density[y].terms.iter().map(|t| (1.0, &t.1)));
            u.u_density_pct[y] = uncertainty::u_pct(h, u.density_total(y));
        }
        // Stock terms per year, pools with the same error sources merged (so that a unit's own
        // LiDAR residual is one term: private to it in the Monte Carlo).
        let mut merged: BTreeMap<(usize, Vec<u32>), f64> = BTreeMap::new();
        for y in 0..2 {
            for (_, t) in &u.density[y].terms {
                let mut s = t.sources.clone();
                s.push(area_src);
                s.sort_unstable();
                s.dedup();
                *merged.entry((y, s)).or_insert(0.0) += t.value * u.area_ha;
            }
        }
        let stock_terms: Vec<(usize, Term)> = merged
            .into_iter()
            .map(|((y, sources), value)| (y, Term { value, sources }))
            .collect();
        let hs = uncertainty::half_width(
            &reg,
            stock_terms
                .iter()
                .map(|(y, t)| (if *y == 0 { -1.0 } else { 1.0 } / dt, t)),
        );
        u.u_sink_pct = uncertainty::u_pct(hs, u.sink.tc_yr_total());
        if !uncertainty::a1_valid(u.u_sink_pct) {
            u.flags.set(Flags::A1_INVALID);
        }
        units.push((u, stock_terms));
    }
    timings.push(("density+stock+sink".to_string(), t0.elapsed().as_secs_f64()));

    // Aggregation and the ledger.
    let t0 = Instant::now();
    let (units, per_unit_terms): (Vec<UnitResult>, Vec<Vec<(usize, Term)>>) =
        units.into_iter().unzip();
    let counties = aggregate::by_county(&units);
    let region = aggregate::region(&counties);
    let group_ix: BTreeMap<&str, u32> = counties
        .iter()
        .enumerate()
        .map(|(i, c)| (c.county_code.as_str(), i as u32))
        .collect();
    let mut ledger = Ledger {
        groups: counties.iter().map(|c| c.county_code.clone()).collect(),
        terms: Vec::new(),
        dt_years: dt,
    };
    let mut unit_of_term = Vec::new();
    for (k, (u, terms)) in units.iter().zip(per_unit_terms).enumerate() {
        let g = group_ix[u.county.as_str()];
        unit_of_term.extend(std::iter::repeat_n(k, terms.len()));
        for (y, t) in terms {
            ledger.terms.push(LedgerTerm {
                group: g,
                year: y as u8,
                term: t,
            });
        }
    }
    let a1 = uncertainty::approach1(&reg, &ledger);
    let contributors = uncertainty::sink_contributors(&reg, &ledger, 8);
    let transitions = aggregate::with_uncertainty(&units, &reg, &ledger, &unit_of_term, |u| {
        (u.class[0], u.class[1])
    });
    let county_transitions =
        aggregate::with_uncertainty(&units, &reg, &ledger, &unit_of_term, |u| {
            (u.county.clone(), u.class[0], u.class[1])
        });
    timings.push((
        "aggregate+approach1".to_string(),
        t0.elapsed().as_secs_f64(),
    ));
    let t0 = Instant::now();
    let mc = match &options.mc {
        Some(o) => Some(montecarlo::monte_carlo(&reg, &ledger, o)?),
        None => None,
    };
    timings.push(("monte_carlo".to_string(), t0.elapsed().as_secs_f64()));

    // Summaries for the report.
    let mut pool_source_area = BTreeMap::new();
    let mut method_area = BTreeMap::new();
    let mut ne_area = BTreeMap::new();
    for u in &units {
        for y in 0..2 {
            *method_area.entry((y, u.density[y].method)).or_insert(0.0) += u.area_ha;
            for p in Pool::ALL {
                let s = u.density[y].pool_source[p.ix()];
                *pool_source_area.entry((y, p, s)).or_insert(0.0) += u.area_ha;
                if s == PoolSource::NotEstimated {
                    *ne_area.entry((y, u.class[y], p)).or_insert(0.0) += u.area_ha;
                }
            }
        }
    }
    let mut repairs = t1.repairs.clone();
    repairs.extend(t2.repairs.iter().cloned());
    let lidar_info = [0, 1].map(|y| {
        sources[y].lidar.as_ref().map(|l| LidarInfo {
            name: l.name.clone(),
            model_id: l.model_id.clone(),
            model_u_pct: l.model_u_pct,
            model: l.model_info.clone(),
        })
    });
    let checks = super::checks::plausibility(&units, &params, years, dt);
    Ok(Accounting {
        years,
        dt_years: dt,
        checks,
        units,
        slivers: ov.slivers,
        gaps: ov.gaps,
        balance: ov.balance,
        registry: reg,
        ledger,
        counties,
        region,
        a1,
        mc,
        transitions,
        county_transitions,
        coverage,
        repairs,
        pool_source_area,
        method_area,
        ne_area,
        contributors,
        n_esm_corrected: n_esm,
        n_lidar_one_year_only: n_consistency,
        patch_counts: [t1.patches.len(), t2.patches.len()],
        patch_files: [t1.path.display().to_string(), t2.path.display().to_string()],
        crs_wkt: t2.crs_wkt.clone().or(t1.crs_wkt.clone()),
        lidar_info,
        params,
        options,
        timings,
    })
}

fn year_density(
    reg: &mut Registry,
    params: &Params,
    src: &YearSources,
    unit_id: &str,
    patch: &super::Patch,
    z: Option<&LidarZonal>,
    coverage: &mut Vec<CoverageIssue>,
) -> Result<density::YearDensity> {
    let class = patch
        .class
        .ok_or_else(|| Error::data(&patch.id, "patch has no class"))?;
    density::year_density(
        reg,
        params,
        src,
        unit_id,
        class,
        &patch.stratum,
        z,
        coverage,
    )
    .map_err(|e| Error::data(format!("unit {unit_id}, t{}", src.year_ix + 1), e))
}

/// Equivalent soil mass: when both years' SOC comes from soil profiles whose soil mass to the
/// reference depth differs by more than 0.5 %, the t₂ SOC is taken to the t₁ soil mass.
fn esm_correct(
    d: &mut [density::YearDensity; 2],
    src: &[YearSources; 2],
    p: &[&super::Patch; 2],
    params: &Params,
) -> Result<bool> {
    if d[0].pool_source[Pool::Soc.ix()] != PoolSource::Soil
        || d[1].pool_source[Pool::Soc.ix()] != PoolSource::Soil
    {
        return Ok(false);
    }
    let (Some(s1), Some(s2)) = (src[0].soil, src[1].soil) else {
        return Ok(false);
    };
    let (Some(p1), Some(p2)) = (
        s1.lookup(d[0].class, &p[0].stratum, src[0].year),
        s2.lookup(d[1].class, &p[1].stratum, src[1].year),
    ) else {
        return Ok(false);
    };
    let depth = params.soc.reference_depth_cm;
    let m1 = p1.soil_mass_t_ha(depth)?;
    let m2 = p2.soil_mass_t_ha(depth)?;
    if m1 <= 0.0 || ((m2 - m1) / m1).abs() <= 0.005 {
        return Ok(false);
    }
    let corrected = p2.socd_for_mass(m1)?;
    let k = Pool::Soc.ix();
    let old = d[1].pools[k];
    d[1].pools[k] = corrected;
    for (pool, t) in d[1].terms.iter_mut() {
        if *pool == Pool::Soc && old != 0.0 {
            t.value *= corrected / old;
        }
    }
    d[1].flags.set(Flags::ESM_CORRECTED);
    Ok(true)
}

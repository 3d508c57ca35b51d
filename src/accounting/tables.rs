//! Result tables of carbon-accounting.md §7 (spec appendix F) and the run's diagnostic
//! tables, as typed columns written to CSV (here) and to the GeoPackage
//! (`crate::vector::gpkg_out`) from the same [`Table`].
//!
//! * F-1 per accounting unit: `patch_id, county_code, class_t1, class_t2, change_flag, area_ha,
//!   year_t1, year_t2, method_t1, method_t2, {AGB,BGB,DW,LT,SOC,total}_t1, …_t2, stock_t1_tC,
//!   stock_t2_tC, dC_tC, sink_tC_yr, sink_tCO2_yr, U_density_t1_pct, U_density_t2_pct,
//!   U_sink_pct, flags` (`class_tN` = the survey code DLBM, §4.1; flags joined by ';').
//! * F-2 per county plus a `region` row: county_code, county_name, n_patches (accounting units),
//!   area per class at t₁ and t₂, changed area, stocks per pool and total, sinks per pool and
//!   total in t C/yr and t CO₂/yr, U_sink_pct and the 95 % CI of the sink in t CO₂/yr
//!   (approach 1; the Monte Carlo interval is in `uncertainty.csv`).
//! * F-3 class-transition matrix in long form per county and for the region: county_code,
//!   class_t1, class_t2 (accounting classes), area_ha, sink_tCO2_yr.
//!
//! Rounding happens here only (spec §0): t C and t CO₂ to 2 dp, % to 1 dp, densities to 3 dp,
//! areas to 4 dp. A value that is not finite (e.g. the U% of a zero sink) is written empty,
//! never NaN. Files are written under a temporary name and renamed.
//!
//! See also: `pipeline.rs`, `report.rs`, `crate::vector::gpkg_out`.

use super::aggregate::{AggRow, Transition};
use super::density::PoolSource;
use super::pipeline::Accounting;
use super::uncertainty::A1;
use super::{LandClass, Pool, UnitResult, CO2_PER_C};
use crate::points::write::{commit_temp, temp_path};
use crate::{Error, Result};
use std::io::Write;
use std::path::Path;

/// Column type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColType {
    Str,
    Int,
    Real,
}

/// A cell value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Str(String),
    Int(i64),
    /// A number and the decimals to write.
    Real(f64, usize),
    Null,
}

impl Value {
    /// A real that is `Null` when not finite.
    pub fn real(v: f64, dp: usize) -> Value {
        if v.is_finite() {
            Value::Real(v, dp)
        } else {
            Value::Null
        }
    }

    /// An optional real.
    pub fn opt(v: Option<f64>, dp: usize) -> Value {
        v.map_or(Value::Null, |v| Value::real(v, dp))
    }

    /// The rounded number (`None` for non-reals).
    pub fn rounded(&self) -> Option<f64> {
        match self {
            Value::Real(v, dp) => {
                let f = 10f64.powi(*dp as i32);
                let r = (v * f).round() / f;
                Some(if r == 0.0 { 0.0 } else { r })
            }
            Value::Int(i) => Some(*i as f64),
            _ => None,
        }
    }

    /// Text as written to CSV.
    pub fn text(&self) -> String {
        match self {
            Value::Str(s) => s.clone(),
            Value::Int(i) => i.to_string(),
            Value::Real(v, dp) => {
                let s = format!("{:.*}", dp, v);
                // No "-0.00".
                if s.starts_with('-') && s[1..].chars().all(|c| c == '0' || c == '.') {
                    s[1..].to_string()
                } else {
                    s
                }
            }
            Value::Null => String::new(),
        }
    }
}

/// A named table with typed columns.
#[derive(Debug, Clone, Default)]
pub struct Table {
    pub name: String,
    pub columns: Vec<(String, ColType)>,
    pub rows: Vec<Vec<Value>>,
}

impl Table {
    /// Index of a column.
    pub fn col(&self, name: &str) -> Option<usize> {
        self.columns.iter().position(|c| c.0 == name)
    }

    /// Writes the table as CSV (temporary name, then rename).
    pub fn write_csv(&self, path: &Path) -> Result<()> {
        let tmp = temp_path(path);
        let res = (|| -> Result<()> {
            let f = std::fs::File::create(&tmp).map_err(|e| Error::io(&tmp, e))?;
            let mut w = csv::Writer::from_writer(std::io::BufWriter::new(f));
            let map = |e: csv::Error| Error::data(path.display(), e);
            w.write_record(self.columns.iter().map(|c| c.0.as_str()))
                .map_err(map)?;
            for r in &self.rows {
                w.write_record(r.iter().map(Value::text)).map_err(map)?;
            }
            let mut inner = w
                .into_inner()
                .map_err(|e| Error::data(path.display(), e.to_string()))?;
            inner.flush().map_err(|e| Error::io(&tmp, e))?;
            Ok(())
        })();
        match res {
            Ok(()) => commit_temp(&tmp, path),
            Err(e) => {
                let _ = std::fs::remove_file(&tmp);
                Err(e)
            }
        }
    }
}

fn s(v: &str) -> Value {
    Value::Str(v.to_string())
}

/// F-1 column names and types.
pub fn f1_columns() -> Vec<(String, ColType)> {
    use ColType::*;
    let mut c: Vec<(String, ColType)> = [
        ("patch_id", Str),
        ("county_code", Str),
        ("class_t1", Str),
        ("class_t2", Str),
        ("change_flag", Int),
        ("area_ha", Real),
        ("year_t1", Int),
        ("year_t2", Int),
        ("method_t1", Str),
        ("method_t2", Str),
    ]
    .iter()
    .map(|(n, t)| (n.to_string(), *t))
    .collect();
    for y in ["t1", "t2"] {
        for p in Pool::ALL {
            c.push((format!("{}_{y}", p.name()), Real));
        }
        c.push((format!("total_{y}"), Real));
    }
    for n in [
        "stock_t1_tC",
        "stock_t2_tC",
        "dC_tC",
        "sink_tC_yr",
        "sink_tCO2_yr",
        "U_density_t1_pct",
        "U_density_t2_pct",
        "U_sink_pct",
    ] {
        c.push((n.to_string(), Real));
    }
    // Where each pool value came from (NE: the value is empty) and the share of the LiDAR area
    // outside the model's calibration range.
    for y in ["t1", "t2"] {
        for p in Pool::ALL {
            c.push((format!("{}_method_{y}", p.name()), Str));
        }
    }
    c.push(("extrap_pct_t1".into(), Real));
    c.push(("extrap_pct_t2".into(), Real));
    c.push(("flags".into(), Str));
    c
}

/// One F-1 row.
pub fn f1_row(u: &UnitResult, years: [i32; 2]) -> Vec<Value> {
    let mut r = vec![
        s(&u.id),
        s(&u.county),
        s(&u.code[0]),
        s(&u.code[1]),
        Value::Int(u.change_flag as i64),
        Value::real(u.area_ha, 4),
        Value::Int(years[0] as i64),
        Value::Int(years[1] as i64),
        s(u.density[0].method.name()),
        s(u.density[1].method.name()),
    ];
    for y in 0..2 {
        for p in Pool::ALL {
            if u.density[y].pool_source[p.ix()] == PoolSource::NotEstimated {
                r.push(Value::Null);
            } else {
                r.push(Value::real(u.density[y].pools[p.ix()], 3));
            }
        }
        r.push(Value::real(u.density_total(y), 3));
    }
    r.push(Value::real(u.stock_total(0), 2));
    r.push(Value::real(u.stock_total(1), 2));
    r.push(Value::real(u.sink.dc_total(), 2));
    r.push(Value::real(u.sink.tc_yr_total(), 2));
    r.push(Value::real(u.sink.co2_yr_total(), 2));
    r.push(Value::opt(u.u_density_pct[0], 1));
    r.push(Value::opt(u.u_density_pct[1], 1));
    r.push(Value::opt(u.u_sink_pct, 1));
    for y in 0..2 {
        for p in Pool::ALL {
            r.push(s(u.density[y].pool_source[p.ix()].code()));
        }
    }
    for y in 0..2 {
        r.push(Value::opt(
            u.density[y].extrapolated_share.map(|f| f * 100.0),
            1,
        ));
    }
    r.push(s(&u.flags.names()));
    r
}

/// Table F-1.
pub fn f1(acc: &Accounting) -> Table {
    Table {
        name: "F1_units".into(),
        columns: f1_columns(),
        rows: acc.units.iter().map(|u| f1_row(u, acc.years)).collect(),
    }
}

/// F-2 column names and types.
pub fn f2_columns() -> Vec<(String, ColType)> {
    use ColType::*;
    let mut c: Vec<(String, ColType)> = vec![
        ("county_code".into(), Str),
        ("county_name".into(), Str),
        ("n_patches".into(), Int),
    ];
    for y in ["t1", "t2"] {
        for cl in LandClass::ALL {
            c.push((format!("area_{y}_{}_ha", cl.name()), Real));
        }
    }
    c.push(("changed_area_ha".into(), Real));
    for y in ["t1", "t2"] {
        for p in Pool::ALL {
            c.push((format!("stock_{y}_{}_tC", p.name()), Real));
        }
        c.push((format!("stock_{y}_total_tC"), Real));
    }
    for unit in ["tC_yr", "tCO2_yr"] {
        for p in Pool::ALL {
            c.push((format!("sink_{}_{unit}", p.name()), Real));
        }
        c.push((format!("sink_total_{unit}"), Real));
    }
    for n in [
        "U_sink_pct",
        "sink_tCO2_yr_ci_lower",
        "sink_tCO2_yr_ci_upper",
    ] {
        c.push((n.into(), Real));
    }
    // What the totals omit: the area of units whose pool is not estimated, per year.
    c.push(("ne_pools_t1".into(), Str));
    c.push(("ne_pools_t2".into(), Str));
    // `no` where approach 1 is outside its validity: use the Monte Carlo interval.
    c.push(("a1_valid".into(), Str));
    c
}

/// Area (ha) of the units whose pool is not estimated, per year and pool.
#[derive(Debug, Clone, Default)]
pub struct NeAreas {
    pub ha: [[f64; 5]; 2],
    /// In-scope area per year (ha): a pool NE over all of it has no estimate at all.
    pub in_scope_ha: [f64; 2],
}

impl NeAreas {
    /// NE areas of a set of units.
    pub fn of<'a>(units: impl Iterator<Item = &'a UnitResult>) -> NeAreas {
        let mut n = NeAreas::default();
        for u in units {
            for y in 0..2 {
                if u.class[y].in_scope() {
                    n.in_scope_ha[y] += u.area_ha;
                }
                for p in Pool::ALL {
                    if u.density[y].pool_source[p.ix()] == PoolSource::NotEstimated {
                        n.ha[y][p.ix()] += u.area_ha;
                    }
                }
            }
        }
        n
    }

    /// `true` when no unit of the year has an estimate of the pool.
    pub fn all_ne(&self, y: usize, p: usize) -> bool {
        self.in_scope_ha[y] > 0.0 && self.ha[y][p] >= self.in_scope_ha[y] - 1e-9
    }

    /// "DW 9.0268 ha; BGB 1.2000 ha" (empty when every pool is estimated everywhere).
    pub fn text(&self, y: usize) -> String {
        Pool::ALL
            .iter()
            .filter(|p| self.ha[y][p.ix()] > 0.0)
            .map(|p| format!("{} {:.4} ha", p.name(), self.ha[y][p.ix()]))
            .collect::<Vec<_>>()
            .join("; ")
    }
}

/// One F-2 row.
pub fn f2_row(r: &AggRow, a1: &A1, ne: &NeAreas) -> Vec<Value> {
    let mut v = vec![
        s(&r.county_code),
        s(&r.county_name),
        Value::Int(r.n_units as i64),
    ];
    for y in 0..2 {
        for k in 0..6 {
            v.push(Value::real(r.area_by_class[y][k], 4));
        }
    }
    v.push(Value::real(r.changed_area_ha, 4));
    for y in 0..2 {
        for k in 0..5 {
            if ne.all_ne(y, k) {
                v.push(Value::Null);
            } else {
                v.push(Value::real(r.stock[y][k], 2));
            }
        }
        v.push(Value::real(r.stock_total(y), 2));
    }
    for f in [1.0, CO2_PER_C] {
        for k in 0..5 {
            v.push(Value::real(r.sink.tc_yr[k] * f, 2));
        }
        v.push(Value::real(r.sink.tc_yr_total() * f, 2));
    }
    let co2 = r.sink.co2_yr_total();
    let h = a1.h_sink_tc_yr * CO2_PER_C;
    v.push(Value::opt(a1.u_sink_pct(), 1));
    v.push(Value::real(co2 - h, 2));
    v.push(Value::real(co2 + h, 2));
    v.push(s(&ne.text(0)));
    v.push(s(&ne.text(1)));
    v.push(s(if a1.sink_valid() { "yes" } else { "no" }));
    v
}

/// Table F-2 (counties, then the region).
pub fn f2(acc: &Accounting) -> Table {
    let mut rows: Vec<Vec<Value>> = acc
        .counties
        .iter()
        .zip(&acc.a1)
        .map(|(r, a)| {
            let ne = NeAreas::of(acc.units.iter().filter(|u| u.county == r.county_code));
            f2_row(r, a, &ne)
        })
        .collect();
    if let Some(a) = acc.a1.last() {
        rows.push(f2_row(&acc.region, a, &NeAreas::of(acc.units.iter())));
    }
    Table {
        name: "F2_county".into(),
        columns: f2_columns(),
        rows,
    }
}

fn f3_row(code: &str, a: LandClass, b: LandClass, t: &Transition) -> Vec<Value> {
    let co2 = |x: f64| Value::real(x * CO2_PER_C, 2);
    let h = t.h_sink_tc_yr;
    vec![
        s(code),
        s(a.name()),
        s(b.name()),
        Value::real(t.area_ha, 4),
        co2(t.sink_tc_yr),
        h.map_or(Value::Null, |h| Value::real(h * CO2_PER_C, 2)),
        t.u_sink_pct().map_or(Value::Null, |u| Value::real(u, 2)),
    ]
}

/// Table F-3 (per county, then the region), each cell with its approach-1 sink uncertainty.
pub fn f3(acc: &Accounting) -> Table {
    let mut rows: Vec<Vec<Value>> = acc
        .county_transitions
        .iter()
        .map(|((c, a, b), t)| f3_row(c, *a, *b, t))
        .collect();
    rows.extend(
        acc.transitions
            .iter()
            .map(|((a, b), t)| f3_row("region", *a, *b, t)),
    );
    Table {
        name: "F3_transitions".into(),
        columns: vec![
            ("county_code".into(), ColType::Str),
            ("class_t1".into(), ColType::Str),
            ("class_t2".into(), ColType::Str),
            ("area_ha".into(), ColType::Real),
            ("sink_tCO2_yr".into(), ColType::Real),
            ("a1_h_sink_tCO2_yr".into(), ColType::Real),
            ("a1_U_sink_pct".into(), ColType::Real),
        ],
        rows,
    }
}

/// Approach 1 and approach 2 per county and for the region.
pub fn uncertainty_table(acc: &Accounting) -> Table {
    use ColType::*;
    let cols = [
        ("county_code", Str),
        ("stock_t1_tC", Real),
        ("U_stock_t1_pct", Real),
        ("stock_t2_tC", Real),
        ("U_stock_t2_pct", Real),
        ("sink_tCO2_yr", Real),
        ("a1_U_sink_pct", Real),
        ("a1_ci_lower_tCO2_yr", Real),
        ("a1_ci_upper_tCO2_yr", Real),
        ("mc_mean_tCO2_yr", Real),
        ("mc_p2_5_tCO2_yr", Real),
        ("mc_p97_5_tCO2_yr", Real),
        ("mc_U_sink_pct", Real),
        ("mc_U_low_pct", Real),
        ("mc_U_high_pct", Real),
        ("mc_U_stock_t1_pct", Real),
        ("mc_U_stock_t2_pct", Real),
        ("mc_draws", Int),
        ("mc_seed", Int),
        ("a1_valid", Str),
        ("interval_to_use", Str),
    ];
    let mut rows = Vec::new();
    let names: Vec<&str> = acc
        .counties
        .iter()
        .map(|c| c.county_code.as_str())
        .chain(std::iter::once("region"))
        .collect();
    for (i, name) in names.iter().enumerate() {
        let a = &acc.a1[i];
        let sink = a.sink_tc_yr * CO2_PER_C;
        let h = a.h_sink_tc_yr * CO2_PER_C;
        let mut r = vec![
            s(name),
            Value::real(a.stock_t1, 2),
            Value::opt(a.u_stock_t1_pct(), 1),
            Value::real(a.stock_t2, 2),
            Value::opt(a.u_stock_t2_pct(), 1),
            Value::real(sink, 2),
            Value::opt(a.u_sink_pct(), 1),
            Value::real(sink - h, 2),
            Value::real(sink + h, 2),
        ];
        match &acc.mc {
            Some(mc) => {
                let m = if i < mc.groups.len() {
                    &mc.groups[i]
                } else {
                    &mc.region
                };
                r.extend([
                    Value::real(m[2].mean * CO2_PER_C, 2),
                    Value::real(m[2].p025 * CO2_PER_C, 2),
                    Value::real(m[2].p975 * CO2_PER_C, 2),
                    Value::opt(m[2].u_pct(), 1),
                    Value::opt(m[2].u_low_pct(), 1),
                    Value::opt(m[2].u_high_pct(), 1),
                    Value::opt(m[0].u_pct(), 1),
                    Value::opt(m[1].u_pct(), 1),
                    Value::Int(mc.draws as i64),
                    Value::Int(mc.seed as i64),
                ]);
            }
            None => r.extend(std::iter::repeat_n(Value::Null, 10)),
        }
        let valid = a.sink_valid();
        r.push(s(if valid { "yes" } else { "no" }));
        r.push(s(match (valid, acc.mc.is_some()) {
            (true, _) => "approach1",
            (false, true) => "monte_carlo",
            (false, false) => "none (approach 1 invalid; run the Monte Carlo)",
        }));
        rows.push(r);
    }
    Table {
        name: "uncertainty".into(),
        columns: cols.iter().map(|(n, t)| (n.to_string(), *t)).collect(),
        rows,
    }
}

/// Plausibility findings (`checks.csv`): one row per unit and check beyond its bound.
pub fn checks_table(acc: &Accounting) -> Table {
    use ColType::*;
    let cols = [
        ("kind", Str),
        ("patch_id", Str),
        ("county_code", Str),
        ("class", Str),
        ("when", Str),
        ("value", Real),
        ("bound", Real),
        ("units", Str),
        ("area_ha", Real),
        ("bound_source", Str),
    ];
    let rows = acc
        .checks
        .iter()
        .map(|c| {
            vec![
                s(c.kind),
                s(&c.unit),
                s(&c.county),
                s(&c.class),
                s(&c.when),
                Value::real(c.value, 3),
                Value::real(c.bound, 3),
                s(c.units),
                Value::real(c.area_ha, 4),
                s(&c.source),
            ]
        })
        .collect();
    Table {
        name: "checks".into(),
        columns: cols.iter().map(|(n, t)| (n.to_string(), *t)).collect(),
        rows,
    }
}

/// Dropped slivers, gaps, repaired polygons and LiDAR coverage issues (one table).
pub fn issues_table(acc: &Accounting, t1_ids: &[String], t2_ids: &[String]) -> Table {
    use ColType::*;
    let mut rows = Vec::new();
    for sl in &acc.slivers {
        rows.push(vec![
            s("sliver_dropped"),
            s(&format!("{}|{}", t1_ids[sl.i1], t2_ids[sl.i2])),
            Value::Null,
            Value::real(sl.planar_m2, 4),
            s(&format!(
                "at ({:.2}, {:.2}); area redistributed over the patch's units",
                sl.at[0], sl.at[1]
            )),
        ]);
    }
    for g in &acc.gaps {
        let id = if g.year_ix == 0 {
            &t1_ids[g.patch]
        } else {
            &t2_ids[g.patch]
        };
        rows.push(vec![
            s("gap"),
            s(id),
            Value::Int(acc.years[g.year_ix] as i64),
            Value::real(g.planar_m2, 4),
            s(&format!(
                "not covered by any patch of {}; {:.4} ha of the area field not in any unit",
                acc.years[1 - g.year_ix],
                g.area_ha
            )),
        ]);
    }
    for r in &acc.repairs {
        rows.push(vec![
            s("repaired_polygon"),
            s(&r.patch_id),
            Value::Int(r.year as i64),
            Value::real(r.area_after_m2, 4),
            s(&format!(
                "invalid geometry (fid {}) repaired by {}; planar area {:.4} -> {:.4} m²",
                r.fid, r.method, r.area_before_m2, r.area_after_m2
            )),
        ]);
    }
    for c in &acc.coverage {
        rows.push(vec![
            s(if c.fell_back {
                "outside_raster_coverage"
            } else {
                "partial_raster_coverage"
            }),
            s(&c.unit),
            Value::Int(c.year as i64),
            Value::real(c.uncovered_m2, 4),
            s(&format!(
                "{:.1} % of the unit ({:.4} ha) lies outside valid raster cells; {}",
                c.uncovered_m2 / c.unit_m2.max(1e-12) * 100.0,
                c.uncovered_m2 / 1e4,
                if c.fell_back {
                    "rasters not used, next source (plot table / defaults) used"
                } else {
                    "mean of the covered part used"
                }
            )),
        ]);
    }
    Table {
        name: "issues".into(),
        columns: vec![
            ("kind".into(), Str),
            ("id".into(), Str),
            ("year".into(), Int),
            ("area_m2".into(), Real),
            ("detail".into(), Str),
        ],
        rows,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_round_and_never_print_nan() {
        assert_eq!(Value::real(2933.333333, 2).text(), "2933.33");
        assert_eq!(Value::real(-0.001, 2).text(), "0.00");
        assert_eq!(Value::real(f64::NAN, 2), Value::Null);
        assert_eq!(Value::opt(None, 1).text(), "");
        assert_eq!(Value::real(13.91163, 1).rounded(), Some(13.9));
        assert_eq!(f1_columns().len(), 43);
        let names: Vec<String> = f1_columns().into_iter().map(|c| c.0).collect();
        assert_eq!(&names[..3], ["patch_id", "county_code", "class_t1"]);
        assert!(names.contains(&"total_t2".to_string()) && names.last().unwrap() == "flags");
    }

    #[test]
    fn csv_is_written_atomically() {
        let dir = tempfile::tempdir().unwrap();
        let t = Table {
            name: "x".into(),
            columns: vec![("a".into(), ColType::Str), ("b".into(), ColType::Real)],
            rows: vec![vec![s("p,1"), Value::real(1.0 / 3.0, 2)]],
        };
        let p = dir.path().join("x.csv");
        t.write_csv(&p).unwrap();
        assert_eq!(std::fs::read_to_string(&p).unwrap(), "a,b\n\"p,1\",0.33\n");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }
}

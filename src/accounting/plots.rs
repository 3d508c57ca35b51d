//! Plot-based carbon densities per class and stratum (carbon-accounting.md §5.2, §5.4).
//!
//! A plot table is a CSV in one of two forms (header names case-insensitive):
//! * **summary**: `class, stratum, pool, mean, sd, n[, year][, r_paired]` — one row per
//!   class/stratum/pool (and year), density in t C/ha; `r_paired` (on a t₂ row) is the
//!   correlation of the t₁ and t₂ values of remeasured permanent plots;
//! * **per plot**: `plot_id, class, stratum, pool, value[, year]` — the table's statistics
//!   (mean, sample sd with n − 1, n) are computed here, and when the same plot ids appear in the
//!   t₁ and t₂ tables the paired correlation r is computed from them (§5.4: a remeasured plot
//!   gives a paired increment).
//!
//! `class` is an accounting class name (forest, cropland, garden, grassland, wetland),
//! `stratum` may be empty (class level; a patch's stratum falls back to it), `pool` is one of
//! AGB, BGB, DW, LT, SOC (carbon, t C/ha), `year` (optional) restricts a row to one survey year.
//! The sampling half-width is t₀.₉₇₅,ₙ₋₁·s/√n ([`uncertainty::sampling_half_width`]).
//!
//! Either form may give values in field units in an optional `unit` column (`tC_ha`, the
//! default; `t_ha` and `kg_m2` dry matter; `m3_ha` dead-wood volume with `decay_density_t_m3`,
//! or stand volume with `species` for volume–BEF), converted to carbon here with the
//! parameters' factors ([`field_units`]).
//!
//! See also: `density.rs` (uses the rows), `uncertainty.rs`.

use super::field_units;
use super::uncertainty;
use super::{LandClass, Pool};
use crate::params::Params;
use crate::vector::plot_rows::invalid_value;
use crate::{Error, Result};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// One class/stratum/pool row.
#[derive(Debug, Clone, PartialEq)]
pub struct PlotRow {
    pub class: LandClass,
    pub stratum: String,
    pub pool: Pool,
    pub year: Option<i32>,
    /// Mean density, t C/ha.
    pub mean: f64,
    /// Sample standard deviation of the plot values.
    pub sd: f64,
    pub n: usize,
    /// Correlation of paired t₁/t₂ plot values, where given.
    pub r_paired: Option<f64>,
    /// Plot values by plot id (per-plot tables only), t C/ha after conversion.
    pub values: BTreeMap<String, f64>,
    /// How field units were converted to carbon (empty when given as t C/ha).
    pub formulas: std::collections::BTreeSet<String>,
    /// Every value came from stand volume by volume–BEF (F-1 method `volume_bef`).
    pub volume_bef: bool,
}

impl PlotRow {
    /// 95 % half-width of the mean (t C/ha); `None` for n < 2.
    pub fn half_width(&self) -> Option<f64> {
        uncertainty::sampling_half_width(self.sd, self.n)
    }
}

/// A plot table.
#[derive(Debug, Clone, Default)]
pub struct PlotTable {
    pub path: PathBuf,
    pub rows: Vec<PlotRow>,
}

type RowKey = (LandClass, String, Pool, Option<i32>);

fn class_of_name(s: &str) -> Option<LandClass> {
    LandClass::ALL
        .into_iter()
        .find(|c| c.name().eq_ignore_ascii_case(s.trim()))
}

impl PlotTable {
    /// Reads a plot table CSV; `params` give the factors of field-unit conversions.
    pub fn read(path: &Path, params: &Params) -> Result<PlotTable> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        Self::parse(&text, path, params)
    }

    /// Parses a plot table (see the module doc); `path` names it in errors.
    pub fn parse(text: &str, path: &Path, params: &Params) -> Result<PlotTable> {
        let ctx = path.display().to_string();
        let mut rdr = csv::ReaderBuilder::new()
            .trim(csv::Trim::All)
            .comment(Some(b'#'))
            .from_reader(text.as_bytes());
        let headers: Vec<String> = rdr
            .headers()
            .map_err(|e| Error::data(&ctx, e))?
            .iter()
            .map(|h| h.to_ascii_lowercase())
            .collect();
        let col = |name: &str| headers.iter().position(|h| h == name);
        let per_plot = col("value").is_some();
        let required: &[&str] = if per_plot {
            &["plot_id", "class", "pool", "value"]
        } else {
            &["class", "pool", "mean", "sd", "n"]
        };
        let missing: Vec<&str> = required
            .iter()
            .copied()
            .filter(|c| col(c).is_none())
            .collect();
        if !missing.is_empty() {
            return Err(Error::data(
                &ctx,
                format!(
                    "plot table lacks column(s) {} (has: {}); expected either class,stratum,pool,mean,sd,n[,year,r_paired] or plot_id,class,stratum,pool,value[,year]",
                    missing.join(", "),
                    headers.join(", ")
                ),
            ));
        }
        let get = |rec: &csv::StringRecord, name: &str| -> String {
            col(name).and_then(|i| rec.get(i)).unwrap_or("").to_string()
        };
        let num = |rec: &csv::StringRecord, name: &str, line: u64| -> Result<f64> {
            let s = get(rec, name);
            s.parse::<f64>()
                .ok()
                .filter(|v| v.is_finite())
                .ok_or_else(|| {
                    Error::data(
                        format!("{ctx}, line {line}"),
                        format!("column {name}: '{s}' is not a number"),
                    )
                })
        };
        let mut rows: BTreeMap<RowKey, PlotRow> = BTreeMap::new();
        // Per-plot tables: in one year a plot lies in one class and stratum (its pools are
        // rows of their own), so an id met again under another is a second plot with that id.
        type Home = (LandClass, String);
        let mut plot_home: BTreeMap<(String, Option<i32>), (Home, u64)> = BTreeMap::new();
        for (i, rec) in rdr.records().enumerate() {
            let rec = rec.map_err(|e| Error::data(&ctx, e))?;
            let line = rec.position().map_or(i as u64 + 2, |p| p.line());
            let at = format!("{ctx}, line {line}");
            let cname = get(&rec, "class");
            let class = class_of_name(&cname).ok_or_else(|| {
                Error::data(
                    &at,
                    format!("class '{cname}' is not an accounting class (forest, cropland, garden, grassland, wetland)"),
                )
            })?;
            let pname = get(&rec, "pool");
            let pool = Pool::parse(&pname).ok_or_else(|| {
                Error::data(
                    &at,
                    format!("pool '{pname}' is not AGB, BGB, DW, LT or SOC"),
                )
            })?;
            let year = match get(&rec, "year").as_str() {
                "" => None,
                y => Some(
                    y.parse::<i32>()
                        .map_err(|_| Error::data(&at, format!("year '{y}' is not a year")))?,
                ),
            };
            let stratum = get(&rec, "stratum");
            let density = match get(&rec, "decay_density_t_m3").as_str() {
                "" => None,
                _ => Some(num(&rec, "decay_density_t_m3", line)?),
            };
            let convs = field_units::conversions(
                params,
                class,
                pool,
                &get(&rec, "unit"),
                density,
                &get(&rec, "species"),
            )
            .map_err(|e| Error::data(&at, e))?;
            let empty_row = |pool: Pool| PlotRow {
                class,
                stratum: stratum.clone(),
                pool,
                year,
                mean: 0.0,
                sd: 0.0,
                n: 0,
                r_paired: None,
                values: BTreeMap::new(),
                formulas: Default::default(),
                volume_bef: true,
            };
            if per_plot {
                let id = get(&rec, "plot_id");
                let v = num(&rec, "value", line)?;
                let field = format!("{} value", pool.name());
                if let Some(e) = invalid_value(&id, &field, v) {
                    return Err(Error::data(&at, e));
                }
                let home = (class, stratum.clone());
                match plot_home.get(&(id.clone(), year)) {
                    _ if id.is_empty() => {
                        return Err(Error::data(&at, "empty plot_id"));
                    }
                    Some((h, first)) if *h != home => {
                        return Err(Error::data(
                            &at,
                            format!(
                                "plot id '{id}' appears twice: in class {} stratum '{}' on line {first} and in class {} stratum '{}' here",
                                h.0.name(),
                                h.1,
                                class.name(),
                                stratum
                            ),
                        ));
                    }
                    Some(_) => {}
                    None => {
                        plot_home.insert((id.clone(), year), (home, line));
                    }
                }
                for c in &convs {
                    let key = (class, stratum.clone(), c.pool, year);
                    let row = rows.entry(key).or_insert_with(|| empty_row(c.pool));
                    let by_volume =
                        c.volume_bef || row.formulas.iter().any(|f| f.starts_with("volume–BEF"));
                    row.volume_bef &= c.volume_bef;
                    if !c.formula.is_empty() {
                        row.formulas.insert(c.formula.clone());
                    }
                    if row.values.insert(id.clone(), v * c.factor).is_some() {
                        return Err(Error::data(
                            &at,
                            format!(
                                "plot '{id}' appears twice for {} {} {}{}",
                                class.name(),
                                stratum,
                                c.pool.name(),
                                if by_volume && c.pool == Pool::Bgb {
                                    " (a stand-volume AGB row gives the plot's BGB too)"
                                } else {
                                    ""
                                }
                            ),
                        ));
                    }
                }
            } else {
                let mean = num(&rec, "mean", line)?;
                let sd = num(&rec, "sd", line)?;
                let n = num(&rec, "n", line)?;
                if mean < 0.0 {
                    return Err(Error::data(
                        &at,
                        format!("mean = {mean} is not a valid carbon density (must be ≥ 0)"),
                    ));
                }
                if sd < 0.0 || n < 1.0 || n.fract() != 0.0 {
                    return Err(Error::data(
                        &at,
                        format!("sd must be >= 0 and n a positive integer (sd {sd}, n {n})"),
                    ));
                }
                let r_paired = match get(&rec, "r_paired").as_str() {
                    "" => None,
                    s => Some(
                        s.parse::<f64>()
                            .ok()
                            .filter(|r| (-1.0..=1.0).contains(r))
                            .ok_or_else(|| {
                                Error::data(&at, format!("r_paired '{s}' must lie in [-1, 1]"))
                            })?,
                    ),
                };
                for c in &convs {
                    let key = (class, stratum.clone(), c.pool, year);
                    let row = PlotRow {
                        mean: mean * c.factor,
                        sd: sd * c.factor,
                        n: n as usize,
                        r_paired,
                        formulas: std::iter::once(c.formula.clone())
                            .filter(|f| !f.is_empty())
                            .collect(),
                        volume_bef: c.volume_bef,
                        ..empty_row(c.pool)
                    };
                    if rows.insert(key, row).is_some() {
                        return Err(Error::data(
                            &at,
                            format!(
                                "duplicate row for class {} stratum '{}' pool {}",
                                class.name(),
                                stratum,
                                c.pool.name()
                            ),
                        ));
                    }
                }
            }
        }
        if per_plot {
            for row in rows.values_mut() {
                let v: Vec<f64> = row.values.values().copied().collect();
                let n = v.len();
                let m = v.iter().sum::<f64>() / n as f64;
                row.mean = m;
                row.n = n;
                row.sd = if n > 1 {
                    (v.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (n - 1) as f64).sqrt()
                } else {
                    0.0
                };
            }
        }
        Ok(PlotTable {
            path: path.to_path_buf(),
            rows: rows.into_values().collect(),
        })
    }

    /// The row for a class, stratum and pool in `year`: the stratum's row first, then the
    /// class-level row (empty stratum); a row with a year beats one without.
    pub fn lookup(
        &self,
        class: LandClass,
        stratum: &str,
        pool: Pool,
        year: i32,
    ) -> Option<&PlotRow> {
        let pick = |s: &str| {
            let mut best: Option<&PlotRow> = None;
            for r in &self.rows {
                if r.class == class && r.stratum == s && r.pool == pool {
                    match r.year {
                        Some(y) if y == year => return Some(r),
                        None => best = Some(r),
                        _ => {}
                    }
                }
            }
            best
        };
        if !stratum.is_empty() {
            if let Some(r) = pick(stratum) {
                return Some(r);
            }
        }
        pick("")
    }
}

/// Correlation of the t₁ and t₂ means of the same plots: the t₂ row's `r_paired` when given,
/// else Pearson's r over the plot ids present in both rows (at least 3). `None` when unpaired.
pub fn paired_r(t1: &PlotRow, t2: &PlotRow) -> Option<f64> {
    if let Some(r) = t2.r_paired.or(t1.r_paired) {
        return Some(r);
    }
    let common: Vec<(f64, f64)> = t1
        .values
        .iter()
        .filter_map(|(k, a)| t2.values.get(k).map(|b| (*a, *b)))
        .collect();
    if common.len() < 3 {
        return None;
    }
    let n = common.len() as f64;
    let ma = common.iter().map(|c| c.0).sum::<f64>() / n;
    let mb = common.iter().map(|c| c.1).sum::<f64>() / n;
    let (mut sab, mut saa, mut sbb) = (0.0, 0.0, 0.0);
    for (a, b) in &common {
        sab += (a - ma) * (b - mb);
        saa += (a - ma).powi(2);
        sbb += (b - mb).powi(2);
    }
    (saa > 0.0 && sbb > 0.0).then(|| sab / (saa * sbb).sqrt())
}

#[cfg(test)]
mod tests {
    use super::*;

    const FIXTURE_T1: &str = "plot_id,class,stratum,pool,value\n\
        p01,forest,,AGB,40\np02,forest,,AGB,44\np03,forest,,AGB,46\np04,forest,,AGB,48\n\
        p05,forest,,AGB,50\np06,forest,,AGB,50\np07,forest,,AGB,52\np08,forest,,AGB,54\n\
        p09,forest,,AGB,56\np10,forest,,AGB,60\n";
    const FIXTURE_T2: &str = "plot_id,class,stratum,pool,value\n\
        p01,forest,,AGB,44\np02,forest,,AGB,49\np03,forest,,AGB,51\np04,forest,,AGB,54\n\
        p05,forest,,AGB,56\np06,forest,,AGB,56\np07,forest,,AGB,58\np08,forest,,AGB,61\n\
        p09,forest,,AGB,63\np10,forest,,AGB,68\n";

    #[test]
    fn per_plot_table_gives_5_6_statistics_and_pairing() {
        let a = PlotTable::parse(FIXTURE_T1, Path::new("t1.csv"), &Params::defaults()).unwrap();
        let b = PlotTable::parse(FIXTURE_T2, Path::new("t2.csv"), &Params::defaults()).unwrap();
        let r1 = a
            .lookup(LandClass::Forest, "pine", Pool::Agb, 2020)
            .unwrap();
        let r2 = b.lookup(LandClass::Forest, "", Pool::Agb, 2025).unwrap();
        assert_eq!(r1.n, 10);
        assert!((r1.mean - 50.0).abs() < 1e-12 && (r2.mean - 56.0).abs() < 1e-12);
        assert!((r1.half_width().unwrap() / 50.0 * 100.0 - 8.4238).abs() < 5e-5);
        assert!((r2.half_width().unwrap() / 56.0 * 100.0 - 8.9723).abs() < 5e-5);
        let r = paired_r(r1, r2).unwrap();
        assert!((r - 0.999480).abs() < 5e-7, "{r}");
    }

    #[test]
    fn summary_table_lookup_and_errors() {
        let t = "class,stratum,pool,mean,sd,n,year\n\
                 cropland,,SOC,30,5,12,\nforest,pine,AGB,60,10,8,2025\nforest,,AGB,50,9,20,\n";
        let tab = PlotTable::parse(t, Path::new("s.csv"), &Params::defaults()).unwrap();
        assert_eq!(
            tab.lookup(LandClass::Forest, "pine", Pool::Agb, 2025)
                .unwrap()
                .mean,
            60.0
        );
        assert_eq!(
            tab.lookup(LandClass::Forest, "pine", Pool::Agb, 2020)
                .unwrap()
                .mean,
            50.0
        );
        assert!(tab
            .lookup(LandClass::Grassland, "", Pool::Agb, 2020)
            .is_none());
        let e = PlotTable::parse(
            "class,pool,mean\nforest,AGB,3\n",
            Path::new("bad.csv"),
            &Params::defaults(),
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("sd, n") && e.contains("bad.csv"), "{e}");
        let e = PlotTable::parse(
            "class,pool,mean,sd,n\nforrest,AGB,3,1,4\n",
            Path::new("b.csv"),
            &Params::defaults(),
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("forrest") && e.contains("line 2"), "{e}");
        let e = PlotTable::parse(
            "class,pool,mean,sd,n\nforest,AGB,3,1,4\nforest,AGB,4,1,4\n",
            Path::new("d.csv"),
            &Params::defaults(),
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("duplicate"), "{e}");
    }

    #[test]
    fn field_units_are_converted_per_plot_before_the_statistics() {
        let p = Params::defaults();
        let t = "plot_id,class,pool,value,unit,decay_density_t_m3,species\n\
                 a,forest,DW,10,m3_ha,0.4,\n\
                 b,forest,DW,20,m3_ha,0.3,\n\
                 a,forest,LT,0.5,kg_m2,,\n\
                 b,forest,LT,2.0,tC_ha,,\n\
                 a,forest,AGB,100,m3_ha,,Pinus massoniana\n\
                 b,forest,AGB,200,m3_ha,,Pinus massoniana\n";
        let tab = PlotTable::parse(t, Path::new("f.csv"), &p).unwrap();
        let row = |pool| tab.lookup(LandClass::Forest, "", pool, 2020).unwrap();
        // DW per plot: 10·0.4·0.5 = 2, 20·0.3·0.5 = 3 (a per-plot density, not a mean ρ).
        assert_eq!(row(Pool::Dw).values["a"], 2.0);
        assert!((row(Pool::Dw).values["b"] - 3.0).abs() < 1e-12);
        assert!((row(Pool::Dw).mean - 2.5).abs() < 1e-12);
        assert!((row(Pool::Lt).values["a"] - 1.85).abs() < 1e-12);
        assert!(!row(Pool::Lt).formulas.is_empty() && !row(Pool::Lt).volume_bef);
        // Stand volume gives AGB and BGB; their sum is the §3.2 worked check per 100 m³/ha.
        let (agb, bgb) = (row(Pool::Agb), row(Pool::Bgb));
        assert!(agb.volume_bef && bgb.volume_bef);
        assert!((agb.values["a"] + bgb.values["a"] - 30.542).abs() < 5e-4);
        assert!((agb.values["b"] + bgb.values["b"] - 2.0 * 30.542).abs() < 1e-3);
        // A stand-volume row and an explicit BGB value for the same plot: refused.
        let dup = format!("{t}a,forest,BGB,9,,,\n");
        let e = PlotTable::parse(&dup, Path::new("f.csv"), &p)
            .unwrap_err()
            .to_string();
        assert!(e.contains("'a'") && e.contains("stand-volume"), "{e}");
        // A missing density names the line.
        let e = PlotTable::parse(
            "plot_id,class,pool,value,unit\nx,forest,DW,3,m3_ha\n",
            Path::new("g.csv"),
            &p,
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("g.csv, line 2") && e.contains("decay_density_t_m3"),
            "{e}"
        );
    }
}

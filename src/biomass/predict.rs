//! Prediction on a grid and carbon density per pool (carbon-accounting.md §1, §2 step 5).
//!
//! **AGB.** The model ([`super::model`]) is applied cell by cell to the grid metric rasters
//! (bands named as the model's predictors) → AGB (t d.m./ha), its standard error with and
//! without the residual term, and a flag raster (bits, 0 = clean):
//! * 1 — a predictor lies outside its calibration range (extrapolation);
//! * 2 — the cell's stratum has no model (or the stratum raster has no value);
//! * 4 — a predictor is nodata in the cell (no return, or the metric undefined);
//! * 8 — the model gives no prediction for these values (x ≤ 0 with a negative exponent);
//! * 16 — a negative prediction (linear models) set to 0.
//!
//! Cells flagged 2, 4 or 8 are nodata in every output; cells flagged 1 or 16 keep their value.
//!
//! **Carbon** (t C/ha), with the parameters of [`crate::params`] (defaults or a user file):
//! * AGC = AGB · CF (`carbon_fraction.wood`);
//! * BGC = AGB · R(AGB) · CF, R from `root_shoot` for the zone (default zone unless named),
//!   switching at `step_agb_t_ha` (125 t/ha, IPCC 2019 Table 4.4) *per cell*: the step makes
//!   BGC discontinuous in AGB, as the table is — not interpolated;
//! * DW, LT = `classes.<class>.dead_wood_tc_ha.mean`, `litter_tc_ha.mean` of the accounting
//!   class (default forest) on every predicted cell; a pool the parameters leave out is "not
//!   estimated" (no raster, excluded from the total — IPCC: dead wood must be measured);
//! * total = AGC + BGC (+ DW + LT when estimated);
//! * SE of the total = SE(AGB)·(1 + R)·CF: the model's prediction uncertainty only (CF, R and
//!   the class defaults carry their own uncertainty, propagated by the accounting step).
//!
//! The run record lists every parameter value used with its provenance (default or user file).
//!
//! See also: `landcarbon carbon`, [`crate::params::Params::provenance`].

use super::model::ModelFile;
use crate::params::{LandClass, Params};
use crate::raster::{Grid, Raster, RasterReader};
use crate::{Error, Result};
use std::collections::BTreeMap;

/// Flag bits of the prediction flag raster.
pub mod flag {
    pub const OUTSIDE_RANGE: u8 = 1;
    pub const NO_MODEL: u8 = 2;
    pub const NO_DATA: u8 = 4;
    pub const NO_PREDICTION: u8 = 8;
    pub const CLAMPED: u8 = 16;
}

/// Nodata of the flag raster.
pub const FLAG_NODATA: u8 = 255;

/// AGB prediction rasters (NaN where no prediction).
#[derive(Debug, Clone)]
pub struct AgbGrid {
    pub grid: Grid,
    pub agb_t_ha: Vec<f64>,
    pub se_t_ha: Vec<f64>,
    pub se_model_t_ha: Vec<f64>,
    pub flag: Vec<u8>,
}

impl AgbGrid {
    /// A grid with no value in any cell (NaN) and no flag yet.
    pub fn empty(grid: Grid) -> AgbGrid {
        let n = grid.len();
        AgbGrid {
            grid,
            agb_t_ha: vec![f64::NAN; n],
            se_t_ha: vec![f64::NAN; n],
            se_model_t_ha: vec![f64::NAN; n],
            flag: vec![0; n],
        }
    }
}

/// Counts of the flags, for the run record.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct PredictionSummary {
    pub cells: usize,
    pub predicted: usize,
    pub outside_range: usize,
    pub no_model: usize,
    pub no_data: usize,
    pub no_prediction: usize,
    pub clamped: usize,
    pub mean_agb_t_ha: f64,
}

fn stratum_key(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{}", v as i64)
    } else {
        format!("{v}")
    }
}

/// The bands of the metrics raster a model needs (its predictors), nodata and non-finite values
/// as NaN. A missing band is an error naming the file and listing the bands it has.
pub fn predictor_bands(
    metrics: &std::path::Path,
    model: &ModelFile,
) -> Result<BTreeMap<String, Raster<f64>>> {
    // One reader for every band: the metrics COG is pixel-interleaved, so each band read
    // from a fresh open would inflate the blocks of all bands again.
    let reader = RasterReader::open(metrics)?;
    let names = reader.band_names()?;
    predictor_band_numbers(&names, model, metrics)?
        .into_iter()
        .map(|(p, b)| Ok((p, nodata_as_nan(reader.read_f64(b)?))))
        .collect()
}

/// Each predictor of `model` with its band number (1-based) among `names`, the band names of
/// the metrics raster `path`. A missing band is an error naming the file and listing the bands
/// it has.
pub fn predictor_band_numbers(
    names: &[String],
    model: &ModelFile,
    path: &std::path::Path,
) -> Result<Vec<(String, usize)>> {
    model
        .all_predictors()
        .into_iter()
        .map(|p| match names.iter().position(|n| *n == p) {
            Some(i) => Ok((p, i + 1)),
            None => Err(Error::data(
                path.display(),
                format!("no band '{p}' for the model (bands: {})", names.join(", ")),
            )),
        })
        .collect()
}

/// `r` with its nodata and non-finite values as NaN (and NaN as its nodata): the form
/// [`predict_agb`] takes.
pub fn nodata_as_nan(mut r: Raster<f64>) -> Raster<f64> {
    let nd = r.nodata;
    r.data.mapv_inplace(|v| {
        if v == nd || !v.is_finite() {
            f64::NAN
        } else {
            v
        }
    });
    r.nodata = f64::NAN;
    r
}

/// Applies the model file to metric rasters `bands` (by metric name; nodata already NaN),
/// optionally with a stratum raster whose values name the strata.
pub fn predict_agb(
    models: &ModelFile,
    bands: &BTreeMap<String, Raster<f64>>,
    strata: Option<&Raster<f64>>,
) -> Result<AgbGrid> {
    let grid = bands
        .values()
        .next()
        .map(|r| r.grid)
        .ok_or_else(|| Error::data("prediction", "no metric band given"))?;
    for p in models.all_predictors() {
        match bands.get(&p) {
            None => {
                return Err(Error::data(
                    "prediction",
                    format!("the metric rasters have no band '{p}' that the model needs"),
                ))
            }
            Some(r) if r.grid != grid => {
                return Err(Error::data(
                    "prediction",
                    format!("band '{p}' is on another grid"),
                ))
            }
            _ => {}
        }
    }
    if let Some(s) = strata {
        if s.grid != grid {
            return Err(Error::data(
                "prediction",
                "the stratum raster must be on the metric grid (same origin, cell size and extent)",
            ));
        }
    }
    if models.strata_column.is_some() && strata.is_none() {
        return Err(Error::Config(
            "the model has one model per stratum: give a stratum raster".into(),
        ));
    }
    let mut out = AgbGrid::empty(grid);
    let cols: BTreeMap<&str, &[f64]> = bands
        .iter()
        .map(|(k, r)| (k.as_str(), r.data.as_slice().expect("standard layout")))
        .collect();
    let strata_vals = strata.map(|s| s.data.as_slice().expect("standard layout"));
    let mut x = Vec::new();
    for c in 0..out.grid.len() {
        let model = match strata_vals {
            None => models.model_for(None),
            Some(sv) => {
                let v = sv[c];
                if v.is_finite() {
                    models.model_for(Some(&stratum_key(v)))
                } else {
                    None
                }
            }
        };
        let Some(m) = model else {
            out.flag[c] |= flag::NO_MODEL;
            continue;
        };
        x.clear();
        x.extend(m.predictors.iter().map(|p| cols[p.as_str()][c]));
        if x.iter().any(|v| !v.is_finite()) {
            out.flag[c] |= flag::NO_DATA;
            continue;
        }
        let Some(p) = m.predict(&x) else {
            out.flag[c] |= flag::NO_PREDICTION;
            continue;
        };
        if p.outside_range {
            out.flag[c] |= flag::OUTSIDE_RANGE;
        }
        let mut v = p.value;
        if v < 0.0 {
            v = 0.0;
            out.flag[c] |= flag::CLAMPED;
        }
        out.agb_t_ha[c] = v;
        out.se_t_ha[c] = p.se;
        out.se_model_t_ha[c] = p.se_model;
    }
    Ok(out)
}

impl AgbGrid {
    /// Flag counts and the mean predicted AGB.
    pub fn summary(&self) -> PredictionSummary {
        let mut s = PredictionSummary {
            cells: self.flag.len(),
            ..Default::default()
        };
        let mut sum = 0.0;
        for (v, f) in self.agb_t_ha.iter().zip(&self.flag) {
            if v.is_finite() {
                s.predicted += 1;
                sum += v;
            }
            s.outside_range += (f & flag::OUTSIDE_RANGE != 0) as usize;
            s.no_model += (f & flag::NO_MODEL != 0) as usize;
            s.no_data += (f & flag::NO_DATA != 0) as usize;
            s.no_prediction += (f & flag::NO_PREDICTION != 0) as usize;
            s.clamped += (f & flag::CLAMPED != 0) as usize;
        }
        s.mean_agb_t_ha = if s.predicted > 0 {
            sum / s.predicted as f64
        } else {
            f64::NAN
        };
        s
    }

    /// A raster of `values` with NaN → `nodata`.
    pub fn raster(&self, values: &[f64], nodata: f32) -> Raster<f32> {
        let mut r = Raster::filled(self.grid, nodata);
        for (o, v) in r.data.iter_mut().zip(values) {
            if v.is_finite() {
                *o = *v as f32;
            }
        }
        r
    }

    /// The flag raster ([`FLAG_NODATA`] never occurs: every cell has a flag value).
    pub fn flag_raster(&self) -> Raster<u8> {
        let mut r = Raster::filled(self.grid, FLAG_NODATA);
        for (o, f) in r.data.iter_mut().zip(&self.flag) {
            *o = *f;
        }
        r
    }
}

/// Carbon options: the accounting class of the predicted cells and the root-to-shoot zone.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CarbonOptions {
    /// Accounting class whose dead-wood and litter defaults apply.
    pub class: LandClass,
    /// Root-to-shoot zone (`None`: `root_shoot.default_zone`).
    pub zone: Option<String>,
}

impl Default for CarbonOptions {
    fn default() -> Self {
        CarbonOptions {
            class: LandClass::Forest,
            zone: None,
        }
    }
}

/// Carbon density per pool (t C/ha, NaN where no prediction).
#[derive(Debug, Clone)]
pub struct CarbonGrid {
    pub agc: Vec<f64>,
    pub bgc: Vec<f64>,
    /// `None`: not estimated.
    pub dw: Option<Vec<f64>>,
    pub lt: Option<Vec<f64>>,
    pub total: Vec<f64>,
    pub total_se: Vec<f64>,
    /// Parameter key → (value, provenance) of every value used.
    pub parameters: BTreeMap<String, (serde_json::Value, String)>,
}

/// Carbon density per pool from predicted AGB.
pub fn carbon_density(agb: &AgbGrid, params: &Params, opts: &CarbonOptions) -> Result<CarbonGrid> {
    let cf = params.carbon_fraction.wood;
    let zone = opts
        .zone
        .clone()
        .unwrap_or_else(|| params.root_shoot.default_zone.clone());
    // Check the zone exists before looping.
    params.root_shoot.ratio(Some(&zone), 0.0)?;
    let cls = params.class_defaults(opts.class);
    let dw_c = cls.dead_wood_tc_ha.as_ref().map(|e| e.mean);
    let lt_c = cls.litter_tc_ha.as_ref().map(|e| e.mean);
    let n = agb.agb_t_ha.len();
    let mut g = CarbonGrid {
        agc: vec![f64::NAN; n],
        bgc: vec![f64::NAN; n],
        dw: dw_c.map(|_| vec![f64::NAN; n]),
        lt: lt_c.map(|_| vec![f64::NAN; n]),
        total: vec![f64::NAN; n],
        total_se: vec![f64::NAN; n],
        parameters: BTreeMap::new(),
    };
    for c in 0..n {
        let a = agb.agb_t_ha[c];
        if !a.is_finite() {
            continue;
        }
        let r = params.root_shoot.ratio(Some(&zone), a)?;
        let agc = a * cf;
        let bgc = a * r * cf;
        let mut total = agc + bgc;
        g.agc[c] = agc;
        g.bgc[c] = bgc;
        if let (Some(v), Some(dw)) = (dw_c, g.dw.as_mut()) {
            dw[c] = v;
            total += v;
        }
        if let (Some(v), Some(lt)) = (lt_c, g.lt.as_mut()) {
            lt[c] = v;
            total += v;
        }
        g.total[c] = total;
        g.total_se[c] = agb.se_t_ha[c] * (1.0 + r) * cf;
    }
    // Record the values used and where they came from.
    let prov = |key: &str| -> String {
        params
            .provenance
            .get(key)
            .cloned()
            .unwrap_or_else(|| "default".into())
    };
    let mut used: BTreeMap<String, (serde_json::Value, String)> = BTreeMap::new();
    let mut rec = |key: String, v: serde_json::Value| {
        let p = prov(&key);
        used.insert(key, (v, p));
    };
    rec("carbon_fraction.wood".into(), cf.into());
    rec(
        "root_shoot.step_agb_t_ha".into(),
        params.root_shoot.step_agb_t_ha.into(),
    );
    if opts.zone.is_none() {
        rec("root_shoot.default_zone".into(), zone.clone().into());
    }
    let row = &params.root_shoot.zones[&zone];
    rec(
        format!("root_shoot.zones.{zone}.agb_le_step"),
        row.agb_le_step.into(),
    );
    rec(
        format!("root_shoot.zones.{zone}.agb_gt_step"),
        row.agb_gt_step.into(),
    );
    let cname = opts.class.name();
    match dw_c {
        Some(v) => rec(format!("classes.{cname}.dead_wood_tc_ha.mean"), v.into()),
        None => rec(
            format!("classes.{cname}.dead_wood_tc_ha"),
            "not estimated".into(),
        ),
    }
    match lt_c {
        Some(v) => rec(format!("classes.{cname}.litter_tc_ha.mean"), v.into()),
        None => rec(
            format!("classes.{cname}.litter_tc_ha"),
            "not estimated".into(),
        ),
    }
    g.parameters = used;
    Ok(g)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one_cell(agb: f64) -> AgbGrid {
        AgbGrid {
            grid: Grid {
                x_min: 0.0,
                y_max: 20.0,
                res_m: 20.0,
                ncols: 1,
                nrows: 1,
            },
            agb_t_ha: vec![agb],
            se_t_ha: vec![10.0],
            se_model_t_ha: vec![5.0],
            flag: vec![0],
        }
    }

    #[test]
    fn worked_check_69_372_and_the_125_step() {
        // carbon-accounting.md §1.1: AGB 120, R 0.230, CF 0.47 → AGC + BGC = 69.372 t C/ha.
        let p = Params::defaults();
        let c = carbon_density(&one_cell(120.0), &p, &CarbonOptions::default()).unwrap();
        assert!((c.agc[0] + c.bgc[0] - 69.372).abs() < 1e-9);
        // Default forest litter 13.0 t C/ha; dead wood not estimated.
        assert!(c.dw.is_none());
        assert_eq!(c.lt.as_ref().unwrap()[0], 13.0);
        assert!((c.total[0] - (69.372 + 13.0)).abs() < 1e-9);
        assert!((c.total_se[0] - 10.0 * 1.23 * 0.47).abs() < 1e-12);
        // Per-cell step: 125 takes the lower row, 125.001 the upper.
        let lo = carbon_density(&one_cell(125.0), &p, &CarbonOptions::default()).unwrap();
        let hi = carbon_density(&one_cell(125.001), &p, &CarbonOptions::default()).unwrap();
        assert!((lo.bgc[0] / lo.agc[0] - 0.230).abs() < 1e-12);
        assert!((hi.bgc[0] / hi.agc[0] - 0.246).abs() < 1e-12);
        assert_eq!(c.parameters["carbon_fraction.wood"].1, "default");
        assert!(c.parameters.contains_key("classes.forest.dead_wood_tc_ha"));
    }

    #[test]
    fn per_stratum_models_and_flags() {
        use crate::biomass::model::{ModelFile, MODEL_FORMAT};
        let mut a = crate::biomass::model::tests::loglog_model(1.2, 1.5, 0.2);
        a.stratum = Some("1".into());
        let mut b = a.clone();
        b.stratum = Some("2".into());
        b.coefficients[0].estimate = 0.2;
        let mf = ModelFile {
            format: MODEL_FORMAT.into(),
            software: String::new(),
            response: "agb_t_ha".into(),
            strata_column: Some("forest_type".into()),
            metric_options: None,
            source_table: String::new(),
            models: vec![a, b],
        };
        let grid = Grid {
            x_min: 0.0,
            y_max: 20.0,
            res_m: 10.0,
            ncols: 5,
            nrows: 1,
        };
        let mut zmean = Raster::filled(grid, f64::NAN);
        let mut strata = Raster::filled(grid, f64::NAN);
        // stratum 1 at 15 m; stratum 2 at 15 m; stratum 3 (no model); no data; 40 m (outside).
        for (c, (z, s)) in [
            (15.0, 1.0),
            (15.0, 2.0),
            (15.0, 3.0),
            (f64::NAN, 1.0),
            (40.0, 1.0),
        ]
        .into_iter()
        .enumerate()
        {
            zmean.data[[0, c]] = z;
            strata.data[[0, c]] = s;
        }
        let bands = BTreeMap::from([("zmean".to_string(), zmean)]);
        let out = predict_agb(&mf, &bands, Some(&strata)).unwrap();
        assert!((out.agb_t_ha[0] - 196.778).abs() < 5e-4);
        assert!((out.agb_t_ha[1] / out.agb_t_ha[0] - (-1.0f64).exp()).abs() < 1e-12);
        assert_eq!(
            out.flag,
            vec![0, 0, flag::NO_MODEL, flag::NO_DATA, flag::OUTSIDE_RANGE]
        );
        assert!(out.agb_t_ha[2].is_nan() && out.agb_t_ha[3].is_nan());
        assert!(out.agb_t_ha[4] > 0.0);
        let s = out.summary();
        assert_eq!(
            (s.predicted, s.no_model, s.no_data, s.outside_range),
            (3, 1, 1, 1)
        );
        // A stratified model needs a stratum raster.
        assert!(predict_agb(&mf, &bands, None).is_err());
        let r = out.raster(&out.agb_t_ha, -9999.0);
        assert_eq!(r.data[[0, 2]], -9999.0);
    }

    #[test]
    fn user_parameters_are_recorded() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("p.toml");
        std::fs::write(
            &f,
            "[carbon_fraction]\nwood = 0.5\n[classes.forest]\ndead_wood_tc_ha = { mean = 4.0, sd = 2.0, source = \"plot tally\" }\n",
        )
        .unwrap();
        let p = Params::load(Some(&f)).unwrap();
        let c = carbon_density(&one_cell(100.0), &p, &CarbonOptions::default()).unwrap();
        assert!((c.agc[0] - 50.0).abs() < 1e-12);
        assert_eq!(c.dw.as_ref().unwrap()[0], 4.0);
        assert_eq!(
            c.parameters["carbon_fraction.wood"].1,
            f.display().to_string()
        );
        assert_eq!(
            c.parameters["classes.forest.dead_wood_tc_ha.mean"].1,
            f.display().to_string()
        );
        assert!(carbon_density(
            &one_cell(100.0),
            &p,
            &CarbonOptions {
                zone: Some("nowhere".into()),
                ..Default::default()
            }
        )
        .is_err());
    }
}

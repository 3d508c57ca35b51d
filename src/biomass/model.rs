//! The model file: a calibrated plot-level biomass model with everything needed to predict
//! and to propagate its uncertainty (coefficients, their covariance, the residual standard
//! error, n, the calibration range of each predictor, the transform and its back-transform
//! correction), and prediction from metric values.
//!
//! Model forms (ln = natural log; x_j = predictor metric values):
//! * `loglog`: ln y = β₀ + Σβ_j ln x_j + ε, ŷ = exp(β₀ + Σβ_j ln x_j) · CF, CF = exp(SEE²/2)
//!   (Baskerville 1972) or mean(exp(e_i)) (Duan 1983 smearing) or 1;
//! * `power`: y = a·Πx_j^b_j + ε, by NLS on the original scale;
//! * `linear`: y = β₀ + Σβ_j x_j + ε (the untransformed OLS, used for the statsmodels check
//!   and for responses that are not biomass).
//!
//! Prediction standard errors for one cell with predictor values x (Σ = coefficient
//! covariance, SEE the residual standard error of the fitting scale):
//! * `loglog`, delta method on the log scale: with g = (1, ln x₁, …), v_model = gᵀΣg;
//!   SE_model = ŷ·√v_model and SE = ŷ·√(v_model + SEE²) — the first-order (delta-method)
//!   standard error of exp(·) around the corrected prediction;
//! * `power` and `linear`: g = ∂ŷ/∂θ; SE_model = √(gᵀΣg), SE = √(gᵀΣg + SEE²).
//!
//! SE_model is the parameter part, which does not average out over cells (carbon-accounting.md
//! §5.3); SE adds the residual variance of a single cell, which largely does.
//!
//! A predictor value x ≤ 0 in a log–log model: with β_j > 0 the prediction is its limit 0
//! (no canopy → no biomass) with undefined SE; with β_j < 0 there is no prediction.
//!
//! See also: [`super::calibrate`] (fitting), [`super::predict`] (rasters).

use super::nls::{power_gradient, power_value};
use super::stats::FitStats;
use serde::{Deserialize, Serialize};

/// Identifies the file format.
pub const MODEL_FORMAT: &str = "landcarbon-biomass-model/1";

/// Model form.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum ModelForm {
    #[default]
    Loglog,
    Power,
    Linear,
}

impl std::str::FromStr for ModelForm {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "loglog" | "log" => Ok(ModelForm::Loglog),
            "power" | "nls" => Ok(ModelForm::Power),
            "linear" | "ols" => Ok(ModelForm::Linear),
            o => Err(format!("unknown model form '{o}' (loglog, power, linear)")),
        }
    }
}

/// Back-transformation correction of a log model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Correction {
    /// exp(SEE²/2) (Baskerville 1972).
    #[default]
    Baskerville,
    /// mean(exp(eᵢ)) (Duan 1983 smearing).
    Duan,
    /// No correction (biased low).
    None,
}

impl std::str::FromStr for Correction {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "baskerville" => Ok(Correction::Baskerville),
            "duan" | "smearing" => Ok(Correction::Duan),
            "none" => Ok(Correction::None),
            o => Err(format!(
                "unknown correction '{o}' (baskerville, duan, none)"
            )),
        }
    }
}

impl Correction {
    /// The correction factor from the log-scale residuals `e` and the SEE.
    pub fn factor(self, residuals: &[f64], see: f64) -> f64 {
        match self {
            Correction::Baskerville => (see * see / 2.0).exp(),
            Correction::Duan => {
                residuals.iter().map(|e| e.exp()).sum::<f64>() / residuals.len() as f64
            }
            Correction::None => 1.0,
        }
    }
}

/// One coefficient with its test.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Coefficient {
    /// `(intercept)`, `ln(zmean)`, `a`, `b[zmean]`, `zmean`, …
    pub term: String,
    pub estimate: f64,
    pub se: f64,
    pub t: f64,
    pub p: f64,
}

/// Calibration range of one predictor.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PredictorRange {
    pub name: String,
    pub min: f64,
    pub max: f64,
}

/// Statistics of the fit on the fitting scale (log scale for `loglog`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ScaleFit {
    pub r2: f64,
    pub adj_r2: f64,
    pub see: f64,
    pub aic: f64,
    pub bic: f64,
    pub llf: f64,
}

/// Observed, fitted and LOOCV-predicted value of one plot.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Observation {
    pub id: String,
    pub observed: f64,
    pub fitted: f64,
    pub loocv: f64,
}

/// A candidate considered during selection and what happened to it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Considered {
    pub predictors: Vec<String>,
    pub score: f64,
    pub verdict: String,
}

/// How the predictors were chosen.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Selection {
    /// `fixed` (given by the user), `bic` or `adj_r2`.
    pub method: String,
    pub candidates: Vec<String>,
    pub subsets_evaluated: usize,
    /// The best-ranked candidates in rank order, down to the selected one.
    pub considered: Vec<Considered>,
}

/// One fitted model (one stratum).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FittedModel {
    /// Stratum value, or `None` for a model of all plots.
    pub stratum: Option<String>,
    pub response: String,
    pub form: ModelForm,
    pub predictors: Vec<String>,
    pub coefficients: Vec<Coefficient>,
    /// Covariance of the coefficients (same order), on the fitting scale.
    pub covariance: Vec<Vec<f64>>,
    pub n: usize,
    /// Residual degrees of freedom.
    pub df: usize,
    /// Residual standard error of the fitting scale (log units for `loglog`).
    pub see: f64,
    /// Back-transformation of a `loglog` model.
    pub correction: Option<Correction>,
    /// Its factor (1 for other forms).
    pub correction_factor: f64,
    pub ranges: Vec<PredictorRange>,
    pub vif: Vec<f64>,
    pub fit_scale: ScaleFit,
    /// Statistics of the fitted values on the original scale.
    pub fit: FitStats,
    /// Statistics of leave-one-out predictions on the original scale.
    pub loocv: FitStats,
    pub observations: Vec<Observation>,
    pub selection: Selection,
    /// Non-fatal remarks (non-convergence, dropped rows or candidates).
    #[serde(default)]
    pub notes: Vec<String>,
}

/// A prediction for one set of predictor values.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Prediction {
    pub value: f64,
    /// Parameter-uncertainty standard error.
    pub se_model: f64,
    /// Standard error including the residual variance.
    pub se: f64,
    /// Some predictor lies outside its calibration range.
    pub outside_range: bool,
}

impl FittedModel {
    fn estimates(&self) -> Vec<f64> {
        self.coefficients.iter().map(|c| c.estimate).collect()
    }

    fn quad(&self, g: &[f64]) -> f64 {
        let mut v = 0.0;
        for (i, gi) in g.iter().enumerate() {
            for (j, gj) in g.iter().enumerate() {
                v += gi * self.covariance[i][j] * gj;
            }
        }
        v.max(0.0)
    }

    /// Predicts from predictor values `x` (in the order of `predictors`). `None` when no
    /// prediction is defined (a non-finite input, or x ≤ 0 with a negative log–log exponent).
    pub fn predict(&self, x: &[f64]) -> Option<Prediction> {
        if x.len() != self.predictors.len() || x.iter().any(|v| !v.is_finite()) {
            return None;
        }
        let outside_range = x
            .iter()
            .zip(&self.ranges)
            .any(|(v, r)| *v < r.min || *v > r.max);
        let th = self.estimates();
        match self.form {
            ModelForm::Loglog => {
                let mut g = Vec::with_capacity(th.len());
                g.push(1.0);
                let mut lin = th[0];
                let mut zero = false;
                for (v, b) in x.iter().zip(&th[1..]) {
                    if *v <= 0.0 {
                        if *b > 0.0 {
                            zero = true;
                            g.push(0.0);
                            continue;
                        }
                        return None;
                    }
                    lin += b * v.ln();
                    g.push(v.ln());
                }
                if zero {
                    return Some(Prediction {
                        value: 0.0,
                        se_model: f64::NAN,
                        se: f64::NAN,
                        outside_range: true,
                    });
                }
                let value = lin.exp() * self.correction_factor;
                let vm = self.quad(&g);
                Some(Prediction {
                    value,
                    se_model: value * vm.sqrt(),
                    se: value * (vm + self.see * self.see).sqrt(),
                    outside_range,
                })
            }
            ModelForm::Power => {
                if x.iter().any(|v| *v <= 0.0) {
                    // 0^b: the limit 0 for b > 0; undefined otherwise.
                    if x.iter().zip(&th[1..]).all(|(v, b)| *v > 0.0 || *b > 0.0) {
                        return Some(Prediction {
                            value: 0.0,
                            se_model: f64::NAN,
                            se: f64::NAN,
                            outside_range: true,
                        });
                    }
                    return None;
                }
                let value = power_value(&th, x);
                let vm = self.quad(&power_gradient(&th, x));
                Some(Prediction {
                    value,
                    se_model: vm.sqrt(),
                    se: (vm + self.see * self.see).sqrt(),
                    outside_range,
                })
            }
            ModelForm::Linear => {
                let mut g = vec![1.0];
                g.extend_from_slice(x);
                let value: f64 = g.iter().zip(&th).map(|(a, b)| a * b).sum();
                let vm = self.quad(&g);
                Some(Prediction {
                    value,
                    se_model: vm.sqrt(),
                    se: (vm + self.see * self.see).sqrt(),
                    outside_range,
                })
            }
        }
    }
}

/// A model file: one model, or one per stratum.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelFile {
    pub format: String,
    pub software: String,
    pub response: String,
    /// Column whose values name the strata (`None`: one model for all plots).
    pub strata_column: Option<String>,
    /// The metric options of the plot metrics, when known (from the metrics run record).
    #[serde(default)]
    pub metric_options: Option<serde_json::Value>,
    /// The table the models were calibrated on.
    pub source_table: String,
    pub models: Vec<FittedModel>,
}

impl ModelFile {
    /// Reads a model file.
    pub fn read(path: &std::path::Path) -> crate::Result<ModelFile> {
        let text = std::fs::read_to_string(path).map_err(|e| crate::Error::io(path, e))?;
        let m: ModelFile = serde_json::from_str(&text)
            .map_err(|e| crate::Error::data(path.display(), format!("model file: {e}")))?;
        if m.format != MODEL_FORMAT {
            return Err(crate::Error::data(
                path.display(),
                format!("not a {MODEL_FORMAT} file (format '{}')", m.format),
            ));
        }
        for f in &m.models {
            let k = f.coefficients.len();
            if f.covariance.len() != k
                || f.covariance.iter().any(|r| r.len() != k)
                || f.ranges.len() != f.predictors.len()
            {
                return Err(crate::Error::data(
                    path.display(),
                    "inconsistent model: covariance or ranges do not match the coefficients",
                ));
            }
        }
        Ok(m)
    }

    /// Writes the model file (pretty JSON).
    pub fn write(&self, path: &std::path::Path) -> crate::Result<()> {
        let text = serde_json::to_string_pretty(self)
            .map_err(|e| crate::Error::data(path.display(), e))?;
        std::fs::write(path, text).map_err(|e| crate::Error::io(path, e))
    }

    /// The model of a stratum (or the only model when the file has no strata).
    pub fn model_for(&self, stratum: Option<&str>) -> Option<&FittedModel> {
        match (&self.strata_column, stratum) {
            (None, _) => self.models.first(),
            (Some(_), Some(s)) => self.models.iter().find(|m| m.stratum.as_deref() == Some(s)),
            (Some(_), None) => None,
        }
    }

    /// A human-readable summary of every model.
    pub fn summary(&self) -> String {
        use std::fmt::Write;
        let mut s = String::new();
        let _ = writeln!(s, "landcarbon biomass model ({})", self.software);
        let _ = writeln!(
            s,
            "response: {}   table: {}",
            self.response, self.source_table
        );
        if let Some(c) = &self.strata_column {
            let _ = writeln!(s, "strata column: {c} ({} models)", self.models.len());
        }
        for m in &self.models {
            let _ = writeln!(s);
            if let Some(st) = &m.stratum {
                let _ = writeln!(s, "=== stratum {st} ===");
            }
            let form = match m.form {
                ModelForm::Loglog => format!(
                    "ln({}) = b0 + sum b_j ln(x_j);  back-transform {:?} factor {:.6}",
                    m.response,
                    m.correction.unwrap_or(Correction::None),
                    m.correction_factor
                ),
                ModelForm::Power => format!(
                    "{} = a * prod x_j^b_j  (NLS, Levenberg-Marquardt)",
                    m.response
                ),
                ModelForm::Linear => format!("{} = b0 + sum b_j x_j  (OLS)", m.response),
            };
            let _ = writeln!(s, "model: {form}");
            let _ = writeln!(
                s,
                "predictors: {}   n = {}   df = {}   selection: {} ({} subsets evaluated)",
                m.predictors.join(", "),
                m.n,
                m.df,
                m.selection.method,
                m.selection.subsets_evaluated
            );
            let _ = writeln!(
                s,
                "\n{:<22} {:>12} {:>12} {:>9} {:>10}",
                "term", "estimate", "std.err", "t", "p"
            );
            for c in &m.coefficients {
                let _ = writeln!(
                    s,
                    "{:<22} {:>12.6} {:>12.6} {:>9.3} {:>10.3e}",
                    c.term, c.estimate, c.se, c.t, c.p
                );
            }
            let _ = writeln!(
                s,
                "\nfitting scale: R2 {:.4}  adj R2 {:.4}  SEE {:.5}  AIC {:.2}  BIC {:.2}",
                m.fit_scale.r2, m.fit_scale.adj_r2, m.see, m.fit_scale.aic, m.fit_scale.bic
            );
            if m.predictors.len() > 1 {
                let v: Vec<String> = m
                    .predictors
                    .iter()
                    .zip(&m.vif)
                    .map(|(p, v)| format!("{p} {v:.2}"))
                    .collect();
                let _ = writeln!(s, "VIF: {}", v.join(", "));
            }
            let r: Vec<String> = m
                .ranges
                .iter()
                .map(|r| format!("{} [{:.4}, {:.4}]", r.name, r.min, r.max))
                .collect();
            let _ = writeln!(s, "calibration range: {}", r.join(", "));
            let _ = writeln!(
                s,
                "\n{:<10} {:>7} {:>7} {:>10} {:>8} {:>10} {:>8} {:>10} {:>8} {:>8} {:>8} {:>8}",
                "",
                "R2",
                "adjR2",
                "RMSE",
                "rRMSE%",
                "bias",
                "bias%",
                "SEE",
                "TRE%",
                "ASE%",
                "MPE%",
                "MPSE%"
            );
            for (name, f) in [("fitted", &m.fit), ("LOOCV", &m.loocv)] {
                let _ = writeln!(
                    s,
                    "{:<10} {:>7.4} {:>7.4} {:>10.4} {:>8.2} {:>10.4} {:>8.2} {:>10.4} {:>8.2} {:>8.2} {:>8.2} {:>8.2}",
                    name, f.r2, f.adj_r2, f.rmse, f.rrmse_pct, f.bias, f.rel_bias_pct, f.see,
                    f.tre_pct, f.ase_pct, f.mpe_pct, f.mpse_pct
                );
            }
            let _ = writeln!(
                s,
                "(original scale; mean observed {:.4})",
                m.fit.mean_observed
            );
            if !m.selection.considered.is_empty() && m.selection.method != "fixed" {
                let _ = writeln!(s, "\nbest-ranked subsets ({}):", m.selection.method);
                for c in &m.selection.considered {
                    let _ = writeln!(
                        s,
                        "  {:<40} {:>10.4}  {}",
                        c.predictors.join(" + "),
                        c.score,
                        c.verdict
                    );
                }
            }
            for n in &m.notes {
                let _ = writeln!(s, "note: {n}");
            }
        }
        s
    }

    /// Every predictor any model uses (sorted, unique).
    pub fn all_predictors(&self) -> Vec<String> {
        let mut v: Vec<String> = self
            .models
            .iter()
            .flat_map(|m| m.predictors.iter().cloned())
            .collect();
        v.sort();
        v.dedup();
        v
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn loglog_model(b0: f64, b1: f64, see: f64) -> FittedModel {
        FittedModel {
            stratum: None,
            response: "agb_t_ha".into(),
            form: ModelForm::Loglog,
            predictors: vec!["zmean".into()],
            coefficients: vec![
                Coefficient {
                    term: "(intercept)".into(),
                    estimate: b0,
                    se: 0.1,
                    t: 0.0,
                    p: 0.0,
                },
                Coefficient {
                    term: "ln(zmean)".into(),
                    estimate: b1,
                    se: 0.05,
                    t: 0.0,
                    p: 0.0,
                },
            ],
            covariance: vec![vec![0.01, -0.004], vec![-0.004, 0.0025]],
            n: 30,
            df: 28,
            see,
            correction: Some(Correction::Baskerville),
            correction_factor: Correction::Baskerville.factor(&[], see),
            ranges: vec![PredictorRange {
                name: "zmean".into(),
                min: 5.0,
                max: 25.0,
            }],
            vif: vec![1.0],
            fit_scale: ScaleFit::default(),
            fit: FitStats::default(),
            loocv: FitStats::default(),
            observations: vec![],
            selection: Selection::default(),
            notes: vec![],
        }
    }

    #[test]
    fn worked_check_baskerville_back_transform() {
        // carbon-accounting.md §2: β₀ 1.2, β₁ 1.5, SEE 0.20, h_mean 15 m → raw 192.881 t/ha,
        // CF 1.020201, corrected 196.778 t/ha.
        let m = loglog_model(1.2, 1.5, 0.20);
        let raw = (1.2f64 + 1.5 * 15f64.ln()).exp();
        assert!((raw - 192.881).abs() < 5e-4, "{raw}");
        assert!((m.correction_factor - 1.020201).abs() < 5e-7);
        let p = m.predict(&[15.0]).unwrap();
        assert!((p.value - 196.778).abs() < 5e-4, "{}", p.value);
        assert!(!p.outside_range);
        // Delta method: g = (1, ln 15); v = 0.01 − 2·0.004·ln15 + 0.0025·ln²15.
        let l = 15f64.ln();
        let v = 0.01 - 2.0 * 0.004 * l + 0.0025 * l * l;
        assert!((p.se_model - p.value * v.sqrt()).abs() < 1e-9);
        assert!((p.se - p.value * (v + 0.04).sqrt()).abs() < 1e-9);
        assert!(m.predict(&[30.0]).unwrap().outside_range);
        // Zero canopy with a positive exponent → 0 t/ha.
        assert_eq!(m.predict(&[0.0]).unwrap().value, 0.0);
        assert!(m.predict(&[f64::NAN]).is_none());
    }

    #[test]
    fn duan_factor() {
        let e = [0.1, -0.1, 0.2, -0.2];
        let f = Correction::Duan.factor(&e, 0.0);
        let want = (0.1f64.exp() + (-0.1f64).exp() + 0.2f64.exp() + (-0.2f64).exp()) / 4.0;
        assert!((f - want).abs() < 1e-15);
        assert_eq!(Correction::None.factor(&e, 0.3), 1.0);
    }
}

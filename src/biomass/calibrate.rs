//! Calibration of a plot-level biomass model from LiDAR plot metrics (carbon-accounting.md §2
//! steps 3–4): log–log multiple regression with best-subset selection, the power model by
//! NLS, per-stratum models, and leave-one-out cross-validation.
//!
//! **Selection** (the practice of lidaRtRee's `aba_build_model`, Monnet; Næsset 2002):
//! 1. candidates: the predictor columns given (`predictors`, with `a..b` column ranges), else
//!    every standard metric column of the table except `n` and `itot` (they scale with point
//!    density and plot size, so a plot model on them does not transfer to grid cells);
//!    `exclude` removes names. A candidate with a missing value on a plot is dropped (noted);
//!    for log forms, so is one with a value ≤ 0 (as lidaRtRee's log transform does);
//! 2. every subset of 1 … `max_predictors` (default 3) candidates is fitted on the fitting
//!    scale (ln y on ln x for `loglog` and `power`, y on x for `linear`) through the centered
//!    cross-product matrix and ranked by adjusted R² (default, as lidaRtRee) or BIC; the best
//!    20 000 are kept;
//! 3. going down the ranking, the first subset that passes every check is selected: all slope
//!    p values < `alpha` (0.05), every VIF < `max_vif` (5), and every coefficient sign as
//!    expected (`positive` / `negative` name patterns with `*` and `?`; by default height and
//!    cover metrics — `zmax`, `zmean`, `zq*`, `mch`, `cover`, `pzabove*`, `d?` — must enter
//!    with a positive sign). lidaRtRee also applies `gvlma` residual tests; we do not (the
//!    residual plots are written instead). lidaRtRee checks only the 20 best subsets per size.
//!
//! With `fixed = true` the given predictors are used as they are (no selection).
//!
//! **Fits.** `loglog`: OLS (QR) of ln y; predictions back-transformed with exp(SEE²/2)
//! (Baskerville 1972, default), Duan's smearing mean(exp(eᵢ)), or none. `power`:
//! y = a·Πx_j^b_j by Levenberg–Marquardt ([`super::nls`]) on the predictors selected on the
//! log–log scale (or given), started from the log–log fit. `linear`: OLS of y.
//!
//! **LOOCV.** For each plot, the model with the same predictors is refitted without it
//! (coefficients *and* back-transformation factor recomputed in the fold, as lidaRtRee) and
//! predicts it; statistics are computed on the original scale. The predictors are not
//! reselected inside the folds, so LOOCV statistics are slightly optimistic about selection.
//!
//! **Strata.** With a strata column, one model per stratum value, each selected and validated
//! on its own plots; strata with too few plots (fewer than 2 + 2·`max_predictors`, minimum 6)
//! are skipped with a warning.
//!
//! See also: [`super::stats`] (definitions of the statistics), [`super::model`] (the model
//! file and prediction), [`super::figures`].

use super::model::{
    Coefficient, Considered, Correction, FittedModel, ModelFile, ModelForm, Observation,
    PredictorRange, ScaleFit, Selection, MODEL_FORMAT,
};
use super::nls::fit_power;
use super::stats::{design, fit_stats, ols, vif, Ols};
use crate::algo::metrics::METRIC_NAMES;
use crate::vector::plot_rows::{invalid_value, SeenIds};
use crate::vector::Table;
use crate::{Error, Result};
use std::collections::{BTreeMap, BinaryHeap};

/// Ranking criterion of the subset search.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Criterion {
    /// Adjusted R² on the fitting scale (lidaRtRee).
    #[default]
    AdjR2,
    /// Bayesian information criterion (statsmodels' OLS BIC).
    Bic,
}

impl std::str::FromStr for Criterion {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s {
            "adj_r2" | "adjr2" => Ok(Criterion::AdjR2),
            "bic" => Ok(Criterion::Bic),
            o => Err(format!("unknown criterion '{o}' (adj_r2, bic)")),
        }
    }
}

/// Calibration options (the `[calibrate]` section of the configuration).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CalibrateOptions {
    /// Response column (field AGB in t/ha, or any plot variable).
    pub response: String,
    /// Plot id column (default `plot_id`, else `id`, else row numbers).
    pub id_col: Option<String>,
    /// Column whose values define strata (one model per value).
    pub strata: Option<String>,
    pub form: ModelForm,
    /// Predictor columns (`a..b` = every column from a to b in table order). Empty = the
    /// standard metric columns of the table.
    pub predictors: Vec<String>,
    /// Columns never used as predictors.
    pub exclude: Vec<String>,
    /// Use `predictors` as given, without selection.
    pub fixed: bool,
    pub max_predictors: usize,
    pub criterion: Criterion,
    pub max_vif: f64,
    pub alpha: f64,
    pub correction: Correction,
    /// Name patterns of predictors whose coefficient must be positive.
    pub positive: Vec<String>,
    /// Name patterns of predictors whose coefficient must be negative.
    pub negative: Vec<String>,
}

impl Default for CalibrateOptions {
    fn default() -> Self {
        CalibrateOptions {
            response: "agb_t_ha".into(),
            id_col: None,
            strata: None,
            form: ModelForm::Loglog,
            predictors: Vec::new(),
            exclude: Vec::new(),
            fixed: false,
            max_predictors: 3,
            criterion: Criterion::AdjR2,
            max_vif: 5.0,
            alpha: 0.05,
            correction: Correction::Baskerville,
            positive: ["zmax", "zmean", "zq*", "mch", "cover", "pzabove*", "d?"]
                .map(String::from)
                .to_vec(),
            negative: Vec::new(),
        }
    }
}

/// Subsets kept from the exhaustive search for validation.
const KEEP_BEST: usize = 20_000;

/// Plots ready for fitting: response and candidate predictor columns without missing values.
#[derive(Debug, Clone, Default)]
pub struct PlotData {
    pub ids: Vec<String>,
    pub y: Vec<f64>,
    pub names: Vec<String>,
    /// Columns, one per name.
    pub cols: Vec<Vec<f64>>,
    /// Remarks on dropped rows and columns.
    pub notes: Vec<String>,
}

/// R², adjusted R², SEE, AIC, BIC and log-likelihood of fitted values on the response's own
/// scale, with Gaussian errors and `k` estimated coefficients.
fn original_scale_fit(y: &[f64], fitted: &[f64], k: usize) -> ScaleFit {
    let n = y.len() as f64;
    let mean = y.iter().sum::<f64>() / n;
    let sst: f64 = y.iter().map(|v| (v - mean).powi(2)).sum();
    let sse: f64 = y.iter().zip(fitted).map(|(a, b)| (a - b).powi(2)).sum();
    let r2 = 1.0 - sse / sst;
    let df = n - k as f64;
    let llf = -n / 2.0 * ((2.0 * std::f64::consts::PI).ln() + (sse / n).ln() + 1.0);
    ScaleFit {
        r2,
        adj_r2: 1.0 - (1.0 - r2) * (n - 1.0) / df,
        see: (sse / df).sqrt(),
        aic: -2.0 * llf + 2.0 * k as f64,
        bic: -2.0 * llf + k as f64 * n.ln(),
        llf,
    }
}

/// Simple glob: `*` any run, `?` one character.
pub fn glob_match(pat: &str, name: &str) -> bool {
    fn rec(p: &[char], n: &[char]) -> bool {
        match (p.first(), n.first()) {
            (None, None) => true,
            (Some('*'), _) => rec(&p[1..], n) || (!n.is_empty() && rec(p, &n[1..])),
            (Some('?'), Some(_)) => rec(&p[1..], &n[1..]),
            (Some(a), Some(b)) if a == b => rec(&p[1..], &n[1..]),
            _ => false,
        }
    }
    let p: Vec<char> = pat.chars().collect();
    let n: Vec<char> = name.chars().collect();
    rec(&p, &n)
}

/// Expands a predictor spec (`a..b` ranges in table column order) into column names.
pub fn expand_predictors(table: &Table, spec: &[String]) -> Result<Vec<String>> {
    let mut out = Vec::new();
    for s in spec {
        for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            if let Some((a, b)) = part.split_once("..") {
                let ia = table.require(a, "predictors")?;
                let ib = table.require(b, "predictors")?;
                if ia > ib {
                    return Err(Error::Config(format!(
                        "predictor range {part}: '{a}' comes after '{b}' in the table"
                    )));
                }
                out.extend(table.columns[ia..=ib].iter().cloned());
            } else {
                table.require(part, "predictors")?;
                out.push(table.columns[table.col(part).unwrap()].clone());
            }
        }
    }
    out.dedup();
    Ok(out)
}

impl PlotData {
    /// Builds the data of the rows `rows` of `table` for `opts`.
    pub fn from_table(table: &Table, rows: &[usize], opts: &CalibrateOptions) -> Result<PlotData> {
        let what = "calibration table";
        let yc = table.require(&opts.response, what)?;
        let id_col = match &opts.id_col {
            Some(c) => Some(table.require(c, what)?),
            None => table.col("plot_id").or_else(|| table.col("id")),
        };
        let yall = table.numeric(yc, what)?;
        let log_form = opts.form != ModelForm::Linear;
        let mut notes = Vec::new();
        // Candidate names.
        let mut names: Vec<String> = if opts.predictors.is_empty() {
            METRIC_NAMES
                .iter()
                .filter(|m| !matches!(**m, "n" | "itot"))
                .filter_map(|m| table.col(m).map(|c| table.columns[c].clone()))
                .collect()
        } else {
            expand_predictors(table, &opts.predictors)?
        };
        if names.is_empty() {
            return Err(Error::data(
                what,
                "the table has no standard metric column: name the predictor columns (--predictors)",
            ));
        }
        let skip: Vec<&str> = [Some(opts.response.as_str()), opts.strata.as_deref()]
            .into_iter()
            .flatten()
            .collect();
        names.retain(|n| {
            !skip.iter().any(|s| s.eq_ignore_ascii_case(n))
                && !opts.exclude.iter().any(|e| glob_match(e, n))
                && id_col.map(|c| table.columns[c] != *n).unwrap_or(true)
        });
        // Field values and plot ids as `account` checks its plot tables (`plot_rows`).
        let id_of = |r: usize| -> String {
            id_col
                .and_then(|c| table.rows[r].get(c).map(|s| s.trim().to_string()))
                .unwrap_or_else(|| format!("row {}", r + 1))
        };
        let mut seen = SeenIds::default();
        for &r in rows {
            if let Some(e) = yall[r].and_then(|v| invalid_value(&id_of(r), &opts.response, v)) {
                return Err(Error::data(what, e));
            }
            if id_col.is_some() {
                seen.insert(&id_of(r), &format!("row {}", r + 1))
                    .map_err(|e| Error::data(what, e))?;
            }
        }
        // Rows: response present (and > 0 for log forms).
        let mut keep: Vec<usize> = Vec::new();
        let (mut n_missing, mut n_nonpos) = (0, 0);
        for &r in rows {
            match yall[r] {
                None => n_missing += 1,
                Some(v) if log_form && v <= 0.0 => n_nonpos += 1,
                Some(_) => keep.push(r),
            }
        }
        if n_missing > 0 {
            notes.push(format!(
                "{n_missing} plots without a response value left out"
            ));
        }
        if n_nonpos > 0 {
            notes.push(format!(
                "{n_nonpos} plots with a response ≤ 0 left out (log transform)"
            ));
        }
        let mut cols_raw: Vec<(String, Vec<Option<f64>>)> = Vec::new();
        for n in &names {
            let c = table.col(n).unwrap();
            if !table.is_numeric(c) {
                if opts.predictors.is_empty() {
                    continue;
                }
                return Err(Error::data(what, format!("predictor '{n}' is not numeric")));
            }
            let v = table.numeric(c, what)?;
            cols_raw.push((n.clone(), v));
        }
        if opts.fixed {
            // Drop rows with a missing or unusable predictor value.
            let before = keep.len();
            keep.retain(|&r| {
                cols_raw.iter().all(|(_, v)| match v[r] {
                    None => false,
                    Some(x) => !log_form || x > 0.0,
                })
            });
            if keep.len() < before {
                notes.push(format!(
                    "{} plots with a missing (or, for log forms, non-positive) predictor left out",
                    before - keep.len()
                ));
            }
        }
        let mut out_names = Vec::new();
        let mut cols = Vec::new();
        for (n, v) in cols_raw {
            let vals: Vec<Option<f64>> = keep.iter().map(|&r| v[r]).collect();
            if vals.iter().any(|x| x.is_none()) {
                notes.push(format!("candidate '{n}' has missing values: not used"));
                continue;
            }
            let vals: Vec<f64> = vals.into_iter().map(|x| x.unwrap()).collect();
            if log_form && vals.iter().any(|x| *x <= 0.0) {
                notes.push(format!(
                    "candidate '{n}' has values ≤ 0: not usable on the log scale"
                ));
                continue;
            }
            let first = vals.first().copied().unwrap_or(0.0);
            if vals.iter().all(|x| *x == first) {
                notes.push(format!("candidate '{n}' is constant: not used"));
                continue;
            }
            out_names.push(n);
            cols.push(vals);
        }
        if opts.fixed && out_names.len() != names.len() {
            return Err(Error::data(
                what,
                format!("fixed predictors unusable: {}", notes.join("; ")),
            ));
        }
        let ids = keep
            .iter()
            .map(|&r| match id_col {
                Some(c) => table.cell(r, c).to_string(),
                None => (r + 1).to_string(),
            })
            .collect();
        let y = keep.iter().map(|&r| yall[r].unwrap()).collect();
        Ok(PlotData {
            ids,
            y,
            names: out_names,
            cols,
            notes,
        })
    }
}

/// Solves the symmetric positive-definite k×k system `a·x = b` by Cholesky, `None` when not
/// numerically positive definite.
fn chol_solve(a: &mut [f64], b: &[f64], k: usize) -> Option<Vec<f64>> {
    let diag0: Vec<f64> = (0..k).map(|i| a[i * k + i]).collect();
    for j in 0..k {
        let mut d = a[j * k + j];
        for p in 0..j {
            d -= a[j * k + p] * a[j * k + p];
        }
        if d.is_nan() || d <= 1e-10 * diag0[j] {
            return None;
        }
        let d = d.sqrt();
        a[j * k + j] = d;
        for i in j + 1..k {
            let mut s = a[i * k + j];
            for p in 0..j {
                s -= a[i * k + p] * a[j * k + p];
            }
            a[i * k + j] = s / d;
        }
    }
    let mut z = vec![0.0; k];
    for i in 0..k {
        let mut s = b[i];
        for p in 0..i {
            s -= a[i * k + p] * z[p];
        }
        z[i] = s / a[i * k + i];
    }
    let mut x = vec![0.0; k];
    for i in (0..k).rev() {
        let mut s = z[i];
        for p in i + 1..k {
            s -= a[p * k + i] * x[p];
        }
        x[i] = s / a[i * k + i];
    }
    Some(x)
}

#[derive(Debug, Clone, PartialEq)]
struct Ranked {
    /// Lower is better.
    key: f64,
    subset: Vec<u16>,
}
impl Eq for Ranked {}
impl PartialOrd for Ranked {
    fn partial_cmp(&self, o: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for Ranked {
    fn cmp(&self, o: &Self) -> std::cmp::Ordering {
        self.key
            .total_cmp(&o.key)
            .then_with(|| self.subset.cmp(&o.subset))
    }
}

/// Exhaustive subset search on transformed columns `t` and response `ty`: the `keep` best
/// subsets (best first) with their criterion values, and the number evaluated.
fn best_subsets(
    t: &[Vec<f64>],
    ty: &[f64],
    kmax: usize,
    criterion: Criterion,
    keep: usize,
) -> (Vec<(f64, Vec<u16>)>, usize) {
    let m = t.len();
    let n = ty.len();
    let nf = n as f64;
    let mean = |v: &[f64]| v.iter().sum::<f64>() / nf;
    let my = mean(ty);
    let means: Vec<f64> = t.iter().map(|c| mean(c)).collect();
    let mut cxx = vec![0.0; m * m];
    let mut cxy = vec![0.0; m];
    for a in 0..m {
        for b in a..m {
            let s: f64 = (0..n)
                .map(|i| (t[a][i] - means[a]) * (t[b][i] - means[b]))
                .sum();
            cxx[a * m + b] = s;
            cxx[b * m + a] = s;
        }
        cxy[a] = (0..n).map(|i| (t[a][i] - means[a]) * (ty[i] - my)).sum();
    }
    let syy: f64 = ty.iter().map(|v| (v - my).powi(2)).sum();
    let mut heap: BinaryHeap<Ranked> = BinaryHeap::new();
    let mut evaluated = 0usize;
    let mut subset: Vec<u16> = Vec::with_capacity(kmax);
    let mut abuf = vec![0.0; kmax * kmax];
    let mut bbuf = vec![0.0; kmax];
    #[allow(clippy::too_many_arguments)]
    fn rec(
        start: usize,
        m: usize,
        kmax: usize,
        subset: &mut Vec<u16>,
        visit: &mut dyn FnMut(&[u16]),
    ) {
        for j in start..m {
            subset.push(j as u16);
            visit(subset);
            if subset.len() < kmax {
                rec(j + 1, m, kmax, subset, visit);
            }
            subset.pop();
        }
    }
    let mut visit = |s: &[u16]| {
        let k = s.len();
        let p = k + 1;
        if n <= p + 1 {
            return;
        }
        evaluated += 1;
        for (i, &a) in s.iter().enumerate() {
            bbuf[i] = cxy[a as usize];
            for (j, &b) in s.iter().enumerate() {
                abuf[i * k + j] = cxx[a as usize * m + b as usize];
            }
        }
        let Some(beta) = chol_solve(&mut abuf[..k * k], &bbuf[..k], k) else {
            return;
        };
        let explained: f64 = beta.iter().zip(&bbuf[..k]).map(|(b, c)| b * c).sum();
        let rss = (syy - explained).max(syy * 1e-15).max(1e-300);
        let key = match criterion {
            Criterion::AdjR2 => -(1.0 - (rss / (nf - p as f64)) / (syy / (nf - 1.0))),
            Criterion::Bic => {
                let llf = -nf / 2.0 * ((2.0 * std::f64::consts::PI).ln() + (rss / nf).ln() + 1.0);
                -2.0 * llf + p as f64 * nf.ln()
            }
        };
        let r = Ranked {
            key,
            subset: s.to_vec(),
        };
        if heap.len() < keep {
            heap.push(r);
        } else if let Some(worst) = heap.peek() {
            if r < *worst {
                heap.pop();
                heap.push(r);
            }
        }
    };
    rec(0, m, kmax.min(m), &mut subset, &mut visit);
    let mut v = heap.into_sorted_vec();
    v.truncate(keep);
    let out = v
        .into_iter()
        .map(|r| {
            let score = match criterion {
                Criterion::AdjR2 => -r.key,
                Criterion::Bic => r.key,
            };
            (score, r.subset)
        })
        .collect();
    (out, evaluated)
}

fn transform(v: &[f64], log: bool) -> Vec<f64> {
    if log {
        v.iter().map(|x| x.ln()).collect()
    } else {
        v.to_vec()
    }
}

/// Fitting-scale OLS of the subset `idx` of transformed columns.
fn fit_subset(t: &[Vec<f64>], ty: &[f64], idx: &[usize]) -> Result<Ols> {
    let cols: Vec<&[f64]> = idx.iter().map(|&j| t[j].as_slice()).collect();
    ols(&design(&cols, ty.len()), ty)
}

/// Why a subset fails the checks (`None` when it passes).
fn check(
    fit: &Ols,
    t: &[Vec<f64>],
    idx: &[usize],
    names: &[String],
    opts: &CalibrateOptions,
) -> (Option<String>, Vec<f64>) {
    let cols: Vec<&[f64]> = idx.iter().map(|&j| t[j].as_slice()).collect();
    let v = vif(&cols);
    for (k, &j) in idx.iter().enumerate() {
        let name = &names[j];
        let p = fit.p[k + 1];
        if p.is_nan() || p >= opts.alpha {
            return (Some(format!("{name} not significant (p = {p:.3})")), v);
        }
        let b = fit.beta[k + 1];
        if b < 0.0 && opts.positive.iter().any(|pat| glob_match(pat, name)) {
            return (Some(format!("{name} enters with a negative sign")), v);
        }
        if b > 0.0 && opts.negative.iter().any(|pat| glob_match(pat, name)) {
            return (Some(format!("{name} enters with a positive sign")), v);
        }
    }
    if let Some((k, x)) = v
        .iter()
        .enumerate()
        .find(|(_, x)| x.is_nan() || **x >= opts.max_vif)
    {
        return (
            Some(format!(
                "VIF of {} = {x:.1} ≥ {}",
                names[idx[k]], opts.max_vif
            )),
            v,
        );
    }
    (None, v)
}

/// Calibrates one model on `data`.
pub fn calibrate(
    data: &PlotData,
    opts: &CalibrateOptions,
    stratum: Option<&str>,
) -> Result<FittedModel> {
    let what = format!(
        "calibration{}",
        stratum
            .map(|s| format!(" (stratum {s})"))
            .unwrap_or_default()
    );
    let n = data.y.len();
    if data.names.is_empty() {
        return Err(Error::data(
            &what,
            format!("no usable predictor ({})", data.notes.join("; ")),
        ));
    }
    if opts.max_predictors == 0 || opts.max_predictors > 6 {
        return Err(Error::Config(format!(
            "calibrate max_predictors must be 1 to 6, got {}",
            opts.max_predictors
        )));
    }
    let log_form = opts.form != ModelForm::Linear;
    let t: Vec<Vec<f64>> = data.cols.iter().map(|c| transform(c, log_form)).collect();
    let ty = transform(&data.y, log_form);
    let mut selection = Selection {
        method: if opts.fixed {
            "fixed".into()
        } else {
            match opts.criterion {
                Criterion::AdjR2 => "adj_r2".into(),
                Criterion::Bic => "bic".into(),
            }
        },
        candidates: data.names.clone(),
        ..Default::default()
    };
    let mut fixed_warning = None;
    let (idx, lin_fit, vifs) = if opts.fixed {
        let idx: Vec<usize> = (0..data.names.len()).collect();
        let f = fit_subset(&t, &ty, &idx).map_err(|e| Error::data(&what, e))?;
        let (verdict, v) = check(&f, &t, &idx, &data.names, opts);
        selection.subsets_evaluated = 1;
        if let Some(w) = &verdict {
            fixed_warning = Some(format!("fixed predictors fail a check: {w}"));
        }
        selection.considered.push(Considered {
            predictors: data.names.clone(),
            score: f.adj_r2,
            verdict: verdict.unwrap_or_else(|| "selected (fixed)".into()),
        });
        (idx, f, v)
    } else {
        if n < 5 {
            return Err(Error::data(
                &what,
                format!("{n} plots: too few to calibrate"),
            ));
        }
        let (ranked, evaluated) =
            best_subsets(&t, &ty, opts.max_predictors, opts.criterion, KEEP_BEST);
        selection.subsets_evaluated = evaluated;
        let mut chosen = None;
        for (score, s) in ranked {
            let idx: Vec<usize> = s.iter().map(|&j| j as usize).collect();
            let names: Vec<String> = idx.iter().map(|&j| data.names[j].clone()).collect();
            let f = match fit_subset(&t, &ty, &idx) {
                Ok(f) => f,
                Err(e) => {
                    if selection.considered.len() < 12 {
                        selection.considered.push(Considered {
                            predictors: names,
                            score,
                            verdict: e.to_string(),
                        });
                    }
                    continue;
                }
            };
            let (verdict, v) = check(&f, &t, &idx, &data.names, opts);
            let passed = verdict.is_none();
            if selection.considered.len() < 12 || passed {
                selection.considered.push(Considered {
                    predictors: names,
                    score,
                    verdict: verdict.unwrap_or_else(|| "selected".into()),
                });
            }
            if passed {
                chosen = Some((idx, f, v));
                break;
            }
        }
        chosen.ok_or_else(|| {
            Error::data(
                &what,
                format!(
                    "no subset of at most {} predictors among the best {KEEP_BEST} passes the checks (p < {}, VIF < {}, signs); relax them or fix the predictors",
                    opts.max_predictors, opts.alpha, opts.max_vif
                ),
            )
        })?
    };
    let names: Vec<String> = idx.iter().map(|&j| data.names[j].clone()).collect();
    let xcols: Vec<&[f64]> = idx.iter().map(|&j| data.cols[j].as_slice()).collect();
    let ranges = names
        .iter()
        .zip(&xcols)
        .map(|(nm, c)| PredictorRange {
            name: nm.clone(),
            min: c.iter().copied().fold(f64::INFINITY, f64::min),
            max: c.iter().copied().fold(f64::NEG_INFINITY, f64::max),
        })
        .collect();
    let mut notes = data.notes.clone();
    notes.extend(fixed_warning);
    let mut fit_scale = ScaleFit {
        r2: lin_fit.r2,
        adj_r2: lin_fit.adj_r2,
        see: lin_fit.sigma,
        aic: lin_fit.aic,
        bic: lin_fit.bic,
        llf: lin_fit.llf,
    };
    // Final fit and LOOCV on the original scale.
    let (coefficients, covariance, see, df, correction, cf, fitted, loocv) = match opts.form {
        ModelForm::Loglog | ModelForm::Linear => {
            let log = opts.form == ModelForm::Loglog;
            let corr = log.then_some(opts.correction);
            let cf = corr
                .map(|c| c.factor(&lin_fit.residuals, lin_fit.sigma))
                .unwrap_or(1.0);
            let fitted: Vec<f64> = lin_fit
                .fitted
                .iter()
                .map(|v| if log { v.exp() * cf } else { *v })
                .collect();
            let tcols: Vec<&[f64]> = idx.iter().map(|&j| t[j].as_slice()).collect();
            let mut loocv = Vec::with_capacity(n);
            for i in 0..n {
                let rows: Vec<usize> = (0..n).filter(|&r| r != i).collect();
                let sub: Vec<Vec<f64>> = tcols
                    .iter()
                    .map(|c| rows.iter().map(|&r| c[r]).collect())
                    .collect();
                let subr: Vec<&[f64]> = sub.iter().map(|c| c.as_slice()).collect();
                let suby: Vec<f64> = rows.iter().map(|&r| ty[r]).collect();
                let f = ols(&design(&subr, n - 1), &suby).map_err(|e| {
                    Error::data(
                        &what,
                        format!("LOOCV fold without plot {}: {e}", data.ids[i]),
                    )
                })?;
                let lp = f.beta[0]
                    + tcols
                        .iter()
                        .zip(&f.beta[1..])
                        .map(|(c, b)| c[i] * b)
                        .sum::<f64>();
                loocv.push(if log {
                    lp.exp() * corr.unwrap().factor(&f.residuals, f.sigma)
                } else {
                    lp
                });
            }
            let terms: Vec<String> = std::iter::once("(intercept)".to_string())
                .chain(
                    names
                        .iter()
                        .map(|nm| if log { format!("ln({nm})") } else { nm.clone() }),
                )
                .collect();
            let coefs = terms
                .into_iter()
                .enumerate()
                .map(|(k, term)| Coefficient {
                    term,
                    estimate: lin_fit.beta[k],
                    se: lin_fit.se[k],
                    t: lin_fit.t[k],
                    p: lin_fit.p[k],
                })
                .collect();
            let cov = (0..lin_fit.k)
                .map(|a| (0..lin_fit.k).map(|b| lin_fit.cov[(a, b)]).collect())
                .collect();
            (
                coefs,
                cov,
                lin_fit.sigma,
                lin_fit.df,
                corr,
                cf,
                fitted,
                loocv,
            )
        }
        ModelForm::Power => {
            let start: Vec<f64> = std::iter::once(lin_fit.beta[0].exp())
                .chain(lin_fit.beta[1..].iter().copied())
                .collect();
            let pf = fit_power(&xcols, &data.y, &start).map_err(|e| Error::data(&what, e))?;
            if !pf.converged {
                notes.push("Levenberg–Marquardt did not converge".into());
            }
            if pf.p[1..].iter().any(|p| p.is_nan() || *p >= opts.alpha) {
                notes.push(format!(
                    "an exponent of the power model is not significant at {} (selection was on the log scale)",
                    opts.alpha
                ));
            }
            let mut loocv = Vec::with_capacity(n);
            let mut xi = vec![0.0; xcols.len()];
            for i in 0..n {
                let rows: Vec<usize> = (0..n).filter(|&r| r != i).collect();
                let sub: Vec<Vec<f64>> = xcols
                    .iter()
                    .map(|c| rows.iter().map(|&r| c[r]).collect())
                    .collect();
                let subr: Vec<&[f64]> = sub.iter().map(|c| c.as_slice()).collect();
                let suby: Vec<f64> = rows.iter().map(|&r| data.y[r]).collect();
                let f = fit_power(&subr, &suby, &pf.theta).map_err(|e| {
                    Error::data(
                        &what,
                        format!("LOOCV fold without plot {}: {e}", data.ids[i]),
                    )
                })?;
                for (c, col) in xcols.iter().enumerate() {
                    xi[c] = col[i];
                }
                loocv.push(super::nls::power_value(&f.theta, &xi));
            }
            let terms: Vec<String> = std::iter::once("a".to_string())
                .chain(names.iter().map(|nm| format!("b[{nm}]")))
                .collect();
            let k = pf.theta.len();
            let coefs = terms
                .into_iter()
                .enumerate()
                .map(|(j, term)| Coefficient {
                    term,
                    estimate: pf.theta[j],
                    se: pf.se[j],
                    t: pf.t[j],
                    p: pf.p[j],
                })
                .collect();
            let cov = (0..k)
                .map(|a| (0..k).map(|b| pf.cov[(a, b)]).collect())
                .collect();
            (
                coefs,
                cov,
                pf.sigma,
                pf.df,
                None,
                1.0,
                pf.fitted.clone(),
                loocv,
            )
        }
    };
    let p = idx.len() + 1;
    if opts.form == ModelForm::Power {
        // The power model is fitted on the original scale: its own statistics there, not the
        // log-scale start's (Gaussian likelihood, k = p parameters as statsmodels counts them).
        fit_scale = original_scale_fit(&data.y, &fitted, p);
    }
    let fit = fit_stats(&data.y, &fitted, p);
    let loocv_stats = fit_stats(&data.y, &loocv, p);
    let observations = (0..n)
        .map(|i| Observation {
            id: data.ids[i].clone(),
            observed: data.y[i],
            fitted: fitted[i],
            loocv: loocv[i],
        })
        .collect();
    Ok(FittedModel {
        stratum: stratum.map(String::from),
        response: opts.response.clone(),
        form: opts.form,
        predictors: names,
        coefficients,
        covariance,
        n,
        df,
        see,
        correction,
        correction_factor: cf,
        ranges,
        vif: vifs,
        fit_scale,
        fit,
        loocv: loocv_stats,
        observations,
        selection,
        notes,
    })
}

/// Calibrates the model(s) of a plot table: one model, or one per stratum value.
pub fn calibrate_table(table: &Table, opts: &CalibrateOptions, source: &str) -> Result<ModelFile> {
    let all: Vec<usize> = (0..table.len()).collect();
    let mut models = Vec::new();
    match &opts.strata {
        None => {
            let d = PlotData::from_table(table, &all, opts)?;
            models.push(calibrate(&d, opts, None)?);
        }
        Some(col) => {
            let c = table.require(col, "calibration table")?;
            let mut groups: BTreeMap<String, Vec<usize>> = BTreeMap::new();
            for r in 0..table.len() {
                let v = table.cell(r, c).trim().to_string();
                if crate::vector::table::is_missing(&v) {
                    continue;
                }
                groups.entry(v).or_default().push(r);
            }
            let min_n = (2 + 2 * opts.max_predictors).max(6);
            for (s, rows) in groups {
                if rows.len() < min_n {
                    log::warn!(
                        "stratum '{s}': {} plots, fewer than {min_n}: no model",
                        rows.len()
                    );
                    continue;
                }
                let d = PlotData::from_table(table, &rows, opts)?;
                match calibrate(&d, opts, Some(&s)) {
                    Ok(m) => models.push(m),
                    Err(e) => log::warn!("stratum '{s}': no model: {e}"),
                }
            }
            if models.is_empty() {
                return Err(Error::data(
                    "calibration",
                    format!("no stratum of '{col}' could be calibrated"),
                ));
            }
        }
    }
    Ok(ModelFile {
        format: MODEL_FORMAT.into(),
        software: format!("landcarbon {}", env!("CARGO_PKG_VERSION")),
        response: opts.response.clone(),
        strata_column: opts.strata.clone(),
        metric_options: None,
        source_table: source.to_string(),
        models,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn glob_patterns() {
        assert!(glob_match("zq*", "zq95"));
        assert!(glob_match("d?", "d0"));
        assert!(!glob_match("d?", "d10"));
        assert!(!glob_match("d?", "D_mean_cm"));
        assert!(glob_match("zmean", "zmean"));
        assert!(!glob_match("zmean", "zmeanx"));
    }

    #[test]
    fn subset_search_matches_direct_ols() {
        // y depends on a and c; b is noise-like.
        let n = 30;
        let a: Vec<f64> = (0..n).map(|i| 1.0 + i as f64).collect();
        let b: Vec<f64> = (0..n).map(|i| ((i * 37) % 11) as f64 + 1.0).collect();
        let c: Vec<f64> = (0..n).map(|i| ((i * 13) % 7) as f64 + 2.0).collect();
        let y: Vec<f64> = (0..n)
            .map(|i| 2.0 + 0.5 * a[i] + 1.5 * c[i] + if i % 2 == 0 { 0.3 } else { -0.3 })
            .collect();
        let t = vec![a.clone(), b.clone(), c.clone()];
        let (ranked, evaluated) = best_subsets(&t, &y, 2, Criterion::AdjR2, 100);
        assert_eq!(evaluated, 3 + 3);
        assert_eq!(ranked[0].1, vec![0, 2]);
        let direct = ols(&design(&[&a, &c], n), &y).unwrap();
        assert!((ranked[0].0 - direct.adj_r2).abs() < 1e-10);
        let (ranked_bic, _) = best_subsets(&t, &y, 2, Criterion::Bic, 100);
        assert_eq!(ranked_bic[0].1, vec![0, 2]);
        assert!((ranked_bic[0].0 - direct.bic).abs() < 1e-8);
    }

    /// LOOCV on a tiny case worked by hand: y = x through 4 points, linear form.
    #[test]
    fn loocv_tiny_case_by_hand() {
        // Points (1, 1), (2, 3), (3, 2), (4, 4).
        // Fold without (1,1): fit on (2,3),(3,2),(4,4): x̄ 3, ȳ 3, Sxy = (−1)(0)+0+1·1 = 1,
        //   Sxx = 2 → slope 0.5, intercept 1.5 → predict x=1: 2.0
        // Without (2,3): (1,1),(3,2),(4,4): x̄ 8/3, ȳ 7/3; Sxy = (−5/3)(−4/3) + (1/3)(−1/3)
        //   + (4/3)(5/3) = 20/9 − 1/9 + 20/9 = 39/9; Sxx = 25/9+1/9+16/9 = 42/9 → slope 39/42,
        //   intercept 7/3 − (39/42)(8/3) → predict x=2
        // Without (3,2): (1,1),(2,3),(4,4): x̄ 7/3, ȳ 8/3; Sxy = (−4/3)(−5/3)+(−1/3)(1/3)
        //   +(5/3)(4/3) = 20/9 − 1/9 + 20/9 = 39/9; Sxx = 16/9+1/9+25/9 = 42/9 → predict x=3
        // Without (4,4): (1,1),(2,3),(3,2): x̄ 2, ȳ 2; Sxy = (−1)(−1)+0+(1)(0) = 1, Sxx = 2
        //   → slope 0.5, intercept 1 → predict x=4: 3.0
        let s = 39.0 / 42.0;
        let want = [
            2.0,
            7.0 / 3.0 - s * 8.0 / 3.0 + s * 2.0,
            8.0 / 3.0 - s * 7.0 / 3.0 + s * 3.0,
            3.0,
        ];
        let data = PlotData {
            ids: vec!["a".into(), "b".into(), "c".into(), "d".into()],
            y: vec![1.0, 3.0, 2.0, 4.0],
            names: vec!["x".into()],
            cols: vec![vec![1.0, 2.0, 3.0, 4.0]],
            notes: vec![],
        };
        let opts = CalibrateOptions {
            form: ModelForm::Linear,
            fixed: true,
            positive: vec![],
            alpha: 1.0,
            ..Default::default()
        };
        let m = calibrate(&data, &opts, None).unwrap();
        for (o, w) in m.observations.iter().zip(want) {
            assert!((o.loocv - w).abs() < 1e-12, "{} {} vs {}", o.id, o.loocv, w);
        }
        let press: f64 = [1.0, 3.0, 2.0, 4.0]
            .iter()
            .zip(want)
            .map(|(y, p)| (y - p).powi(2))
            .sum();
        assert!((m.loocv.rmse - (press / 4.0).sqrt()).abs() < 1e-12);
        // Fitted: full fit slope 0.8, intercept 0.5.
        assert!((m.coefficients[1].estimate - 0.8).abs() < 1e-12);
    }

    #[test]
    fn invalid_field_values_and_duplicate_plots_are_refused_with_the_plot_id() {
        let dir = tempfile::tempdir().unwrap();
        let opts = CalibrateOptions {
            predictors: vec!["zmean".into()],
            fixed: true,
            ..Default::default()
        };
        for (body, want) in [
            ("p1,10,100\np2,12,-50\np3,14,130\n", "plot 'p2'"),
            ("p1,10,100\np2,12,inf\np3,14,130\n", "plot 'p2'"),
            (
                "p1,10,100\np1,12,110\np3,14,130\n",
                "plot id 'p1' appears twice",
            ),
        ] {
            for form in [ModelForm::Loglog, ModelForm::Linear] {
                let p = dir.path().join("t.csv");
                std::fs::write(&p, format!("plot_id,zmean,agb_t_ha\n{body}")).unwrap();
                let t = crate::vector::table::read_csv(&p).unwrap();
                let o = CalibrateOptions {
                    form,
                    ..opts.clone()
                };
                let e = calibrate_table(&t, &o, "t.csv").unwrap_err().to_string();
                assert!(e.contains(want), "{form:?} {body:?}: {e}");
            }
        }
    }

    #[test]
    fn power_form_recovers_its_exponents() {
        let n = 30;
        let h: Vec<f64> = (0..n).map(|i| 6.0 + i as f64 * 0.8).collect();
        let c: Vec<f64> = (0..n).map(|i| 30.0 + ((i * 17) % 60) as f64).collect();
        let y: Vec<f64> = (0..n)
            .map(|i| 2.0 * h[i].powf(1.3) * c[i].powf(0.5) * (1.0 + 0.02 * ((i % 5) as f64 - 2.0)))
            .collect();
        let data = PlotData {
            ids: (0..n).map(|i| i.to_string()).collect(),
            y,
            names: vec!["zmean".into(), "cover".into()],
            cols: vec![h, c],
            notes: vec![],
        };
        let opts = CalibrateOptions {
            form: ModelForm::Power,
            fixed: true,
            ..Default::default()
        };
        let m = calibrate(&data, &opts, None).unwrap();
        assert_eq!(m.coefficients[1].term, "b[zmean]");
        assert!(
            (m.coefficients[1].estimate - 1.3).abs() < 0.02,
            "{:?}",
            m.coefficients
        );
        assert!((m.coefficients[2].estimate - 0.5).abs() < 0.02);
        assert!(m.correction.is_none() && m.correction_factor == 1.0);
        // fit_scale is the power model's own (original scale), not the log-scale start's.
        let ybar = data.y.iter().sum::<f64>() / n as f64;
        let sst: f64 = data.y.iter().map(|v| (v - ybar).powi(2)).sum();
        let sse: f64 = m
            .observations
            .iter()
            .map(|o| (o.observed - o.fitted).powi(2))
            .sum();
        assert!(
            (m.fit_scale.r2 - (1.0 - sse / sst)).abs() < 1e-12,
            "{:?}",
            m.fit_scale
        );
        assert!((m.fit_scale.see - (sse / (n as f64 - 3.0)).sqrt()).abs() < 1e-12);
        assert!(
            m.loocv.rrmse_pct < 5.0 && m.loocv.rrmse_pct > m.fit.rrmse_pct,
            "{} {}",
            m.loocv.rrmse_pct,
            m.fit.rrmse_pct
        );
        // Prediction at a calibration point reproduces its fitted value.
        let p = m.predict(&[data.cols[0][3], data.cols[1][3]]).unwrap();
        assert!((p.value - m.observations[3].fitted).abs() < 1e-9);
        assert!(p.se > p.se_model && p.se_model > 0.0);
    }

    #[test]
    fn selection_rejects_wrong_signs_and_collinear_pairs() {
        // zq95 is a near copy of zmean, and y is built so that the pair fits best — with a
        // negative zmean exponent (ln y = ln 3 − 3.5 ln h + 5 ln dup): ranked first, rejected.
        let n = 25;
        let h: Vec<f64> = (0..n).map(|i| 5.0 + i as f64).collect();
        let dup: Vec<f64> = h
            .iter()
            .enumerate()
            .map(|(i, v)| v * (1.0 + 0.02 * ((i * 7) % 5) as f64))
            .collect();
        let other: Vec<f64> = (0..n).map(|i| 10.0 + ((i * 7) % 11) as f64).collect();
        let y: Vec<f64> = (0..n)
            .map(|i| {
                3.0 * h[i].powf(-3.5) * dup[i].powf(5.0) * (0.01 * ((i * 3 % 5) as f64 - 2.0)).exp()
            })
            .collect();
        let data = PlotData {
            ids: (0..n).map(|i| i.to_string()).collect(),
            y,
            names: vec!["zmean".into(), "zq95".into(), "other".into()],
            cols: vec![h, dup, other],
            notes: vec![],
        };
        let opts = CalibrateOptions {
            max_predictors: 2,
            ..Default::default()
        };
        let m = calibrate(&data, &opts, None).unwrap();
        let first = &m.selection.considered[0];
        assert_eq!(first.predictors, ["zmean", "zq95"]);
        assert!(
            first.verdict.contains("zmean enters with a negative sign"),
            "{first:?}"
        );
        assert!(first.score > 0.99);
        assert_ne!(m.predictors, ["zmean", "zq95"]);
        // Forbidding positive zmean/zq95 coefficients leaves no acceptable single predictor.
        let strict = CalibrateOptions {
            negative: vec!["zmean".into(), "zq95".into()],
            positive: vec![],
            max_predictors: 1,
            ..Default::default()
        };
        let only_hz = PlotData {
            names: data.names[..2].to_vec(),
            cols: data.cols[..2].to_vec(),
            ..data.clone()
        };
        assert!(calibrate(&only_hz, &strict, None).is_err());
    }

    #[test]
    fn loglog_loocv_back_transforms_inside_each_fold() {
        let n = 12;
        let h: Vec<f64> = (0..n).map(|i| 5.0 + 1.5 * i as f64).collect();
        let y: Vec<f64> = h
            .iter()
            .enumerate()
            .map(|(i, h)| 3.0 * h.powf(1.4) * (0.1 * ((i * 5 % 7) as f64 - 3.0)).exp())
            .collect();
        let data = PlotData {
            ids: (0..n).map(|i| i.to_string()).collect(),
            y: y.clone(),
            names: vec!["zmean".into()],
            cols: vec![h.clone()],
            notes: vec![],
        };
        let opts = CalibrateOptions {
            fixed: true,
            ..Default::default()
        };
        let m = calibrate(&data, &opts, None).unwrap();
        // Fold 0 by hand: OLS of ln y on ln h without plot 0, Baskerville from the fold's SEE.
        let lx: Vec<f64> = h[1..].iter().map(|v| v.ln()).collect();
        let ly: Vec<f64> = y[1..].iter().map(|v| v.ln()).collect();
        let f = ols(&design(&[&lx], n - 1), &ly).unwrap();
        let want = (f.beta[0] + f.beta[1] * h[0].ln()).exp() * (f.sigma * f.sigma / 2.0).exp();
        assert!((m.observations[0].loocv - want).abs() < 1e-9 * want);
        assert!((m.coefficients[1].estimate - 1.4).abs() < 0.1);
        assert!(m.correction_factor > 1.0);
    }
}

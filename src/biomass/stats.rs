//! Regression statistics: ordinary least squares with coefficient standard errors, t and p
//! values; variance inflation factors; and the fit statistics reported for a biomass model
//! (carbon-accounting.md §2 "Fit statistics").
//!
//! OLS is solved by a QR decomposition of the design matrix (nalgebra), not the normal
//! equations, so that coefficients and standard errors agree with statsmodels' OLS (which uses
//! a pseudo-inverse) to ~1e-10 on well-conditioned data. A design whose R has a diagonal
//! element below 1e-10 × the largest is rank-deficient and refused.
//!
//! Definitions (y observed, ŷ predicted, n observations, p parameters including the
//! intercept, ȳ the mean of y):
//! * R² = 1 − Σ(y−ŷ)²/Σ(y−ȳ)²; adjusted R² = 1 − (1 − R²)(n − 1)/(n − p);
//! * RMSE = √(Σ(y−ŷ)²/n); rRMSE = RMSE/ȳ × 100 (%);
//! * bias = Σ(ŷ−y)/n (positive = over-prediction); relative bias = bias/ȳ × 100 (%);
//! * SEE = √(Σ(y−ŷ)²/(n − p));
//! * the Chinese LY/T model-evaluation set [R]: TRE = Σ(y−ŷ)/Σŷ × 100; ASE = mean((y−ŷ)/ŷ)
//!   × 100; MPE = t₀.₉₇₅,ₙ₋ₚ · (SEE/ȳ)/√n × 100; MPSE = mean(|y−ŷ|/ŷ) × 100 (all %);
//! * OLS log-likelihood, AIC and BIC as statsmodels: llf = −n/2·(ln 2π + ln(RSS/n) + 1),
//!   AIC = −2 llf + 2p, BIC = −2 llf + p ln n;
//! * VIF_j = 1/(1 − R²_j), R²_j from regressing predictor j on the others (with intercept).
//!
//! p values are two-sided from Student's t with n − p degrees of freedom (statrs).
//!
//! See also: [`super::calibrate`] (model selection and LOOCV), [`super::nls`].

use crate::{Error, Result};
use nalgebra::{DMatrix, DVector};
use statrs::distribution::{ContinuousCDF, StudentsT};

/// An ordinary least-squares fit.
#[derive(Debug, Clone)]
pub struct Ols {
    pub beta: Vec<f64>,
    pub se: Vec<f64>,
    pub t: Vec<f64>,
    pub p: Vec<f64>,
    /// Covariance of the coefficients, σ̂²(XᵀX)⁻¹.
    pub cov: DMatrix<f64>,
    pub rss: f64,
    /// Centered total sum of squares.
    pub tss: f64,
    pub n: usize,
    /// Number of coefficients.
    pub k: usize,
    /// Residual degrees of freedom n − k.
    pub df: usize,
    /// Residual standard error √(RSS/df) (the SEE of the fitting scale).
    pub sigma: f64,
    pub r2: f64,
    pub adj_r2: f64,
    pub llf: f64,
    pub aic: f64,
    pub bic: f64,
    pub fitted: Vec<f64>,
    pub residuals: Vec<f64>,
}

/// Two-sided p value of a t statistic with `df` degrees of freedom.
pub fn t_pvalue(t: f64, df: f64) -> f64 {
    if !t.is_finite() || df <= 0.0 {
        return f64::NAN;
    }
    match StudentsT::new(0.0, 1.0, df) {
        Ok(d) => 2.0 * d.sf(t.abs()),
        Err(_) => f64::NAN,
    }
}

/// Quantile of Student's t with `df` degrees of freedom.
pub fn t_quantile(p: f64, df: f64) -> f64 {
    match StudentsT::new(0.0, 1.0, df) {
        Ok(d) => d.inverse_cdf(p),
        Err(_) => f64::NAN,
    }
}

/// OLS of `y` on the columns of `x` (include a column of ones for an intercept; the centered
/// R² assumes one).
pub fn ols(x: &DMatrix<f64>, y: &[f64]) -> Result<Ols> {
    let (n, k) = x.shape();
    if y.len() != n {
        return Err(Error::data("OLS", "design and response lengths differ"));
    }
    if n <= k {
        return Err(Error::data(
            "OLS",
            format!(
                "{n} observations for {k} coefficients: need more observations than coefficients"
            ),
        ));
    }
    if x.iter().chain(y.iter()).any(|v| !v.is_finite()) {
        return Err(Error::data("OLS", "non-finite value in the data"));
    }
    let qr = x.clone().qr();
    let r = qr.r();
    let dmax = (0..k).map(|i| r[(i, i)].abs()).fold(0.0, f64::max);
    if (0..k).any(|i| r[(i, i)].abs() <= 1e-10 * dmax) || dmax == 0.0 {
        return Err(Error::data(
            "OLS",
            "the predictors are collinear (rank-deficient design)",
        ));
    }
    let yv = DVector::from_column_slice(y);
    let qty = qr.q().transpose() * &yv;
    let rinv = r
        .clone()
        .try_inverse()
        .ok_or_else(|| Error::data("OLS", "singular R"))?;
    let beta = &rinv * qty;
    let fitted = x * &beta;
    let residuals: Vec<f64> = y.iter().zip(fitted.iter()).map(|(a, b)| a - b).collect();
    let rss: f64 = residuals.iter().map(|e| e * e).sum();
    let ybar = y.iter().sum::<f64>() / n as f64;
    let tss: f64 = y.iter().map(|v| (v - ybar).powi(2)).sum();
    let df = n - k;
    let sigma2 = rss / df as f64;
    let cov = (&rinv * rinv.transpose()) * sigma2;
    let se: Vec<f64> = (0..k).map(|i| cov[(i, i)].sqrt()).collect();
    let t: Vec<f64> = beta.iter().zip(&se).map(|(b, s)| b / s).collect();
    let p: Vec<f64> = t.iter().map(|&t| t_pvalue(t, df as f64)).collect();
    let r2 = if tss > 0.0 { 1.0 - rss / tss } else { f64::NAN };
    let adj_r2 = 1.0 - (1.0 - r2) * (n as f64 - 1.0) / df as f64;
    let nf = n as f64;
    let llf = -nf / 2.0 * ((2.0 * std::f64::consts::PI).ln() + (rss / nf).ln() + 1.0);
    Ok(Ols {
        beta: beta.iter().copied().collect(),
        se,
        t,
        p,
        cov,
        rss,
        tss,
        n,
        k,
        df,
        sigma: sigma2.sqrt(),
        r2,
        adj_r2,
        llf,
        aic: -2.0 * llf + 2.0 * k as f64,
        bic: -2.0 * llf + k as f64 * nf.ln(),
        fitted: fitted.iter().copied().collect(),
        residuals,
    })
}

/// A design matrix `[1, cols...]` (n × (1 + cols)).
pub fn design(cols: &[&[f64]], n: usize) -> DMatrix<f64> {
    DMatrix::from_fn(
        n,
        cols.len() + 1,
        |i, j| if j == 0 { 1.0 } else { cols[j - 1][i] },
    )
}

/// Variance inflation factors of the predictor columns (1 for a single predictor; infinite
/// for an exactly collinear one).
pub fn vif(cols: &[&[f64]]) -> Vec<f64> {
    if cols.len() < 2 {
        return vec![1.0; cols.len()];
    }
    let n = cols[0].len();
    (0..cols.len())
        .map(|j| {
            let others: Vec<&[f64]> = cols
                .iter()
                .enumerate()
                .filter(|(i, _)| *i != j)
                .map(|(_, c)| *c)
                .collect();
            match ols(&design(&others, n), cols[j]) {
                Ok(f) if f.r2 < 1.0 => 1.0 / (1.0 - f.r2),
                _ => f64::INFINITY,
            }
        })
        .collect()
}

/// Fit statistics on the scale of the response (see the module doc for definitions).
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct FitStats {
    pub n: usize,
    /// Parameters of the model (including the intercept).
    pub n_params: usize,
    pub mean_observed: f64,
    pub r2: f64,
    pub adj_r2: f64,
    pub rmse: f64,
    pub rrmse_pct: f64,
    pub bias: f64,
    pub rel_bias_pct: f64,
    pub see: f64,
    pub tre_pct: f64,
    pub ase_pct: f64,
    pub mpe_pct: f64,
    pub mpse_pct: f64,
}

/// Fit statistics of predictions `pred` against observations `obs` for a model with
/// `n_params` parameters.
pub fn fit_stats(obs: &[f64], pred: &[f64], n_params: usize) -> FitStats {
    let n = obs.len();
    let nf = n as f64;
    let mean = obs.iter().sum::<f64>() / nf;
    let sse: f64 = obs.iter().zip(pred).map(|(y, p)| (y - p).powi(2)).sum();
    let sst: f64 = obs.iter().map(|y| (y - mean).powi(2)).sum();
    let r2 = 1.0 - sse / sst;
    let df = nf - n_params as f64;
    let rmse = (sse / nf).sqrt();
    let bias = obs.iter().zip(pred).map(|(y, p)| p - y).sum::<f64>() / nf;
    let see = (sse / df).sqrt();
    let sum_pred: f64 = pred.iter().sum();
    let tre = obs.iter().zip(pred).map(|(y, p)| y - p).sum::<f64>() / sum_pred * 100.0;
    let ase = obs.iter().zip(pred).map(|(y, p)| (y - p) / p).sum::<f64>() / nf * 100.0;
    let mpse = obs
        .iter()
        .zip(pred)
        .map(|(y, p)| ((y - p) / p).abs())
        .sum::<f64>()
        / nf
        * 100.0;
    let mpe = t_quantile(0.975, df) * (see / mean) / nf.sqrt() * 100.0;
    FitStats {
        n,
        n_params,
        mean_observed: mean,
        r2,
        adj_r2: 1.0 - (1.0 - r2) * (nf - 1.0) / df,
        rmse,
        rrmse_pct: rmse / mean * 100.0,
        bias,
        rel_bias_pct: bias / mean * 100.0,
        see,
        tre_pct: tre,
        ase_pct: ase,
        mpe_pct: mpe,
        mpse_pct: mpse,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ols_simple_regression_by_hand() {
        // y = 1 + 2x with residuals (0.1, −0.2, 0.1, 0, 0): worked by hand.
        let x = [1.0, 2.0, 3.0, 4.0, 5.0];
        let y = [3.1, 4.8, 7.1, 9.0, 11.0];
        let f = ols(&design(&[&x], 5), &y).unwrap();
        // Sxx = 10, Sxy = Σ(x−3)(y−7) = (−2)(−3.9) + (−1)(−2.2) + 0 + 1·2 + 2·4 = 20
        // slope 2.0, intercept 7 − 2·3 = 1.0
        assert!((f.beta[1] - 2.0).abs() < 1e-12, "{:?}", f.beta);
        assert!((f.beta[0] - 1.0).abs() < 1e-12);
        // residuals 0.1, −0.2, 0.1, 0, 0 → RSS 0.06, σ² = 0.02
        assert!((f.rss - 0.06).abs() < 1e-12);
        assert!((f.sigma - 0.02f64.sqrt()).abs() < 1e-12);
        // se(slope) = σ/√Sxx = √0.002
        assert!((f.se[1] - 0.002f64.sqrt()).abs() < 1e-12);
        // se(intercept) = σ·√(1/n + x̄²/Sxx) = √(0.02·(0.2 + 0.9))
        assert!((f.se[0] - (0.02f64 * 1.1).sqrt()).abs() < 1e-12);
        // R² = 1 − 0.06/40.3 (SST = 15.21 + 4.84 + 0.01 + 4 + 16 = 40.06)
        assert!((f.r2 - (1.0 - 0.06 / 40.06)).abs() < 1e-12);
        // t = 2/√0.002 = 44.72 with 3 df: p ≈ 2.45e-5
        assert!(f.p[1] < 1e-4 && f.p[1] > 1e-5, "{}", f.p[1]);
    }

    #[test]
    fn collinear_design_is_refused() {
        let a = [1.0, 2.0, 3.0, 4.0, 5.0];
        let b = [2.0, 4.0, 6.0, 8.0, 10.0];
        let y = [1.0, 3.0, 2.0, 5.0, 4.0];
        assert!(ols(&design(&[&a, &b], 5), &y)
            .unwrap_err()
            .to_string()
            .contains("collinear"));
        assert!(vif(&[&a, &b])[0].is_infinite());
    }

    #[test]
    fn vif_of_correlated_pair() {
        // Corr(a, c) = r → VIF = 1/(1 − r²) for two predictors.
        let a = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0];
        let c = [1.0, 3.0, 2.0, 5.0, 4.0, 6.0];
        let v = vif(&[&a, &c]);
        let (ma, mc) = (3.5, 3.5);
        let sab: f64 = a.iter().zip(&c).map(|(x, y)| (x - ma) * (y - mc)).sum();
        let saa: f64 = a.iter().map(|x| (x - ma).powi(2)).sum();
        let scc: f64 = c.iter().map(|x| (x - mc).powi(2)).sum();
        let r2 = sab * sab / (saa * scc);
        assert!((v[0] - 1.0 / (1.0 - r2)).abs() < 1e-10);
        assert!((v[1] - v[0]).abs() < 1e-10);
    }

    #[test]
    fn fit_stats_by_hand() {
        let obs = [10.0, 20.0, 30.0, 40.0];
        let pred = [12.0, 18.0, 33.0, 37.0];
        let s = fit_stats(&obs, &pred, 2);
        // errors y − ŷ: −2, 2, −3, 3 → SSE 26, mean 25, SST 500
        assert!((s.r2 - (1.0 - 26.0 / 500.0)).abs() < 1e-12);
        assert!((s.rmse - 6.5f64.sqrt()).abs() < 1e-12);
        assert!((s.rrmse_pct - 6.5f64.sqrt() / 25.0 * 100.0).abs() < 1e-12);
        assert!(s.bias.abs() < 1e-12);
        assert!((s.see - 13.0f64.sqrt()).abs() < 1e-12);
        assert!(s.tre_pct.abs() < 1e-12);
        // ASE = mean(−2/12, 2/18, −3/33, 3/37) × 100
        let ase = (-2.0 / 12.0 + 2.0 / 18.0 - 3.0 / 33.0 + 3.0 / 37.0) / 4.0 * 100.0;
        assert!((s.ase_pct - ase).abs() < 1e-12);
        let mpse = (2.0 / 12.0 + 2.0 / 18.0 + 3.0 / 33.0 + 3.0 / 37.0) / 4.0 * 100.0;
        assert!((s.mpse_pct - mpse).abs() < 1e-12);
        // MPE = t(0.975, 2) · (√13/25)/2 × 100, t = 4.302653
        assert!((s.mpe_pct - 4.302652729911275 * (13f64.sqrt() / 25.0) / 2.0 * 100.0).abs() < 1e-6);
    }
}

//! The power model AGB = a · x₁^b₁ · … · x_k^b_k (e.g. a·H^b·cc^c, carbon-accounting.md §2
//! model 2) fitted by non-linear least squares on the original scale with the
//! Levenberg–Marquardt algorithm (Marquardt 1963, scaled damping: (JᵀJ + λ·diag(JᵀJ))δ = Jᵀr).
//!
//! Fitting on the original scale needs no back-transformation: the residuals are in t/ha. The
//! errors are taken as homoscedastic (no variance weights); biomass residuals usually grow with
//! the mean, so the log–log model is the default and this form is offered beside it.
//!
//! Start values: the OLS fit of ln y on ln x (a = exp(β₀), b_j = β_j), given by the caller.
//! Damping starts at λ = 1e-3, divided by 10 after an accepted step and multiplied by 10 after
//! a rejected one; it stops when the relative decrease of the RSS and the relative step are
//! both below 1e-10, or after 500 iterations (reported as not converged).
//!
//! Standard errors: Cov(θ̂) = σ̂²(JᵀJ)⁻¹ at the solution, σ̂² = RSS/(n − p) — the usual
//! asymptotic covariance (as R's `nls` reports).
//!
//! See also: [`super::calibrate`] (which chooses the predictors), [`super::stats`].

use super::stats::t_pvalue;
use crate::{Error, Result};
use nalgebra::{DMatrix, DVector};

/// A power-model fit: `theta = [a, b₁, …, b_k]`.
#[derive(Debug, Clone)]
pub struct PowerFit {
    pub theta: Vec<f64>,
    pub se: Vec<f64>,
    pub t: Vec<f64>,
    pub p: Vec<f64>,
    pub cov: DMatrix<f64>,
    pub rss: f64,
    pub df: usize,
    /// Residual standard error √(RSS/df), t/ha.
    pub sigma: f64,
    pub iterations: usize,
    pub converged: bool,
    pub fitted: Vec<f64>,
}

/// The model value a·Πx_j^b_j for one observation (`x` = predictor values).
pub fn power_value(theta: &[f64], x: &[f64]) -> f64 {
    theta[0]
        * x.iter()
            .zip(&theta[1..])
            .map(|(v, b)| v.powf(*b))
            .product::<f64>()
}

/// The gradient of the model value with respect to θ.
pub fn power_gradient(theta: &[f64], x: &[f64]) -> Vec<f64> {
    let f = power_value(theta, x);
    let mut g = Vec::with_capacity(theta.len());
    g.push(if theta[0] != 0.0 {
        f / theta[0]
    } else {
        x.iter().zip(&theta[1..]).map(|(v, b)| v.powf(*b)).product()
    });
    for v in x {
        g.push(f * v.ln());
    }
    g
}

fn rss_of(theta: &[f64], cols: &[&[f64]], y: &[f64]) -> f64 {
    let mut xi = vec![0.0; cols.len()];
    y.iter()
        .enumerate()
        .map(|(i, yi)| {
            for (j, c) in cols.iter().enumerate() {
                xi[j] = c[i];
            }
            (yi - power_value(theta, &xi)).powi(2)
        })
        .sum()
}

/// Fits y = a·Πx_j^b_j from `start` (predictor columns must be positive).
pub fn fit_power(cols: &[&[f64]], y: &[f64], start: &[f64]) -> Result<PowerFit> {
    let n = y.len();
    let k = cols.len() + 1;
    if start.len() != k {
        return Err(Error::data(
            "power model",
            "start vector has the wrong length",
        ));
    }
    if n <= k {
        return Err(Error::data(
            "power model",
            format!("{n} observations for {k} parameters"),
        ));
    }
    if cols
        .iter()
        .any(|c| c.iter().any(|v| !v.is_finite() || *v <= 0.0))
    {
        return Err(Error::data(
            "power model",
            "predictors of a power model must be positive",
        ));
    }
    let mut theta = start.to_vec();
    let mut rss = rss_of(&theta, cols, y);
    let mut lambda = 1e-3;
    let mut converged = false;
    let mut iterations = 0;
    let mut xi = vec![0.0; cols.len()];
    let jacobian = |theta: &[f64], xi: &mut Vec<f64>| -> (DMatrix<f64>, DVector<f64>) {
        let mut j = DMatrix::zeros(n, k);
        let mut r = DVector::zeros(n);
        for i in 0..n {
            for (c, col) in cols.iter().enumerate() {
                xi[c] = col[i];
            }
            let g = power_gradient(theta, xi);
            for (c, gv) in g.iter().enumerate() {
                j[(i, c)] = *gv;
            }
            r[i] = y[i] - power_value(theta, xi);
        }
        (j, r)
    };
    while iterations < 500 {
        iterations += 1;
        let (j, r) = jacobian(&theta, &mut xi);
        let jtj = j.transpose() * &j;
        let jtr = j.transpose() * &r;
        let mut accepted = false;
        while lambda < 1e12 {
            let mut a = jtj.clone();
            for d in 0..k {
                a[(d, d)] += lambda * jtj[(d, d)].max(1e-12);
            }
            let Some(delta) = a.cholesky().map(|c| c.solve(&jtr)) else {
                lambda *= 10.0;
                continue;
            };
            let cand: Vec<f64> = theta.iter().zip(delta.iter()).map(|(t, d)| t + d).collect();
            let cand_rss = rss_of(&cand, cols, y);
            if cand_rss.is_finite() && cand_rss <= rss {
                let rel_drop = (rss - cand_rss) / rss.max(1e-300);
                let rel_step =
                    delta.norm() / (theta.iter().map(|t| t * t).sum::<f64>().sqrt() + 1e-12);
                theta = cand;
                rss = cand_rss;
                lambda = (lambda / 10.0).max(1e-12);
                accepted = true;
                if rel_drop < 1e-10 && rel_step < 1e-10 {
                    converged = true;
                }
                break;
            }
            lambda *= 10.0;
        }
        if !accepted {
            // No step lowers the RSS any more: a minimum to machine precision.
            converged = true;
        }
        if converged {
            break;
        }
    }
    let df = n - k;
    let sigma2 = rss / df as f64;
    let (j, _) = jacobian(&theta, &mut xi);
    let jtj = j.transpose() * &j;
    let inv = jtj
        .try_inverse()
        .ok_or_else(|| Error::data("power model", "singular Jacobian at the solution"))?;
    let cov = inv * sigma2;
    let se: Vec<f64> = (0..k).map(|i| cov[(i, i)].sqrt()).collect();
    let t: Vec<f64> = theta.iter().zip(&se).map(|(b, s)| b / s).collect();
    let p = t.iter().map(|&t| t_pvalue(t, df as f64)).collect();
    let fitted = (0..n)
        .map(|i| {
            for (c, col) in cols.iter().enumerate() {
                xi[c] = col[i];
            }
            power_value(&theta, &xi)
        })
        .collect();
    if !converged {
        log::warn!("power model: Levenberg–Marquardt did not converge in {iterations} iterations");
    }
    Ok(PowerFit {
        theta,
        se,
        t,
        p,
        cov,
        rss,
        df,
        sigma: sigma2.sqrt(),
        iterations,
        converged,
        fitted,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recovers_exact_power_law_from_a_poor_start() {
        let h: Vec<f64> = (1..=20).map(|i| 5.0 + i as f64).collect();
        let cc: Vec<f64> = (1..=20)
            .map(|i| 20.0 + 3.0 * ((i * 7) % 20) as f64)
            .collect();
        let y: Vec<f64> = h
            .iter()
            .zip(&cc)
            .map(|(h, c)| 0.8 * h.powf(1.3) * c.powf(0.4))
            .collect();
        let f = fit_power(&[&h, &cc], &y, &[1.0, 1.0, 1.0]).unwrap();
        assert!(f.converged);
        assert!((f.theta[0] - 0.8).abs() < 1e-6, "{:?}", f.theta);
        assert!((f.theta[1] - 1.3).abs() < 1e-6);
        assert!((f.theta[2] - 0.4).abs() < 1e-6);
        assert!(f.rss < 1e-10);
    }

    #[test]
    fn noisy_fit_has_sensible_standard_errors() {
        // Deterministic ±5 % "noise": the estimates stay near the truth, SEs are positive and
        // the truth lies within 3 SE.
        let h: Vec<f64> = (0..40).map(|i| 6.0 + i as f64 * 0.5).collect();
        let y: Vec<f64> = h
            .iter()
            .enumerate()
            .map(|(i, h)| 2.0 * h.powf(1.5) * if i % 2 == 0 { 1.05 } else { 0.95 })
            .collect();
        let f = fit_power(&[&h], &y, &[1.0, 1.0]).unwrap();
        assert!(f.se.iter().all(|s| *s > 0.0));
        assert!(
            (f.theta[1] - 1.5).abs() < 3.0 * f.se[1],
            "{:?} {:?}",
            f.theta,
            f.se
        );
        assert!((f.theta[1] - 1.5).abs() < 0.05);
    }

    #[test]
    fn refuses_non_positive_predictors() {
        let h = [1.0, 0.0, 3.0, 4.0];
        let y = [1.0, 2.0, 3.0, 4.0];
        assert!(fit_power(&[&h], &y, &[1.0, 1.0]).is_err());
    }
}

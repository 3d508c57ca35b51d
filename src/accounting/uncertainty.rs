//! IPCC approach 1 uncertainty (error propagation; IPCC 2006 Vol. 1 Ch. 3, carbon-accounting.md
//! §5.1–§5.4), correlation-aware.
//!
//! U% is the 95 % half-width over the estimate ×100. The closed forms of §5.1 are here
//! ([`product_u`], [`sum_u`], [`correlated_sum_u`], [`difference_u`], [`factor_one_plus_u`]) and
//! so is the plot-mean sampling half-width t₀.₉₇₅,ₙ₋₁·s/√n of §5.2 ([`sampling_half_width`],
//! t quantile from `statrs`).
//!
//! For real inventories the same rules are applied mechanically through **shared error
//! sources**: every uncertain input (an area group, a plot-table row, a default parameter, a
//! LiDAR model, one unit's LiDAR residual) is a [`Source`] whose relative 95 % half-width is
//! split over independent error *keys*. A density or stock is a sum of [`Term`]s, each a value
//! multiplied by the ratios of its sources (linearized: value·(1 + Σ errors)). The half-width of
//! any weighted sum of terms is `√Σ_keys (Σ_terms w·value·coef_key)²`: contributions that share
//! a key add linearly (fully correlated — patches using one stratum density or one model are
//! combined per stratum first, §5.3) and different keys add in quadrature (the sum rule). A
//! partial correlation r between the t₁ and t₂ means of remeasured plots is split into a common
//! key (t₁ coef u₁, t₂ coef r·u₂) and a t₂-only key (√(1−r²)·u₂), which reproduces
//! √(U₁²x₁² + U₂²x₂² − 2r·U₁x₁·U₂x₂) exactly (§5.1 difference, §5.4). A parameter used in both
//! years (a default, an area) is one key, so it cancels in the sink of an unchanged unit.
//!
//! Approach 1 assumes roughly normal errors with CV below ~0.3 (IPCC); [`montecarlo`](super::montecarlo)
//! runs approach 2 on the same sources.
//!
//! See also: `density.rs` (builds terms), `montecarlo.rs`, `pipeline.rs`.

use crate::{Error, Result};
use statrs::distribution::{ContinuousCDF, StudentsT};
use std::collections::HashMap;

/// Normal 95 % quantile used to turn an SD into a half-width (and back), as in
/// `params::Estimate::u_pct` and the Monte Carlo inputs of §5.6 (sd = half-width/1.96).
pub const Z95: f64 = 1.96;

/// Two-sided 95 % Student t quantile t₀.₉₇₅,df.
pub fn t_quantile_975(df: f64) -> Result<f64> {
    let t = StudentsT::new(0.0, 1.0, df)
        .map_err(|e| Error::Config(format!("t distribution with {df} degrees of freedom: {e}")))?;
    Ok(t.inverse_cdf(0.975))
}

/// 95 % half-width of a sample mean: t₀.₉₇₅,ₙ₋₁ · s/√n (§5.2). `None` for n < 2.
pub fn sampling_half_width(sd: f64, n: usize) -> Option<f64> {
    if n < 2 || !sd.is_finite() || sd < 0.0 {
        return None;
    }
    let t = t_quantile_975((n - 1) as f64).ok()?;
    Some(t * sd / (n as f64).sqrt())
}

/// Product rule: U = √ΣUᵢ² (all in %).
pub fn product_u(us: &[f64]) -> f64 {
    us.iter().map(|u| u * u).sum::<f64>().sqrt()
}

/// Sum rule for independent terms `(xᵢ, Uᵢ%)`: √Σ(Uᵢxᵢ)² / |Σxᵢ|.
pub fn sum_u(terms: &[(f64, f64)]) -> f64 {
    correlated_sum_u(terms, &|_, _| 0.0)
}

/// Sum with correlations ρᵢⱼ: √(Σ(Uᵢxᵢ)² + Σ_{i<j} 2ρᵢⱼ(Uᵢxᵢ)(Uⱼxⱼ)) / |Σxᵢ|.
pub fn correlated_sum_u(terms: &[(f64, f64)], rho: &dyn Fn(usize, usize) -> f64) -> f64 {
    let mut v = 0.0;
    for (i, &(xi, ui)) in terms.iter().enumerate() {
        v += (ui * xi).powi(2);
        for (j, &(xj, uj)) in terms.iter().enumerate().skip(i + 1) {
            v += 2.0 * rho(i, j) * (ui * xi) * (uj * xj);
        }
    }
    let s: f64 = terms.iter().map(|t| t.0).sum();
    v.max(0.0).sqrt() / s.abs()
}

/// Difference x₂ − x₁ with correlation ρ: √((U₁x₁)² + (U₂x₂)² − 2ρ(U₁x₁)(U₂x₂)) / |x₂ − x₁|.
pub fn difference_u(x1: f64, u1: f64, x2: f64, u2: f64, rho: f64) -> f64 {
    let (a, b) = (u1 * x1, u2 * x2);
    (a * a + b * b - 2.0 * rho * a * b).max(0.0).sqrt() / (x2 - x1).abs()
}

/// Uncertainty of the factor (1 + R) from that of R: U_R·R/(1 + R) (§5.1).
pub fn factor_one_plus_u(r: f64, u_r: f64) -> f64 {
    u_r * r / (1.0 + r)
}

/// Index of a [`Source`] in a [`Registry`].
pub type SourceId = u32;

/// An uncertain input: its relative 95 % half-width split over independent error keys.
#[derive(Debug, Clone)]
pub struct Source {
    pub name: String,
    /// Human-readable description (for the report).
    pub label: String,
    /// `(key index, relative half-width)`; the source's total relative half-width is √Σc².
    pub comps: Vec<(u32, f64)>,
}

impl Source {
    /// Total relative 95 % half-width.
    pub fn rel_half_width(&self) -> f64 {
        self.comps.iter().map(|c| c.1 * c.1).sum::<f64>().sqrt()
    }
}

/// All sources and error keys of a run.
#[derive(Debug, Clone, Default)]
pub struct Registry {
    keys: Vec<String>,
    key_ix: HashMap<String, u32>,
    sources: Vec<Source>,
    src_ix: HashMap<String, SourceId>,
}

impl Registry {
    /// The index of key `name` (created when new).
    pub fn key(&mut self, name: &str) -> u32 {
        if let Some(&k) = self.key_ix.get(name) {
            return k;
        }
        let k = self.keys.len() as u32;
        self.keys.push(name.to_string());
        self.key_ix.insert(name.to_string(), k);
        k
    }

    /// The source `name`; created from `comps` (named keys, relative half-widths) when new.
    /// A source that already exists is returned unchanged (same name = same input).
    pub fn source(&mut self, name: &str, label: &str, comps: &[(&str, f64)]) -> SourceId {
        if let Some(&s) = self.src_ix.get(name) {
            return s;
        }
        let comps = comps
            .iter()
            .filter(|(_, c)| c.is_finite() && *c != 0.0)
            .map(|(k, c)| (self.key(k), *c))
            .collect();
        let id = self.sources.len() as SourceId;
        self.sources.push(Source {
            name: name.to_string(),
            label: label.to_string(),
            comps,
        });
        self.src_ix.insert(name.to_string(), id);
        id
    }

    /// A simple source with one key of the same name.
    pub fn simple(&mut self, name: &str, label: &str, rel_half_width: f64) -> SourceId {
        self.source(name, label, &[(name, rel_half_width)])
    }

    /// Looks a source up by name.
    pub fn find(&self, name: &str) -> Option<SourceId> {
        self.src_ix.get(name).copied()
    }

    pub fn get(&self, id: SourceId) -> &Source {
        &self.sources[id as usize]
    }

    pub fn n_keys(&self) -> usize {
        self.keys.len()
    }

    pub fn n_sources(&self) -> usize {
        self.sources.len()
    }

    pub fn key_name(&self, k: u32) -> &str {
        &self.keys[k as usize]
    }

    pub fn sources(&self) -> &[Source] {
        &self.sources
    }
}

/// A value (density in t C/ha, or stock in t C) multiplied by the ratios of its sources.
#[derive(Debug, Clone, PartialEq)]
pub struct Term {
    pub value: f64,
    pub sources: Vec<SourceId>,
}

/// Sparse accumulator over error keys.
#[derive(Debug, Default)]
pub struct KeyAcc {
    vals: HashMap<u32, f64>,
}

impl KeyAcc {
    /// Adds `w·term` (linearized) to the accumulator.
    pub fn add(&mut self, reg: &Registry, w: f64, t: &Term) {
        for &s in &t.sources {
            for &(k, c) in &reg.get(s).comps {
                *self.vals.entry(k).or_insert(0.0) += w * t.value * c;
            }
        }
    }

    /// 95 % half-width of the accumulated sum.
    pub fn half_width(&self) -> f64 {
        self.vals.values().map(|v| v * v).sum::<f64>().sqrt()
    }

    /// Contribution of each key (absolute half-width), largest first.
    pub fn contributions(&self) -> Vec<(u32, f64)> {
        let mut v: Vec<(u32, f64)> = self.vals.iter().map(|(k, x)| (*k, x.abs())).collect();
        v.sort_by(|a, b| b.1.total_cmp(&a.1));
        v
    }
}

/// 95 % half-width of Σ wᵢ·termᵢ.
pub fn half_width<'a>(reg: &Registry, terms: impl IntoIterator<Item = (f64, &'a Term)>) -> f64 {
    let mut acc = KeyAcc::default();
    for (w, t) in terms {
        acc.add(reg, w, t);
    }
    acc.half_width()
}

/// U% = half-width / |estimate| × 100, `None` when the estimate is 0 (or either is not finite).
pub fn u_pct(half_width: f64, estimate: f64) -> Option<f64> {
    let u = half_width / estimate.abs() * 100.0;
    (u.is_finite() && estimate != 0.0).then_some(u)
}

/// A stock term of an aggregation group (e.g. a county) and year, for approaches 1 and 2.
#[derive(Debug, Clone)]
pub struct LedgerTerm {
    pub group: u32,
    /// 0 = t₁, 1 = t₂.
    pub year: u8,
    /// Stock contribution (t C).
    pub term: Term,
}

/// Every stock term of a run, by aggregation group.
#[derive(Debug, Clone, Default)]
pub struct Ledger {
    pub groups: Vec<String>,
    pub terms: Vec<LedgerTerm>,
    /// t₂ − t₁ in years.
    pub dt_years: f64,
}

/// Approach 1 result for one group (or the region).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct A1 {
    pub stock_t1: f64,
    pub stock_t2: f64,
    pub h_stock_t1: f64,
    pub h_stock_t2: f64,
    /// Sink in t C/yr and its 95 % half-width.
    pub sink_tc_yr: f64,
    pub h_sink_tc_yr: f64,
}

impl A1 {
    pub fn u_stock_t1_pct(&self) -> Option<f64> {
        u_pct(self.h_stock_t1, self.stock_t1)
    }
    pub fn u_stock_t2_pct(&self) -> Option<f64> {
        u_pct(self.h_stock_t2, self.stock_t2)
    }
    pub fn u_sink_pct(&self) -> Option<f64> {
        u_pct(self.h_sink_tc_yr, self.sink_tc_yr)
    }

    /// `false` where approach 1 is outside its validity for the sink (see [`a1_valid`]).
    pub fn sink_valid(&self) -> bool {
        a1_valid(self.u_sink_pct())
    }
}

/// An error key that enters the stocks of both years: its error is fully correlated between
/// them and cancels in the stock difference to the extent the two stocks it scales are equal.
#[derive(Debug, Clone, PartialEq)]
pub struct SharedKey {
    pub key: String,
    /// Label of a source that carries the key.
    pub label: String,
    /// Stock (t C) scaled by the key in t₁ and t₂ (Σ value·weight over the region).
    pub stock_tc: [f64; 2],
}

/// The error keys shared between the two years, largest first: what approaches 1 and 2 treat
/// as correlated between years. A key is shared only where the same input (the same fitted model
/// identity, the same default parameter, the same plot sample) is used in both years.
pub fn shared_between_years(reg: &Registry, ledger: &Ledger) -> Vec<SharedKey> {
    let mut per: HashMap<u32, ([f64; 2], SourceId)> = HashMap::new();
    for t in &ledger.terms {
        for &s in &t.term.sources {
            for &(k, _) in &reg.get(s).comps {
                let e = per.entry(k).or_insert(([0.0; 2], s));
                e.0[t.year as usize] += t.term.value.abs();
            }
        }
    }
    let mut v: Vec<SharedKey> = per
        .into_iter()
        .filter(|(_, (st, _))| st[0] > 0.0 && st[1] > 0.0)
        .map(|(k, (st, s))| SharedKey {
            key: reg.key_name(k).to_string(),
            label: reg.get(s).label.clone(),
            stock_tc: st,
        })
        .collect();
    v.sort_by(|a, b| {
        (b.stock_tc[0] + b.stock_tc[1])
            .total_cmp(&(a.stock_tc[0] + a.stock_tc[1]))
            .then_with(|| a.key.cmp(&b.key))
    });
    v
}

/// Largest 95 % relative uncertainty (%) for which approach 1 holds: IPCC 2006 vol. 1 ch. 3
/// requires modest relative errors, a coefficient of variation below about 0.3
/// (carbon-accounting.md §5.1), i.e. U = 1.96 × 0.3 = 58.8 %. Above it the Monte Carlo interval
/// (approach 2) is the one to report.
pub const A1_MAX_U_PCT: f64 = 1.96 * 30.0;

/// `true` when a 95 % relative uncertainty lets approach 1 stand (undefined U: not judged).
pub fn a1_valid(u_pct: Option<f64>) -> bool {
    u_pct.is_none_or(|u| u <= A1_MAX_U_PCT)
}

/// Approach 1 per group, then the region (all groups) last.
pub fn approach1(reg: &Registry, ledger: &Ledger) -> Vec<A1> {
    let ng = ledger.groups.len();
    let mut acc: Vec<[KeyAcc; 3]> = (0..=ng).map(|_| Default::default()).collect();
    let mut out = vec![A1::default(); ng + 1];
    let dt = ledger.dt_years;
    for lt in &ledger.terms {
        for g in [lt.group as usize, ng] {
            let o = &mut out[g];
            let a = &mut acc[g];
            if lt.year == 0 {
                o.stock_t1 += lt.term.value;
                a[0].add(reg, 1.0, &lt.term);
                a[2].add(reg, -1.0 / dt, &lt.term);
            } else {
                o.stock_t2 += lt.term.value;
                a[1].add(reg, 1.0, &lt.term);
                a[2].add(reg, 1.0 / dt, &lt.term);
            }
        }
    }
    for (o, a) in out.iter_mut().zip(&acc) {
        o.sink_tc_yr = (o.stock_t2 - o.stock_t1) / dt;
        o.h_stock_t1 = a[0].half_width();
        o.h_stock_t2 = a[1].half_width();
        o.h_sink_tc_yr = a[2].half_width();
    }
    out
}

/// The largest contributors (source-key names with their share of the variance) to the
/// region's sink uncertainty, for the report.
pub fn sink_contributors(reg: &Registry, ledger: &Ledger, top: usize) -> Vec<(String, f64)> {
    let mut acc = KeyAcc::default();
    for lt in &ledger.terms {
        let w = if lt.year == 0 { -1.0 } else { 1.0 } / ledger.dt_years;
        acc.add(reg, w, &lt.term);
    }
    let total: f64 = acc.contributions().iter().map(|c| c.1 * c.1).sum();
    acc.contributions()
        .into_iter()
        .take(top)
        .map(|(k, h)| {
            (
                reg.key_name(k).to_string(),
                if total > 0.0 { h * h / total } else { 0.0 },
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const T1: [f64; 10] = [40., 44., 46., 48., 50., 50., 52., 54., 56., 60.];
    const T2: [f64; 10] = [44., 49., 51., 54., 56., 56., 58., 61., 63., 68.];

    fn mean_sd(v: &[f64]) -> (f64, f64) {
        let n = v.len() as f64;
        let m = v.iter().sum::<f64>() / n;
        (
            m,
            (v.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (n - 1.0)).sqrt(),
        )
    }

    #[test]
    fn t_quantile_and_sampling_half_widths_of_5_6() {
        assert!((t_quantile_975(9.0).unwrap() - 2.262157).abs() < 5e-7);
        let (m1, s1) = mean_sd(&T1);
        let (m2, s2) = mean_sd(&T2);
        assert!((s1 - 5.887841).abs() < 5e-7 && (s2 - 7.023769).abs() < 5e-7);
        let h1 = sampling_half_width(s1, 10).unwrap();
        let h2 = sampling_half_width(s2, 10).unwrap();
        assert!((h1 - 4.211907).abs() < 5e-7, "{h1}");
        assert!((h2 - 5.024502).abs() < 5e-7, "{h2}");
        assert!((h1 / m1 * 100.0 - 8.4238).abs() < 5e-5);
        assert!((h2 / m2 * 100.0 - 8.9723).abs() < 5e-5);
        assert_eq!(sampling_half_width(1.0, 1), None);
    }

    #[test]
    fn closed_forms_reproduce_5_6() {
        let (_, s1) = mean_sd(&T1);
        let (_, s2) = mean_sd(&T2);
        let h1 = sampling_half_width(s1, 10).unwrap();
        let h2 = sampling_half_width(s2, 10).unwrap();
        let u_s1 = product_u(&[h1 / 50.0 * 100.0, 2.0]);
        let u_s2 = product_u(&[h2 / 56.0 * 100.0, 2.0]);
        assert!((u_s1 - 8.6580).abs() < 5e-5, "{u_s1}");
        assert!((u_s2 - 9.1925).abs() < 5e-5, "{u_s2}");
        let u_crop = product_u(&[10.0, 2.0]);
        assert!((u_crop - 10.1980).abs() < 5e-5);
        let u_sum = sum_u(&[(50_000.0, u_s1), (60_000.0, u_crop)]);
        assert!((u_sum - 6.8139).abs() < 5e-5, "{u_sum}");
        // Independent (wrong): 112.10 %.
        let u_ind = difference_u(50_000.0, u_s1 / 100.0, 56_000.0, u_s2 / 100.0, 0.0) * 100.0;
        assert!((u_ind - 112.10).abs() < 5e-3, "{u_ind}");
        // Paired correlation r from the covariance 41.3333.
        let cov: f64 = T1
            .iter()
            .zip(&T2)
            .map(|(a, b)| (a - 50.0) * (b - 56.0))
            .sum::<f64>()
            / 9.0;
        assert!((cov - 41.3333).abs() < 5e-5);
        let r = cov / (s1 * s2);
        assert!((r - 0.999480).abs() < 5e-7, "{r}");
        let u_d = difference_u(50.0, h1 / 50.0, 56.0, h2 / 56.0, r) * 100.0;
        assert!((u_d - 13.7671).abs() < 5e-5, "{u_d}");
        let u_sink = product_u(&[u_d, 2.0]);
        assert!((u_sink - 13.9116).abs() < 5e-5, "{u_sink}");
        let co2 = 6000.0 / 5.0 * super::super::CO2_PER_C;
        assert!((co2 - 4400.0).abs() < 1e-9);
        assert!((co2 * u_sink / 100.0 - 612.11).abs() < 5e-3);
        assert!((factor_one_plus_u(0.23, 90.0) - 16.829).abs() < 1e-3);
    }

    #[test]
    fn registry_engine_reproduces_5_6() {
        let (_, s1) = mean_sd(&T1);
        let (_, s2) = mean_sd(&T2);
        let h1 = sampling_half_width(s1, 10).unwrap();
        let h2 = sampling_half_width(s2, 10).unwrap();
        let cov: f64 = T1
            .iter()
            .zip(&T2)
            .map(|(a, b)| (a - 50.0) * (b - 56.0))
            .sum::<f64>()
            / 9.0;
        let r = cov / (s1 * s2);
        let mut reg = Registry::default();
        let area = reg.simple("area:forest", "forest area", 0.02);
        let d1 = reg.source("plot:t1", "", &[("plot:pair", h1 / 50.0)]);
        let d2 = reg.source(
            "plot:t2",
            "",
            &[
                ("plot:pair", r * h2 / 56.0),
                ("plot:t2only", (1.0 - r * r).sqrt() * h2 / 56.0),
            ],
        );
        let s1t = Term {
            value: 50_000.0,
            sources: vec![area, d1],
        };
        let s2t = Term {
            value: 56_000.0,
            sources: vec![area, d2],
        };
        let h = half_width(&reg, [(1.0, &s1t)]);
        assert!((h / 50_000.0 * 100.0 - 8.6580).abs() < 5e-5);
        let hs = half_width(&reg, [(-1.0, &s1t), (1.0, &s2t)]);
        assert!(
            (hs / 6000.0 * 100.0 - 13.9116).abs() < 5e-5,
            "{}",
            hs / 60.0
        );
        // Sum of strata through a ledger.
        let crop_a = reg.simple("area:crop", "", 0.02);
        let crop_d = reg.simple("default:crop:soc", "", 0.10);
        let ledger = Ledger {
            groups: vec!["420999".into()],
            terms: vec![
                LedgerTerm {
                    group: 0,
                    year: 0,
                    term: s1t.clone(),
                },
                LedgerTerm {
                    group: 0,
                    year: 1,
                    term: s2t.clone(),
                },
                LedgerTerm {
                    group: 0,
                    year: 0,
                    term: Term {
                        value: 60_000.0,
                        sources: vec![crop_a, crop_d],
                    },
                },
                LedgerTerm {
                    group: 0,
                    year: 1,
                    term: Term {
                        value: 60_000.0,
                        sources: vec![crop_a, crop_d],
                    },
                },
            ],
            dt_years: 5.0,
        };
        let a = approach1(&reg, &ledger);
        assert_eq!(a.len(), 2);
        assert!((a[0].u_stock_t1_pct().unwrap() - 6.8139).abs() < 5e-5);
        // Unchanged cropland cancels exactly in the sink (same parameter in both years).
        assert!((a[1].sink_tc_yr - 1200.0).abs() < 1e-9);
        assert!((a[1].h_sink_tc_yr - hs / 5.0).abs() < 1e-9);
        let top = sink_contributors(&reg, &ledger, 2);
        assert_eq!(top[0].0, "plot:pair");
    }
}

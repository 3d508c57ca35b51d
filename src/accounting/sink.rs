//! The stock-difference sink (carbon-accounting.md §4.3):
//! `ΔC = S_t2 − S_t1` (t C), `Sink_C = ΔC/(t₂ − t₁)` (t C/yr), `Sink_CO2 = Sink_C × 44/12`
//! (t CO₂/yr, exact ratio), per pool and in total. Sink > 0 is a net removal.
//!
//! Years must satisfy t₂ > t₁ ([`check_years`]): equal or reversed years are an error.
//!
//! See also: `stock.rs`, `aggregate.rs`.

use super::{Pools, CO2_PER_C};
use crate::{Error, Result};

/// Refuses equal or reversed survey years; returns t₂ − t₁.
pub fn check_years(year_t1: i32, year_t2: i32) -> Result<f64> {
    if year_t2 <= year_t1 {
        return Err(Error::Config(format!(
            "the measurement year t2 ({year_t2}) must come after the base year t1 ({year_t1}); {}",
            if year_t2 == year_t1 {
                "the years are equal"
            } else {
                "the years are reversed"
            }
        )));
    }
    Ok((year_t2 - year_t1) as f64)
}

/// A sink per pool and in total.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Sink {
    /// ΔC per pool (t C).
    pub dc_tc: Pools,
    /// t C/yr per pool.
    pub tc_yr: Pools,
}

impl Sink {
    /// From stocks per pool at t₁ and t₂ and the interval in years.
    pub fn from_stocks(s1: &Pools, s2: &Pools, dt_years: f64) -> Sink {
        let mut s = Sink::default();
        for k in 0..5 {
            s.dc_tc[k] = s2[k] - s1[k];
            s.tc_yr[k] = s.dc_tc[k] / dt_years;
        }
        s
    }

    /// Total ΔC (t C).
    pub fn dc_total(&self) -> f64 {
        self.dc_tc.iter().sum()
    }

    /// Total sink (t C/yr).
    pub fn tc_yr_total(&self) -> f64 {
        self.tc_yr.iter().sum()
    }

    /// Total sink (t CO₂/yr).
    pub fn co2_yr_total(&self) -> f64 {
        self.tc_yr_total() * CO2_PER_C
    }

    /// Per pool sink (t CO₂/yr).
    pub fn co2_yr(&self) -> Pools {
        self.tc_yr.map(|v| v * CO2_PER_C)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn years_and_sink() {
        assert!(check_years(2025, 2020)
            .unwrap_err()
            .to_string()
            .contains("reversed"));
        assert!(check_years(2020, 2020)
            .unwrap_err()
            .to_string()
            .contains("equal"));
        let dt = check_years(2020, 2025).unwrap();
        let s = Sink::from_stocks(
            &[48_000.0, 0.0, 0.0, 0.0, 0.0],
            &[51_600.0, 0.0, 0.0, 0.0, 0.0],
            dt,
        );
        assert_eq!(s.tc_yr_total(), 720.0);
        assert!((s.co2_yr_total() - 2640.0).abs() < 1e-9);
    }
}

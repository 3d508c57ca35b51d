//! Carbon stock of a unit per pool and year (carbon-accounting.md §4.2):
//! `S_pool,t = d_pool,t × A` in t C, with A the unit's (ellipsoidal) area in ha and d in t C/ha.
//! Stocks are summed, never averaged; densities at any level are Σ S / Σ A (`aggregate.rs`).
//!
//! See also: `sink.rs`, `density.rs`.

use super::Pools;

/// Stock per pool (t C) from densities (t C/ha) and an area (ha).
pub fn stocks(density_tc_ha: &Pools, area_ha: f64) -> Pools {
    density_tc_ha.map(|d| d * area_ha)
}

/// Area-weighted density (t C/ha) from a stock (t C) and an area (ha); 0 for zero area.
pub fn density_of(stock_tc: f64, area_ha: f64) -> f64 {
    if area_ha > 0.0 {
        stock_tc / area_ha
    } else {
        0.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stock_is_density_times_area() {
        let s = stocks(&[80.0, 0.0, 0.0, 0.0, 0.0], 600.0);
        assert_eq!(s[0], 48_000.0);
        assert_eq!(density_of(60_250.0, 950.0), 60_250.0 / 950.0);
        assert_eq!(density_of(1.0, 0.0), 0.0);
    }
}

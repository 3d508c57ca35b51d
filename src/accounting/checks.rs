//! Plausibility checks of the results (issue #11.6): per unit, live-biomass carbon density
//! (AGB + BGB, t C/ha) above its class's bound in a year, and an annual gain per hectare above
//! the class's bound on a unit whose class did not change. Bounds come from the parameters'
//! `[plausibility.<class>]` tables (documented with their sources in `params_default.toml`).
//! Results are never changed: each finding is a row of `checks.csv` and a warning in the report.

use super::{Pool, UnitResult};
use crate::params::Params;

/// One finding.
#[derive(Debug, Clone, PartialEq)]
pub struct Check {
    /// `biomass_density_high` or `biomass_gain_high`.
    pub kind: &'static str,
    pub unit: String,
    pub county: String,
    pub class: String,
    /// The year (density) or `t1-t2` (gain).
    pub when: String,
    pub value: f64,
    pub bound: f64,
    /// Unit of `value` and `bound`.
    pub units: &'static str,
    pub area_ha: f64,
    pub source: String,
}

fn biomass(u: &UnitResult, y: usize) -> f64 {
    u.density[y].pools[Pool::Agb.ix()] + u.density[y].pools[Pool::Bgb.ix()]
}

/// Every finding over the units, in unit order.
pub fn plausibility(
    units: &[UnitResult],
    params: &Params,
    years: [i32; 2],
    dt_years: f64,
) -> Vec<Check> {
    let mut out = Vec::new();
    for u in units {
        for (y, year) in years.iter().enumerate() {
            let Some(b) = params.plausibility.get(&u.class[y]) else {
                continue;
            };
            let v = biomass(u, y);
            if v > b.max_biomass_tc_ha {
                out.push(Check {
                    kind: "biomass_density_high",
                    unit: u.id.clone(),
                    county: u.county.clone(),
                    class: u.class[y].name().into(),
                    when: year.to_string(),
                    value: v,
                    bound: b.max_biomass_tc_ha,
                    units: "t C/ha",
                    area_ha: u.area_ha,
                    source: b.source.clone(),
                });
            }
        }
        if u.class[0] != u.class[1] || dt_years <= 0.0 {
            continue;
        }
        let Some(b) = params.plausibility.get(&u.class[0]) else {
            continue;
        };
        let gain = (biomass(u, 1) - biomass(u, 0)) / dt_years;
        if gain > b.max_gain_tc_ha_yr {
            out.push(Check {
                kind: "biomass_gain_high",
                unit: u.id.clone(),
                county: u.county.clone(),
                class: u.class[0].name().into(),
                when: format!("{}-{}", years[0], years[1]),
                value: gain,
                bound: b.max_gain_tc_ha_yr,
                units: "t C/ha/yr",
                area_ha: u.area_ha,
                source: b.source.clone(),
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::accounting::density::YearDensity;
    use crate::accounting::{LandClass, Method, UnitResult};

    fn unit(class: LandClass, agb: [f64; 2]) -> UnitResult {
        let d = |a: f64| YearDensity::given(class, [a, 0.2 * a, 0.0, 0.0, 0.0], Method::Plot);
        UnitResult::new(
            "u|u",
            "420001",
            "",
            ["0301".into(), "0301".into()],
            10.0,
            [d(agb[0]), d(agb[1])],
            5.0,
        )
    }

    #[test]
    fn high_gain_and_density_are_found_and_normal_growth_is_not() {
        let p = Params::defaults();
        let f = &p.plausibility[&LandClass::Forest];
        // 43.8 t CO2/ha/yr of the demo = 11.9 t C/ha/yr: above the forest bound of 10.
        let fast = unit(LandClass::Forest, [100.0, 100.0 + 11.95 * 5.0 / 1.2]);
        let c = plausibility(&[fast], &p, [2020, 2025], 5.0);
        assert_eq!(c.len(), 1, "{c:?}");
        assert_eq!(c[0].kind, "biomass_gain_high");
        assert!((c[0].value - 11.95).abs() < 1e-9 && c[0].bound == f.max_gain_tc_ha_yr);
        let normal = unit(LandClass::Forest, [100.0, 110.0]);
        assert!(plausibility(&[normal], &p, [2020, 2025], 5.0).is_empty());
        let dense = unit(LandClass::Forest, [400.0, 400.0]);
        let c = plausibility(&[dense], &p, [2020, 2025], 5.0);
        assert_eq!(
            c.iter()
                .filter(|c| c.kind == "biomass_density_high")
                .count(),
            2
        );
    }
}

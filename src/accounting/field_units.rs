//! Field measurements in their own units, converted to carbon density (t C/ha) with the
//! specification's formulas (carbon-accounting.md §1.1, §1.2, §3.2).
//!
//! A plot-table row may give its value in the unit the field crew measured, in an optional
//! `unit` column; the conversion is linear in the value, so it applies to a per-plot value and
//! to a summary row's mean and sd alike:
//!
//! | unit      | pools          | conversion                                              |
//! |-----------|----------------|---------------------------------------------------------|
//! | `tC_ha`   | all (default)  | none: the value is carbon density                       |
//! | `t_ha`    | AGB, BGB, DW, LT | dry matter t/ha × CF (class CF; CF_dw; CF_lt)        |
//! | `kg_m2`   | AGB, BGB, DW, LT | dry matter kg/m² × 10 × CF (quadrat harvest, litter) |
//! | `m3_ha`   | DW             | C_DW = V_dw × ρ_decay × CF_dw, ρ from column `decay_density_t_m3` |
//! | `m3_ha`   | AGB            | volume–BEF: AGB = V·SVD·BEF, BGB = AGB·R, C = (AGB+BGB)·CF, factors of column `species` from `[species]` |
//!
//! A stand-volume (`m3_ha`) AGB row yields both the AGB and the BGB carbon of the plot
//! (method `volume_bef`); the same plot must then have no BGB row of its own.
//! The conversion factors carry no uncertainty of their own in the parameter file: the
//! sampling uncertainty of the converted plot values is the only one attached (a systematic
//! error of CF, SVD or BEF is not represented; the report's source list names the factor).

use super::{LandClass, Pool};
use crate::params::Params;

/// One converted contribution: `carbon (t C/ha) = value × factor` into `pool`.
#[derive(Debug, Clone, PartialEq)]
pub struct Conversion {
    pub pool: Pool,
    pub factor: f64,
    /// The formula with its factors, for the source list (e.g. "V·ρ·CF_dw, ρ 0.45, CF_dw 0.5").
    pub formula: String,
    /// `true` for the volume–BEF route (F-1 method `volume_bef`).
    pub volume_bef: bool,
}

/// The carbon fraction of a class's live biomass.
pub fn live_cf(params: &Params, class: LandClass) -> f64 {
    match class {
        LandClass::Forest | LandClass::Garden => params.carbon_fraction.wood,
        _ => params.carbon_fraction.herbaceous,
    }
}

fn pool_cf(params: &Params, class: LandClass, pool: Pool) -> (f64, &'static str) {
    match pool {
        Pool::Dw => (params.carbon_fraction.dead_wood, "CF_dw"),
        Pool::Lt => (params.carbon_fraction.litter, "CF_lt"),
        _ => (live_cf(params, class), "CF"),
    }
}

/// The conversions of a row given in `unit` (see the module doc). `decay_density_t_m3` and
/// `species` are the row's optional columns (empty when absent). Errors say what is missing.
pub fn conversions(
    params: &Params,
    class: LandClass,
    pool: Pool,
    unit: &str,
    decay_density_t_m3: Option<f64>,
    species: &str,
) -> Result<Vec<Conversion>, String> {
    let plain = |factor: f64, formula: String| {
        Ok(vec![Conversion {
            pool,
            factor,
            formula,
            volume_bef: false,
        }])
    };
    let unit = unit.trim();
    match unit {
        "" | "tC_ha" | "tc_ha" => plain(1.0, String::new()),
        "t_ha" | "kg_m2" if pool == Pool::Soc => Err(format!(
            "unit {unit} (dry matter) does not apply to SOC: give SOC in tC_ha or as a soil layer table"
        )),
        "t_ha" => {
            let (cf, name) = pool_cf(params, class, pool);
            plain(cf, format!("dry matter t/ha × {name} {cf}"))
        }
        "kg_m2" => {
            let (cf, name) = pool_cf(params, class, pool);
            plain(10.0 * cf, format!("dry matter kg/m² × 10 × {name} {cf}"))
        }
        "m3_ha" => match pool {
            Pool::Dw => {
                let rho = decay_density_t_m3.ok_or(
                    "dead wood in m3_ha needs the decay-class basic density in column decay_density_t_m3",
                )?;
                if !(rho > 0.0 && rho <= 1.5) {
                    return Err(format!(
                        "decay_density_t_m3 {rho} is not a basic wood density (0 < ρ ≤ 1.5 t/m³)"
                    ));
                }
                let cf = params.carbon_fraction.dead_wood;
                plain(rho * cf, format!("V_dw × ρ_decay {rho} × CF_dw {cf}"))
            }
            Pool::Agb => {
                let name = species.trim();
                if name.is_empty() {
                    return Err("stand volume (AGB in m3_ha) needs column species naming a [species] entry of the parameters".into());
                }
                let f = params.species.get(name).ok_or_else(|| {
                    format!(
                        "species '{name}' has no volume factors in the parameters (known: {})",
                        params.species.keys().cloned().collect::<Vec<_>>().join(", ")
                    )
                })?;
                let agb = f.svd * f.bef * f.cf;
                let desc = |what: &str| {
                    format!(
                        "volume–BEF {what}: V × SVD {} × BEF {}{} × CF {} ({name})",
                        f.svd,
                        f.bef,
                        if what == "BGB" {
                            format!(" × R {}", f.r)
                        } else {
                            String::new()
                        },
                        f.cf
                    )
                };
                Ok(vec![
                    Conversion {
                        pool: Pool::Agb,
                        factor: agb,
                        formula: desc("AGB"),
                        volume_bef: true,
                    },
                    Conversion {
                        pool: Pool::Bgb,
                        factor: agb * f.r,
                        formula: desc("BGB"),
                        volume_bef: true,
                    },
                ])
            }
            _ => Err(format!(
                "unit m3_ha applies to DW (dead-wood volume) and AGB (stand volume), not {}",
                pool.name()
            )),
        },
        other => Err(format!(
            "unit '{other}' is not one of tC_ha, t_ha, kg_m2, m3_ha"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn volume_bef_reproduces_the_masson_pine_worked_check() {
        // carbon-accounting.md §3.2: V = 100 m³/ha → C = 30.542 t C/ha (AGB + BGB).
        let p = Params::defaults();
        let c = conversions(
            &p,
            LandClass::Forest,
            Pool::Agb,
            "m3_ha",
            None,
            "Pinus massoniana",
        )
        .unwrap();
        assert_eq!(c.len(), 2);
        let total: f64 = c.iter().map(|k| 100.0 * k.factor).sum();
        assert!((total - 30.542).abs() < 5e-4, "{total}");
        // AGB dry matter 55.936 t/ha → its carbon 55.936 × 0.46.
        assert!((100.0 * c[0].factor - 55.936 * 0.46).abs() < 1e-9);
        assert!(c.iter().all(|k| k.volume_bef));
    }

    #[test]
    fn dead_wood_and_litter_use_their_own_carbon_fractions() {
        let p = Params::defaults();
        let dw = conversions(&p, LandClass::Forest, Pool::Dw, "m3_ha", Some(0.4), "").unwrap();
        // 10 m³/ha × 0.4 t/m³ × 0.50 = 2.0 t C/ha.
        assert!((10.0 * dw[0].factor - 2.0).abs() < 1e-12);
        let lt = conversions(&p, LandClass::Forest, Pool::Lt, "kg_m2", None, "").unwrap();
        // 0.5 kg/m² × 10 × 0.37 = 1.85 t C/ha.
        assert!((0.5 * lt[0].factor - 1.85).abs() < 1e-12);
        let herb = conversions(&p, LandClass::Grassland, Pool::Agb, "t_ha", None, "").unwrap();
        assert!((herb[0].factor - p.carbon_fraction.herbaceous).abs() < 1e-12);
    }

    #[test]
    fn missing_factors_and_wrong_units_are_refused() {
        let p = Params::defaults();
        let e = |pool, unit, rho, sp| conversions(&p, LandClass::Forest, pool, unit, rho, sp);
        assert!(e(Pool::Dw, "m3_ha", None, "")
            .unwrap_err()
            .contains("decay_density_t_m3"));
        assert!(e(Pool::Dw, "m3_ha", Some(-1.0), "").is_err());
        assert!(e(Pool::Agb, "m3_ha", None, "")
            .unwrap_err()
            .contains("species"));
        assert!(e(Pool::Agb, "m3_ha", None, "Ginkgo")
            .unwrap_err()
            .contains("Ginkgo"));
        assert!(e(Pool::Soc, "t_ha", None, "").is_err());
        assert!(e(Pool::Lt, "m3_ha", None, "").is_err());
        assert!(e(Pool::Agb, "furlongs", None, "").is_err());
    }
}

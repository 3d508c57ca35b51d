//! Tree-level allometry: DBH from height and crown diameter, and above-ground biomass (AGB)
//! from DBH, height and wood density, per species group (carbon-accounting.md §3.1).
//!
//! Equation forms (D in cm, H in m, ρ in g/cm³, AGB in kg dry matter):
//! * `chave2014`: AGB = 0.0673·(ρ·D²·H)^0.976 (Chave et al. 2014, Eq. 4; pantropical — a
//!   fallback for subtropical broadleaf). Check: D 20, H 15, ρ 0.5 → 166.60 kg.
//! * `zeng2018`: AGB = 0.3·ρ·D^(7/3) (Zeng 2018 one-variable national model, units as inferred).
//!   Check: the same tree → 162.87 kg.
//! * `power`: AGB = a·D^b·H^c, the form of the Chinese LY/T tree biomass standards; coefficients
//!   come from the parameter file (none are invented here).
//!
//! DBH from an ITD tree: D = a·(H·CD)^b, the Jucker et al. 2017 form; the default coefficients
//! are a placeholder to be fitted locally (the parameter file says so) and are marked [R].
//!
//! See also: [`crate::params`] (where the table lives), the trees module (which applies it).

use crate::{Error, Result};
use std::collections::BTreeMap;

/// An AGB equation.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "form", rename_all = "snake_case", deny_unknown_fields)]
pub enum AgbEquation {
    /// Chave et al. 2014 Eq. 4 with wood density `wood_density_g_cm3`.
    Chave2014 { wood_density_g_cm3: f64 },
    /// Zeng 2018 one-variable model with wood density `wood_density_g_cm3`.
    Zeng2018 { wood_density_g_cm3: f64 },
    /// AGB = a·D^b·H^c (kg).
    Power { a: f64, b: f64, c: f64 },
}

impl AgbEquation {
    /// Above-ground biomass in kg dry matter.
    pub fn agb_kg(&self, dbh_cm: f64, height_m: f64) -> f64 {
        match *self {
            AgbEquation::Chave2014 {
                wood_density_g_cm3: rho,
            } => 0.0673 * (rho * dbh_cm * dbh_cm * height_m).powf(0.976),
            AgbEquation::Zeng2018 {
                wood_density_g_cm3: rho,
            } => 0.3 * rho * dbh_cm.powf(7.0 / 3.0),
            AgbEquation::Power { a, b, c } => a * dbh_cm.powf(b) * height_m.powf(c),
        }
    }
}

/// DBH from height and crown diameter: D = a·(H·CD)^b (cm).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DbhModel {
    pub a: f64,
    pub b: f64,
    #[serde(default)]
    pub source: String,
}

impl DbhModel {
    /// DBH in cm.
    pub fn dbh_cm(&self, height_m: f64, crown_diameter_m: f64) -> f64 {
        self.a * (height_m * crown_diameter_m).max(0.0).powf(self.b)
    }
}

/// The allometry of one species group.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GroupAllometry {
    pub agb: AgbEquation,
    pub dbh: DbhModel,
    #[serde(default)]
    pub source: String,
}

/// Species groups and the group used when a tree has none.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AllometryTable {
    pub default_group: String,
    pub groups: BTreeMap<String, GroupAllometry>,
}

impl AllometryTable {
    /// The allometry of `group`, or of the default group when `group` is `None`.
    pub fn group(&self, group: Option<&str>) -> Result<&GroupAllometry> {
        let g = group.unwrap_or(&self.default_group);
        self.groups.get(g).ok_or_else(|| {
            Error::Config(format!(
                "allometry group '{g}' is not in the table (known: {})",
                self.groups.keys().cloned().collect::<Vec<_>>().join(", ")
            ))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chave_and_zeng_worked_checks() {
        // carbon-accounting.md §3.1: D 20 cm, H 15 m, ρ 0.5.
        let chave = AgbEquation::Chave2014 {
            wood_density_g_cm3: 0.5,
        };
        assert!(
            (chave.agb_kg(20.0, 15.0) - 166.60).abs() < 0.01,
            "{}",
            chave.agb_kg(20.0, 15.0)
        );
        let zeng = AgbEquation::Zeng2018 {
            wood_density_g_cm3: 0.5,
        };
        assert!(
            (zeng.agb_kg(20.0, 15.0) - 162.87).abs() < 0.01,
            "{}",
            zeng.agb_kg(20.0, 15.0)
        );
    }

    #[test]
    fn power_form() {
        let p = AgbEquation::Power {
            a: 0.1,
            b: 2.0,
            c: 1.0,
        };
        assert!((p.agb_kg(10.0, 20.0) - 200.0).abs() < 1e-9);
    }

    #[test]
    fn default_table_has_its_default_group() {
        let p = crate::params::Params::defaults();
        let g = p.allometry.group(None).unwrap();
        assert!(g.agb.agb_kg(30.0, 20.0) > 0.0);
        assert!(p.allometry.group(Some("no such group")).is_err());
    }
}

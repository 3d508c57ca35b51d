//! Carbon parameters: carbon fractions, root-to-shoot ratios, species volume→carbon factors,
//! per-class default densities, SOC settings and the land-survey class mapping
//! (carbon-accounting.md §1, §6).
//!
//! The defaults are embedded in the binary (`src/params_default.toml`, each value with its
//! source). A user file with the same keys overrides any of them, key by key;
//! [`Params::provenance`] records for every leaf key whether it came from the defaults or from
//! the user's file, so each run can say which value came from where.

use crate::{Error, Result};
use std::collections::BTreeMap;
use std::path::Path;

/// The embedded default parameter file.
pub const DEFAULT_TOML: &str = include_str!("params_default.toml");

/// Accounting classes of the specification (耕园林草湿) plus out-of-scope land.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum LandClass {
    Cropland,
    Garden,
    Forest,
    Grassland,
    Wetland,
    OutOfScope,
}

impl LandClass {
    /// All classes, in the specification's order.
    pub const ALL: [LandClass; 6] = [
        LandClass::Cropland,
        LandClass::Garden,
        LandClass::Forest,
        LandClass::Grassland,
        LandClass::Wetland,
        LandClass::OutOfScope,
    ];

    /// snake_case name as used in parameter files and tables.
    pub fn name(self) -> &'static str {
        match self {
            LandClass::Cropland => "cropland",
            LandClass::Garden => "garden",
            LandClass::Forest => "forest",
            LandClass::Grassland => "grassland",
            LandClass::Wetland => "wetland",
            LandClass::OutOfScope => "out_of_scope",
        }
    }

    /// `true` for the five accounted classes.
    pub fn in_scope(self) -> bool {
        self != LandClass::OutOfScope
    }
}

/// A value with its standard deviation and where it comes from.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Estimate {
    pub mean: f64,
    #[serde(default)]
    pub sd: Option<f64>,
    #[serde(default)]
    pub source: String,
}

impl Estimate {
    /// 95 % half-width as a percentage of the mean (1.96·sd/mean·100), the IPCC U%.
    pub fn u_pct(&self) -> Option<f64> {
        let sd = self.sd?;
        (self.mean != 0.0).then(|| 1.96 * sd / self.mean.abs() * 100.0)
    }
}

/// Carbon fractions (t C per t dry matter).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CarbonFraction {
    pub wood: f64,
    pub herbaceous: f64,
    pub dead_wood: f64,
    pub litter: f64,
}

/// One row of the root-to-shoot table.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RootShootRow {
    pub agb_le_step: f64,
    pub agb_gt_step: f64,
    /// 95 % uncertainty in percent.
    #[serde(default)]
    pub u_pct: Option<f64>,
}

/// Root-to-shoot ratios by ecological zone (IPCC 2019 Table 4.4).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RootShoot {
    pub default_zone: String,
    pub step_agb_t_ha: f64,
    pub zones: BTreeMap<String, RootShootRow>,
}

impl RootShoot {
    /// The ratio R for an AGB (t d.m./ha) in `zone` (or the default zone). The table is
    /// discontinuous at the step (125 t/ha): AGB equal to the step takes the lower row.
    pub fn ratio(&self, zone: Option<&str>, agb_t_ha: f64) -> Result<f64> {
        let z = zone.unwrap_or(&self.default_zone);
        let row = self.zones.get(z).ok_or_else(|| {
            Error::Config(format!(
                "root-to-shoot zone '{z}' is not in the parameter table (known: {})",
                self.zones.keys().cloned().collect::<Vec<_>>().join(", ")
            ))
        })?;
        Ok(if agb_t_ha <= self.step_agb_t_ha {
            row.agb_le_step
        } else {
            row.agb_gt_step
        })
    }
}

/// Volume → carbon factors of one species (group).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SpeciesFactors {
    #[serde(default)]
    pub name_zh: String,
    /// Basic wood density, t/m³.
    pub svd: f64,
    /// Biomass expansion factor.
    pub bef: f64,
    /// Root-to-shoot ratio.
    pub r: f64,
    /// Carbon fraction.
    pub cf: f64,
}

impl SpeciesFactors {
    /// Carbon density (t C/ha) from stand volume (m³/ha): (V·SVD·BEF)·(1+R)·CF (§3.2).
    pub fn carbon_from_volume(&self, volume_m3_ha: f64) -> f64 {
        volume_m3_ha * self.svd * self.bef * (1.0 + self.r) * self.cf
    }
}

/// Default densities of one accounting class. Absent pools are "not estimated".
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClassDefaults {
    /// Above-ground biomass, t d.m./ha.
    #[serde(default)]
    pub agb_t_ha: Option<Estimate>,
    /// Above-ground carbon given directly, t C/ha (for classes reported as carbon).
    #[serde(default)]
    pub agc_tc_ha: Option<Estimate>,
    /// `true` when `agb_t_ha` already includes below-ground biomass (grassland totals).
    #[serde(default)]
    pub bgb_included: bool,
    #[serde(default)]
    pub dead_wood_tc_ha: Option<Estimate>,
    #[serde(default)]
    pub litter_tc_ha: Option<Estimate>,
    #[serde(default)]
    pub soc_tc_ha: Option<Estimate>,
}

/// SOC settings.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SocSettings {
    pub reference_depth_cm: f64,
    pub missing_bd_policy: String,
    /// SOC of a patch whose class is out of scope: "retain" or "zero".
    pub out_of_scope: String,
}

/// Plausibility bounds of one class: results beyond them are reported, never changed.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Plausibility {
    /// Largest plausible live-biomass carbon (AGB + BGB), t C/ha.
    pub max_biomass_tc_ha: f64,
    /// Largest plausible annual gain of live-biomass carbon on an unchanged unit, t C/ha/yr.
    pub max_gain_tc_ha_yr: f64,
    #[serde(default)]
    pub source: String,
}

/// All parameters.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Params {
    pub carbon_fraction: CarbonFraction,
    pub root_shoot: RootShoot,
    #[serde(default)]
    pub species: BTreeMap<String, SpeciesFactors>,
    #[serde(default)]
    pub classes: BTreeMap<LandClass, ClassDefaults>,
    pub soc: SocSettings,
    pub class_map: BTreeMap<LandClass, Vec<String>>,
    /// Tree allometry per species group.
    pub allometry: crate::biomass::allometry::AllometryTable,
    /// Plausibility bounds per class for `account`'s checks.
    #[serde(default)]
    pub plausibility: BTreeMap<LandClass, Plausibility>,
    /// Leaf key → "default" or the path of the file that set it.
    #[serde(skip)]
    pub provenance: BTreeMap<String, String>,
}

impl Params {
    /// The embedded defaults.
    pub fn defaults() -> Params {
        Params::load(None).expect("the embedded parameter file is valid")
    }

    /// Defaults overridden by the TOML file at `path`, when given.
    pub fn load(path: Option<&Path>) -> Result<Params> {
        let mut merged: toml::Value = toml::from_str(DEFAULT_TOML)
            .map_err(|e| Error::Config(format!("embedded defaults: {e}")))?;
        let mut provenance = BTreeMap::new();
        leaves(&merged, String::new(), &mut |k| {
            provenance.insert(k, "default".to_string());
        });
        if let Some(p) = path {
            let text = std::fs::read_to_string(p).map_err(|e| Error::io(p, e))?;
            let user: toml::Value = toml::from_str(&text)
                .map_err(|e| Error::Config(format!("{}: {e}", p.display())))?;
            let src = p.display().to_string();
            leaves(&user, String::new(), &mut |k| {
                provenance.insert(k, src.clone());
            });
            merge(&mut merged, user);
        }
        let mut params: Params = merged.try_into().map_err(|e| {
            Error::Config(format!(
                "parameters{}: {e}",
                path.map(|p| format!(" ({})", p.display()))
                    .unwrap_or_default()
            ))
        })?;
        params.provenance = provenance;
        params.validate()?;
        Ok(params)
    }

    fn validate(&self) -> Result<()> {
        let cf = &self.carbon_fraction;
        for (k, v) in [
            ("wood", cf.wood),
            ("herbaceous", cf.herbaceous),
            ("dead_wood", cf.dead_wood),
            ("litter", cf.litter),
        ] {
            if !(v > 0.0 && v < 1.0) {
                return Err(Error::Config(format!(
                    "carbon_fraction.{k} = {v} must lie in (0, 1)"
                )));
            }
        }
        if !self
            .root_shoot
            .zones
            .contains_key(&self.root_shoot.default_zone)
        {
            return Err(Error::Config(format!(
                "root_shoot.default_zone '{}' has no row in root_shoot.zones",
                self.root_shoot.default_zone
            )));
        }
        if !matches!(self.soc.out_of_scope.as_str(), "retain" | "zero") {
            return Err(Error::Config(format!(
                "soc.out_of_scope must be \"retain\" or \"zero\", got \"{}\"",
                self.soc.out_of_scope
            )));
        }
        // Every exact code must map to one class only.
        let mut seen: BTreeMap<&str, LandClass> = BTreeMap::new();
        for (class, codes) in &self.class_map {
            for c in codes {
                if let Some(prev) = seen.insert(c.as_str(), *class) {
                    if prev != *class {
                        return Err(Error::Config(format!(
                            "class_map: code {c} maps to both {} and {}",
                            prev.name(),
                            class.name()
                        )));
                    }
                }
            }
        }
        Ok(())
    }

    /// The accounting class of a land-survey code: an exact entry first, then a two-digit
    /// prefix entry; `None` when nothing matches.
    pub fn class_of(&self, code: &str) -> Option<LandClass> {
        let code = code.trim();
        let exact = self
            .class_map
            .iter()
            .find(|(_, codes)| codes.iter().any(|c| c == code));
        if let Some((c, _)) = exact {
            return Some(*c);
        }
        self.class_map
            .iter()
            .find(|(_, codes)| {
                codes
                    .iter()
                    .any(|c| c.len() == 2 && code.starts_with(c.as_str()))
            })
            .map(|(c, _)| *c)
    }

    /// Defaults of a class (empty when the file lists none).
    pub fn class_defaults(&self, class: LandClass) -> ClassDefaults {
        self.classes.get(&class).cloned().unwrap_or_default()
    }

    /// Below- plus above-ground live-biomass carbon (t C/ha) from AGB (t d.m./ha) with the
    /// root-to-shoot ratio of `zone` and the wood carbon fraction (§1.1):
    /// C = AGB·(1 + R)·CF.
    pub fn live_biomass_carbon(&self, agb_t_ha: f64, zone: Option<&str>) -> Result<(f64, f64)> {
        let r = self.root_shoot.ratio(zone, agb_t_ha)?;
        let cf = self.carbon_fraction.wood;
        Ok((agb_t_ha * cf, agb_t_ha * r * cf))
    }

    /// The parameters as TOML, for the run record.
    pub fn to_toml(&self) -> String {
        toml::to_string(self).unwrap_or_default()
    }
}

fn leaves(v: &toml::Value, prefix: String, f: &mut dyn FnMut(String)) {
    match v {
        toml::Value::Table(t) => {
            for (k, v) in t {
                let key = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                leaves(v, key, f);
            }
        }
        _ => f(prefix),
    }
}

fn merge(base: &mut toml::Value, over: toml::Value) {
    match (base, over) {
        (toml::Value::Table(b), toml::Value::Table(o)) => {
            for (k, v) in o {
                match b.get_mut(&k) {
                    Some(existing) if existing.is_table() && v.is_table() => merge(existing, v),
                    _ => {
                        b.insert(k, v);
                    }
                }
            }
        }
        (b, o) => *b = o,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn worked_check_live_biomass_carbon() {
        // carbon-accounting.md §1.1: AGB 120, R 0.230, CF 0.47 -> 69.372 t C/ha.
        let p = Params::defaults();
        let (agc, bgc) = p.live_biomass_carbon(120.0, None).unwrap();
        assert!((agc + bgc - 69.372).abs() < 1e-9, "{}", agc + bgc);
        // Above the 125 t/ha step the other row applies.
        let (a2, b2) = p.live_biomass_carbon(200.0, None).unwrap();
        assert!((b2 / a2 - 0.246).abs() < 1e-12);
    }

    #[test]
    fn worked_check_volume_bef_masson_pine() {
        // §3.2: V = 100 m3/ha of Masson pine -> 30.542 t C/ha.
        let p = Params::defaults();
        let c = p.species["Pinus massoniana"].carbon_from_volume(100.0);
        assert!((c - 30.542).abs() < 5e-4, "{c}");
    }

    #[test]
    fn class_map_exact_beats_prefix() {
        let p = Params::defaults();
        assert_eq!(p.class_of("0301"), Some(LandClass::Forest));
        assert_eq!(p.class_of("1105"), Some(LandClass::Wetland));
        assert_eq!(p.class_of("1101"), Some(LandClass::OutOfScope));
        assert_eq!(p.class_of("0702"), Some(LandClass::OutOfScope));
        assert_eq!(p.class_of("9999"), None);
    }

    #[test]
    fn user_file_overrides_and_provenance() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("p.toml");
        std::fs::write(&f, "[carbon_fraction]\nwood = 0.50\n").unwrap();
        let p = Params::load(Some(&f)).unwrap();
        assert_eq!(p.carbon_fraction.wood, 0.50);
        assert_eq!(p.carbon_fraction.litter, 0.37);
        assert_eq!(
            p.provenance["carbon_fraction.wood"],
            f.display().to_string()
        );
        assert_eq!(p.provenance["carbon_fraction.litter"], "default");
    }

    #[test]
    fn bad_values_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("p.toml");
        std::fs::write(&f, "[carbon_fraction]\nwood = 1.5\n").unwrap();
        assert!(Params::load(Some(&f))
            .unwrap_err()
            .to_string()
            .contains("wood"));
        std::fs::write(&f, "[carbon_fractio]\nwood = 0.5\n").unwrap();
        assert!(
            Params::load(Some(&f)).is_err(),
            "unknown keys must be refused"
        );
    }
}

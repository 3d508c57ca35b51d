//! The `[account]` section of the run configuration. Every flag of `landcarbon account` maps
//! onto a key here; flags override the file. Defaults are the published ones: sliver 1 m²
//! (carbon-accounting.md §4.1), 44/12, ≥ 10 000 Monte Carlo draws (100 000 for the reported
//! figure, §5.5), seed 20240601 (the §5.6 example's).
//!
//! ```toml
//! [account]
//! patches_t1 = "survey_2020.gpkg"
//! patches_t2 = "survey_2025.gpkg"
//! year_t1 = 2020
//! year_t2 = 2025
//! params = "params.toml"        # optional parameter overrides
//! out = "results"
//! sliver_m2 = 1.0
//! area_year = "t2"              # whose TBMJ is apportioned to the units
//! area_u_pct = 2.0              # 95 % uncertainty of areas (one error per county × transition)
//! mc_draws = 100000
//! mc_seed = 20240601
//! [account.fields]
//! id = "BSM"
//! class = "DLBM"
//! location = "ZLDWDM"           # county code = its first 6 digits, unless `county` names a field
//! area = "TBMJ"
//! area_unit = "m2"              # m2 | ha | mu
//! [account.t1]
//! density = "lidar_2020/"       # folder (agc.tif, bgc.tif, dw.tif, lt.tif, soc.tif, se.tif,
//!                               # extrapolated.tif, model.json), or agc=..,se=.. , or a .toml
//! plots = "plots_2020.csv"
//! soil = "soil.csv"
//! [account.t1.lidar]
//! classes = ["forest", "garden"]
//! model_u_pct = 8.0
//! ```
//!
//! See also: `pipeline.rs`, `src/cli/account.rs`.

use super::density::SeMode;
use super::overlay::AreaYear;
use super::LandClass;
use crate::{Error, Result};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Unit of the area field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AreaUnit {
    /// Square metres (三调 TBMJ).
    #[default]
    M2,
    Ha,
    /// 亩 = 1/15 ha.
    Mu,
}

impl AreaUnit {
    /// Hectares per unit.
    pub fn to_ha(self) -> f64 {
        match self {
            AreaUnit::M2 => 1e-4,
            AreaUnit::Ha => 1.0,
            AreaUnit::Mu => 1.0 / 15.0,
        }
    }
}

/// Attribute names of the patch layers.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FieldNames {
    /// Patch id (标识码 BSM).
    pub id: String,
    /// Class code (地类编码 DLBM).
    pub class: String,
    /// County code field; empty = first 6 digits of `location`.
    pub county: String,
    /// Location-unit code (坐落单位代码 ZLDWDM).
    pub location: String,
    /// Area field (图斑面积 TBMJ); empty = planar area of the geometry (warned).
    pub area: String,
    pub area_unit: AreaUnit,
    /// Optional stratum field (e.g. dominant species) for plot and soil rows.
    pub stratum: String,
    /// Optional county-name field.
    pub county_name: String,
}

impl Default for FieldNames {
    fn default() -> Self {
        FieldNames {
            id: "BSM".into(),
            class: "DLBM".into(),
            county: String::new(),
            location: "ZLDWDM".into(),
            area: "TBMJ".into(),
            area_unit: AreaUnit::M2,
            stratum: String::new(),
            county_name: String::new(),
        }
    }
}

/// LiDAR density rasters of one year.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LidarConfig {
    /// Folder with the conventional file names (overridden by the explicit paths below).
    pub dir: Option<PathBuf>,
    pub agc: Option<PathBuf>,
    pub bgc: Option<PathBuf>,
    pub dw: Option<PathBuf>,
    pub lt: Option<PathBuf>,
    pub soc: Option<PathBuf>,
    /// Optional total-density raster, used only to check Σ pools.
    pub total: Option<PathBuf>,
    /// Per-cell prediction SE (t C/ha).
    pub se: Option<PathBuf>,
    /// Non-zero where cells are outside the calibration range.
    pub extrapolated: Option<PathBuf>,
    /// Model metadata (JSON) shown in the report; may carry `id` and `u_pct`.
    pub model: Option<PathBuf>,
    /// Classes the rasters are used for.
    pub classes: Vec<LandClass>,
    /// lidar_aba or lidar_itd: the method that made the density rasters. Default: the
    /// `method` key of the folder's model.json (`carbon --trees` writes lidar_itd, `carbon
    /// --model` and `run` lidar_aba), else lidar_aba. Given here and different from model.json,
    /// it is an error.
    pub method: Option<String>,
    pub se_mode: SeMode,
    /// Model identity (default: model file's `id`, else its path, else per year).
    pub model_id: Option<String>,
    /// Systematic model uncertainty (95 %, %); default: model file's `u_pct`.
    pub model_u_pct: Option<f64>,
    /// Minimum covered share of a unit for the rasters to be used.
    pub min_coverage: f64,
    /// A unit-year whose LiDAR cells lie outside the model's calibration range on more than
    /// this share of the covered area (%) is flagged `extrapolated` (the share is always listed).
    pub extrapolation_flag_pct: f64,
}

impl Default for LidarConfig {
    fn default() -> Self {
        LidarConfig {
            dir: None,
            agc: None,
            bgc: None,
            dw: None,
            lt: None,
            soc: None,
            total: None,
            se: None,
            extrapolated: None,
            model: None,
            classes: vec![LandClass::Forest, LandClass::Garden],
            method: None,
            se_mode: SeMode::Residual,
            model_id: None,
            model_u_pct: None,
            min_coverage: 0.5,
            extrapolation_flag_pct: 5.0,
        }
    }
}

impl LidarConfig {
    /// `true` when any raster is named.
    pub fn is_set(&self) -> bool {
        self.dir.is_some()
            || self.agc.is_some()
            || self.bgc.is_some()
            || self.dw.is_some()
            || self.lt.is_some()
            || self.soc.is_some()
    }

    /// Applies a `--density-tN` value: a folder, a `.toml` file with these keys, or a list
    /// `agc=PATH,bgc=PATH,se=PATH,model=PATH,...`. Relative paths in a `.toml` file are
    /// relative to that file.
    pub fn apply_spec(&mut self, spec: &str) -> Result<()> {
        let p = Path::new(spec);
        if p.is_dir() {
            self.dir = Some(p.to_path_buf());
            return Ok(());
        }
        if spec.ends_with(".toml") {
            let text = std::fs::read_to_string(p).map_err(|e| Error::io(p, e))?;
            let mut c: LidarConfig = toml::from_str(&text)
                .map_err(|e| Error::Config(format!("{}: {e}", p.display())))?;
            let base = p.parent().unwrap_or(Path::new("."));
            c.resolve_relative(base);
            *self = c;
            return Ok(());
        }
        if !spec.contains('=') {
            return Err(Error::Config(format!(
                "density source '{spec}' is neither a folder, a .toml file nor a list agc=PATH,bgc=PATH,..."
            )));
        }
        for part in spec.split(',').filter(|s| !s.trim().is_empty()) {
            let (k, v) = part.split_once('=').ok_or_else(|| {
                Error::Config(format!("density source item '{part}' is not KEY=PATH"))
            })?;
            let v = Some(PathBuf::from(v.trim()));
            match k.trim() {
                "agc" | "agb" => self.agc = v,
                "bgc" | "bgb" => self.bgc = v,
                "dw" => self.dw = v,
                "lt" => self.lt = v,
                "soc" => self.soc = v,
                "total" => self.total = v,
                "se" => self.se = v,
                "extrapolated" => self.extrapolated = v,
                "model" => self.model = v,
                other => {
                    return Err(Error::Config(format!(
                        "density source key '{other}' unknown (agc, bgc, dw, lt, soc, total, se, extrapolated, model)"
                    )))
                }
            }
        }
        Ok(())
    }

    /// Makes relative paths relative to `base`.
    pub fn resolve_relative(&mut self, base: &Path) {
        for p in [
            &mut self.dir,
            &mut self.agc,
            &mut self.bgc,
            &mut self.dw,
            &mut self.lt,
            &mut self.soc,
            &mut self.total,
            &mut self.se,
            &mut self.extrapolated,
            &mut self.model,
        ]
        .into_iter()
        .flatten()
        {
            if p.is_relative() {
                *p = base.join(&*p);
            }
        }
    }

    /// The raster for a pool name (agc, bgc, dw, lt, soc, total, se, extrapolated) or model
    /// file: the explicit path, else `dir/NAME.tif` (`dir/model.json`) when it exists.
    pub fn path_of(&self, name: &str) -> Option<PathBuf> {
        let explicit = match name {
            "agc" => &self.agc,
            "bgc" => &self.bgc,
            "dw" => &self.dw,
            "lt" => &self.lt,
            "soc" => &self.soc,
            "total" => &self.total,
            "se" => &self.se,
            "extrapolated" => &self.extrapolated,
            "model" => &self.model,
            _ => &None,
        };
        if explicit.is_some() {
            return explicit.clone();
        }
        let dir = self.dir.as_ref()?;
        // The names `landcarbon run` writes first, then those of `landcarbon carbon`.
        let candidates: &[&str] = match name {
            "model" => &["model.json"],
            "agc" => &["agc.tif", "agc_tc_ha.tif"],
            "bgc" => &["bgc.tif", "bgc_tc_ha.tif"],
            "dw" => &["dw.tif", "dw_tc_ha.tif"],
            "lt" => &["lt.tif", "lt_tc_ha.tif"],
            "soc" => &["soc.tif", "soc_tc_ha.tif"],
            "total" => &["total.tif", "total_tc_ha.tif"],
            "se" => &["se.tif", "total_se_tc_ha.tif"],
            "extrapolated" => &["extrapolated.tif"],
            // The flag raster of `run`/`carbon`: bit 1 = predictor outside the calibration range.
            "flag" => &["flag.tif"],
            _ => &[],
        };
        candidates.iter().map(|c| dir.join(c)).find(|f| f.exists())
    }
}

/// Density sources of one year.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct YearConfig {
    /// Shorthand for the LiDAR rasters (see [`LidarConfig::apply_spec`]).
    pub density: Option<String>,
    pub lidar: LidarConfig,
    /// Plot table (CSV): per plot `plot_id,class,stratum,pool,value[,year]` or summary
    /// `class,stratum,pool,mean,sd,n[,year,r_paired]`, t C/ha; an optional `unit` column takes
    /// field units (`t_ha`/`kg_m2` dry matter × CF; DW `m3_ha` × `decay_density_t_m3` × CF_dw;
    /// AGB `m3_ha` stand volume × the `species` factors, volume–BEF, giving AGB and BGB).
    pub plots: Option<PathBuf>,
    /// Soil layer table (CSV).
    pub soil: Option<PathBuf>,
}

/// The `[account]` section.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AccountConfig {
    pub patches_t1: Option<PathBuf>,
    pub patches_t2: Option<PathBuf>,
    /// Layer names (default: the first layer).
    pub layer_t1: Option<String>,
    pub layer_t2: Option<String>,
    pub year_t1: Option<i32>,
    pub year_t2: Option<i32>,
    /// Parameter file overriding the embedded defaults.
    pub params: Option<PathBuf>,
    pub out: Option<PathBuf>,
    pub fields: FieldNames,
    pub sliver_m2: f64,
    pub area_year: AreaYear,
    /// 95 % relative uncertainty of the areas (%).
    pub area_u_pct: f64,
    pub mc_draws: usize,
    pub mc_seed: u64,
    /// Sources with a CV above this are sampled lognormal in the Monte Carlo (0 = never).
    pub mc_lognormal_above_cv: f64,
    /// Equivalent-soil-mass correction of SOC when bulk density changes (soil tables only).
    pub esm: bool,
    /// County code → name (used when the patches carry no name).
    pub county_names: BTreeMap<String, String>,
    /// Width of the report maps in pixels.
    pub map_width_px: u32,
    pub t1: YearConfig,
    pub t2: YearConfig,
}

impl Default for AccountConfig {
    fn default() -> Self {
        AccountConfig {
            patches_t1: None,
            patches_t2: None,
            layer_t1: None,
            layer_t2: None,
            year_t1: None,
            year_t2: None,
            params: None,
            out: None,
            fields: FieldNames::default(),
            sliver_m2: 1.0,
            area_year: AreaYear::T2,
            area_u_pct: 2.0,
            mc_draws: 100_000,
            mc_seed: 20240601,
            mc_lognormal_above_cv: 0.3,
            esm: false,
            county_names: BTreeMap::new(),
            map_width_px: 1200,
            t1: YearConfig::default(),
            t2: YearConfig::default(),
        }
    }
}

impl AccountConfig {
    /// Makes the file paths of the section relative to `base` (the configuration file's
    /// folder), so a configuration works from any working directory.
    pub fn resolve_relative(&mut self, base: &Path) {
        let fix = |p: &mut Option<PathBuf>| {
            if let Some(x) = p {
                if x.is_relative() {
                    *x = base.join(&*x);
                }
            }
        };
        fix(&mut self.patches_t1);
        fix(&mut self.patches_t2);
        fix(&mut self.params);
        fix(&mut self.out);
        for y in [&mut self.t1, &mut self.t2] {
            fix(&mut y.plots);
            fix(&mut y.soil);
            if let Some(d) = &mut y.density {
                if !d.contains('=') && Path::new(d.as_str()).is_relative() {
                    *d = base.join(d.as_str()).display().to_string();
                }
            }
            y.lidar.resolve_relative(base);
        }
    }

    /// Checks ranges; resolves the `density` shorthands into the `lidar` tables.
    pub fn validate(&mut self) -> Result<()> {
        if !(self.sliver_m2 >= 0.0 && self.sliver_m2.is_finite()) {
            return Err(Error::Config(format!(
                "account.sliver_m2 = {} must be >= 0",
                self.sliver_m2
            )));
        }
        if !(self.area_u_pct >= 0.0 && self.area_u_pct.is_finite()) {
            return Err(Error::Config(format!(
                "account.area_u_pct = {} must be >= 0",
                self.area_u_pct
            )));
        }
        if self.mc_draws != 0 && self.mc_draws < 10_000 {
            return Err(Error::Config(format!(
                "account.mc_draws = {} : the Monte Carlo needs at least 10000 draws (0 = skip it)",
                self.mc_draws
            )));
        }
        for y in [&mut self.t1, &mut self.t2] {
            if let Some(spec) = y.density.take() {
                y.lidar.apply_spec(&spec)?;
            }
            if !(0.0..=1.0).contains(&y.lidar.min_coverage) {
                return Err(Error::Config(format!(
                    "lidar.min_coverage = {} must lie in [0, 1]",
                    y.lidar.min_coverage
                )));
            }
            if !(0.0..=100.0).contains(&y.lidar.extrapolation_flag_pct) {
                return Err(Error::Config(format!(
                    "lidar.extrapolation_flag_pct = {} must lie in [0, 100]",
                    y.lidar.extrapolation_flag_pct
                )));
            }
            if let Some(m) = y.lidar.method.as_deref() {
                if !matches!(m, "lidar_aba" | "lidar_itd") {
                    return Err(Error::Config(format!(
                        "lidar.method = \"{m}\": must be lidar_aba or lidar_itd"
                    )));
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn density_specs() {
        let mut l = LidarConfig::default();
        l.apply_spec("agc=a.tif,bgc=b.tif,se=s.tif,model=m.json")
            .unwrap();
        assert_eq!(l.path_of("agc"), Some(PathBuf::from("a.tif")));
        assert_eq!(l.path_of("model"), Some(PathBuf::from("m.json")));
        assert_eq!(l.path_of("dw"), None);
        assert!(l
            .apply_spec("foo=a.tif")
            .unwrap_err()
            .to_string()
            .contains("foo"));
        assert!(l.apply_spec("no_such_dir").is_err());
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("agc.tif"), b"x").unwrap();
        let mut l = LidarConfig::default();
        l.apply_spec(dir.path().to_str().unwrap()).unwrap();
        assert_eq!(l.path_of("agc"), Some(dir.path().join("agc.tif")));
        assert_eq!(l.path_of("bgc"), None);
        let f = dir.path().join("m.toml");
        std::fs::write(
            &f,
            "agc = \"x/agc.tif\"\nclasses = [\"forest\"]\nmodel_u_pct = 7.5\n",
        )
        .unwrap();
        let mut l = LidarConfig::default();
        l.apply_spec(f.to_str().unwrap()).unwrap();
        assert_eq!(l.agc, Some(dir.path().join("x/agc.tif")));
        assert_eq!(l.model_u_pct, Some(7.5));
    }

    #[test]
    fn config_section_parses_and_validates() {
        let c: AccountConfig = toml::from_str(
            "year_t1 = 2020\nyear_t2 = 2025\narea_year = \"t1\"\n[fields]\narea_unit = \"mu\"\n[t1.lidar]\nclasses = [\"forest\", \"wetland\"]\n",
        )
        .unwrap();
        assert_eq!(c.area_year, AreaYear::T1);
        assert_eq!(c.fields.area_unit.to_ha(), 1.0 / 15.0);
        assert_eq!(
            c.t1.lidar.classes,
            vec![LandClass::Forest, LandClass::Wetland]
        );
        assert!(toml::from_str::<AccountConfig>("sliver = 1\n").is_err());
        let mut c = AccountConfig {
            mc_draws: 500,
            ..Default::default()
        };
        assert!(c.validate().unwrap_err().to_string().contains("10000"));
    }
}

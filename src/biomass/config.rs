//! The `[metrics]` and `[carbon]` sections of the run configuration (the `[calibrate]` section
//! is [`super::calibrate::CalibrateOptions`]). Every command-line flag of `landcarbon metrics`
//! and `landcarbon carbon` maps onto a key here.
//!
//! ```toml
//! [metrics]
//! res_m = 20.0            # grid cell (m); ideally the plot area (20 m = 400 m²)
//! height = "auto"         # as chm/trees: HeightAboveGround, else normalize on the class-2
//!                         # points, else Z; or "z", "ground", "dim:NAME" (or a bare NAME)
//! nodata = -9999.0
//! height_break_m = 2.0
//! returns = "all"         # all | first | last | single
//! # min_height_m = 2.0    # lidaRtRee's hmin; unset = every return (lidR)
//! entropy_bin_m = 1.0
//! zpcum_min_m = 0.0
//! drop_noise = true
//! [metrics.plots]
//! radius_m = 11.28        # for plot tables without a radius column
//! [carbon]
//! class = "forest"
//! # zone = "subtropical_humid_asia_natural"
//! # params = "params.toml"
//! nodata = -9999.0
//! ```

use super::predict::CarbonOptions;
use crate::algo::metrics::{MetricOptions, ReturnFilter};
use crate::params::LandClass;
use crate::vector::PlotReadOptions;
use std::path::PathBuf;

/// `[metrics]`: metric options, grid cell, heights, plots.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MetricsConfig {
    /// Grid cell size (m). Default 20 (400 m², the minimum plot size of carbon-accounting.md §2).
    pub res_m: f64,
    /// Heights above ground, as `chm` and `trees` take them: `auto` (the `HeightAboveGround`
    /// dimension, else the ground surface of the ground points as `landcarbon normalize` builds
    /// it with the `[normalize]` options, else Z with a warning), `z` (already normalized),
    /// `ground`, or `dim:NAME` / `NAME` (an extra-bytes dimension).
    pub height: String,
    /// Nodata value of the metric rasters.
    pub nodata: f64,
    pub height_break_m: f64,
    pub returns: ReturnFilter,
    pub min_height_m: Option<f64>,
    pub entropy_bin_m: f64,
    pub zpcum_min_m: f64,
    pub drop_noise: bool,
    /// How plots are read.
    pub plots: PlotReadOptions,
}

impl Default for MetricsConfig {
    fn default() -> Self {
        let o = MetricOptions::default();
        MetricsConfig {
            res_m: 20.0,
            height: "auto".into(),
            nodata: -9999.0,
            height_break_m: o.height_break_m,
            returns: o.returns,
            min_height_m: o.min_height_m,
            entropy_bin_m: o.entropy_bin_m,
            zpcum_min_m: o.zpcum_min_m,
            drop_noise: o.drop_noise,
            plots: PlotReadOptions::default(),
        }
    }
}

impl MetricsConfig {
    /// The height source named by `height` (a name that is not a keyword is an extra-bytes
    /// dimension, as before `dim:` existed).
    pub fn height_source(&self) -> crate::algo::canopy::heights::HeightSource {
        use crate::algo::canopy::heights::HeightSource;
        self.height
            .parse()
            .unwrap_or_else(|_| HeightSource::Dim(self.height.clone()))
    }

    /// The metric options of this section.
    pub fn options(&self) -> MetricOptions {
        MetricOptions {
            height_break_m: self.height_break_m,
            returns: self.returns,
            min_height_m: self.min_height_m,
            entropy_bin_m: self.entropy_bin_m,
            zpcum_min_m: self.zpcum_min_m,
            drop_noise: self.drop_noise,
        }
    }
}

/// `[carbon]`: parameter file, accounting class, root-to-shoot zone, nodata.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CarbonConfig {
    /// User parameter file overriding the embedded defaults.
    pub params: Option<PathBuf>,
    pub class: LandClass,
    pub zone: Option<String>,
    pub nodata: f64,
}

impl Default for CarbonConfig {
    fn default() -> Self {
        CarbonConfig {
            params: None,
            class: LandClass::Forest,
            zone: None,
            nodata: -9999.0,
        }
    }
}

impl CarbonConfig {
    /// The carbon options of this section.
    pub fn options(&self) -> CarbonOptions {
        CarbonOptions {
            class: self.class,
            zone: self.zone.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::config::Config;

    #[test]
    fn sections_parse_and_unknown_keys_are_refused() {
        let cfg: Config = toml::from_str(
            r#"
[metrics]
res_m = 25.0
returns = "first"
min_height_m = 2.0
[metrics.plots]
radius_m = 11.28
[calibrate]
response = "G_m2_ha"
form = "power"
criterion = "bic"
correction = "duan"
max_predictors = 2
[carbon]
class = "forest"
zone = "temperate_asia_natural_conifer"
"#,
        )
        .unwrap();
        assert_eq!(cfg.metrics.res_m, 25.0);
        assert_eq!(cfg.metrics.options().min_height_m, Some(2.0));
        assert_eq!(cfg.metrics.plots.radius_m, Some(11.28));
        assert_eq!(cfg.calibrate.max_predictors, 2);
        assert_eq!(cfg.calibrate.form, crate::biomass::model::ModelForm::Power);
        assert_eq!(
            cfg.carbon.options().zone.as_deref(),
            Some("temperate_asia_natural_conifer")
        );
        // Defaults where not given.
        assert_eq!(cfg.metrics.height_break_m, 2.0);
        assert_eq!(cfg.calibrate.max_vif, 5.0);
        assert!(toml::from_str::<Config>("[metrics]\nres = 20\n").is_err());
        assert!(toml::from_str::<Config>("[calibrate]\nform = \"cubic\"\n").is_err());
    }
}

//! The run configuration as a TOML file. Every command-line flag maps onto a key here; a flag
//! given on the command line overrides the file. Unknown keys are errors, so a typo never
//! silently falls back to a default.
//!
//! ```toml
//! threads = 4
//! [chunk]
//! size_m = 0.0      # 0 = one chunk per tile
//! buffer_m = 30.0
//! [engine]
//! stop_early = false
//! [dtm]             # landcarbon dtm (lidR rasterize_terrain(res = 1, tin()))
//! res_m = 1.0
//! method = "tin"    # tin | idw
//! ground_classes = [2]
//! [dtm.tin.extrapolation]   # outside the TIN's hull: lidR knnidw(3, 1, 50)
//! k = 3
//! [dtm.idw]         # lidR knnidw(10, 2, 50)
//! k = 10
//! power = 2.0
//! rmax_m = 50.0
//! [normalize]       # landcarbon normalize (same method keys as [dtm])
//! as_extra_bytes = false
//! drop_unnormalized = false
//! ```

use crate::catalog::{ChunkOptions, EngineOptions};
use crate::{Error, Result};
use std::path::Path;

/// Everything a run can be configured with.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Worker threads (0 = all cores).
    pub threads: usize,
    /// How the catalog is cut into chunks.
    pub chunk: ChunkOptions,
    /// How chunks are run.
    pub engine: EngineOptions,
    /// `landcarbon dtm`: resolution, method (`tin` | `idw`) and its parameters, ground classes.
    pub dtm: crate::algo::terrain::DtmOptions,
    /// `landcarbon normalize`: surface method or DTM raster, output as Z or extra bytes.
    pub normalize: crate::algo::terrain::NormalizeOptions,
    /// Ground classification (`landcarbon ground`).
    pub ground: crate::algo::ground::GroundConfig,
    /// `classify-veg`, `chm`, `trees`: where heights above ground come from.
    pub heights: crate::algo::canopy::heights::HeightsConfig,
    /// `classify-veg`: vegetation height breaks.
    pub vegetation: crate::algo::vegetation::VegetationParams,
    /// `chm`: canopy height model.
    pub chm: crate::algo::canopy::ChmParams,
    /// `trees`: detection and segmentation (and their CHM in `[trees.chm]`).
    pub trees: crate::algo::trees::TreesParams,
    /// `eval trees`: matching rule and plot.
    pub eval_trees: crate::algo::trees::matching::EvalParams,
    /// `landcarbon metrics`: metric options, grid cell, heights, plots.
    pub metrics: crate::biomass::config::MetricsConfig,
    /// `landcarbon calibrate`: model form, selection and checks.
    pub calibrate: crate::biomass::calibrate::CalibrateOptions,
    /// `landcarbon carbon`: parameters, class, zone.
    pub carbon: crate::biomass::config::CarbonConfig,
    /// `landcarbon run`: surveys, output folder, stages.
    pub run: crate::pipeline::config::RunConfig,
    /// Patch-level carbon accounting (`landcarbon account`).
    pub account: crate::accounting::config::AccountConfig,
}

impl Config {
    /// Reads a TOML configuration file.
    pub fn from_file(path: &Path) -> Result<Config> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        toml::from_str(&text).map_err(|e| Error::Config(format!("{}: {e}", path.display())))
    }
}

//! Algorithms on plain types (point columns, rasters): nothing here knows GDAL, clap or
//! indicatif. One algorithm per file, each naming its paper and its defaults.

pub mod canopy;
pub mod grid_metrics;
pub mod ground;
pub mod metrics;
pub mod terrain;
pub mod trees;
pub mod vegetation;

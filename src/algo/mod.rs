//! Algorithms on plain types (point columns, rasters): nothing here knows GDAL, clap or
//! indicatif. One algorithm per file, each naming its paper and its defaults.

pub mod grid_metrics;
pub mod metrics;

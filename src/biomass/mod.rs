//! Biomass: tree allometry, plot and grid metrics, calibration of plot-level biomass models
//! against field plots, and prediction of AGB and carbon density on a grid.

pub mod allometry;
pub mod calibrate;
pub mod config;
pub mod figures;
pub mod itd_density;
pub mod model;
pub mod nls;
pub mod plot_agb;
pub mod plot_metrics;
pub mod predict;
pub mod stats;

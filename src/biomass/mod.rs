//! Biomass: tree allometry, plot and grid biomass models and their calibration.

pub mod allometry;

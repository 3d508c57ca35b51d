//! # landcarbon
//!
//! A LiDAR point-cloud engine for land carbon-sink accounting: airborne LAS/LAZ tiles in, per
//! patch and per county carbon stocks, sinks and their uncertainty out.
//!
//! The library never prints; it logs through [`log`] and returns [`Error`]s that name the file
//! or chunk they concern. The `landcarbon` binary is a thin command-line layer over it.
//!
//! Layout (one noun per module, one algorithm per file):
//! * [`points`]: the column-wise [`points::PointCloud`], LAS/LAZ I/O, CRS, extra bytes;
//! * [`catalog`]: tiles indexed from headers, buffered chunks, the parallel engine;
//! * [`raster`]: [`raster::Raster`] on an aligned [`raster::Grid`], GeoTIFF via GDAL;
//! * [`synth`]: synthetic scenes with known truth;
//! * [`job`]: cancellation and progress of a long call, for embedders (the Python module).

pub mod accounting;
pub mod algo;
pub mod biomass;
pub mod catalog;
pub mod config;
pub mod error;
pub mod job;
pub mod params;
pub mod pipeline;
pub mod points;
pub mod raster;
pub mod synth;
pub mod synth_demo;
pub mod synth_savanna;
pub mod testdata;
pub mod vector;

pub use error::{Error, Result};

//! Vector data in and out, through GDAL/OGR (the only place that uses its vector API):
//! attribute tables (CSV, GDAL layers), field plots (circles, polygons), tree tables (CSV and
//! GeoPackage), land-survey patches ([`patches`]), GEOS geometry operations ([`geos`]:
//! intersection, validity repair, CRS comparison) and accounting GeoPackages ([`gpkg_out`]).
//! The algorithms see plain geometry types, never GDAL's.

pub mod geos;
pub mod gpkg_out;
pub mod patches;
pub mod plot_rows;
pub mod plots;
pub mod table;
pub mod tree_rows;
pub mod trees_csv;
pub mod trees_gpkg;

pub use plots::{read_plots, Plot, PlotReadOptions, PlotSet, PlotShape};
pub use table::Table;

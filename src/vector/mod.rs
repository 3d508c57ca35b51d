//! Vector data in and out, through GDAL/OGR (the only place that uses its vector API):
//! attribute tables (CSV, GDAL layers), field plots (circles, polygons), tree tables (CSV and
//! GeoPackage).

pub mod plots;
pub mod table;
pub mod trees_csv;
pub mod trees_gpkg;

pub use plots::{read_plots, Plot, PlotReadOptions, PlotSet, PlotShape};
pub use table::Table;

//! Vector data: attribute tables (CSV, GDAL layers) and field plots (circles, polygons).
//! GDAL's vector API is used here only.

pub mod plots;
pub mod table;

pub use plots::{read_plots, Plot, PlotReadOptions, PlotSet, PlotShape};
pub use table::Table;

//! Vector data in and out: tree tables as CSV ([`trees_csv`]) and GeoPackage ([`trees_gpkg`],
//! through GDAL/OGR).

pub mod trees_csv;
pub mod trees_gpkg;

//! Vector data through GDAL/OGR: land-survey patches in ([`patches`]), GEOS geometry operations
//! ([`geos`]: intersection, validity repair, CRS comparison) and GeoPackage output
//! ([`gpkg_out`]). The only GDAL users of the accounting code: the algorithms in
//! `crate::accounting` see plain [`MultiPolygon`](crate::accounting::geom::MultiPolygon)s.

pub mod geos;
pub mod gpkg_out;
pub mod patches;

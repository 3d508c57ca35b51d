//! GEOS operations through GDAL's geometry API, on the accounting code's plain
//! [`MultiPolygon`]s (converted through WKB):
//! * [`GeosOps`]: the overlay's [`PolygonOps`] — `OGR_G_Intersection` (GEOS), keeping only the
//!   areal part of the result;
//! * [`repair`]: validity check (`OGR_G_IsValid`) and repair with GEOS MakeValid
//!   (`OGR_G_MakeValidEx`, GEOS ≥ 3.8), falling back to `buffer(0)` when MakeValid fails or
//!   returns no area;
//! * [`same_crs`], [`crs_of_raster`], [`is_geographic`]: CRS checks between patches and rasters
//!   (`OSRIsSame`, so equal CRS written differently compare equal).
//!
//! See also: `crate::accounting::overlay`, `patches.rs`.

use crate::accounting::geom::MultiPolygon;
use crate::accounting::overlay::PolygonOps;
use crate::{Error, Result};
use gdal::cpl::CslStringList;
use gdal::spatial_ref::SpatialRef;
use gdal::vector::Geometry;
use std::path::Path;

/// GDAL geometry from a plain multipolygon.
pub fn to_gdal(m: &MultiPolygon) -> Result<Geometry> {
    Geometry::from_wkb(&m.to_wkb()).map_err(|e| Error::data("geometry", format!("to OGR: {e}")))
}

/// Plain multipolygon from a GDAL geometry (polygons only; lines and points are dropped).
pub fn from_gdal(g: &Geometry) -> Result<MultiPolygon> {
    let wkb = g
        .wkb()
        .map_err(|e| Error::data("geometry", format!("from OGR: {e}")))?;
    MultiPolygon::from_wkb(&wkb)
}

/// GEOS intersection for the overlay.
#[derive(Debug, Clone, Copy, Default)]
pub struct GeosOps;

impl PolygonOps for GeosOps {
    fn intersection(&self, a: &MultiPolygon, b: &MultiPolygon) -> Result<MultiPolygon> {
        let ga = to_gdal(a)?;
        let gb = to_gdal(b)?;
        // No `intersects` pre-test: a GEOS exception there reads as `false` and would lose
        // area silently; OGR_G_Intersection returns an empty geometry when disjoint and NULL
        // only on failure.
        match ga.intersection(&gb) {
            Some(g) => from_gdal(&g),
            None => Err(Error::data(
                "GEOS intersection",
                "failed (invalid input geometry, or GDAL built without GEOS)",
            )),
        }
    }
}

/// How a geometry was repaired.
#[derive(Debug, Clone, PartialEq)]
pub struct Repaired {
    pub geom: MultiPolygon,
    /// "make_valid" or "buffer0".
    pub method: &'static str,
}

/// Checks a geometry and repairs it when invalid (`None` = already valid).
pub fn repair(g: &Geometry) -> Result<Option<Repaired>> {
    if g.is_valid() {
        return Ok(None);
    }
    if let Ok(v) = g.make_valid(&CslStringList::new()) {
        let m = from_gdal(&v)?;
        if m.area() > 0.0 {
            return Ok(Some(Repaired {
                geom: m,
                method: "make_valid",
            }));
        }
    }
    let b = g
        .buffer(0.0, 8)
        .map_err(|e| Error::data("geometry repair", format!("buffer(0): {e}")))?;
    let m = from_gdal(&b)?;
    if m.area() > 0.0 {
        return Ok(Some(Repaired {
            geom: m,
            method: "buffer0",
        }));
    }
    Err(Error::data(
        "geometry repair",
        "invalid polygon could not be repaired (MakeValid and buffer(0) give no area)",
    ))
}

/// `true` when two WKT CRS are the same (OSRIsSame); two absent CRS are the same.
pub fn same_crs(a: Option<&str>, b: Option<&str>) -> Result<bool> {
    match (a, b) {
        (None, None) => Ok(true),
        (Some(a), Some(b)) => {
            let sa = SpatialRef::from_wkt(a).map_err(|e| Error::Config(format!("CRS: {e}")))?;
            let sb = SpatialRef::from_wkt(b).map_err(|e| Error::Config(format!("CRS: {e}")))?;
            Ok(sa == sb)
        }
        _ => Ok(false),
    }
}

/// `true` when the WKT describes a geographic (degree) CRS.
pub fn is_geographic(wkt: &str) -> bool {
    SpatialRef::from_wkt(wkt).is_ok_and(|s| s.is_geographic())
}

/// A short name of a WKT CRS (its name and EPSG code where known).
pub fn describe(wkt: Option<&str>) -> String {
    let Some(w) = wkt else {
        return "none".into();
    };
    match SpatialRef::from_wkt(w) {
        Ok(s) => {
            let name = s.name().unwrap_or_else(|| "unnamed".into());
            match (s.auth_name(), s.auth_code()) {
                (Some(a), Ok(c)) => format!("{name} ({a}:{c})"),
                _ => name,
            }
        }
        Err(_) => "unreadable".into(),
    }
}

/// The CRS of a raster file as WKT (`None` when it declares none).
pub fn crs_of_raster(path: &Path) -> Result<Option<String>> {
    let ds = gdal::Dataset::open(path).map_err(|e| Error::gdal(path, e))?;
    match ds.spatial_ref() {
        Ok(s) => Ok(s.to_wkt().ok().filter(|w| !w.is_empty())),
        Err(_) => Ok(None),
    }
}

/// Refuses rasters whose CRS differs from the patches' (a raster without CRS is warned about).
pub fn check_raster_crs(
    patches_wkt: Option<&str>,
    patches_file: &Path,
    rasters: &[std::path::PathBuf],
) -> Result<()> {
    for r in rasters {
        let rw = crs_of_raster(r)?;
        match (patches_wkt, rw.as_deref()) {
            (Some(_), None) | (None, Some(_)) => log::warn!(
                "cannot check the CRS of {} against {}: one of them declares none",
                r.display(),
                patches_file.display()
            ),
            (Some(a), Some(b)) => {
                if !same_crs(Some(a), Some(b))? {
                    return Err(Error::data(
                        "CRS mismatch",
                        format!(
                            "the patches {} are in {} but the raster {} is in {}; reproject one of them",
                            patches_file.display(),
                            describe(Some(a)),
                            r.display(),
                            describe(Some(b))
                        ),
                    ));
                }
            }
            (None, None) => {}
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::accounting::geom::Polygon;

    #[test]
    fn intersection_and_repair() {
        let a = MultiPolygon::single(Polygon::rect(0.0, 0.0, 10.0, 10.0));
        let b = MultiPolygon::single(Polygon::rect(5.0, 5.0, 20.0, 20.0));
        let i = GeosOps.intersection(&a, &b).unwrap();
        assert!((i.area() - 25.0).abs() < 1e-9);
        // Touching along an edge: no area, no polygon.
        let c = MultiPolygon::single(Polygon::rect(10.0, 0.0, 20.0, 5.0));
        assert!(GeosOps.intersection(&a, &c).unwrap().polygons.is_empty());
        // A bow-tie is repaired into two triangles of 25 m² each.
        let bow = Geometry::from_wkt("POLYGON ((0 0, 10 10, 0 10, 10 0, 0 0))").unwrap();
        let r = repair(&bow).unwrap().unwrap();
        assert_eq!(r.method, "make_valid");
        assert_eq!(r.geom.polygons.len(), 2);
        assert!((r.geom.area() - 50.0).abs() < 1e-9);
        let ok = to_gdal(&a).unwrap();
        assert!(repair(&ok).unwrap().is_none());
    }

    #[test]
    fn crs_comparison() {
        let a = SpatialRef::from_epsg(4547).unwrap().to_wkt().unwrap();
        let b = SpatialRef::from_epsg(4547)
            .unwrap()
            .to_pretty_wkt()
            .unwrap();
        let c = SpatialRef::from_epsg(32650).unwrap().to_wkt().unwrap();
        assert!(same_crs(Some(&a), Some(&b)).unwrap());
        assert!(!same_crs(Some(&a), Some(&c)).unwrap());
        assert!(!is_geographic(&a));
        assert!(is_geographic(
            &SpatialRef::from_epsg(4490).unwrap().to_wkt().unwrap()
        ));
        assert!(
            describe(Some(&a)).contains("4547"),
            "{}",
            describe(Some(&a))
        );
    }
}

//! GeoPackage output: one file, several layers, each a typed [`Table`] with optional
//! (multi)polygon geometries in the given CRS — a real embedded SQLite database that QGIS or
//! ArcGIS opens directly. Aspatial tables (e.g. F-2, F-3) become GeoPackage attribute tables.
//! Values are written rounded as in the CSV tables ([`Value::rounded`]); empty values are NULL.
//! All features of a layer are written inside one transaction; the file is created under a
//! temporary name ending in `.gpkg` and renamed when complete.
//!
//! See also: `crate::accounting::tables`, `patches.rs` (the reader).

use super::geos::to_gdal;
use crate::accounting::geom::MultiPolygon;
use crate::accounting::tables::{ColType, Table, Value};
use crate::points::write::{commit_temp, temp_path};
use crate::{Error, Result};
use gdal::spatial_ref::SpatialRef;
use gdal::vector::{Feature, FieldDefn, LayerAccess, LayerOptions, OGRFieldType};
use gdal::DriverManager;
use std::path::{Path, PathBuf};

/// One layer to write.
pub struct LayerSpec<'a> {
    pub table: &'a Table,
    /// One geometry per row, or `None` for an attribute table.
    pub geoms: Option<&'a [MultiPolygon]>,
}

fn tmp_gpkg(path: &Path) -> PathBuf {
    let t = temp_path(path);
    t.with_file_name(format!(
        "{}.gpkg",
        t.file_name().unwrap_or_default().to_string_lossy()
    ))
}

/// Writes the layers into a new GeoPackage at `path` (replacing it).
pub fn write_gpkg(path: &Path, crs_wkt: Option<&str>, layers: &[LayerSpec]) -> Result<()> {
    let tmp = tmp_gpkg(path);
    let _ = std::fs::remove_file(&tmp);
    let res = write_into(&tmp, path, crs_wkt, layers);
    match res {
        Ok(()) => commit_temp(&tmp, path),
        Err(e) => {
            let _ = std::fs::remove_file(&tmp);
            Err(e)
        }
    }
}

fn write_into(tmp: &Path, path: &Path, crs_wkt: Option<&str>, layers: &[LayerSpec]) -> Result<()> {
    let g = |e: gdal::errors::GdalError| Error::gdal(path, e);
    let driver = DriverManager::get_driver_by_name("GPKG").map_err(g)?;
    let mut ds = driver.create_vector_only(tmp).map_err(g)?;
    let srs = match crs_wkt {
        Some(w) => Some(SpatialRef::from_wkt(w).map_err(g)?),
        None => None,
    };
    for spec in layers {
        let t = spec.table;
        if let Some(gs) = spec.geoms {
            if gs.len() != t.rows.len() {
                return Err(Error::data(
                    path.display(),
                    format!(
                        "layer {}: {} geometries for {} rows",
                        t.name,
                        gs.len(),
                        t.rows.len()
                    ),
                ));
            }
        }
        let mut txn = ds.start_transaction().map_err(g)?;
        {
            let lyr = txn
                .create_layer(LayerOptions {
                    name: &t.name,
                    srs: if spec.geoms.is_some() {
                        srs.as_ref()
                    } else {
                        None
                    },
                    ty: if spec.geoms.is_some() {
                        gdal::vector::OGRwkbGeometryType::wkbMultiPolygon
                    } else {
                        gdal::vector::OGRwkbGeometryType::wkbNone
                    },
                    options: None,
                })
                .map_err(g)?;
            for (name, ty) in &t.columns {
                let ft = match ty {
                    ColType::Str => OGRFieldType::OFTString,
                    ColType::Int => OGRFieldType::OFTInteger64,
                    ColType::Real => OGRFieldType::OFTReal,
                };
                FieldDefn::new(name, ft)
                    .map_err(g)?
                    .add_to_layer(&lyr)
                    .map_err(g)?;
            }
            for (i, row) in t.rows.iter().enumerate() {
                let mut f = Feature::new(lyr.defn()).map_err(g)?;
                for (k, v) in row.iter().enumerate() {
                    match v {
                        Value::Str(s) => f.set_field_string(k, s).map_err(g)?,
                        Value::Int(x) => f.set_field_integer64(k, *x).map_err(g)?,
                        Value::Real(..) => f
                            .set_field_double(k, v.rounded().unwrap_or(f64::NAN))
                            .map_err(g)?,
                        Value::Null => f.set_field_null(k).map_err(g)?,
                    }
                }
                if let Some(gs) = spec.geoms {
                    f.set_geometry(to_gdal(&gs[i])?).map_err(g)?;
                }
                f.create(&lyr).map_err(g)?;
            }
        }
        txn.commit().map_err(g)?;
    }
    drop(ds);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::patches::read_patches;
    use super::*;
    use crate::accounting::config::FieldNames;
    use crate::accounting::geom::Polygon;
    use gdal::Dataset;

    fn patch_table(ids: &[&str]) -> Table {
        Table {
            name: "patches".into(),
            columns: vec![
                ("BSM".into(), ColType::Str),
                ("DLBM".into(), ColType::Str),
                ("ZLDWDM".into(), ColType::Str),
                ("TBMJ".into(), ColType::Real),
            ],
            rows: ids
                .iter()
                .map(|id| {
                    vec![
                        Value::Str(id.to_string()),
                        Value::Str("0301".into()),
                        Value::Str("420999001001".into()),
                        Value::Real(100.0, 2),
                    ]
                })
                .collect(),
        }
    }

    #[test]
    fn round_trip_with_crs_and_reader_checks() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("p.gpkg");
        let wkt = SpatialRef::from_epsg(4547).unwrap().to_wkt().unwrap();
        let geoms = vec![
            MultiPolygon::single(Polygon::rect(
                500_000.0,
                3_400_000.0,
                500_010.0,
                3_400_010.0,
            )),
            MultiPolygon::single(Polygon::rect(
                500_010.0,
                3_400_000.0,
                500_020.0,
                3_400_010.0,
            )),
        ];
        let t = patch_table(&["a", "b"]);
        let aspatial = Table {
            name: "info".into(),
            ..patch_table(&["x"])
        };
        write_gpkg(
            &p,
            Some(&wkt),
            &[
                LayerSpec {
                    table: &t,
                    geoms: Some(&geoms),
                },
                LayerSpec {
                    table: &aspatial,
                    geoms: None,
                },
            ],
        )
        .unwrap();
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            1,
            "no temp file left"
        );
        let ds = Dataset::open(&p).unwrap();
        assert_eq!(ds.layer_count(), 2);
        let set = read_patches(&p, None, &FieldNames::default(), 2020).unwrap();
        assert_eq!(set.patches.len(), 2);
        assert_eq!(set.patches[0].county, "420999");
        assert!((set.patches[0].area_ha - 0.01).abs() < 1e-12);
        assert!((set.patches[1].planar_m2 - 100.0).abs() < 1e-6);
        assert!(super::super::geos::same_crs(set.crs_wkt.as_deref(), Some(&wkt)).unwrap());
        // Missing fields are listed with what the layer has.
        let f = FieldNames {
            class: "DLBM2".into(),
            area: "MJ".into(),
            ..FieldNames::default()
        };
        let e = read_patches(&p, None, &f, 2020).unwrap_err().to_string();
        assert!(
            e.contains("class field 'DLBM2'")
                && e.contains("area field 'MJ'")
                && e.contains("TBMJ"),
            "{e}"
        );
        // Duplicate ids are all listed.
        let d = dir.path().join("d.gpkg");
        let t = patch_table(&["a", "a", "b", "b", "c"]);
        let g5: Vec<MultiPolygon> = (0..5)
            .map(|i| {
                MultiPolygon::single(Polygon::rect(
                    i as f64 * 10.0,
                    0.0,
                    i as f64 * 10.0 + 10.0,
                    10.0,
                ))
            })
            .collect();
        write_gpkg(
            &d,
            None,
            &[LayerSpec {
                table: &t,
                geoms: Some(&g5),
            }],
        )
        .unwrap();
        let e = read_patches(&d, None, &FieldNames::default(), 2020)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("duplicate patch ids (2)") && e.contains("'a' × 2") && e.contains("'b' × 2"),
            "{e}"
        );
    }
}

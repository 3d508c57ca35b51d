//! Tree tables as GeoPackage, through GDAL/OGR: a point layer `tree_tops` (one point per tree
//! at its apex) and a polygon layer `crowns` (the convex-hull crown polygons), both with the
//! catalog's CRS and the same attribute columns as the CSV table (`tree_id` as a 64-bit
//! integer; `dbh_cm` and `agb_kg` null when no allometry was applied). Trees whose crown has
//! fewer than 3 vertices get no crown polygon.
//!
//! Written in one transaction under a temporary name (ending in `.gpkg`, for GDAL's driver
//! checks) and renamed when complete.
//!
//! See also: [`super::trees_csv`].

use crate::algo::trees::matching::MatchTree;
use crate::algo::trees::Tree;
use crate::points::write::{commit_temp, temp_path};
use crate::points::Crs;
use crate::{Error, Result};
use gdal::spatial_ref::SpatialRef;
use gdal::vector::{
    Feature, Geometry, LayerAccess, LayerOptions, OGRFieldType, OGRwkbGeometryType,
};
use gdal::{Dataset, DriverManager};
use std::path::{Path, PathBuf};

/// Name of the point layer.
pub const TOPS_LAYER: &str = "tree_tops";
/// Name of the polygon layer.
pub const CROWNS_LAYER: &str = "crowns";

const FIELDS: [(&str, OGRFieldType::Type); 7] = [
    ("tree_id", OGRFieldType::OFTInteger64),
    ("height_m", OGRFieldType::OFTReal),
    ("crown_area_m2", OGRFieldType::OFTReal),
    ("crown_diameter_m", OGRFieldType::OFTReal),
    ("n_points", OGRFieldType::OFTInteger64),
    ("dbh_cm", OGRFieldType::OFTReal),
    ("agb_kg", OGRFieldType::OFTReal),
];

fn tmp_gpkg(path: &Path) -> PathBuf {
    let t = temp_path(path);
    t.with_file_name(format!(
        "{}.gpkg",
        t.file_name().unwrap_or_default().to_string_lossy()
    ))
}

fn set_fields(f: &mut Feature, t: &Tree, path: &Path) -> Result<()> {
    let g = |e| Error::gdal(path, e);
    f.set_field_integer64(0, t.id as i64).map_err(g)?;
    f.set_field_double(1, t.height_m).map_err(g)?;
    f.set_field_double(2, t.crown_area_m2).map_err(g)?;
    f.set_field_double(3, t.crown_diameter_m).map_err(g)?;
    f.set_field_integer64(4, t.n_points as i64).map_err(g)?;
    match t.dbh_cm {
        Some(v) => f.set_field_double(5, v).map_err(g)?,
        None => f.set_field_null(5).map_err(g)?,
    }
    match t.agb_kg {
        Some(v) => f.set_field_double(6, v).map_err(g)?,
        None => f.set_field_null(6).map_err(g)?,
    }
    Ok(())
}

/// Writes `trees` to a GeoPackage at `path` with two layers (see the module doc).
pub fn write_trees_gpkg(trees: &[Tree], crs: &Crs, path: &Path) -> Result<()> {
    let tmp = tmp_gpkg(path);
    let _ = std::fs::remove_file(&tmp);
    let result = write_to(trees, crs, &tmp, path);
    match result {
        Ok(()) => commit_temp(&tmp, path),
        Err(e) => {
            let _ = std::fs::remove_file(&tmp);
            Err(e)
        }
    }
}

fn write_to(trees: &[Tree], crs: &Crs, tmp: &Path, path: &Path) -> Result<()> {
    let g = |e| Error::gdal(path, e);
    let driver = DriverManager::get_driver_by_name("GPKG").map_err(g)?;
    let mut ds: Dataset = driver.create_vector_only(tmp).map_err(g)?;
    let srs = match crs.gdal_definition() {
        Some(def) => match SpatialRef::from_definition(&def) {
            Ok(s) => Some(s),
            Err(e) => {
                log::warn!(
                    "{}: CRS '{}' not understood by GDAL ({e}); layers written without CRS",
                    path.display(),
                    crs.describe()
                );
                None
            }
        },
        None => None,
    };
    for (name, ty) in [
        (TOPS_LAYER, OGRwkbGeometryType::wkbPoint),
        (CROWNS_LAYER, OGRwkbGeometryType::wkbPolygon),
    ] {
        let layer = ds
            .create_layer(LayerOptions {
                name,
                srs: srs.as_ref(),
                ty,
                options: None,
            })
            .map_err(g)?;
        layer.create_defn_fields(&FIELDS).map_err(g)?;
    }
    let txn = ds.start_transaction().map_err(g)?;
    {
        let tops = txn.layer_by_name(TOPS_LAYER).map_err(g)?;
        for t in trees {
            let mut f = Feature::new(tops.defn()).map_err(g)?;
            set_fields(&mut f, t, path)?;
            let pt = Geometry::from_wkt(&format!("POINT ({} {})", t.x, t.y)).map_err(g)?;
            f.set_geometry(pt).map_err(g)?;
            f.create(&tops).map_err(g)?;
        }
        let crowns = txn.layer_by_name(CROWNS_LAYER).map_err(g)?;
        for t in trees.iter().filter(|t| t.crown.len() >= 3) {
            let mut f = Feature::new(crowns.defn()).map_err(g)?;
            set_fields(&mut f, t, path)?;
            let poly = Geometry::from_wkt(&super::trees_csv::crown_wkt(&t.crown)).map_err(g)?;
            f.set_geometry(poly).map_err(g)?;
            f.create(&crowns).map_err(g)?;
        }
    }
    txn.commit().map_err(g)?;
    Ok(())
}

/// Reads the tree tops (position, height, DBH) of a GeoPackage written by
/// [`write_trees_gpkg`] (or any point layer named `tree_tops` with `height_m` and optionally
/// `dbh_cm` fields).
pub fn read_tree_tops_gpkg(path: &Path) -> Result<Vec<MatchTree>> {
    let g = |e| Error::gdal(path, e);
    let ds = Dataset::open(path).map_err(g)?;
    let mut layer = ds
        .layer_by_name(TOPS_LAYER)
        .map_err(|e| Error::data(path.display(), format!("no layer '{TOPS_LAYER}' ({e})")))?;
    let ih = layer.defn().field_index("height_m").ok();
    let id = layer.defn().field_index("dbh_cm").ok();
    let mut out = Vec::new();
    for f in layer.features() {
        let Some(geom) = f.geometry() else {
            continue;
        };
        let (x, y, _) = geom.get_point(0);
        let height_m = match ih {
            Some(i) => f.field_as_double(i).map_err(g)?,
            None => None,
        };
        let dbh_cm = match id {
            Some(i) => f.field_as_double(i).map_err(g)?,
            None => None,
        };
        out.push(MatchTree {
            x,
            y,
            height_m,
            dbh_cm,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gpkg_round_trip_with_crs() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("trees.gpkg");
        let mk = |id, x: f64, y: f64, crown: Vec<[f64; 2]>| Tree {
            id,
            x,
            y,
            height_m: 20.0,
            crown_area_m2: 10.0,
            crown_diameter_m: 3.5,
            n_points: 10,
            crown,
            dbh_cm: Some(30.0),
            agb_kg: None,
        };
        let trees = vec![
            mk(
                1,
                500_000.5,
                3_400_000.5,
                vec![
                    [500_000.0, 3_400_000.0],
                    [500_001.0, 3_400_000.0],
                    [500_001.0, 3_400_001.0],
                ],
            ),
            mk(2, 500_010.5, 3_400_010.5, vec![]),
        ];
        write_trees_gpkg(&trees, &Crs::from_epsg(4546), &p).unwrap();
        let back = read_tree_tops_gpkg(&p).unwrap();
        assert_eq!(back.len(), 2);
        assert_eq!((back[0].x, back[0].y), (500_000.5, 3_400_000.5));
        assert_eq!(back[0].dbh_cm, Some(30.0));
        let ds = Dataset::open(&p).unwrap();
        let crowns = ds.layer_by_name(CROWNS_LAYER).unwrap();
        assert_eq!(crowns.feature_count(), 1);
        let srs = crowns.spatial_ref().unwrap();
        assert_eq!(srs.auth_code().unwrap(), 4546);
        // No temporary file left behind.
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }
}

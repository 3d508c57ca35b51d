//! Reading a tree table for the ITD density: positions, heights, crown diameters and AGB, from
//! the CSV of `landcarbon trees` (columns `x`, `y`, `height_m`, `crown_diameter_m`, `agb_kg`;
//! empty cells are missing values) or from its GeoPackage (the `tree_tops` point layer, or the
//! first layer when there is none).
//!
//! See also: [`super::trees_csv`], [`super::trees_gpkg`], `crate::biomass::itd_density`.

use super::table::{is_missing, Table};
use super::trees_gpkg::TOPS_LAYER;
use crate::biomass::itd_density::TreeRow;
use crate::{Error, Result};
use gdal::vector::LayerAccess;
use gdal::Dataset;
use std::path::Path;

/// Reads the trees of a CSV or GeoPackage tree table.
pub fn read_tree_rows(path: &Path) -> Result<Vec<TreeRow>> {
    let ext = path
        .extension()
        .map(|e| e.to_string_lossy().to_lowercase())
        .unwrap_or_default();
    if ext == "gpkg" {
        read_gpkg(path)
    } else {
        read_table(&Table::read(path)?, path)
    }
}

fn read_table(t: &Table, path: &Path) -> Result<Vec<TreeRow>> {
    let what = path.display().to_string();
    let (ix, iy) = (t.require("x", &what)?, t.require("y", &what)?);
    let opt = |names: &[&str]| names.iter().find_map(|n| t.col(n));
    let ih = opt(&["height_m", "height"]);
    let icd = opt(&["crown_diameter_m", "crown_diameter"]);
    let ia = opt(&["agb_kg"]);
    let num = |row: usize, col: usize, name: &str| -> Result<Option<f64>> {
        let s = t.cell(row, col).trim();
        if is_missing(s) {
            return Ok(None);
        }
        match s.parse::<f64>() {
            Ok(v) if v.is_finite() => Ok(Some(v)),
            _ => Err(Error::data(
                &what,
                format!("row {}: {name} '{s}' is not a finite number", row + 2),
            )),
        }
    };
    let mut out = Vec::with_capacity(t.len());
    for r in 0..t.len() {
        let (Some(x), Some(y)) = (num(r, ix, "x")?, num(r, iy, "y")?) else {
            return Err(Error::data(&what, format!("row {}: no position", r + 2)));
        };
        out.push(TreeRow {
            x,
            y,
            height_m: ih.map(|c| num(r, c, "height_m")).transpose()?.flatten(),
            crown_diameter_m: icd
                .map(|c| num(r, c, "crown_diameter_m"))
                .transpose()?
                .flatten(),
            agb_kg: ia.map(|c| num(r, c, "agb_kg")).transpose()?.flatten(),
        });
    }
    Ok(out)
}

fn read_gpkg(path: &Path) -> Result<Vec<TreeRow>> {
    let g = |e| Error::gdal(path, e);
    let ds = Dataset::open(path).map_err(g)?;
    let mut layer = match ds.layer_by_name(TOPS_LAYER) {
        Ok(l) => l,
        Err(_) => ds.layer(0).map_err(g)?,
    };
    let field = |n: &str| layer.defn().field_index(n).ok();
    let (ih, icd, ia) = (
        field("height_m"),
        field("crown_diameter_m"),
        field("agb_kg"),
    );
    let mut out = Vec::new();
    for f in layer.features() {
        let Some(geom) = f.geometry() else {
            return Err(Error::data(
                path.display(),
                format!("feature {} has no geometry", f.fid().unwrap_or(0)),
            ));
        };
        let (x, y, _) = geom.get_point(0);
        let get = |i: Option<usize>| -> Result<Option<f64>> {
            match i {
                Some(i) => Ok(f.field_as_double(i).map_err(g)?.filter(|v| v.is_finite())),
                None => Ok(None),
            }
        };
        out.push(TreeRow {
            x,
            y,
            height_m: get(ih)?,
            crown_diameter_m: get(icd)?,
            agb_kg: get(ia)?,
        });
    }
    Ok(out)
}

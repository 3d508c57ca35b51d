//! Reads land-survey patches (图斑) of one year from a GeoPackage, Shapefile or any OGR vector
//! format, with configurable field names (`[account.fields]`: id BSM, class DLBM, county from
//! the first 6 digits of ZLDWDM or a county field, area TBMJ in m², ha or 亩, optional stratum
//! and county name).
//!
//! Checks, each reported as one error listing every offending feature (at most 30 named, then
//! a count): missing fields (with the layer's field list), empty ids, duplicate ids, missing or
//! non-positive areas, location codes shorter than 6 digits, missing or non-polygonal
//! geometries, a geographic (degree) CRS. Invalid polygons (self-intersections, bow-ties, bad
//! rings) are repaired with GEOS MakeValid (buffer(0) as fallback) and each repair is recorded
//! in [`PatchSet::repairs`] with the area before and after — never dropped silently.
//!
//! See also: `geos.rs`, `crate::accounting::config::FieldNames`.

use super::geos;
use crate::accounting::config::FieldNames;
use crate::accounting::{Patch, PatchSet, Repair};
use crate::{Error, Result};
use gdal::vector::LayerAccess;
use gdal::Dataset;
use std::collections::BTreeMap;
use std::path::Path;

fn listing(items: &[String]) -> String {
    const MAX: usize = 30;
    let mut s = items
        .iter()
        .take(MAX)
        .cloned()
        .collect::<Vec<_>>()
        .join("; ");
    if items.len() > MAX {
        s.push_str(&format!("; and {} more", items.len() - MAX));
    }
    s
}

/// Reads the patches of `year` from `path` (layer `layer`, or the first one).
pub fn read_patches(
    path: &Path,
    layer: Option<&str>,
    fields: &FieldNames,
    year: i32,
) -> Result<PatchSet> {
    if !path.exists() {
        return Err(Error::data(path.display(), "patch file does not exist"));
    }
    let ds = Dataset::open(path).map_err(|e| Error::gdal(path, e))?;
    if ds.layer_count() == 0 {
        return Err(Error::data(path.display(), "no vector layer in the file"));
    }
    let mut lyr = match layer {
        Some(n) => ds.layer_by_name(n).map_err(|_| {
            let names: Vec<String> = ds.layers().map(|l| l.name()).collect();
            Error::data(
                path.display(),
                format!("no layer '{n}' (layers: {})", names.join(", ")),
            )
        })?,
        None => ds.layer(0).map_err(|e| Error::gdal(path, e))?,
    };
    let layer_name = lyr.name();
    // GeoPackage layers without CRS report an "Undefined geographic/Cartesian SRS".
    let crs_wkt = lyr
        .spatial_ref()
        .filter(|s| !s.name().unwrap_or_default().starts_with("Undefined"))
        .and_then(|s| s.to_wkt().ok());
    if let Some(w) = &crs_wkt {
        if geos::is_geographic(w) {
            return Err(Error::data(
                path.display(),
                format!(
                    "the patches are in a geographic CRS ({}); planar areas and raster overlay need a projected CRS in metres (e.g. CGCS2000 / Gauss-Kruger): reproject first",
                    geos::describe(Some(w))
                ),
            ));
        }
    }
    // Field indices.
    let available: Vec<String> = lyr.defn().fields().map(|f| f.name()).collect();
    let find = |n: &str| -> Option<usize> {
        available
            .iter()
            .position(|a| a == n)
            .or_else(|| available.iter().position(|a| a.eq_ignore_ascii_case(n)))
    };
    let mut wanted: Vec<(&str, &str)> = vec![("id", &fields.id), ("class", &fields.class)];
    if fields.county.is_empty() {
        wanted.push(("location", &fields.location));
    } else {
        wanted.push(("county", &fields.county));
    }
    if !fields.area.is_empty() {
        wanted.push(("area", &fields.area));
    }
    if !fields.stratum.is_empty() {
        wanted.push(("stratum", &fields.stratum));
    }
    if !fields.county_name.is_empty() {
        wanted.push(("county_name", &fields.county_name));
    }
    let missing: Vec<String> = wanted
        .iter()
        .filter(|(_, n)| n.is_empty() || find(n).is_none())
        .map(|(k, n)| format!("{k} field '{n}'"))
        .collect();
    if !missing.is_empty() {
        return Err(Error::data(
            format!("{} layer '{layer_name}'", path.display()),
            format!(
                "missing {} (the layer has: {}); set the names in [account.fields]",
                missing.join(", "),
                available.join(", ")
            ),
        ));
    }
    let ix = |k: &str| wanted.iter().find(|w| w.0 == k).and_then(|w| find(w.1));
    let (i_id, i_class) = (ix("id").unwrap_or(0), ix("class").unwrap_or(0));
    let (i_loc, i_county, i_area) = (ix("location"), ix("county"), ix("area"));
    let (i_stratum, i_cname) = (ix("stratum"), ix("county_name"));
    if fields.area.is_empty() {
        log::warn!(
            "{}: no area field configured; using the planar area of the geometry, not the survey's ellipsoidal area",
            path.display()
        );
    }
    let to_ha = fields.area_unit.to_ha();

    let mut patches = Vec::new();
    let mut repairs = Vec::new();
    let mut errs: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    let mut ids: BTreeMap<String, Vec<u64>> = BTreeMap::new();
    for f in lyr.features() {
        let fid = f.fid().unwrap_or(0);
        let text = |i: usize| {
            f.field_as_string(i)
                .ok()
                .flatten()
                .unwrap_or_default()
                .trim()
                .to_string()
        };
        let id = text(i_id);
        let at = format!("fid {fid}");
        if id.is_empty() {
            errs.entry("empty patch id").or_default().push(at.clone());
            continue;
        }
        ids.entry(id.clone()).or_default().push(fid);
        let code = text(i_class);
        if code.is_empty() {
            errs.entry("empty class code")
                .or_default()
                .push(format!("{id} ({at})"));
        }
        let county = match (i_county, i_loc) {
            (Some(i), _) => text(i),
            (None, Some(i)) => {
                let loc = text(i);
                if loc.chars().count() < 6 {
                    errs.entry("location code shorter than 6 characters")
                        .or_default()
                        .push(format!("{id} ('{loc}')"));
                }
                loc.chars().take(6).collect()
            }
            _ => String::new(),
        };
        let Some(g) = f.geometry() else {
            errs.entry("no geometry")
                .or_default()
                .push(format!("{id} ({at})"));
            continue;
        };
        let mut geom = match geos::from_gdal(g) {
            Ok(m) => m,
            Err(e) => {
                errs.entry("unreadable geometry")
                    .or_default()
                    .push(format!("{id}: {e}"));
                continue;
            }
        };
        if geom.is_empty() {
            errs.entry("geometry is not a polygon (or empty)")
                .or_default()
                .push(format!("{id} ({})", g.geometry_name()));
            continue;
        }
        match geos::repair(g) {
            Ok(None) => {}
            Ok(Some(r)) => {
                log::warn!(
                    "{} ({year}): patch {id} (fid {fid}) has an invalid polygon; repaired with {} (planar area {:.3} -> {:.3} m²)",
                    path.display(),
                    r.method,
                    geom.area(),
                    r.geom.area()
                );
                repairs.push(Repair {
                    year,
                    patch_id: id.clone(),
                    fid,
                    method: r.method.to_string(),
                    area_before_m2: geom.area(),
                    area_after_m2: r.geom.area(),
                });
                geom = r.geom;
            }
            Err(e) => {
                errs.entry("invalid polygon that cannot be repaired")
                    .or_default()
                    .push(format!("{id}: {e}"));
                continue;
            }
        }
        let planar = geom.area();
        let area_ha = match i_area {
            Some(i) => match f.field_as_double(i).ok().flatten() {
                Some(a) if a > 0.0 && a.is_finite() => a * to_ha,
                other => {
                    errs.entry("missing or non-positive area")
                        .or_default()
                        .push(format!("{id} ({other:?})"));
                    continue;
                }
            },
            None => planar / 1e4,
        };
        patches.push(Patch {
            id,
            code,
            class: None,
            county,
            county_name: i_cname.map(text).unwrap_or_default(),
            stratum: i_stratum.map(text).unwrap_or_default(),
            area_ha,
            planar_m2: planar,
            geom,
            fid,
        });
    }
    let dups: Vec<String> = ids
        .iter()
        .filter(|(_, f)| f.len() > 1)
        .map(|(id, f)| {
            format!(
                "'{id}' × {} (fids {})",
                f.len(),
                f.iter()
                    .map(|x| x.to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        })
        .collect();
    if !dups.is_empty() {
        errs.insert("duplicate patch ids", dups);
    }
    if !errs.is_empty() {
        let msg: Vec<String> = errs
            .iter()
            .map(|(k, v)| format!("{k} ({}): {}", v.len(), listing(v)))
            .collect();
        return Err(Error::data(
            format!("{} layer '{layer_name}' ({year})", path.display()),
            msg.join(" | "),
        ));
    }
    if patches.is_empty() {
        return Err(Error::data(path.display(), "the layer has no patches"));
    }
    log::info!(
        "{}: {} patches ({year}), {} repaired, CRS {}",
        path.display(),
        patches.len(),
        repairs.len(),
        geos::describe(crs_wkt.as_deref())
    );
    Ok(PatchSet {
        year,
        path: path.to_path_buf(),
        layer: layer_name,
        crs_wkt,
        patches,
        repairs,
    })
}

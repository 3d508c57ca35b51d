//! Catalog inputs that name other files: a PDAL-style input list (a text file of paths, one a
//! line) and a virtual point cloud (`.vpc`: the STAC ItemCollection JSON that PDAL wrench's
//! `build_vpc`, QGIS and lasR read and write).
//!
//! * **List**: any input file that is neither a LAS/LAZ file (by its `LASF` signature) nor
//!   JSON. Each line is a path, relative to the list's folder unless absolute; blank lines and
//!   lines starting with `#` are skipped. A path that names no file is an error naming the list
//!   and the line.
//! * **VPC**: a `.vpc` file, or an input whose first non-blank byte is `{`. A JSON object of
//!   `"type": "FeatureCollection"` whose `features` are STAC items; each item's data asset
//!   (`assets.data`, else the first asset whose `roles` holds `"data"`, else the first asset
//!   that is not an overview) has an `href` relative to the VPC's folder (`./tile.laz`) or
//!   absolute. Remote `href`s (http, s3, ...) and zipped `.vpz` files are refused.
//!   `properties.pc:count` and `properties.proj:bbox` are kept as [`Hint`]s only: the catalog
//!   always reads the real headers and warns when they disagree.
//!
//! See also: [`super::index::expand_inputs`] (where inputs are expanded).

use crate::{Error, Result};
use std::path::{Path, PathBuf};

/// What a VPC item says about its file; checked against the file's header, never trusted.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Hint {
    /// The VPC the hint comes from.
    pub vpc: PathBuf,
    /// `pc:count`.
    pub count: Option<u64>,
    /// `proj:bbox` as `[xmin, ymin, xmax, ymax]` (2-D or 3-D in the file).
    pub bbox: Option<[f64; 4]>,
}

/// The kind of an input file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InputKind {
    /// A LAS/LAZ file (or anything else read as one).
    Points,
    /// A text file of paths.
    List,
    /// A virtual point cloud (STAC JSON).
    Vpc,
}

/// Classifies an existing input file from its signature and extension.
pub fn kind_of(path: &Path) -> InputKind {
    let ext = path
        .extension()
        .map(|e| e.to_string_lossy().to_lowercase())
        .unwrap_or_default();
    if ext == "las" || ext == "laz" {
        return InputKind::Points;
    }
    if ext == "vpc" {
        return InputKind::Vpc;
    }
    // The first bytes decide: LAS files start with "LASF"; JSON with '{'; a list is text.
    let mut head = [0u8; 512];
    let n = std::fs::File::open(path)
        .and_then(|mut f| std::io::Read::read(&mut f, &mut head))
        .unwrap_or(0);
    let head = &head[..n];
    if head.starts_with(b"LASF") {
        return InputKind::Points;
    }
    match head.iter().find(|b| !b.is_ascii_whitespace()) {
        Some(b'{') => InputKind::Vpc,
        // Text has no NUL byte; binary point formats do.
        Some(_) if !head.contains(&0) => InputKind::List,
        _ => InputKind::Points,
    }
}

fn relative_to(base: &Path, entry: &str) -> PathBuf {
    let p = Path::new(entry);
    if p.is_absolute() {
        p.to_path_buf()
    } else {
        base.join(entry.strip_prefix("./").unwrap_or(entry))
    }
}

fn folder_of(path: &Path) -> PathBuf {
    path.parent()
        .filter(|p| !p.as_os_str().is_empty())
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."))
}

/// The files of a PDAL-style input list, in the list's order.
pub fn read_list(list: &Path) -> Result<Vec<PathBuf>> {
    let text = std::fs::read_to_string(list).map_err(|e| Error::io(list, e))?;
    let base = folder_of(list);
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let entry = line.trim();
        if entry.is_empty() || entry.starts_with('#') {
            continue;
        }
        let p = relative_to(&base, entry);
        if !p.is_file() {
            return Err(Error::data(
                list.display(),
                format!(
                    "line {}: '{entry}' is not a file ({} does not exist)",
                    i + 1,
                    p.display()
                ),
            ));
        }
        out.push(p);
    }
    if out.is_empty() {
        return Err(Error::NoInput(format!(
            "the input list {} names no file",
            list.display()
        )));
    }
    Ok(out)
}

/// The files of a virtual point cloud with their hints, in the VPC's order.
pub fn read_vpc(vpc: &Path) -> Result<Vec<(PathBuf, Hint)>> {
    let bad = |what: String| Error::data(vpc.display(), what);
    if vpc
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("vpz"))
    {
        return Err(bad(
            "zipped virtual point clouds (.vpz) are not read: unzip it and give its .vpc".into(),
        ));
    }
    let text = std::fs::read_to_string(vpc).map_err(|e| Error::io(vpc, e))?;
    let json: serde_json::Value = serde_json::from_str(&text).map_err(|e| {
        bad(format!(
            "not a virtual point cloud (STAC FeatureCollection JSON): {e}"
        ))
    })?;
    if json.get("type").and_then(|t| t.as_str()) != Some("FeatureCollection") {
        return Err(bad(
            "not a virtual point cloud: \"type\" is not \"FeatureCollection\"".into(),
        ));
    }
    let Some(features) = json.get("features").and_then(|f| f.as_array()) else {
        return Err(bad("no \"features\" array".into()));
    };
    let base = folder_of(vpc);
    let mut out = Vec::with_capacity(features.len());
    for (i, f) in features.iter().enumerate() {
        let name = f
            .get("id")
            .and_then(|v| v.as_str())
            .map(|s| format!("feature {i} ('{s}')"))
            .unwrap_or_else(|| format!("feature {i}"));
        let href = data_href(f).ok_or_else(|| {
            bad(format!(
                "{name}: no data asset with an \"href\" (assets.data.href)"
            ))
        })?;
        if href.contains("://") {
            return Err(bad(format!(
                "{name}: remote file '{href}': only local files are read"
            )));
        }
        let p = relative_to(&base, href);
        if !p.is_file() {
            return Err(bad(format!(
                "{name}: '{href}' is not a file ({} does not exist)",
                p.display()
            )));
        }
        let props = f.get("properties");
        let count = props
            .and_then(|p| p.get("pc:count"))
            .and_then(|c| c.as_u64());
        let bbox = props
            .and_then(|p| p.get("proj:bbox"))
            .and_then(|b| b.as_array())
            .and_then(|b| {
                let v: Vec<f64> = b.iter().filter_map(|x| x.as_f64()).collect();
                match v.len() {
                    4 => Some([v[0], v[1], v[2], v[3]]),
                    6 => Some([v[0], v[1], v[3], v[4]]),
                    _ => None,
                }
            });
        out.push((
            p,
            Hint {
                vpc: vpc.to_path_buf(),
                count,
                bbox,
            },
        ));
    }
    if out.is_empty() {
        return Err(Error::NoInput(format!(
            "the virtual point cloud {} has no feature",
            vpc.display()
        )));
    }
    Ok(out)
}

/// The `href` of a STAC item's data asset.
fn data_href(feature: &serde_json::Value) -> Option<&str> {
    let assets = feature.get("assets")?.as_object()?;
    let has_role = |a: &serde_json::Value, role: &str| {
        a.get("roles")
            .and_then(|r| r.as_array())
            .is_some_and(|r| r.iter().any(|x| x.as_str() == Some(role)))
    };
    let asset = assets
        .get("data")
        .or_else(|| assets.values().find(|a| has_role(a, "data")))
        .or_else(|| assets.values().find(|a| !has_role(a, "overview")))?;
    asset.get("href")?.as_str()
}

/// Warns (naming the VPC and the file) where a hint disagrees with the file's header: the
/// header wins.
pub fn check_hint(hint: &Hint, path: &Path, n_points: u64, bounds: &[f64; 6]) {
    if let Some(c) = hint.count {
        if c != n_points {
            log::warn!(
                "{}: pc:count of {} is {c}, its header says {n_points}: the header is used",
                hint.vpc.display(),
                path.display()
            );
        }
    }
    if let Some(b) = hint.bbox {
        let h = [bounds[0], bounds[1], bounds[3], bounds[4]];
        let off = b.iter().zip(&h).any(|(v, w)| (v - w).abs() > 0.01);
        if off {
            log::warn!(
                "{}: proj:bbox of {} is {b:?}, its header says {h:?}: the header is used",
                hint.vpc.display(),
                path.display()
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_and_vpcs_resolve_relative_paths_and_name_bad_lines() {
        let d = tempfile::tempdir().unwrap();
        let tiles = d.path().join("tiles");
        std::fs::create_dir(&tiles).unwrap();
        for n in ["a.laz", "b.laz"] {
            std::fs::write(tiles.join(n), b"LASF").unwrap();
        }
        let lists = d.path().join("lists");
        std::fs::create_dir(&lists).unwrap();
        let list = lists.join("tiles.txt");
        std::fs::write(
            &list,
            "# two tiles\n\n../tiles/a.laz\r\n  ./../tiles/b.laz  \n",
        )
        .unwrap();
        assert_eq!(kind_of(&list), InputKind::List);
        assert_eq!(kind_of(&tiles.join("a.laz")), InputKind::Points);
        let got = read_list(&list).unwrap();
        assert_eq!(
            got,
            [lists.join("../tiles/a.laz"), lists.join("../tiles/b.laz")]
        );

        std::fs::write(&list, "../tiles/a.laz\n# gone:\n../tiles/c.laz\n").unwrap();
        let e = read_list(&list).unwrap_err().to_string();
        assert!(
            e.contains("tiles.txt") && e.contains("line 3") && e.contains("c.laz"),
            "{e}"
        );

        let vpc = tiles.join("all.vpc");
        let item = |href: &str, extra: &str| {
            format!(
                r#"{{"type": "Feature", "stac_version": "1.0.0", "id": "x",
                  "properties": {{"pc:count": 7, "proj:bbox": [1, 2, 3, 4, 5, 6]{extra}}},
                  "assets": {{"data": {{"href": "{href}", "roles": ["data"]}}}}}}"#
            )
        };
        std::fs::write(
            &vpc,
            format!(
                r#"{{"type": "FeatureCollection", "features": [{}, {}]}}"#,
                item("./a.laz", ""),
                item("b.laz", r#", "proj:epsg": 2154"#)
            ),
        )
        .unwrap();
        assert_eq!(kind_of(&vpc), InputKind::Vpc);
        let got = read_vpc(&vpc).unwrap();
        assert_eq!(got[0].0, tiles.join("a.laz"));
        assert_eq!(got[1].0, tiles.join("b.laz"));
        assert_eq!(got[0].1.count, Some(7));
        assert_eq!(got[0].1.bbox, Some([1.0, 2.0, 4.0, 5.0]));

        std::fs::write(
            &vpc,
            format!(
                r#"{{"type": "FeatureCollection", "features": [{}]}}"#,
                item("./nope.laz", "")
            ),
        )
        .unwrap();
        let e = read_vpc(&vpc).unwrap_err().to_string();
        assert!(
            e.contains("all.vpc") && e.contains("feature 0") && e.contains("nope.laz"),
            "{e}"
        );
        std::fs::write(&vpc, r#"{"type": "Feature"}"#).unwrap();
        assert!(read_vpc(&vpc)
            .unwrap_err()
            .to_string()
            .contains("FeatureCollection"));
    }
}

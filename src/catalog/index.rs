//! The tile index: what the headers of a set of LAS/LAZ files say (bounds, point counts, CRS,
//! format), gathered without reading any point.

use super::lists::{kind_of, read_list, read_vpc, Hint, InputKind};
use crate::points::{self, Crs};
use crate::{Error, Result};
use std::path::{Path, PathBuf};

/// One tile as its header describes it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct TileInfo {
    pub path: PathBuf,
    /// `[xmin, ymin, zmin, xmax, ymax, zmax]` from the header.
    pub bounds: [f64; 6],
    pub n_points: u64,
    pub version: String,
    pub point_format: u8,
    pub compressed: bool,
    pub crs: Crs,
    /// Extra bytes per point.
    pub extra_bytes: u16,
}

impl TileInfo {
    /// Reads the header of `path`.
    pub fn from_path(path: &Path) -> Result<TileInfo> {
        let (_reader, meta) = points::open(path)?;
        let b = meta.header.bounds();
        Ok(TileInfo {
            path: path.to_path_buf(),
            bounds: [b.min.x, b.min.y, b.min.z, b.max.x, b.max.y, b.max.z],
            n_points: meta.header.number_of_points(),
            version: meta.version(),
            point_format: meta.format_id(),
            compressed: meta.format.is_compressed,
            extra_bytes: meta.format.extra_bytes,
            crs: meta.crs,
        })
    }

    /// Area of the header's bounding box in CRS units squared.
    pub fn area(&self) -> f64 {
        (self.bounds[3] - self.bounds[0]).max(0.0) * (self.bounds[4] - self.bounds[1]).max(0.0)
    }

    /// Points per unit area over the bounding box (0 for a degenerate box).
    pub fn density(&self) -> f64 {
        let a = self.area();
        if a > 0.0 {
            self.n_points as f64 / a
        } else {
            0.0
        }
    }
}

/// Expands inputs (files, folders, glob patterns, input lists, virtual point clouds) into a
/// sorted list of LAS/LAZ paths.
///
/// A folder contributes its `*.las` and `*.laz` files (not recursive); a pattern with `*`, `?`
/// or `[` is a glob; a text file of paths or a `.vpc` contributes the files it names
/// ([`super::lists`]). A named file that does not exist is an error naming it.
pub fn expand_inputs(inputs: &[impl AsRef<str>]) -> Result<Vec<PathBuf>> {
    Ok(expand_inputs_with_hints(inputs)?
        .into_iter()
        .map(|(p, _)| p)
        .collect())
}

/// [`expand_inputs`], with what a virtual point cloud says of each of its files.
pub fn expand_inputs_with_hints(
    inputs: &[impl AsRef<str>],
) -> Result<Vec<(PathBuf, Option<Hint>)>> {
    let mut out = Vec::new();
    let mut hints: std::collections::HashMap<PathBuf, Hint> = std::collections::HashMap::new();
    for input in inputs {
        let s = input.as_ref();
        let p = Path::new(s);
        if s.contains(['*', '?', '[']) {
            let paths = glob::glob(s).map_err(|e| Error::Config(format!("bad glob '{s}': {e}")))?;
            let before = out.len();
            for entry in paths.flatten() {
                if is_point_file(&entry) {
                    out.push(entry);
                }
            }
            if out.len() == before {
                return Err(Error::NoInput(format!(
                    "the pattern '{s}' matches no .las/.laz file"
                )));
            }
        } else if p.is_dir() {
            let before = out.len();
            let rd = std::fs::read_dir(p).map_err(|e| Error::io(p, e))?;
            for entry in rd {
                let entry = entry.map_err(|e| Error::io(p, e))?;
                let path = entry.path();
                if path.is_file() && is_point_file(&path) {
                    out.push(path);
                }
            }
            if out.len() == before {
                return Err(Error::NoInput(format!(
                    "the folder {} holds no .las/.laz file",
                    p.display()
                )));
            }
        } else if p.exists() {
            match kind_of(p) {
                InputKind::Points => out.push(p.to_path_buf()),
                InputKind::List => out.extend(read_list(p)?),
                InputKind::Vpc => {
                    for (f, h) in read_vpc(p)? {
                        hints.insert(f.clone(), h);
                        out.push(f);
                    }
                }
            }
        } else {
            return Err(Error::io(
                p,
                std::io::Error::new(std::io::ErrorKind::NotFound, "no such file or folder"),
            ));
        }
    }
    // The same tile twice (named twice, or by a folder and a glob, or through another
    // spelling or a link) would count its points twice: refuse it, naming both spellings.
    let mut seen = std::collections::HashMap::new();
    for p in &out {
        let canon = std::fs::canonicalize(p).unwrap_or_else(|_| p.clone());
        if let Some(first) = seen.insert(canon.clone(), p.clone()) {
            return Err(Error::Config(format!(
                "duplicate input: {} is given twice (as {} and as {}); name each tile once",
                canon.display(),
                first.display(),
                p.display()
            )));
        }
    }
    out.sort();
    if out.is_empty() {
        return Err(Error::NoInput("no input files given".to_string()));
    }
    Ok(out
        .into_iter()
        .map(|p| {
            let h = hints.remove(&p);
            (p, h)
        })
        .collect())
}

fn is_point_file(p: &Path) -> bool {
    matches!(
        p.extension()
            .map(|e| e.to_string_lossy().to_lowercase())
            .as_deref(),
        Some("las") | Some("laz")
    )
}

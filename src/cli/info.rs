//! `landcarbon info`: what is in a set of LAS/LAZ files.

use super::common::{progress, Common, Outcome};
use landcarbon::catalog::{expand_inputs, TileInfo};
use landcarbon::points;
use rayon::prelude::*;
use std::collections::BTreeMap;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// LAS/LAZ files, folders, glob patterns, input lists (a text file of paths, one a line,
    /// relative to it; # comments) or virtual point clouds (.vpc, as PDAL wrench and QGIS write).
    #[arg(required = true)]
    pub inputs: Vec<String>,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
    /// Header only: skip the class and return histograms (no point is read).
    #[arg(long)]
    pub header_only: bool,
}

#[derive(Debug, serde::Serialize)]
struct FileReport {
    #[serde(flatten)]
    tile: TileInfo,
    crs_text: String,
    density_per_m2: f64,
    /// Points per classification code.
    classes: BTreeMap<u8, u64>,
    /// Points per return number.
    returns: BTreeMap<u8, u64>,
    points_read: u64,
}

#[derive(Debug, serde::Serialize)]
struct Report {
    files: Vec<FileReport>,
    failed: Vec<String>,
    total_points: u64,
    bounds: [f64; 6],
    classes: BTreeMap<u8, u64>,
    returns: BTreeMap<u8, u64>,
}

pub fn run(c: &Common, a: &Args) -> anyhow::Result<Outcome> {
    let paths = expand_inputs(&a.inputs)?;
    let pool = landcarbon::catalog::engine::thread_pool(c.threads.unwrap_or(0))?;
    let pb = progress(c, paths.len() as u64, "reading");
    let results: Vec<landcarbon::Result<FileReport>> = pool.install(|| {
        paths
            .par_iter()
            .map(|p| {
                let r = describe(p, a.header_only);
                pb.inc(1);
                r
            })
            .collect()
    });
    pb.finish_and_clear();
    let mut files = Vec::new();
    let mut failed = Vec::new();
    for r in results {
        match r {
            Ok(f) => files.push(f),
            Err(e) => failed.push(e.to_string()),
        }
    }
    let mut total = Report {
        total_points: files.iter().map(|f| f.tile.n_points).sum(),
        bounds: points::NO_BOUNDS,
        classes: BTreeMap::new(),
        returns: BTreeMap::new(),
        files: Vec::new(),
        failed,
    };
    for f in &files {
        let b = &f.tile.bounds;
        points::widen_bounds(&mut total.bounds, [b[0], b[1], b[2]]);
        points::widen_bounds(&mut total.bounds, [b[3], b[4], b[5]]);
        for (k, v) in &f.classes {
            *total.classes.entry(*k).or_default() += v;
        }
        for (k, v) in &f.returns {
            *total.returns.entry(*k).or_default() += v;
        }
    }
    total.files = files;
    if a.json {
        println!("{}", serde_json::to_string_pretty(&total)?);
    } else {
        print_text(&total);
    }
    for e in &total.failed {
        eprintln!("landcarbon: {e}");
    }
    Ok(if total.failed.is_empty() {
        Outcome::Complete
    } else {
        Outcome::Partial
    })
}

fn describe(path: &std::path::Path, header_only: bool) -> landcarbon::Result<FileReport> {
    let tile = TileInfo::from_path(path)?;
    let mut classes = BTreeMap::new();
    let mut returns = BTreeMap::new();
    let mut points_read = 0;
    if !header_only {
        let cloud = points::read(path)?;
        let h = cloud.class_histogram();
        for (k, &v) in h.iter().enumerate() {
            if v > 0 {
                classes.insert(k as u8, v);
            }
        }
        let mut r = [0u64; 256];
        for &x in &cloud.return_number {
            r[x as usize] += 1;
        }
        for (k, &v) in r.iter().enumerate() {
            if v > 0 {
                returns.insert(k as u8, v);
            }
        }
        points_read = cloud.len() as u64;
    }
    Ok(FileReport {
        crs_text: tile.crs.describe(),
        density_per_m2: tile.density(),
        tile,
        classes,
        returns,
        points_read,
    })
}

fn print_text(r: &Report) {
    for f in &r.files {
        let t = &f.tile;
        println!("{}", t.path.display());
        println!(
            "  LAS {} point format {}{}, {} points, {}",
            t.version,
            t.point_format,
            if t.extra_bytes > 0 {
                format!(" (+{} extra bytes)", t.extra_bytes)
            } else {
                String::new()
            },
            t.n_points,
            if t.compressed { "LAZ" } else { "LAS" }
        );
        println!(
            "  bounds x {:.2}..{:.2}  y {:.2}..{:.2}  z {:.2}..{:.2}",
            t.bounds[0], t.bounds[3], t.bounds[1], t.bounds[4], t.bounds[2], t.bounds[5]
        );
        println!(
            "  CRS {}  density {:.2} pts/m²",
            f.crs_text, f.density_per_m2
        );
        if !f.classes.is_empty() {
            println!("  classes  {}", histogram(&f.classes));
            println!("  returns  {}", histogram(&f.returns));
        }
    }
    if r.files.len() > 1 {
        println!("total: {} files, {} points", r.files.len(), r.total_points);
        println!(
            "  bounds x {:.2}..{:.2}  y {:.2}..{:.2}  z {:.2}..{:.2}",
            r.bounds[0], r.bounds[3], r.bounds[1], r.bounds[4], r.bounds[2], r.bounds[5]
        );
        if !r.classes.is_empty() {
            println!("  classes  {}", histogram(&r.classes));
            println!("  returns  {}", histogram(&r.returns));
        }
    }
}

fn histogram(h: &BTreeMap<u8, u64>) -> String {
    h.iter()
        .map(|(k, v)| format!("{k}:{v}"))
        .collect::<Vec<_>>()
        .join("  ")
}

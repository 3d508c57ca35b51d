//! Terrain over a catalog: a chunked, buffered DTM (and normalization) equals the single-file
//! result, on a synthetic scene cut into tiles; plus a real-data DTM sanity check.

use landcarbon::algo::terrain::{
    self, DtmMethod, DtmOptions, GroundReference, GroundSurface, Idw, SurfaceKind, NODATA,
};
use landcarbon::catalog::{self, Catalog, ChunkOptions, EngineOptions};
use landcarbon::points::{self, PointCloud};
use landcarbon::raster::{Grid, Raster};
use landcarbon::synth::{generate, SynthParams};
use std::path::Path;

/// A 120 m × 120 m synthetic scene written as a 2 × 2 set of 60 m tiles; returns the tiles
/// read back and merged (so both runs see the same quantized coordinates).
fn write_tiles(dir: &Path) -> PointCloud {
    let p = SynthParams {
        size_m: [120.0, 120.0],
        pulses_per_m2: 3.0,
        ..SynthParams::default()
    };
    let (cloud, _) = generate(&p);
    let mut merged: Option<PointCloud> = None;
    for (i, j) in [(0, 0), (1, 0), (0, 1), (1, 1)] {
        let x0 = p.origin[0] + 60.0 * i as f64;
        let y0 = p.origin[1] + 60.0 * j as f64;
        let idx: Vec<usize> = (0..cloud.len())
            .filter(|&k| {
                cloud.x[k] >= x0
                    && cloud.x[k] < x0 + 60.0
                    && cloud.y[k] >= y0
                    && cloud.y[k] < y0 + 60.0
            })
            .collect();
        let path = dir.join(format!("t{i}{j}.laz"));
        points::write(&cloud.select(&idx), &path).unwrap();
        let back = points::read(&path).unwrap();
        match &mut merged {
            None => merged = Some(back),
            Some(m) => m.append(&back).unwrap(),
        }
    }
    merged.unwrap()
}

/// Runs the chunked DTM over the catalog: the raster of each chunk (the cells it owns), and
/// their mosaic on the union grid.
fn chunked_dtm(
    cat: &Catalog,
    chunk: &ChunkOptions,
    opts: &DtmOptions,
) -> (Vec<Raster<f64>>, Raster<f64>) {
    let plan = cat.plan(chunk).unwrap();
    assert!(plan.len() >= 4, "{} chunks", plan.len());
    let grid = plan
        .iter()
        .map(|c| Grid::covering_centres(&c.core, opts.res_m))
        .reduce(|a, b| a.union(&b))
        .unwrap();
    let report = catalog::run(
        cat,
        &plan,
        &EngineOptions::default(),
        &|_, _| {},
        |c, cloud| terrain::dtm_chunk(&cloud, &c.core, opts),
    )
    .unwrap();
    assert!(report.is_complete());
    let mut mosaic = Raster::filled(grid, NODATA);
    for (_, r) in &report.results {
        assert!(r.n_ground > 0);
        mosaic.paste(&r.raster);
    }
    (
        report.results.into_iter().map(|(_, r)| r.raster).collect(),
        mosaic,
    )
}

fn assert_same(chunked: &Raster<f64>, single: &Raster<f64>, what: &str) {
    assert_eq!(chunked.grid, single.grid);
    let mut worst: f64 = 0.0;
    let mut n_valid = 0;
    for (a, b) in chunked.data.iter().zip(single.data.iter()) {
        assert!(a.is_finite() && b.is_finite());
        assert_eq!(*a == NODATA, *b == NODATA, "{what}: nodata differs");
        if *a != NODATA {
            worst = worst.max((a - b).abs());
            n_valid += 1;
        }
    }
    assert!(n_valid > 0, "{what}: no valid cell");
    // Bit-identical: evaluations do not depend on the chunk (see algo/terrain/tin.rs).
    assert!(
        worst == 0.0,
        "{what}: chunked differs from single by {worst} m"
    );
}

#[test]
fn chunked_dtm_equals_single_file_dtm() {
    let dir = tempfile::tempdir().unwrap();
    let merged = write_tiles(dir.path());
    let cat = Catalog::open(&[dir.path().to_string_lossy().to_string()]).unwrap();
    assert_eq!(cat.tiles.len(), 4);
    let mask = terrain::ground_mask(&merged, &[2]);
    for kind in [SurfaceKind::Tin, SurfaceKind::Idw] {
        let opts = DtmOptions {
            method: kind,
            ..DtmOptions::default()
        };
        // By tile (lidR's default chunking) and by a 50 m grid that cuts across the tiles.
        for chunk in [
            ChunkOptions::default(),
            ChunkOptions {
                size_m: 50.0,
                buffer_m: 20.0,
                ..ChunkOptions::default()
            },
        ] {
            let what = format!("{kind:?}, chunk size {}", chunk.size_m);
            let (chunks, mosaic) = chunked_dtm(&cat, &chunk, &opts);
            // Every chunk's cells (centres in its core) equal the single-file DTM's cells.
            let mut n_cells = 0;
            for r in &chunks {
                let single = terrain::dtm(&merged, &mask, r.grid, &opts.method()).unwrap();
                assert_same(r, &single, &what);
                n_cells += r.grid.len();
            }
            assert!(n_cells >= 120 * 120, "{what}: {n_cells} cells");
            // And the mosaic equals the single-file DTM wherever a chunk owns the cell.
            let single = terrain::dtm(&merged, &mask, mosaic.grid, &opts.method()).unwrap();
            let owned = |x: f64, y: f64| chunks.iter().any(|r| r.grid.cell_of(x, y).is_some());
            let mut n_owned = 0;
            for row in 0..mosaic.grid.nrows {
                for col in 0..mosaic.grid.ncols {
                    let (x, y) = mosaic.grid.centre(row, col);
                    if owned(x, y) {
                        n_owned += 1;
                        let (a, b) = (mosaic.data[[row, col]], single.data[[row, col]]);
                        assert!(a != NODATA && a == b, "{what}: mosaic cell {row},{col}");
                    }
                }
            }
            assert!(n_owned >= 120 * 120, "{what}: {n_owned} cells owned");
        }
    }
}

#[test]
fn chunked_normalization_equals_single_file() {
    let dir = tempfile::tempdir().unwrap();
    let merged = write_tiles(dir.path());
    let cat = Catalog::open(&[dir.path().to_string_lossy().to_string()]).unwrap();
    let method = DtmMethod::default();
    let plan = cat.plan(&ChunkOptions::default()).unwrap();
    let report = catalog::run(
        &cat,
        &plan,
        &EngineOptions::default(),
        &|_, _| {},
        |_, mut cloud| {
            let mask = terrain::ground_mask(&cloud, &[2]);
            let s = GroundSurface::from_cloud(&cloud, &mask, &method)?;
            let core: Vec<bool> = cloud.is_buffer.iter().map(|b| !b).collect();
            cloud.retain_mask(&core);
            terrain::normalize(
                &mut cloud,
                &GroundReference::Surface(&s),
                terrain::HagOutput::ExtraBytes,
                false,
            )?;
            let hag = cloud.extra.get_f64(terrain::HAG_NAME).unwrap();
            Ok((0..cloud.len())
                .map(|i| (cloud.x[i], cloud.y[i], cloud.z[i], hag[i]))
                .collect::<Vec<_>>())
        },
    )
    .unwrap();
    let mut chunked: Vec<(f64, f64, f64, f64)> =
        report.results.into_iter().flat_map(|(_, v)| v).collect();
    let mask = terrain::ground_mask(&merged, &[2]);
    let s = GroundSurface::from_cloud(&merged, &mask, &method).unwrap();
    let (hag, ok) = terrain::height_above_ground(
        &merged.x,
        &merged.y,
        &merged.z,
        &GroundReference::Surface(&s),
    );
    assert!(ok.iter().all(|o| *o));
    let mut single: Vec<(f64, f64, f64, f64)> = (0..merged.len())
        .map(|i| (merged.x[i], merged.y[i], merged.z[i], hag[i]))
        .collect();
    assert_eq!(chunked.len(), single.len());
    let key = |a: &(f64, f64, f64, f64), b: &(f64, f64, f64, f64)| {
        a.0.total_cmp(&b.0)
            .then(a.1.total_cmp(&b.1))
            .then(a.2.total_cmp(&b.2))
    };
    chunked.sort_by(key);
    single.sort_by(key);
    let worst = chunked
        .iter()
        .zip(&single)
        .map(|(a, b)| {
            assert_eq!((a.0, a.1, a.2), (b.0, b.1, b.2));
            (a.3 - b.3).abs()
        })
        .fold(0.0, f64::max);
    assert!(worst == 0.0, "chunked HAG differs by {worst} m");
}

#[test]
fn real_forest_tile_tin_and_idw_agree() {
    let Some(path) = landcarbon::testdata::shared_or_skip(
        "lidR_Topography.laz",
        "real_forest_tile_tin_and_idw_agree",
    ) else {
        return;
    };
    let cloud = points::read(&path).unwrap();
    let mask = terrain::ground_mask(&cloud, &[2]);
    let b = cloud.bounds().unwrap();
    let grid = Grid::covering_centres(&[b[0], b[1], b[3], b[4]], 1.0);
    let tin = terrain::dtm(&cloud, &mask, grid, &DtmMethod::default()).unwrap();
    let idw = terrain::dtm(&cloud, &mask, grid, &DtmMethod::Idw(Idw::default())).unwrap();
    let d = terrain::compare(&tin, &idw).unwrap();
    assert_eq!(d.n_common, grid.len());
    // Measured: RMSE 0.24 m, bias −0.05 m over 81 796 cells (hilly forest, sparse ground).
    assert!(d.rmse_m < 0.35, "{d:?}");
    assert!(d.bias_m.abs() < 0.1, "{d:?}");
    // Ground points lie on the TIN: their height above it is exactly 0.
    let s = GroundSurface::from_cloud(&cloud, &mask, &DtmMethod::default()).unwrap();
    let gi: Vec<usize> = (0..cloud.len()).filter(|&i| mask[i]).collect();
    let g = cloud.select(&gi);
    let (hag, ok) = terrain::height_above_ground(&g.x, &g.y, &g.z, &GroundReference::Surface(&s));
    assert!(ok.iter().all(|o| *o));
    let nonzero = hag.iter().filter(|h| **h != 0.0).count();
    // Only ground points sharing an (x, y) with a lower one are above the TIN.
    assert!(nonzero * 1000 < hag.len(), "{nonzero} of {}", hag.len());
    assert!(hag.iter().all(|h| *h >= 0.0));
}

/// `landcarbon dtm`, `eval dtm` and `normalize` end to end on synthetic tiles.
#[test]
fn cli_dtm_eval_and_normalize() {
    use std::process::Command;
    let bin = env!("CARGO_BIN_EXE_landcarbon");
    let dir = tempfile::tempdir().unwrap();
    let tiles = dir.path().join("tiles");
    std::fs::create_dir_all(&tiles).unwrap();
    let merged = write_tiles(&tiles);
    let tif = dir.path().join("dtm.tif");
    let out = Command::new(bin)
        .args(["-q", "dtm"])
        .arg(&tiles)
        .arg("-o")
        .arg(&tif)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let r = landcarbon::raster::read_geotiff(&tif, 1).unwrap();
    assert_eq!(r.nodata, NODATA);
    // The cells touching the 120 m × 120 m extent (points on its far edge add a row/column).
    assert!((120..=121).contains(&r.grid.ncols) && (120..=121).contains(&r.grid.nrows));
    // Every cell whose centre lies in the scene has a value (cells on the far edge that hold no
    // point may belong to no tile's core and stay nodata).
    for row in 0..r.grid.nrows {
        for col in 0..r.grid.ncols {
            let (x, y) = r.grid.centre(row, col);
            if x < 500_120.0 && y < 3_400_120.0 {
                assert_ne!(r.data[[row, col]], NODATA, "cell {row},{col}");
            }
        }
    }
    let mask = terrain::ground_mask(&merged, &[2]);
    let single = terrain::dtm(&merged, &mask, r.grid, &DtmMethod::default()).unwrap();
    let worst = r
        .data
        .iter()
        .zip(single.data.iter())
        .filter(|(a, _)| **a != NODATA)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f64::max);
    // The file holds f32: ~1e-5 m at 100 m elevations.
    assert!(worst < 1e-4, "file vs library DTM {worst}");
    // eval dtm of the file against an IDW DTM of the same catalog.
    let idw = dir.path().join("idw.tif");
    let st = Command::new(bin)
        .args(["-q", "dtm", "--method", "idw"])
        .arg(&tiles)
        .arg("-o")
        .arg(&idw)
        .status()
        .unwrap();
    assert!(st.success());
    let out = Command::new(bin)
        .args(["eval", "dtm", "--json"])
        .arg(&tif)
        .arg(&idw)
        .output()
        .unwrap();
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(v["n_common"].as_u64().unwrap() >= 14400);
    let rmse = v["rmse_m"].as_f64().unwrap();
    assert!(rmse > 0.0 && rmse < 0.05, "TIN vs IDW rmse {rmse}");
    // normalize as extra bytes: one file per tile, ground exactly 0, Z unchanged.
    let norm = dir.path().join("norm");
    let out = Command::new(bin)
        .args(["-q", "normalize", "--as-extra-bytes"])
        .arg(&tiles)
        .arg("-o")
        .arg(&norm)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut n = 0;
    for t in ["t00", "t01", "t10", "t11"] {
        let src = points::read(&tiles.join(format!("{t}.laz"))).unwrap();
        let c = points::read(&norm.join(format!("{t}.laz"))).unwrap();
        assert_eq!(c.len(), src.len());
        assert_eq!(c.z, src.z);
        let hag = c.extra.get_f64(terrain::HAG_NAME).unwrap();
        let mut above = 0;
        for (&h, &class) in hag.iter().zip(&c.classification) {
            assert!(h.is_finite());
            if class == 2 {
                // 0 on the TIN, except ground points sharing their (x, y) with a lower one
                // after 1 cm quantization (a handful): their height above it.
                assert!((0.0..0.1).contains(&h), "{h}");
                above += (h != 0.0) as usize;
            }
        }
        assert!(
            above * 1000 < c.len(),
            "{above} ground points above the TIN"
        );
        n += c.len();
    }
    assert_eq!(n, merged.len());
    // Refuses to overwrite its inputs.
    let out = Command::new(bin)
        .args(["-q", "normalize"])
        .arg(&tiles)
        .arg("-o")
        .arg(&tiles)
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("overwrite"));
    // No ground in the chosen classes: a clear failure, not a NaN raster.
    let out = Command::new(bin)
        .args(["-q", "dtm", "--ground-classes", "9"])
        .arg(&tiles)
        .arg("-o")
        .arg(dir.path().join("none.tif"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no ground point"));
    assert!(!dir.path().join("none.tif").exists());
}

/// A real hilly forest tile with a lake, cut into four tiles: the chunked DTM (tile and grid
/// chunking, default 30 m buffer) equals the DTM of the whole file bit for bit wherever the
/// ground around a cell is dense enough for its triangles to fit in the buffer. Cells across the
/// lake (a gap wider than the buffer) or in the convex hull's slivers along the outer edge of the
/// data can differ: their whole-file triangle has corners no buffer-limited chunk sees (lidR's
/// catalog has the same limit).
#[test]
fn real_tile_cut_in_four_chunked_equals_single() {
    let Some(path) = landcarbon::testdata::shared_or_skip(
        "lidR_Topography.laz",
        "real_tile_cut_in_four_chunked_equals_single",
    ) else {
        return;
    };
    // (Its returns go up to 6 in LAS 1.2: the quarter tiles are written as LAS 1.4.)
    let cloud = points::read(&path).unwrap();
    let bb = cloud.bounds().unwrap();
    let (xm, ym) = (
        ((bb[0] + bb[3]) / 2.0).round(),
        ((bb[1] + bb[4]) / 2.0).round(),
    );
    let dir = tempfile::tempdir().unwrap();
    for (i, (west, south)) in [(true, true), (true, false), (false, true), (false, false)]
        .into_iter()
        .enumerate()
    {
        let idx: Vec<usize> = (0..cloud.len())
            .filter(|&k| (cloud.x[k] < xm) == west && (cloud.y[k] < ym) == south)
            .collect();
        points::write(&cloud.select(&idx), &dir.path().join(format!("q{i}.laz"))).unwrap();
    }
    let cat = Catalog::open(&[dir.path().to_string_lossy().to_string()]).unwrap();
    let mask = terrain::ground_mask(&cloud, &[2]);
    let gi: Vec<usize> = (0..cloud.len()).filter(|&i| mask[i]).collect();
    let ground = cloud.select(&gi);
    let index = points::KdIndex2::new(&ground.x, &ground.y);
    // Surrounded by ground: a ground point within 10 m in each of the 8 directions (45°
    // sectors), so the empty circumcircle of the triangle holding the cell is a few metres
    // across and its corners lie in any 30 m buffer; and 30 m inside the data.
    let dense = |x: f64, y: f64| {
        let mut sectors = [false; 8];
        for (i, _) in index.within(x, y, 10.0) {
            let a = (ground.y[i] - y).atan2(ground.x[i] - x);
            let s = ((a + std::f64::consts::PI) / (std::f64::consts::PI / 4.0)) as usize;
            sectors[s.min(7)] = true;
        }
        sectors.iter().all(|s| *s)
            && x > bb[0] + 30.0
            && x < bb[3] - 30.0
            && y > bb[1] + 30.0
            && y < bb[4] - 30.0
    };
    let opts = DtmOptions::default();
    for chunk in [
        ChunkOptions::default(),
        ChunkOptions {
            size_m: 70.0,
            ..ChunkOptions::default()
        },
    ] {
        let (chunks, _) = chunked_dtm(&cat, &chunk, &opts);
        let (mut n, mut n_dense, mut n_diff, mut worst) = (0usize, 0usize, 0usize, 0.0f64);
        for r in &chunks {
            let single = terrain::dtm(&cloud, &mask, r.grid, &opts.method()).unwrap();
            for (((row, col), a), b) in r.data.indexed_iter().zip(single.data.iter()) {
                assert!(a.is_finite() && b.is_finite());
                assert_eq!(*a == NODATA, *b == NODATA);
                // The cells `landcarbon dtm` writes: those touching the data's extent.
                let (x, y) = r.grid.centre(row, col);
                if !(x > bb[0] - 1.0 && x < bb[3] + 1.0 && y > bb[1] - 1.0 && y < bb[4] + 1.0) {
                    continue;
                }
                n += 1;
                if a != b {
                    n_diff += 1;
                    worst = worst.max((a - b).abs());
                }
                if dense(x, y) {
                    n_dense += 1;
                    assert_eq!(
                        a, b,
                        "dense cell ({x}, {y}) differs, chunk size {}",
                        chunk.size_m
                    );
                }
            }
        }
        eprintln!(
            "lidR_Topography chunk size {}: {n_diff} of {n} cells differ (max {worst:.3} m); all {n_dense} dense cells identical",
            chunk.size_m
        );
        assert!(n_dense > 30_000, "{n_dense} dense cells");
        // Measured: 19 of 82 944 cells differ by tile, 1 561 with 70 m chunks (lake, hull edge).
        assert!(
            n_diff * 40 < n,
            "{n_diff} of {n} cells differ (max {worst} m)"
        );
    }
}

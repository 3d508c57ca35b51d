//! The catalog: chunked runs give the same answer as one merged cloud; CRS mixing is refused;
//! failures are collected per chunk.

use landcarbon::catalog::{self, Catalog, ChunkOptions, EngineOptions};
use landcarbon::points::{self, PointCloud};
use landcarbon::raster::{Grid, Raster};
use landcarbon::synth::{generate, SynthParams};
use std::path::{Path, PathBuf};

/// Cuts `cloud` into `nx × ny` tiles written to `dir`; returns their paths.
fn write_tiles(cloud: &PointCloud, dir: &Path, nx: usize, ny: usize) -> Vec<PathBuf> {
    let b = cloud.bounds().unwrap();
    let (w, h) = ((b[3] - b[0]) / nx as f64, (b[4] - b[1]) / ny as f64);
    let mut paths = Vec::new();
    for j in 0..ny {
        for i in 0..nx {
            let idx: Vec<usize> = (0..cloud.len())
                .filter(|&k| {
                    let ci = (((cloud.x[k] - b[0]) / w) as usize).min(nx - 1);
                    let cj = (((cloud.y[k] - b[1]) / h) as usize).min(ny - 1);
                    ci == i && cj == j
                })
                .collect();
            let p = dir.join(format!("tile_{i}_{j}.laz"));
            points::write(&cloud.select(&idx), &p).unwrap();
            paths.push(p);
        }
    }
    paths
}

/// Per-cell max z and point count on `grid`, from every point given (core and buffer), as a
/// raster product is computed: a chunk owns the cells whose centre lies in its core and sees
/// every point of them thanks to its buffer.
fn max_and_count(cloud: &PointCloud, grid: Grid) -> (Raster<f64>, Raster<f64>) {
    let mut zmax = Raster::filled(grid, f64::NEG_INFINITY);
    let mut n = Raster::filled(grid, 0.0);
    n.nodata = -1.0;
    for i in 0..cloud.len() {
        if let Some((r, c)) = grid.cell_of(cloud.x[i], cloud.y[i]) {
            zmax.data[[r, c]] = zmax.data[[r, c]].max(cloud.z[i]);
            n.data[[r, c]] += 1.0;
        }
    }
    (zmax, n)
}

/// Runs the per-cell quantity over the chunks of `catalog` and pastes the chunk rasters into
/// one raster over `whole`.
fn chunked(
    catalog: &Catalog,
    opts: &ChunkOptions,
    whole: Grid,
    threads: usize,
) -> (Raster<f64>, Raster<f64>) {
    let plan = catalog.plan(opts).unwrap();
    assert!(plan.len() > 1, "the test needs several chunks");
    let report = catalog::run(
        catalog,
        &plan,
        &EngineOptions {
            threads,
            ..Default::default()
        },
        &|_, _| {},
        |chunk, cloud| {
            let g = Grid::covering_centres(&chunk.core, whole.res_m);
            Ok(max_and_count(&cloud, g))
        },
    )
    .unwrap();
    assert!(report.is_complete(), "{:?}", report.failures);
    // Paste (not add): where tile-mode cores overlap, both chunks computed the same cells from
    // the same points.
    let mut zmax = Raster::filled(whole, f64::NEG_INFINITY);
    let mut n = Raster::filled(whole, -1.0);
    for (_, (z, c)) in &report.results {
        zmax.paste(z);
        n.paste(c);
    }
    (zmax, n)
}

fn assert_chunk_invariant(paths: &[PathBuf], res: f64, opts: &[ChunkOptions]) {
    let inputs: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
    let catalog = Catalog::open(&inputs).unwrap();
    let mut merged = points::read(&paths[0]).unwrap();
    for p in &paths[1..] {
        merged.append(&points::read(p).unwrap()).unwrap();
    }
    let whole = Grid::covering(&catalog.extent(), res);
    let (zmax, n) = max_and_count(&merged, whole);
    assert_eq!(n.data.sum() as usize, merged.len());
    for o in opts {
        for threads in [1, 2] {
            let (cz, cn) = chunked(&catalog, o, whole, threads);
            for ((idx, &want), (&got, (&zw, &zg))) in n
                .data
                .indexed_iter()
                .zip(cn.data.iter().zip(zmax.data.iter().zip(cz.data.iter())))
            {
                if want > 0.0 {
                    assert_eq!(
                        got, want,
                        "point count of cell {idx:?} with {o:?}, {threads} threads"
                    );
                    assert_eq!(zg, zw, "max z of cell {idx:?} with {o:?}");
                } else {
                    // A cell without points may be owned by no chunk (-1: gaps between tiles).
                    assert!(got <= 0.0, "empty cell {idx:?} got {got} points with {o:?}");
                }
            }
        }
    }
}

#[test]
fn chunked_max_z_and_counts_equal_the_merged_cloud_on_synthetic_tiles() {
    let (cloud, _) = generate(&SynthParams {
        size_m: [120.0, 90.0],
        pulses_per_m2: 4.0,
        ..Default::default()
    });
    let dir = tempfile::tempdir().unwrap();
    let paths = write_tiles(&cloud, dir.path(), 3, 2);
    assert_chunk_invariant(
        &paths,
        2.0,
        &[
            ChunkOptions::default(),
            ChunkOptions {
                size_m: 25.0,
                buffer_m: 10.0,
                ..Default::default()
            },
            // Cores off the cell grid: cells straddle core edges, so the buffer must be at least half
            // a cell.
            ChunkOptions {
                size_m: 50.0,
                buffer_m: 1.0,
                origin: [3.0, 7.0],
                ..Default::default()
            },
        ],
    );
}

#[test]
fn chunked_max_z_and_counts_equal_the_merged_cloud_on_real_bcts_tiles() {
    let mut paths = Vec::new();
    for t in ["lasR_bcts_1.laz", "lasR_bcts_2.laz", "lasR_bcts_4.laz"] {
        match landcarbon::testdata::shared_or_skip(t, "chunked_on_real_bcts_tiles") {
            Some(p) => paths.push(p),
            None => return,
        }
    }
    assert_chunk_invariant(
        &paths,
        1.0,
        &[
            ChunkOptions::default(),
            ChunkOptions {
                size_m: 100.0,
                buffer_m: 30.0,
                ..Default::default()
            },
        ],
    );
}

#[test]
fn buffer_points_come_from_neighbours_and_core_points_are_the_tile() {
    let (cloud, _) = generate(&SynthParams {
        size_m: [100.0, 50.0],
        pulses_per_m2: 2.0,
        ..Default::default()
    });
    let dir = tempfile::tempdir().unwrap();
    let paths = write_tiles(&cloud, dir.path(), 2, 1);
    let inputs: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
    let catalog = Catalog::open(&inputs).unwrap();
    let plan = catalog
        .plan(&ChunkOptions {
            buffer_m: 5.0,
            ..Default::default()
        })
        .unwrap();
    assert_eq!(plan.len(), 2);
    for chunk in &plan {
        let pts = catalog::read_chunk(&catalog, chunk).unwrap();
        let own = catalog.tiles[chunk.own_tile.unwrap()].n_points as usize;
        assert_eq!(pts.core_len(), own);
        let buffer = pts.len() - own;
        assert!(
            buffer > 0,
            "a 5 m buffer must bring points from the neighbour"
        );
        for i in 0..pts.len() {
            let b = chunk.buffered;
            assert!(pts.x[i] >= b[0] && pts.x[i] <= b[2] && pts.y[i] >= b[1] && pts.y[i] <= b[3]);
        }
    }
}

#[test]
fn tiles_of_different_crs_are_refused_with_both_names() {
    let dir = tempfile::tempdir().unwrap();
    let a = landcarbon::testdata::bundled("isprs/samp11-utm.laz");
    let b = landcarbon::testdata::bundled("ignf-lidar-for-fuel_test_data_0000_0000_LA93_IGN69.laz");
    let err = Catalog::open(&[a.display().to_string(), b.display().to_string()])
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("CRS mismatch") && err.contains("samp11") && err.contains("ignf"),
        "{err}"
    );
    assert!(
        err.contains("EPSG:32632") && err.contains("EPSG:2154"),
        "{err}"
    );
    let _ = dir;
}

#[test]
fn a_failing_chunk_is_reported_and_the_others_complete() {
    let (cloud, _) = generate(&SynthParams {
        size_m: [60.0, 30.0],
        pulses_per_m2: 1.0,
        ..Default::default()
    });
    let dir = tempfile::tempdir().unwrap();
    let paths = write_tiles(&cloud, dir.path(), 3, 1);
    let inputs: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
    let catalog = Catalog::open(&inputs).unwrap();
    let plan = catalog
        .plan(&ChunkOptions {
            buffer_m: 0.0,
            ..Default::default()
        })
        .unwrap();
    // Corrupt the middle tile after indexing: its chunk must fail, naming the file.
    std::fs::write(&paths[1], b"LASF but not really").unwrap();
    let report = catalog::run(
        &catalog,
        &plan,
        &EngineOptions::default(),
        &|_, _| {},
        |_, c| Ok(c.len()),
    )
    .unwrap();
    assert_eq!(report.results.len(), 2);
    assert_eq!(report.failures.len(), 1);
    let msg = report.failures[0].error.to_string();
    assert!(msg.contains("tile_1_0.laz"), "{msg}");
    // With stop_early and one thread, the chunks after the failure are skipped.
    let report = catalog::run(
        &catalog,
        &plan,
        &EngineOptions {
            threads: 1,
            stop_early: true,
            ..Default::default()
        },
        &|_, _| {},
        |_, c| Ok(c.len()),
    )
    .unwrap();
    assert_eq!(report.failures.len(), 1);
    assert!(report.skipped >= 1);
}

/// A job cancelled while a chunk runs: the chunks not yet started are not run, the chunk
/// that sees the cancellation through `job::check` stops, and the run returns
/// `Error::Cancelled` rather than a report; the job counts the points read. Without a job
/// (the command line) the same run completes.
#[test]
fn a_cancelled_job_stops_the_run_between_chunks() {
    use landcarbon::job::{self, Job};
    use std::sync::atomic::{AtomicUsize, Ordering};
    let (cloud, _) = generate(&SynthParams {
        size_m: [80.0, 20.0],
        pulses_per_m2: 1.0,
        ..Default::default()
    });
    let dir = tempfile::tempdir().unwrap();
    let paths = write_tiles(&cloud, dir.path(), 4, 1);
    let inputs: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
    let catalog = Catalog::open(&inputs).unwrap();
    let plan = catalog.plan(&ChunkOptions::default()).unwrap();
    assert_eq!(plan.len(), 4);
    let one = EngineOptions {
        threads: 1,
        ..Default::default()
    };
    let started = AtomicUsize::new(0);
    let j = Job::new();
    let r = {
        let _entered = j.enter();
        catalog::run(&catalog, &plan, &one, &|_, _| {}, |_, c| {
            // The second chunk is cancelled from inside (as Ctrl-C would, from outside).
            if started.fetch_add(1, Ordering::SeqCst) == 1 {
                job::current()
                    .expect("the caller's job is current in the chunk")
                    .cancel();
            }
            job::check()?;
            Ok(c.len())
        })
    };
    assert!(matches!(r, Err(landcarbon::Error::Cancelled)), "{r:?}");
    assert_eq!(
        started.load(Ordering::SeqCst),
        2,
        "chunks started after the cancellation"
    );
    assert!(j.progress().points > 0);
    assert!(job::current().is_none());
    let r = catalog::run(&catalog, &plan, &one, &|_, _| {}, |_, c| Ok(c.len())).unwrap();
    assert!(r.is_complete() && r.results.len() == 4);
}

/// A tile of more than `max_points` points is cut into parts automatically: every point is the
/// core point of exactly one part, and per-cell results over the parts (which see their
/// buffers, from the tile itself and from its neighbours) equal those of the whole cloud, for a
/// catalog of one file and of two neighbouring files, on 1 and 2 threads.
#[test]
fn automatically_cut_big_tiles_give_the_same_cells_as_the_whole_file() {
    let (cloud, _) = generate(&SynthParams {
        size_m: [120.0, 90.0],
        pulses_per_m2: 4.0,
        ..Default::default()
    });
    for (nx, what) in [(1, "one file"), (2, "two files")] {
        let dir = tempfile::tempdir().unwrap();
        let paths = write_tiles(&cloud, dir.path(), nx, 1);
        let inputs: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
        let catalog = Catalog::open(&inputs).unwrap();
        let biggest = catalog.tiles.iter().map(|t| t.n_points).max().unwrap();
        let opts = ChunkOptions {
            buffer_m: 10.0,
            max_points: biggest / 4,
            ..Default::default()
        };
        let plan = catalog.plan(&opts).unwrap();
        assert!(
            plan.len() >= 4 * nx && plan.iter().all(|c| c.part.is_some()),
            "{what}: {} chunks, parts {:?}",
            plan.len(),
            plan.iter().map(|c| c.part).collect::<Vec<_>>()
        );
        // Parts of one tile tile its snapped core: aligned, disjoint, with their estimate near
        // the target.
        for c in &plan {
            for v in c.core {
                assert_eq!(
                    v % opts.align_m,
                    0.0,
                    "{what}: core {:?} off the 20 m grid",
                    c.core
                );
            }
        }
        let report = catalog::run(
            &catalog,
            &plan,
            &EngineOptions::default(),
            &|_, _| {},
            |chunk, pts| {
                for i in 0..pts.len() {
                    let inside = chunk.core_contains(pts.x[i], pts.y[i]);
                    let own = !pts.is_buffer[i];
                    // Core points lie in the core; buffer points of the own tile lie outside it.
                    assert!(!own || inside, "a core point outside the part's core");
                }
                Ok(pts.core_len())
            },
        )
        .unwrap();
        assert!(report.is_complete(), "{:?}", report.failures);
        let cores: usize = report.results.iter().map(|(_, n)| n).sum();
        assert_eq!(cores as u64, catalog.n_points(), "{what}: core points");
        assert_chunk_invariant(&paths, 2.0, std::slice::from_ref(&opts));
        // No cutting when the target is large enough (or 0): one chunk per tile.
        for max_points in [0, biggest] {
            let o = ChunkOptions {
                max_points,
                ..opts.clone()
            };
            assert_eq!(
                catalog.plan(&o).unwrap().len(),
                nx,
                "{what}: max_points {max_points}"
            );
        }
    }
}

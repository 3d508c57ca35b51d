//! Every stage of `landcarbon run`'s per-chunk chain (src/pipeline/chunk.rs) on one real tile,
//! in the same order and with the default configuration: read LAZ → ground → ground surface →
//! DTM (1 m) → heights → vegetation classes → CHM (pit-free, 0.5 m) → trees → grid metrics
//! (20 m) → write LAZ. Each is timed alone on the previous stages' output, with the tile's point
//! count as criterion's throughput, so that `1e3 / (M elements/s)` is the stage's ns per point
//! (the budget table of issue #12; `scripts/bench-county.sh` prints the whole chain's).
//!
//! Tile: `LANDCARBON_BENCH_TILE` (a path), else the shared `lasR_bcts_2.laz` (0.82 M points of
//! real forest); without either the bench says so and measures nothing.
//! Run: `RAYON_NUM_THREADS=1 cargo bench --bench stages` (one core, as the ns/point budgets).

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use landcarbon::algo::canopy::{self, CanopyColumns};
use landcarbon::algo::ground;
use landcarbon::algo::metrics::Returns;
use landcarbon::algo::terrain::{self, GroundSurface};
use landcarbon::algo::{grid_metrics::grid_metrics, trees, vegetation};
use landcarbon::config::Config;
use landcarbon::points::{self, PointCloud};
use landcarbon::raster::Grid;
use std::path::PathBuf;

fn tile() -> Option<PathBuf> {
    if let Ok(p) = std::env::var("LANDCARBON_BENCH_TILE") {
        return Some(PathBuf::from(p));
    }
    landcarbon::testdata::shared("lasR_bcts_2.laz")
}

fn grid(c: &PointCloud, res_m: f64) -> Grid {
    let b = c.bounds().expect("a tile with points");
    Grid::covering(&[b[0], b[1], b[3], b[4]], res_m)
}

fn bench(c: &mut Criterion) {
    let Some(path) = tile() else {
        eprintln!("SKIP stages bench: no tile (set LANDCARBON_BENCH_TILE or provide ../shared)");
        return;
    };
    let cfg = Config::default();
    let raw = points::read(&path).expect("read the tile");
    let n = raw.len() as u64;
    let name = path
        .file_stem()
        .unwrap_or_default()
        .to_string_lossy()
        .to_string();
    let mut g = c.benchmark_group(format!("stages/{name}"));
    g.sample_size(10);
    g.throughput(Throughput::Elements(n));

    g.bench_function("1_read_laz", |b| b.iter(|| points::read(&path).unwrap()));

    let mut cloud = raw.clone();
    ground::classify_ground(&mut cloud, &cfg.ground).unwrap();
    g.bench_function("2_ground", |b| {
        b.iter_batched_ref(
            || raw.clone(),
            |c| ground::classify_ground(c, &cfg.ground).unwrap(),
            criterion::BatchSize::LargeInput,
        )
    });

    let mask = terrain::ground_mask(&cloud, &cfg.dtm.ground_classes);
    let method = cfg.dtm.method.with(cfg.dtm.tin, cfg.dtm.idw);
    g.bench_function("3_ground_surface", |b| {
        b.iter(|| GroundSurface::from_cloud(&cloud, &mask, &method).unwrap())
    });
    let surface = GroundSurface::from_cloud(&cloud, &mask, &method).unwrap();

    let dtm_grid = grid(&cloud, cfg.dtm.res_m);
    g.bench_function("4_dtm", |b| {
        b.iter(|| terrain::rasterize(&surface, dtm_grid))
    });

    let heights = |s: &GroundSurface| -> Vec<f64> {
        s.z_at_many(&cloud.x, &cloud.y)
            .into_iter()
            .zip(&cloud.z)
            .map(|(g, z)| g.map(|g| z - g).unwrap_or(f64::NAN))
            .collect()
    };
    g.bench_function("5_normalize", |b| b.iter(|| heights(&surface)));
    let hag = heights(&surface);

    g.bench_function("6_vegetation", |b| {
        b.iter_batched_ref(
            || cloud.classification.clone(),
            |cls| vegetation::classify_vegetation(cls, &hag, &cfg.vegetation).unwrap(),
            criterion::BatchSize::LargeInput,
        )
    });

    let cols = CanopyColumns::from_cloud(&cloud, &hag).unwrap();
    let chm_grid = grid(&cloud, cfg.chm.res_m);
    g.bench_function("7_chm", |b| {
        b.iter(|| canopy::rasterize(&cols.view(), &chm_grid, &cfg.chm).unwrap())
    });

    g.bench_function("8_trees", |b| {
        b.iter(|| trees::segment_trees(&cols.view(), &cfg.trees).unwrap())
    });

    let opts = cfg.metrics.options();
    let m_grid = grid(&cloud, cfg.metrics.res_m);
    g.bench_function("9_grid_metrics", |b| {
        b.iter(|| {
            let r = Returns::from_cloud(&cloud, &hag);
            grid_metrics(&cloud.x, &cloud.y, &r, &m_grid, &opts)
        })
    });

    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("points.laz");
    g.bench_function("10_write_laz", |b| {
        b.iter(|| points::write(&cloud, &out).unwrap())
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);

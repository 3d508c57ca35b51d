//! Grid metrics speed: the 68-metric set on a 20 m grid over a synthetic, height-normalized
//! scene (300 m × 300 m, 10 pulses/m², 1.15 M returns). `cargo bench --bench grid_metrics`;
//! divide the time by the printed number of returns for seconds per million points.

use criterion::{criterion_group, criterion_main, Criterion};
use landcarbon::algo::grid_metrics::grid_metrics;
use landcarbon::algo::metrics::{MetricOptions, Returns};
use landcarbon::raster::Grid;
use landcarbon::synth::{generate, SynthParams};

fn bench(c: &mut Criterion) {
    let p = SynthParams {
        size_m: [300.0, 300.0],
        pulses_per_m2: 10.0,
        trees_per_ha: 250.0,
        ..Default::default()
    };
    let (cloud, _) = generate(&p);
    let h: Vec<f64> = (0..cloud.len())
        .map(|i| cloud.z[i] - p.terrain_z(cloud.x[i], cloud.y[i]))
        .collect();
    let core = [
        p.origin[0],
        p.origin[1],
        p.origin[0] + 300.0,
        p.origin[1] + 300.0,
    ];
    let grid = Grid::covering_centres(&core, 20.0);
    let opts = MetricOptions::default();
    eprintln!("{} returns, {} cells", cloud.len(), grid.len());
    let mut g = c.benchmark_group("grid_metrics");
    g.sample_size(10);
    g.bench_function("20m_1.15M_returns", |b| {
        b.iter(|| {
            let r = Returns::from_cloud(&cloud, &h);
            grid_metrics(&cloud.x, &cloud.y, &r, &grid, &opts)
        })
    });
    // One thread, for a per-core figure.
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .unwrap();
    g.bench_function("20m_1.15M_returns_1_thread", |b| {
        b.iter(|| {
            pool.install(|| {
                let r = Returns::from_cloud(&cloud, &h);
                grid_metrics(&cloud.x, &cloud.y, &r, &grid, &opts)
            })
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);

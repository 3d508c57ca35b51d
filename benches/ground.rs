//! Criterion benches of the ground filters on a synthetic forest (landcarbon::synth: 200 m ×
//! 200 m, 10 pulses/m², 150 trees/ha, last and single returns only, ~400 k points): the filter
//! alone, points in memory → ground flags, as `scripts/bench-ground.sh` measures on real tiles.
//!
//! Run: `cargo bench --bench ground` (add `-- csf` to run one).

use criterion::{criterion_group, criterion_main, Criterion};
use landcarbon::algo::ground::{noise, Auto, Csf, Smrf};
use landcarbon::synth::{generate, SynthParams};

fn points() -> (Vec<f64>, Vec<f64>, Vec<f64>) {
    let (c, _) = generate(&SynthParams {
        size_m: [200.0, 200.0],
        ..SynthParams::default()
    });
    let idx: Vec<usize> = (0..c.len()).filter(|&i| c.is_last_return(i)).collect();
    (
        idx.iter().map(|&i| c.x[i]).collect(),
        idx.iter().map(|&i| c.y[i]).collect(),
        idx.iter().map(|&i| c.z[i]).collect(),
    )
}

fn bench(c: &mut Criterion) {
    let (x, y, z) = points();
    let mut g = c.benchmark_group(format!("ground_{}k_points", x.len() / 1000));
    g.sample_size(10);
    g.bench_function("csf", |b| {
        b.iter(|| Csf::default().classify(&x, &y, &z).unwrap())
    });
    g.bench_function("smrf", |b| {
        b.iter(|| Smrf::default().classify(&x, &y, &z).unwrap())
    });
    g.bench_function("auto", |b| {
        b.iter(|| Auto::default().classify(&x, &y, &z).unwrap())
    });
    g.bench_function("noise_ivf", |b| {
        b.iter(|| noise::ivf(&x, &y, &z, &noise::Ivf::default()))
    });
    g.bench_function("noise_sor", |b| {
        b.iter(|| noise::sor(&x, &y, &z, &noise::Sor::default()))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);

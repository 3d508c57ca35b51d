//! Terrain throughput: TIN build (dedupe + sweep-hull Delaunay), DTM rasterization at 1 m (TIN and
//! kNN-IDW), and height normalization of every point, on a synthetic forest scene (always
//! available) and on the real forest tile `lasR_bcts_2.laz` when the shared data is present.
//! Single-threaded numbers: run with `RAYON_NUM_THREADS=1`.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use landcarbon::algo::terrain::{
    self, DtmMethod, GroundReference, GroundSurface, HagOutput, Idw, TinSurface,
};
use landcarbon::points::{self, PointCloud};
use landcarbon::raster::Grid;
use landcarbon::synth::{generate, SynthParams};

fn scenes() -> Vec<(String, PointCloud)> {
    let p = SynthParams {
        size_m: [300.0, 300.0],
        pulses_per_m2: 10.0,
        ..SynthParams::default()
    };
    let mut v = vec![("synthetic_300m".to_string(), generate(&p).0)];
    match landcarbon::testdata::shared("lasR_bcts_2.laz") {
        Some(path) => v.push(("bcts_2".to_string(), points::read(&path).unwrap())),
        None => eprintln!("SKIP bcts_2 benches: shared data not found"),
    }
    v
}

fn grid_of(c: &PointCloud) -> Grid {
    let b = c.bounds().unwrap();
    Grid::covering(&[b[0], b[1], b[3], b[4]], 1.0)
}

fn bench_terrain(c: &mut Criterion) {
    for (name, cloud) in scenes() {
        let mask = terrain::ground_mask(&cloud, &[2]);
        let gi: Vec<usize> = (0..cloud.len()).filter(|&i| mask[i]).collect();
        let g = cloud.select(&gi);
        let grid = grid_of(&cloud);
        let mut grp = c.benchmark_group(format!("terrain/{name}"));
        grp.sample_size(10);

        grp.throughput(Throughput::Elements(g.len() as u64));
        grp.bench_function("tin_build", |b| {
            b.iter(|| TinSurface::new(&g.x, &g.y, &g.z, &terrain::Tin::default()).unwrap())
        });

        grp.throughput(Throughput::Elements(grid.len() as u64));
        let tin = GroundSurface::from_cloud(&cloud, &mask, &DtmMethod::default()).unwrap();
        grp.bench_function("rasterize_tin_1m", |b| {
            b.iter(|| terrain::rasterize(&tin, grid))
        });
        let idw =
            GroundSurface::from_cloud(&cloud, &mask, &DtmMethod::Idw(Idw::default())).unwrap();
        grp.bench_function("rasterize_idw_1m", |b| {
            b.iter(|| terrain::rasterize(&idw, grid))
        });

        grp.throughput(Throughput::Elements(cloud.len() as u64));
        grp.bench_function("dtm_tin_1m_build_and_rasterize", |b| {
            b.iter(|| terrain::dtm(&cloud, &mask, grid, &DtmMethod::default()).unwrap())
        });
        grp.bench_function("normalize_tin_all_points", |b| {
            b.iter(|| {
                let mut c2 = cloud.clone();
                let s = GroundSurface::from_cloud(&c2, &mask, &DtmMethod::default()).unwrap();
                terrain::normalize(&mut c2, &GroundReference::Surface(&s), HagOutput::Z, false)
                    .unwrap()
            })
        });
        grp.finish();
    }
}

criterion_group!(benches, bench_terrain);
criterion_main!(benches);

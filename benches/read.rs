//! Read throughput into columns: the whole read of bundled LAZ files, and the column decoding
//! of already decompressed records alone (the part landcarbon adds on top of laz-rs).

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use landcarbon::points::{self, read::decode_all, PointCloud};

fn bench_read(c: &mut Criterion) {
    let mut g = c.benchmark_group("read");
    for rel in [
        "ignf-lidar-for-fuel_test_data_0000_0000_LA93_IGN69.laz",
        "isprs/samp12-utm.laz",
    ] {
        let path = landcarbon::testdata::bundled(rel);
        let n = points::read(&path).unwrap().len() as u64;
        g.throughput(Throughput::Elements(n));
        g.bench_function(format!("laz_to_columns/{rel}"), |b| {
            b.iter(|| points::read(&path).unwrap())
        });
    }
    g.finish();
}

fn bench_decode(c: &mut Criterion) {
    let path =
        landcarbon::testdata::bundled("ignf-lidar-for-fuel_test_data_0000_0000_LA93_IGN69.laz");
    let mut reader = las::Reader::from_path(&path).unwrap();
    let slab = reader.read_all().unwrap();
    let template = points::read(&path).unwrap();
    let mut g = c.benchmark_group("decode");
    g.throughput(Throughput::Elements(slab.len() as u64));
    g.bench_function("records_to_columns/pf8", |b| {
        b.iter(|| {
            let mut cloud = PointCloud::empty(template.meta.clone());
            decode_all(&mut cloud, slab.raw_bytes());
            cloud
        })
    });
    g.finish();
}

criterion_group!(benches, bench_read, bench_decode);
criterion_main!(benches);

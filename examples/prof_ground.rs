//! Times ground classification (noise flagging and the default `auto` filter, as the `ground`
//! command and the pipeline's ground stage run it) of one tile (or several merged tiles) and
//! prints a checksum of the classes, to compare two builds for speed and bit-identity.
//! Usage: REPS=5 RAYON_NUM_THREADS=1 cargo run --release --example prof_ground -- TILE.laz [...]
//! Instructions: REPS=1 RAYON_NUM_THREADS=1 valgrind --tool=callgrind
//!   --toggle-collect='*classify_ground*' target/release/examples/prof_ground TILE.laz
mod common;
use common::sum_bits;
use landcarbon::algo::ground::{classify_ground, GroundConfig};
use std::time::Instant;

fn main() {
    let cloud = common::tiles();
    let reps: usize = std::env::var("REPS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(3);
    let cfg = GroundConfig::default();
    let (mut times, mut filter_s) = (Vec::new(), Vec::new());
    let mut sum = 0;
    let mut n_ground = 0;
    for _ in 0..reps {
        let mut c = cloud.clone();
        let t = Instant::now();
        // Inside the thread pool, as the pipeline's chunks run: with one thread every step then
        // runs on that one thread, so that `valgrind --tool=callgrind
        // --toggle-collect='*classify_ground*'` counts all of it (called from the main thread,
        // the filter's parallel parts ran on the pool's thread, outside the toggle).
        let report = rayon::scope(|_| classify_ground(&mut c, &cfg)).unwrap();
        times.push(t.elapsed().as_secs_f64());
        filter_s.push(report.filter_s);
        n_ground = report.n_ground;
        sum = sum_bits(c.classification.iter().map(|&v| v as u64));
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let (t, f) = (median(&mut times), median(&mut filter_s));
    println!(
        "{} points, {n_ground} ground: classify_ground {t:.3} s ({:.0} ns/point), filter {f:.3} s \
         (medians of {reps}); classes {sum:016x}",
        cloud.len(),
        1e9 * t / cloud.len() as f64
    );
}

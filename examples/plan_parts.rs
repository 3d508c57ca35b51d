//! How a catalog is cut into chunks with a given `max_points`: the number of chunks, the points
//! read (core and buffer) per core point, and the largest chunk's points. Reads every chunk.
//!
//! `cargo run --release --example plan_parts -- MAX_POINTS FILES...`
//! (e.g. `1500000 target/bench-scaling/one_8.laz`, written by `scripts/bench-scaling.sh`).

fn main() {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let max: u64 = args.remove(0).parse().unwrap();
    let cat = landcarbon::catalog::Catalog::open(&args).unwrap();
    let opts = landcarbon::catalog::ChunkOptions {
        max_points: max,
        ..Default::default()
    };
    let plan = cat.plan(&opts).unwrap();
    let (mut core_t, mut all_t, mut mx) = (0usize, 0usize, 0usize);
    for c in &plan {
        let all = landcarbon::catalog::read_chunk(&cat, c).unwrap();
        let core = all.is_buffer.iter().filter(|b| !**b).count();
        core_t += core;
        all_t += all.len();
        mx = mx.max(all.len());
    }
    println!(
        "parts {} all/core {:.3} max part {}",
        plan.len(),
        all_t as f64 / core_t as f64,
        mx
    );
}

//! Figures of a COPC file for scripts/copc-roundtrip.sh: nodes, levels, and landcarbon's own
//! read of a 30 m strip (octree nodes meeting the strip) against a full decode, medians of 5.
//!   cargo run --release --example copc_query -- FILE.copc.laz

use landcarbon::points::{self, copc};
use std::time::Instant;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let path = std::path::PathBuf::from(
        std::env::args()
            .nth(1)
            .expect("usage: copc_query FILE.copc.laz"),
    );
    let (_, meta) = points::open(&path).expect("open");
    let idx = copc::read::index(&path, &meta.header).expect("COPC index");
    let levels = idx.nodes.iter().map(|e| e.key.level).max().unwrap_or(0);
    let root = idx
        .nodes
        .iter()
        .find(|e| e.key == copc::VoxelKey::ROOT)
        .map_or(0, |e| e.point_count);
    let b = meta.header.bounds();
    let strip = [b.min.x, b.min.y, b.min.x + 30.0, b.max.y];
    let (mut t_full, mut t_strip) = (Vec::new(), Vec::new());
    let (mut n_full, mut n_strip, mut decoded) = (0, 0, 0);
    for _ in 0..5 {
        let t = Instant::now();
        n_full = points::read(&path).expect("read").len();
        t_full.push(t.elapsed().as_secs_f64());
        let t = Instant::now();
        let mut c = points::PointCloud::empty(meta.clone());
        decoded = copc::read::read_box_into(&path, &mut c, strip, &mut |_, _| Some(true))
            .expect("box read");
        n_strip = c.len();
        t_strip.push(t.elapsed().as_secs_f64());
    }
    println!(
        "landcarbon: {n_full} points in {} nodes, levels 0-{levels}, root {root} points; full decode {:.3} s; west 30 m strip: {n_strip} points from {} nodes ({decoded} points decoded) in {:.3} s",
        idx.nodes.len(),
        median(t_full),
        copc::read::nodes_in(&idx, strip).len(),
        median(t_strip)
    );
}

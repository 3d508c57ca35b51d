//! The points a chunk read, comparable across ways of reading it.

use landcarbon::points::PointCloud;

/// One point of a chunk: (is_buffer, x, y, z in cm, intensity).
pub type ChunkPoint = (bool, i64, i64, i64, u16);

/// Every point of a chunk, sorted (the order of reading is not compared).
pub fn chunk_points(pts: &PointCloud) -> Vec<ChunkPoint> {
    let cm = |v: f64| (v * 100.0).round() as i64;
    let mut v: Vec<ChunkPoint> = (0..pts.len())
        .map(|i| {
            (
                pts.is_buffer[i],
                cm(pts.x[i]),
                cm(pts.y[i]),
                cm(pts.z[i]),
                pts.intensity[i],
            )
        })
        .collect();
    v.sort_unstable();
    v
}

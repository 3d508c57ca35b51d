//! What the profiling examples share: the tiles given on the command line, merged and
//! ground-classified, and a checksum of a product's bits (to compare two builds for identity).
use landcarbon::algo::ground::{classify_ground, GroundConfig};
use landcarbon::points::{self, PointCloud};
use std::hash::{Hash, Hasher};

/// A hash of the values' bits, in order.
pub fn sum_bits(v: impl Iterator<Item = u64>) -> u64 {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    v.for_each(|b| b.hash(&mut h));
    h.finish()
}

/// The tiles named on the command line merged into one cloud, ground classified with the
/// defaults.
#[allow(dead_code)] // not every example classifies
pub fn classified_tiles() -> PointCloud {
    let mut cloud = tiles();
    classify_ground(&mut cloud, &GroundConfig::default()).unwrap();
    cloud
}

/// The tiles named on the command line merged into one cloud, as read.
pub fn tiles() -> PointCloud {
    let paths: Vec<String> = std::env::args().skip(1).collect();
    assert!(!paths.is_empty(), "usage: TILE.laz [...]");
    let mut cloud = points::read(std::path::Path::new(&paths[0])).unwrap();
    for p in &paths[1..] {
        cloud
            .append(&points::read(std::path::Path::new(p)).unwrap())
            .unwrap();
    }
    cloud
}

/// Height of every point above `surface` (NaN where the surface is undefined), as the
/// pipeline's normalize stage computes it.
#[allow(dead_code)] // not every example normalizes
pub fn heights(surface: &landcarbon::algo::terrain::GroundSurface, cloud: &PointCloud) -> Vec<f64> {
    surface
        .z_at_many(&cloud.x, &cloud.y)
        .into_iter()
        .zip(&cloud.z)
        .map(|(g, z)| g.map(|g| z - g).unwrap_or(f64::NAN))
        .collect()
}

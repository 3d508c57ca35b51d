//! Times the tree chain's steps on one or more tiles (merged) on one thread and prints a
//! checksum of the CHM and of the tree table, to compare two builds for speed and identity:
//! ground, heights, then pit-free CHM (+ median), tops, saddle merge, crowns, metrics.
//! Usage: cargo run --release --example prof_trees -- TILE.laz [...]  (REPS=3 by default)
mod common;
use common::sum_bits;
use landcarbon::algo::canopy::{self, CanopyColumns};
use landcarbon::algo::terrain::{self, DtmMethod, GroundSurface};
use landcarbon::algo::trees::{self, TreesParams};
use landcarbon::raster::Grid;
use std::time::Instant;

fn main() {
    let cloud = common::classified_tiles();
    let mask = terrain::ground_mask(&cloud, &[2]);
    let s = GroundSurface::from_cloud(&cloud, &mask, &DtmMethod::default()).unwrap();
    let hag = common::heights(&s, &cloud);
    let cols = CanopyColumns::from_cloud(&cloud, &hag).unwrap();
    let reps: usize = std::env::var("REPS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(3);
    let p = TreesParams::default();
    let r = cols.view().rect().unwrap();
    let grid = Grid::covering(&r, p.chm.res_m);
    let (mut t_chm, mut t_trees) = (0.0, 0.0);
    let (mut chm_sum, mut tree_sum, mut ntrees) = (0, 0, 0);
    for _ in 0..reps {
        let t = Instant::now();
        let chm = canopy::rasterize(&cols.view(), &grid, &p.chm).unwrap();
        t_chm += t.elapsed().as_secs_f64();
        chm_sum = sum_bits(chm.data.iter().map(|v| v.to_bits() as u64));
        let t = Instant::now();
        let seg = trees::segment_trees(&cols.view(), &p).unwrap();
        t_trees += t.elapsed().as_secs_f64();
        ntrees = seg.trees.len();
        tree_sum = sum_bits(
            seg.trees
                .iter()
                .flat_map(|t| {
                    let mut v = vec![
                        t.id,
                        t.x.to_bits(),
                        t.y.to_bits(),
                        t.height_m.to_bits(),
                        t.crown_area_m2.to_bits(),
                        t.crown_diameter_m.to_bits(),
                        t.n_points as u64,
                    ];
                    v.extend(
                        t.crown
                            .iter()
                            .flat_map(|c| [c[0].to_bits(), c[1].to_bits()]),
                    );
                    v
                })
                .chain(seg.point_label.iter().map(|&l| l as u64))
                .chain(seg.labels.data.iter().map(|&l| l as u64)),
        );
    }
    let k = reps as f64;
    println!(
        "points {} | pit-free CHM + median {:.3} s (sum {:016x}) | segment_trees {:.3} s ({} trees, sum {:016x})",
        cols.x.len(),
        t_chm / k,
        chm_sum,
        t_trees / k,
        ntrees,
        tree_sum
    );
}

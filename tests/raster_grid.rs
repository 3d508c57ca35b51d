//! One grid for every raster product: `dtm`, `chm`, `metrics --grid` and `run` write rasters
//! whose origin and extent are the cells of their resolution touching the data's bounding box
//! (`Grid::product`), whatever `--chunk-size` and `--buffer`; and a chunked DTM's cells equal
//! the one-chunk DTM's except where the README says they may not.

use landcarbon::points;
use landcarbon::raster::{read_geotiff, Grid, Raster};
use std::path::Path;

#[path = "common/cli.rs"]
mod cli;
use cli::{ok_quiet as landcarbon, s};

fn header_extent(tile: &Path) -> [f64; 4] {
    let b = points::read(tile).unwrap().bounds().unwrap();
    [b[0], b[1], b[3], b[4]]
}

/// The chunkings every product is made with.
const CHUNKINGS: &[&[&str]] = &[
    &[],
    &["--chunk-size", "20", "--buffer", "16"],
    &["--chunk-size", "37", "--buffer", "30"],
];

#[test]
fn every_raster_product_has_one_grid_whatever_the_command_and_chunking() {
    let tile =
        landcarbon::testdata::bundled("ignf-lidar-for-fuel_test_data_0000_0000_LA93_IGN69.laz");
    let ext = header_extent(&tile);
    let d = tempfile::tempdir().unwrap();
    let o = |n: &str| s(&d.path().join(n));
    let t = s(&tile);
    for (k, chunking) in CHUNKINGS.iter().enumerate() {
        let products: [(&str, f64, Vec<&str>); 3] = [
            ("dtm", 1.0, vec!["dtm", &t, "--res", "1"]),
            ("chm", 0.5, vec!["chm", &t, "--res", "0.5"]),
            ("metrics", 3.0, vec!["metrics", &t, "--grid", "3"]),
        ];
        for (name, res, mut args) in products {
            let out = o(&format!("{name}{k}.tif"));
            args.extend_from_slice(chunking);
            args.extend_from_slice(&["-o", &out]);
            landcarbon(&args);
            let g = read_geotiff(Path::new(&out), 1).unwrap().grid;
            assert_eq!(
                g,
                Grid::product(&ext, res),
                "{name} with {chunking:?}: grid not the product grid of the data's extent"
            );
            assert_eq!(
                (g.x_min / res).fract(),
                0.0,
                "{name}: origin off the {res} m lattice"
            );
            assert_eq!(
                (g.y_max / res).fract(),
                0.0,
                "{name}: origin off the {res} m lattice"
            );
        }
    }
    // `run` writes its mosaics on the same grids as the single-stage commands.
    let cfg = d.path().join("pipeline.toml");
    std::fs::write(
        &cfg,
        format!(
            "[run]\noutput = {:?}\n[[run.surveys]]\nyear = 2020\ninputs = [{:?}]\n\
             [run.stages]\nground = false\nvegetation = false\ntrees = false\n\
             [dtm]\nres_m = 1.0\n[chm]\nres_m = 0.5\n[metrics]\nres_m = 3.0\n",
            o("run"),
            t
        ),
    )
    .unwrap();
    landcarbon(&["run", &s(&cfg)]);
    for (name, single) in [
        ("dtm", "dtm0.tif"),
        ("chm", "chm0.tif"),
        ("metrics", "metrics0.tif"),
    ] {
        let a = read_geotiff(&d.path().join("run/2020").join(format!("{name}.tif")), 1).unwrap();
        let b = read_geotiff(&d.path().join(single), 1).unwrap();
        assert_eq!(
            a.grid, b.grid,
            "run's {name} grid differs from `landcarbon {name}`'s"
        );
    }
}

/// Differences between `a` and `b` (same grid): (cells differing within `edge_m` of the
/// data's bounding box, differing further in, of those further in the ones with ground all
/// around, and the largest difference), and the number of cells further in with ground all
/// around.
fn differences(
    a: &Raster<f64>,
    b: &Raster<f64>,
    ext: &[f64; 4],
    edge_m: f64,
    ground_around: &dyn Fn(f64, f64) -> bool,
) -> ((usize, usize, usize, f64), usize) {
    let (mut at_edge, mut inside, mut dense, mut worst) = (0, 0, 0, 0.0f64);
    let mut n_dense = 0;
    for (((r, c), x), y) in a.data.indexed_iter().zip(b.data.iter()) {
        let (cx, cy) = a.grid.centre(r, c);
        let d = (cx - ext[0])
            .min(ext[2] - cx)
            .min(cy - ext[1])
            .min(ext[3] - cy);
        let is_dense = d >= edge_m && ground_around(cx, cy);
        n_dense += is_dense as usize;
        if x == y {
            continue;
        }
        if d < edge_m {
            at_edge += 1;
        } else {
            inside += 1;
            dense += is_dense as usize;
        }
        worst = worst.max((x - y).abs());
    }
    ((at_edge, inside, dense, worst), n_dense)
}

/// A real hilly tile with a lake: the DTM by 50 m chunks (10 m and 30 m buffers) against the
/// one-chunk DTM. Same grid always. Cells are equal wherever the TIN triangle holding a cell
/// fits in the buffer: every cell more than a buffer width inside the data's edge with a
/// ground point within half the buffer in each of 8 directions. The others may differ:
/// along the data's outer edge (the convex hull's long sliver triangles) and across ground
/// gaps wider than the buffer (the lake, sparse ground under dense canopy), as the README says.
/// The figures are printed.
#[test]
fn chunked_dtm_cells_equal_the_one_chunk_dtm_away_from_the_data_edge() {
    let Some(tile) = landcarbon::testdata::shared_or_skip(
        "lidR_Topography.laz",
        "chunked_dtm_cells_equal_the_one_chunk_dtm_away_from_the_data_edge",
    ) else {
        return;
    };
    let ext = header_extent(&tile);
    let cloud = points::read(&tile).unwrap();
    let gi: Vec<usize> = (0..cloud.len())
        .filter(|&i| cloud.classification[i] == 2)
        .collect();
    let ground = cloud.select(&gi);
    let index = points::KdIndex2::new(&ground.x, &ground.y);
    let d = tempfile::tempdir().unwrap();
    let t = s(&tile);
    let one = s(&d.path().join("one.tif"));
    landcarbon(&["dtm", &t, "-o", &one, "--buffer", "30"]);
    let one = read_geotiff(Path::new(&one), 1).unwrap();
    assert_eq!(one.grid, Grid::product(&ext, 1.0));
    for buffer in ["10", "30"] {
        let out = s(&d.path().join(format!("c50_b{buffer}.tif")));
        landcarbon(&[
            "dtm",
            &t,
            "-o",
            &out,
            "--chunk-size",
            "50",
            "--buffer",
            buffer,
        ]);
        let r = read_geotiff(Path::new(&out), 1).unwrap();
        assert_eq!(
            r.grid, one.grid,
            "--chunk-size 50 --buffer {buffer} changed the grid"
        );
        let b: f64 = buffer.parse().unwrap();
        let ground_around = |x: f64, y: f64| {
            let mut sectors = [false; 8];
            for (i, _) in index.within(x, y, b / 2.0) {
                let a = (ground.y[i] - y).atan2(ground.x[i] - x);
                let k = ((a + std::f64::consts::PI) / (std::f64::consts::PI / 4.0)) as usize;
                sectors[k.min(7)] = true;
            }
            sectors.iter().all(|s| *s)
        };
        let ((at_edge, inside, dense, worst), n_dense) =
            differences(&r, &one, &ext, b, &ground_around);
        eprintln!(
            "lidR_Topography, 50 m chunks, buffer {buffer} m: {} of {} cells differ from one chunk ({at_edge} within {buffer} m of the data's edge, {inside} further in, {dense} of them among the {n_dense} with ground all around), max {worst:.3} m",
            at_edge + inside,
            one.data.len()
        );
        assert!(
            n_dense > 2_000,
            "only {n_dense} cells with ground all around"
        );
        assert_eq!(dense, 0, "{dense} cells with ground all around differ");
        // Measured (README): 1 143 cells with a 30 m buffer, 5 660 with 10 m.
        let bound = if b >= 30.0 { 1_300 } else { 6_000 };
        assert!(
            at_edge + inside <= bound,
            "{} cells differ",
            at_edge + inside
        );
    }
}

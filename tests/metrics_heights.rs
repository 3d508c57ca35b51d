//! `landcarbon metrics` takes heights above ground where `chm` and `trees` do: on an
//! un-normalized tile (absolute Z, ground classified) it normalizes on the fly, so its metrics
//! equal those of the tile normalized first by `landcarbon normalize` (to the centimetre Z is
//! stored at), in grid and plot mode; `--height z` still reads Z as it is.

use landcarbon::algo::metrics::metric_index;
use landcarbon::raster::read_geotiff;
use std::path::Path;

#[path = "common/cli.rs"]
mod cli;
use cli::ok_quiet as landcarbon;

/// Rows of a CSV as (header, rows of cells).
fn csv(p: &Path) -> (Vec<String>, Vec<Vec<String>>) {
    let text = std::fs::read_to_string(p).unwrap();
    let mut lines = text.lines();
    let head = lines.next().unwrap().split(',').map(String::from).collect();
    let rows = lines
        .map(|l| l.split(',').map(String::from).collect())
        .collect();
    (head, rows)
}

#[test]
fn metrics_on_an_unnormalized_tile_equal_metrics_on_the_normalized_tile() {
    let tile =
        landcarbon::testdata::bundled("ignf-lidar-for-fuel_test_data_0000_0000_LA93_IGN69.laz");
    let t = tile.to_string_lossy().to_string();
    let d = tempfile::tempdir().unwrap();
    let p = |n: &str| d.path().join(n).to_string_lossy().to_string();
    landcarbon(&["normalize", &t, "-o", &p("norm")]);
    let norm = p("norm/ignf-lidar-for-fuel_test_data_0000_0000_LA93_IGN69.laz");
    assert!(Path::new(&norm).exists());

    // Grid mode.
    landcarbon(&["metrics", &t, "--grid", "10", "-o", &p("raw.tif")]);
    landcarbon(&["metrics", &norm, "--grid", "10", "-o", &p("norm.tif")]);
    landcarbon(&[
        "metrics",
        &t,
        "--grid",
        "10",
        "--height",
        "z",
        "-o",
        &p("z.tif"),
    ]);
    let band = |f: &str, name: &str| {
        read_geotiff(Path::new(&p(f)), metric_index(name).unwrap() + 1).unwrap()
    };
    for name in ["zmax", "zmean", "zq95", "cover", "d3"] {
        let (a, b) = (band("raw.tif", name), band("norm.tif", name));
        assert_eq!(a.grid, b.grid);
        let mut n = 0;
        for (x, y) in a.data.iter().zip(b.data.iter()) {
            assert_eq!(*x == a.nodata, *y == b.nodata, "{name}: nodata differs");
            if *x != a.nodata {
                n += 1;
                // Normalized Z is stored at 1 cm.
                assert!(
                    (x - y).abs() <= 0.011 * y.abs().max(1.0),
                    "{name}: {x} vs {y}"
                );
            }
        }
        assert!(n >= 25, "{name}: {n} cells");
    }
    // Heights, not elevations (the tile's ground is ~20 m above the datum); `--height z`
    // reads the absolute Z as asked.
    let zmax = |f: &str| {
        let r = band(f, "zmax");
        r.data
            .iter()
            .filter(|v| **v != r.nodata)
            .cloned()
            .fold(f64::MIN, f64::max)
    };
    assert!(zmax("raw.tif") < 30.0, "zmax {}", zmax("raw.tif"));
    assert!(zmax("z.tif") > zmax("raw.tif") + 15.0);

    // Plot mode: two plots inside the tile.
    let plots = d.path().join("plots.csv");
    std::fs::write(
        &plots,
        "plot_id,x,y,radius_m\na,770515,6277515,10\nb,770535,6277532,12\n",
    )
    .unwrap();
    let pl = plots.to_string_lossy().to_string();
    landcarbon(&["metrics", &t, "--plots", &pl, "-o", &p("raw.csv")]);
    landcarbon(&["metrics", &norm, "--plots", &pl, "-o", &p("norm.csv")]);
    let (ha, ra) = csv(Path::new(&p("raw.csv")));
    let (hb, rb) = csv(Path::new(&p("norm.csv")));
    assert_eq!(ha, hb);
    assert_eq!(ra.len(), 2);
    for name in ["n", "zmax", "zmean", "zq50", "pzabove2"] {
        let k = ha.iter().position(|h| h == name).unwrap();
        for (a, b) in ra.iter().zip(&rb) {
            let (x, y): (f64, f64) = (a[k].parse().unwrap(), b[k].parse().unwrap());
            assert!(
                (x - y).abs() <= 0.011 * y.abs().max(1.0),
                "plot {}: {name} {x} vs {y}",
                a[0]
            );
        }
    }
    let k = ha.iter().position(|h| h == "zmax").unwrap();
    assert!(ra.iter().all(|r| r[k].parse::<f64>().unwrap() < 30.0));
}

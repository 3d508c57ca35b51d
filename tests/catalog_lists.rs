//! Catalog inputs from a PDAL-style input list (text, one path a line, relative to the list)
//! and from a virtual point cloud (`.vpc`, STAC FeatureCollection as PDAL wrench `build_vpc`
//! writes it): every command that takes inputs accepts them, and gives what the same tiles
//! given as a folder give; a missing file is an error naming the list (or VPC) and the line
//! (or feature); a VPC's `pc:count` is a hint checked against the header.

use landcarbon::points;
use landcarbon::raster::read_geotiff;
use std::path::{Path, PathBuf};

#[path = "common/cli.rs"]
mod cli;
use cli::{landcarbon, ok, s};

/// The bundled IGN tile cut into a west and an east half under `dir/tiles`; returns the two
/// files and their point counts.
fn two_tiles(dir: &Path) -> Vec<(PathBuf, usize)> {
    let c = points::read(&landcarbon::testdata::bundled(
        "ignf-lidar-for-fuel_test_data_0000_0000_LA93_IGN69.laz",
    ))
    .unwrap();
    let tiles = dir.join("tiles");
    std::fs::create_dir_all(&tiles).unwrap();
    [("west.laz", true), ("east.laz", false)]
        .into_iter()
        .map(|(name, west)| {
            let idx: Vec<usize> = (0..c.len())
                .filter(|&i| (c.x[i] < 770_525.0) == west)
                .collect();
            let p = tiles.join(name);
            points::write(&c.select(&idx), &p).unwrap();
            (p, idx.len())
        })
        .collect()
}

/// A VPC item as `pdal_wrench build_vpc` writes it (fields it reads: type, stac_version,
/// assets.data.href, properties pc:count, proj:bbox, proj:wkt2).
fn vpc_item(href: &str, count: usize, bounds: &[f64; 6]) -> String {
    format!(
        r#"{{
      "type": "Feature",
      "stac_version": "1.0.0",
      "stac_extensions": ["https://stac-extensions.github.io/pointcloud/v1.0.0/schema.json",
                          "https://stac-extensions.github.io/projection/v1.1.0/schema.json"],
      "id": "{id}",
      "geometry": null,
      "bbox": [{b0}, {b1}, {b2}, {b3}, {b4}, {b5}],
      "properties": {{
        "datetime": "2021-01-01T00:00:00Z",
        "pc:count": {count},
        "pc:type": "lidar",
        "pc:encoding": "?",
        "pc:schemas": [],
        "proj:epsg": 2154,
        "proj:wkt2": "",
        "proj:bbox": [{b0}, {b1}, {b2}, {b3}, {b4}, {b5}]
      }},
      "links": [],
      "assets": {{"data": {{"href": "{href}", "roles": ["data"]}}}}
    }}"#,
        id = href.trim_start_matches("./").trim_end_matches(".laz"),
        b0 = bounds[0],
        b1 = bounds[1],
        b2 = bounds[2],
        b3 = bounds[3],
        b4 = bounds[4],
        b5 = bounds[5],
    )
}

fn write_vpc(path: &Path, items: &[String]) {
    std::fs::write(
        path,
        format!(
            "{{\"type\": \"FeatureCollection\", \"features\": [\n{}\n]}}\n",
            items.join(",\n")
        ),
    )
    .unwrap();
}

#[test]
fn input_lists_and_vpcs_are_catalogs_for_every_command() {
    let d = tempfile::tempdir().unwrap();
    let tiles = two_tiles(d.path());
    let folder = s(&d.path().join("tiles"));
    // The list in another folder, with relative paths, a comment and blank lines.
    std::fs::create_dir(d.path().join("lists")).unwrap();
    let list = d.path().join("lists/tiles.txt");
    std::fs::write(
        &list,
        "# the survey's two tiles\n\n../tiles/west.laz\n  ../tiles/east.laz  \n\n",
    )
    .unwrap();
    let vpc = d.path().join("tiles/survey.vpc");
    let items: Vec<String> = tiles
        .iter()
        .map(|(p, n)| {
            let b = points::read(p).unwrap().bounds().unwrap();
            vpc_item(
                &format!("./{}", p.file_name().unwrap().to_string_lossy()),
                *n,
                &b,
            )
        })
        .collect();
    write_vpc(&vpc, &items);
    let n_total: usize = tiles.iter().map(|(_, n)| n).sum();

    for input in [s(&list), s(&vpc)] {
        let ext = Path::new(&input)
            .extension()
            .unwrap()
            .to_string_lossy()
            .to_string();
        let o = |n: &str| s(&d.path().join(format!("{ext}_{n}")));
        // info: both tiles.
        let out = ok(&["info", &input, "--json"]);
        let j: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let files = j["files"].as_array().unwrap();
        assert_eq!(files.len(), 2, "{input}");
        let n: u64 = files.iter().map(|f| f["n_points"].as_u64().unwrap()).sum();
        assert_eq!(n as usize, n_total);
        // Rasters equal those of the folder.
        for (cmd, extra) in [
            ("dtm", vec![]),
            ("chm", vec![]),
            ("metrics", vec!["--grid", "10"]),
        ] {
            let a = o(&format!("{cmd}.tif"));
            let b = s(&d.path().join(format!("{cmd}_folder.tif")));
            let mut args = vec!["-q", cmd, input.as_str(), "-o", a.as_str()];
            args.extend(&extra);
            ok(&args);
            let mut args = vec!["-q", cmd, folder.as_str(), "-o", b.as_str()];
            args.extend(&extra);
            ok(&args);
            let (ra, rb) = (
                read_geotiff(Path::new(&a), 1).unwrap(),
                read_geotiff(Path::new(&b), 1).unwrap(),
            );
            assert_eq!(ra.grid, rb.grid, "{cmd} {input}");
            assert_eq!(ra.data, rb.data, "{cmd} {input}");
        }
        // Point and table outputs.
        ok(&["-q", "ground", &input, "-o", &o("ground")]);
        ok(&["-q", "normalize", &input, "-o", &o("norm")]);
        ok(&["-q", "classify-veg", &input, "-o", &o("veg")]);
        ok(&["-q", "tile", &input, "--size", "30", "-o", &o("tiled")]);
        for dir in ["ground", "norm", "veg"] {
            let n: usize = std::fs::read_dir(o(dir))
                .unwrap()
                .map(|e| points::read(&e.unwrap().path()).unwrap().len())
                .sum();
            assert_eq!(n, n_total, "{dir} from {input}");
        }
        ok(&["-q", "trees", &input, "-o", &o("trees.csv")]);
        assert!(
            std::fs::read_to_string(o("trees.csv"))
                .unwrap()
                .lines()
                .count()
                > 10
        );
        let plots = d.path().join("plots.csv");
        std::fs::write(&plots, "plot_id,x,y,radius_m\na,770524,6277520,10\n").unwrap();
        ok(&[
            "-q",
            "metrics",
            &input,
            "--plots",
            &s(&plots),
            "-o",
            &o("plots.csv"),
        ]);
        let t = std::fs::read_to_string(o("plots.csv")).unwrap();
        let head: Vec<&str> = t.lines().next().unwrap().split(',').collect();
        let row: Vec<&str> = t.lines().nth(1).unwrap().split(',').collect();
        let k = head.iter().position(|h| *h == "n").unwrap();
        assert!(
            row[k].parse::<f64>().unwrap() > 100.0,
            "plot across both tiles: {t}"
        );
    }
    // `run` takes them as a survey's inputs.
    let cfg = d.path().join("pipeline.toml");
    std::fs::write(
        &cfg,
        format!(
            "[run]\noutput = {:?}\n[[run.surveys]]\nyear = 2020\ninputs = [{:?}]\n[run.stages]\ntrees = false\n",
            s(&d.path().join("run")),
            s(&vpc)
        ),
    )
    .unwrap();
    ok(&["-q", "run", &s(&cfg)]);
    let run_dtm = read_geotiff(&d.path().join("run/2020/dtm.tif"), 1).unwrap();
    assert_eq!(
        run_dtm.grid,
        read_geotiff(&d.path().join("dtm_folder.tif"), 1)
            .unwrap()
            .grid
    );
}

#[test]
fn a_missing_file_names_the_list_and_line_and_a_wrong_hint_is_a_warning() {
    let d = tempfile::tempdir().unwrap();
    let tiles = two_tiles(d.path());
    let list = d.path().join("tiles.txt");
    std::fs::write(
        &list,
        "tiles/west.laz\n# next one is gone\ntiles/north.laz\n",
    )
    .unwrap();
    let list = s(&list);
    let x = s(&d.path().join("x.tif"));
    for args in [vec!["info", &list], vec!["dtm", &list, "-o", &x]] {
        let out = landcarbon(&args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains("tiles.txt") && err.contains("line 3") && err.contains("north.laz"),
            "{err}"
        );
    }
    // A VPC whose item names a missing file: the VPC and the feature are named.
    let vpc = d.path().join("survey.vpc");
    let b = points::read(&tiles[0].0).unwrap().bounds().unwrap();
    write_vpc(
        &vpc,
        &[
            vpc_item("./tiles/west.laz", tiles[0].1, &b),
            vpc_item("./tiles/gone.laz", 5, &b),
        ],
    );
    let out = landcarbon(&["info", &s(&vpc)]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("survey.vpc") && err.contains("feature 1") && err.contains("gone.laz"),
        "{err}"
    );
    // A wrong pc:count is a hint only: the header is read, with a warning.
    write_vpc(&vpc, &[vpc_item("./tiles/west.laz", 12, &b)]);
    let out = ok(&["dtm", &s(&vpc), "-o", &s(&d.path().join("w.tif"))]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("pc:count") && err.contains("header"), "{err}");
}

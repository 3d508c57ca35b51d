//! Bad input gets one clear error naming the file and the fault — never a panic — through
//! the library and through the binary (exit code 1 when some inputs failed, 2 when fatal).

use landcarbon::points;
use std::path::{Path, PathBuf};
use std::process::Command;

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_landcarbon"))
}

fn sample() -> PathBuf {
    landcarbon::testdata::bundled("isprs/samp24-utm.laz")
}

fn err_of(p: &Path) -> String {
    points::read(p).unwrap_err().to_string()
}

#[test]
fn missing_file() {
    let e = err_of(Path::new("/nonexistent/tile.laz"));
    assert!(
        e.contains("/nonexistent/tile.laz") && e.contains("No such file"),
        "{e}"
    );
}

#[test]
fn empty_file() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join("empty.laz");
    std::fs::write(&p, b"").unwrap();
    let e = err_of(&p);
    assert!(e.contains("empty.laz") && e.contains("empty file"), "{e}");
}

#[test]
fn not_a_las_file() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join("notes.laz");
    std::fs::write(&p, "this is a text file, not a point cloud\n".repeat(20)).unwrap();
    let e = err_of(&p);
    assert!(
        e.contains("notes.laz") && e.contains("not a LAS/LAZ file"),
        "{e}"
    );
    let short = d.path().join("short.las");
    std::fs::write(&short, b"LASF").unwrap();
    let e = err_of(&short);
    assert!(
        e.contains("short.las") && e.contains("not a LAS/LAZ file"),
        "{e}"
    );
}

#[test]
fn truncated_laz() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join("cut.laz");
    let bytes = std::fs::read(sample()).unwrap();
    std::fs::write(&p, &bytes[..bytes.len() * 6 / 10]).unwrap();
    let e = err_of(&p);
    assert!(e.contains("cut.laz"), "{e}");
    assert!(
        e.contains("truncated") || e.contains("cannot decode") || e.contains("announces"),
        "{e}"
    );
}

#[test]
fn header_count_larger_than_the_data() {
    let d = tempfile::tempdir().unwrap();
    let full = d.path().join("full.las");
    points::write(&points::read(&sample()).unwrap(), &full).unwrap();
    let bytes = std::fs::read(&full).unwrap();
    let cut = d.path().join("short_data.las");
    // Drop the last 100 records (format 0: 20 bytes each).
    std::fs::write(&cut, &bytes[..bytes.len() - 100 * 20]).unwrap();
    let e = err_of(&cut);
    assert!(
        e.contains("short_data.las") && e.contains("announces 7492 points"),
        "{e}"
    );
}

#[test]
fn unreadable_crs() {
    let mut c = points::read(&sample()).unwrap();
    let mut b = las::Builder::from(c.meta.header.clone());
    b.vlrs.retain(|v| v.user_id != "LASF_Projection");
    // A GeoTIFF key directory that announces keys it does not hold.
    b.vlrs.push(las::Vlr {
        user_id: "LASF_Projection".into(),
        record_id: 34735,
        description: String::new(),
        data: vec![1, 0, 1, 0, 0, 0, 9, 0],
    });
    c.meta.header = b.into_header().unwrap();
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join("badcrs.las");
    points::write(&c, &p).unwrap();
    let e = err_of(&p);
    assert!(
        e.contains("badcrs.las") && e.contains("unreadable CRS"),
        "{e}"
    );
}

#[test]
fn the_binary_reports_bad_files_in_one_line_and_carries_on() {
    let d = tempfile::tempdir().unwrap();
    let bad = d.path().join("bad.laz");
    std::fs::write(&bad, b"garbage").unwrap();
    let out = bin()
        .args(["info", "-q"])
        .arg(sample())
        .arg(&bad)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "some inputs failed → exit 1");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stdout.contains("samp24-utm.laz") && stdout.contains("7492 points"),
        "{stdout}"
    );
    assert!(
        stderr.contains("bad.laz") && !stderr.contains("panicked"),
        "{stderr}"
    );
    assert_eq!(stderr.lines().count(), 1, "one line per bad file: {stderr}");
}

#[test]
fn the_binary_exits_2_on_a_fatal_error() {
    let out = bin()
        .args(["info", "/nonexistent/folder/*.laz"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("matches no .las/.laz file"), "{stderr}");
}

#[test]
fn info_json_is_machine_readable() {
    let out = bin()
        .args(["info", "--json"])
        .arg(sample())
        .output()
        .unwrap();
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["total_points"], 7492);
    assert_eq!(v["files"][0]["point_format"], 0);
    assert_eq!(v["files"][0]["crs"]["epsg"], 32632);
    assert_eq!(
        v["classes"]["2"].as_u64().unwrap() + v["classes"]["0"].as_u64().unwrap(),
        7492
    );
}

#[test]
fn tile_command_retiles_without_losing_points() {
    let d = tempfile::tempdir().unwrap();
    let out = bin()
        .args(["tile", "-q", "--size", "50", "--buffer", "0", "-o"])
        .arg(d.path())
        .arg(sample())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut total = 0;
    for e in std::fs::read_dir(d.path()).unwrap() {
        let p = e.unwrap().path();
        assert!(!p.file_name().unwrap().to_string_lossy().contains("partial"));
        total += points::read(&p).unwrap().len();
    }
    assert_eq!(total, 7492);
}

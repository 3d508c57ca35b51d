//! Raster products are Cloud-Optimized GeoTIFFs (layout, overviews when larger than one tile,
//! band description and unit), written deterministically; an extension the command cannot
//! write is refused with exit 2 and nothing is written.

use gdal::{Dataset, Metadata};
use std::path::Path;
use std::process::Command;

/// The binary under test; `LANDCARBON_BIN` overrides Cargo's (for target folders shared
/// between checkouts, where another build may replace it).
fn bin() -> String {
    std::env::var("LANDCARBON_BIN").unwrap_or_else(|_| env!("CARGO_BIN_EXE_landcarbon").to_string())
}

const LAZ: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/testdata/ignf-lidar-for-fuel_test_data_0000_0000_LA93_IGN69.laz"
);

fn landcarbon(args: &[&str]) -> std::process::Output {
    Command::new(bin())
        .arg("-q")
        .args(args)
        .output()
        .expect("run landcarbon")
}

fn ok(args: &[&str]) {
    let out = landcarbon(args);
    assert!(
        out.status.success(),
        "landcarbon {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Layout, overview count, band description and unit of band 1.
fn cog_facts(p: &Path) -> (Option<String>, usize, String, String, (usize, usize)) {
    let ds = Dataset::open(p).unwrap();
    let layout = ds.metadata_item("LAYOUT", "IMAGE_STRUCTURE");
    let b = ds.rasterband(1).unwrap();
    (
        layout,
        b.overview_count().unwrap() as usize,
        b.description().unwrap(),
        b.unit(),
        ds.raster_size(),
    )
}

#[test]
fn chm_and_dtm_are_cogs_with_units() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // 50 m at 0.09 m = 557 x 557 cells: larger than one 512-cell tile, so overviews.
    let big = d.join("chm.tif");
    ok(&["chm", LAZ, "--res", "0.09", "-o", big.to_str().unwrap()]);
    let (layout, ovr, desc, unit, size) = cog_facts(&big);
    assert_eq!(layout.as_deref(), Some("COG"));
    assert!(size.0 > 512 && size.1 > 512, "{size:?}");
    assert!(ovr >= 1, "no overview on a {size:?} COG");
    assert_eq!(desc, "chm");
    assert_eq!(unit, "m");

    // Deterministic: the same command writes the same bytes.
    let again = d.join("chm2.tif");
    ok(&["chm", LAZ, "--res", "0.09", "-o", again.to_str().unwrap()]);
    assert_eq!(std::fs::read(&big).unwrap(), std::fs::read(&again).unwrap());

    // One tile: still a COG, no overview needed.
    let dtm = d.join("dtm.tif");
    ok(&["dtm", LAZ, "-o", dtm.to_str().unwrap()]);
    let (layout, ovr, _, unit, size) = cog_facts(&dtm);
    assert_eq!(layout.as_deref(), Some("COG"));
    assert!(size.0 <= 512 && ovr == 0, "{size:?} {ovr}");
    assert_eq!(unit, "m");

    // No temporary file is left behind.
    let left: Vec<_> = std::fs::read_dir(d)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
        .filter(|n| n.contains("partial"))
        .collect();
    assert!(left.is_empty(), "{left:?}");
}

#[test]
fn unwritable_extensions_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    for (cmd, name) in [("chm", "x.png"), ("dtm", "dtm.xyz"), ("chm", "chm")] {
        let p = dir.path().join(name);
        let out = landcarbon(&[cmd, LAZ, "-o", p.to_str().unwrap()]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{cmd} -o {name}: {err}");
        assert!(err.contains(".tif, .tiff"), "{cmd} -o {name}: {err}");
        assert!(!p.exists(), "{cmd} wrote {name}");
    }
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}

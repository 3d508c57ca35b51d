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

// --- hostile headers and data (issue #15 points 4-6): each fails on the old reader (abort,
// panic or silent garbage).

fn las14() -> PathBuf {
    landcarbon::testdata::bundled("laspy_file_with_both_wkt_and_geotiff_vlrs.las")
}

fn big_laz() -> PathBuf {
    landcarbon::testdata::bundled("ignf-lidar-for-fuel_test_data_0000_0000_LA93_IGN69.laz")
}

/// Writes `base` with `edit` applied to its bytes as `name` in `d`.
fn hostile(d: &Path, name: &str, base: &Path, edit: impl FnOnce(&mut Vec<u8>)) -> PathBuf {
    let mut b = std::fs::read(base).unwrap();
    edit(&mut b);
    let p = d.join(name);
    std::fs::write(&p, &b).unwrap();
    p
}

fn put_f64(b: &mut [u8], at: usize, v: f64) {
    b[at..at + 8].copy_from_slice(&v.to_le_bytes());
}

fn get_f64(b: &[u8], at: usize) -> f64 {
    f64::from_le_bytes(b[at..at + 8].try_into().unwrap())
}

fn offset_to_points(b: &[u8]) -> usize {
    u32::from_le_bytes(b[96..100].try_into().unwrap()) as usize
}

/// Runs the binary; asserts a clean failure (exit 1 or 2, no panic) naming `name`.
fn fails_naming(args: &[&str], inputs: &[&Path], name: &str) -> String {
    let out = bin().args(args).args(inputs).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(
        matches!(out.status.code(), Some(1) | Some(2)),
        "{:?}: {stderr}",
        out.status
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(stderr.contains(name), "{name} not named: {stderr}");
    stderr
}

#[test]
fn huge_point_counts_are_refused_without_aborting() {
    let d = tempfile::tempdir().unwrap();
    let las = hostile(d.path(), "count4e9.las", &las14(), |b| {
        b[107..111].copy_from_slice(&4_000_000_000u32.to_le_bytes());
        b[247..255].copy_from_slice(&4_000_000_000u64.to_le_bytes());
    });
    let e = err_of(&las);
    assert!(
        e.contains("count4e9.las") && e.contains("announces 4000000000"),
        "{e}"
    );
    let laz = hostile(d.path(), "count4e9.laz", &big_laz(), |b| {
        b[247..255].copy_from_slice(&4_000_000_000u64.to_le_bytes());
    });
    // Either refused at once or as a short file: never an allocation abort.
    fails_naming(&["info"], &[&laz], "count4e9.laz");
}

#[test]
fn a_laz_chunk_table_announcing_billions_of_chunks_is_refused() {
    let d = tempfile::tempdir().unwrap();
    let p = hostile(d.path(), "chunks.laz", &big_laz(), |b| {
        let o = offset_to_points(b);
        let t = i64::from_le_bytes(b[o..o + 8].try_into().unwrap()) as usize;
        b[t + 4..t + 8].copy_from_slice(&0xFFFF_FFF0u32.to_le_bytes());
    });
    let e = err_of(&p);
    assert!(e.contains("chunks.laz") && e.contains("chunk table"), "{e}");
}

#[test]
fn corrupt_laz_bytes_are_an_error_not_garbage_coordinates() {
    let d = tempfile::tempdir().unwrap();
    let p = hostile(d.path(), "corrupt.laz", &big_laz(), |b| {
        let o = offset_to_points(b) + 8 + b.len() / 3;
        let mut s = 15u32;
        for x in &mut b[o..o + 4096] {
            s = s.wrapping_mul(1_103_515_245).wrapping_add(12_345);
            *x = (s >> 16) as u8;
        }
    });
    let e = err_of(&p);
    assert!(e.contains("corrupt.laz"), "{e}");
    // The good tile is read, the corrupt one reported: exit 1.
    let out = bin()
        .args(["info"])
        .arg(big_laz())
        .arg(&p)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("corrupt.laz") && !stderr.contains("panicked"),
        "{stderr}"
    );
}

#[test]
fn bad_scales_and_offsets_are_refused() {
    let d = tempfile::tempdir().unwrap();
    for (name, at, v) in [
        ("scale0.las", 131, 0.0),
        ("scaleneg.las", 139, -0.01),
        ("scalenan.las", 147, f64::NAN),
        ("offsetinf.las", 155, f64::INFINITY),
    ] {
        let p = hostile(d.path(), name, &las14(), |b| put_f64(b, at, v));
        let e = err_of(&p);
        assert!(
            e.contains(name) && (e.contains("scale") || e.contains("offset")),
            "{e}"
        );
    }
}

#[test]
fn a_scale_that_decodes_to_infinity_is_refused() {
    // Found by the fuzzer: with a scale of f64::MAX the bounds check widened the header
    // bounds to infinity and let the infinite coordinates through (read returned Ok).
    let d = tempfile::tempdir().unwrap();
    let p = hostile(d.path(), "scalemax.las", &las14(), |b| {
        put_f64(b, 131, f64::MAX)
    });
    let e = err_of(&p);
    assert!(
        e.contains("scalemax.las") && e.contains("beyond the range of a 64-bit float"),
        "{e}"
    );
}

#[test]
fn a_scale_of_1e9_decodes_outside_the_bounds_and_is_refused() {
    let d = tempfile::tempdir().unwrap();
    let p = hostile(d.path(), "scale1e9.las", &las14(), |b| put_f64(b, 131, 1e9));
    let e = err_of(&p);
    assert!(
        e.contains("scale1e9.las") && e.contains("outside the header bounds"),
        "{e}"
    );
}

#[test]
fn swapped_or_non_finite_bounds_are_refused() {
    let d = tempfile::tempdir().unwrap();
    let p = hostile(d.path(), "swapped.las", &las14(), |b| {
        let (max, min) = (get_f64(b, 179), get_f64(b, 187));
        put_f64(b, 179, min);
        put_f64(b, 187, max);
    });
    let e = err_of(&p);
    assert!(e.contains("swapped.las") && e.contains("swapped"), "{e}");
    let p = hostile(d.path(), "nanbounds.las", &las14(), |b| {
        put_f64(b, 195, f64::NAN)
    });
    let e = err_of(&p);
    assert!(e.contains("nanbounds.las") && e.contains("finite"), "{e}");
}

#[test]
fn header_bounds_smaller_than_the_data_are_not_silently_cropped() {
    let d = tempfile::tempdir().unwrap();
    let p = hostile(d.path(), "small_bounds.las", &las14(), |b| {
        let (max, min) = (get_f64(b, 179), get_f64(b, 187));
        put_f64(b, 179, (max + min) / 2.0);
    });
    let e = err_of(&p);
    assert!(
        e.contains("small_bounds.las") && e.contains("outside the header bounds"),
        "{e}"
    );
    let o = d.path().join("dtm.tif");
    fails_naming(
        &["dtm", "-o", o.to_str().unwrap()],
        &[&p],
        "small_bounds.las",
    );
}

#[test]
fn vlrs_or_header_sizes_that_overrun_the_file_are_refused() {
    let d = tempfile::tempdir().unwrap();
    let p = hostile(d.path(), "vlr.las", &las14(), |b| {
        b[375 + 20..375 + 22].copy_from_slice(&0xFFFFu16.to_le_bytes());
    });
    let e = err_of(&p);
    assert!(e.contains("vlr.las") && e.contains("VLR"), "{e}");
    let p = hostile(d.path(), "hsize.las", &las14(), |b| {
        b[94..96].copy_from_slice(&10u16.to_le_bytes())
    });
    let e = err_of(&p);
    assert!(e.contains("hsize.las") && e.contains("header size"), "{e}");
}

#[test]
fn evlrs_that_overrun_the_file_are_refused_without_aborting() {
    // Found by the fuzzer: the LAS reader allocated an EVLR's 64-bit length as it stood
    // (capacity overflow panic, or an allocation abort).
    let d = tempfile::tempdir().unwrap();
    for (name, len, count) in [
        ("evlr-huge.las", u64::MAX - 1, 1u32),
        ("evlr-8e18.las", 8_000_000_000_000_000_000, 1),
        ("evlr-4e9.las", 4_000_000_000, 1),
        ("evlr-count.las", 0, 1000),
    ] {
        let p = hostile(d.path(), name, &las14(), |b| {
            let at = b.len() as u64;
            let mut e = vec![0u8; 60];
            e[2..17].copy_from_slice(b"LASF_Projection");
            e[18..20].copy_from_slice(&2112u16.to_le_bytes());
            e[20..28].copy_from_slice(&len.to_le_bytes());
            b.extend_from_slice(&e);
            b[235..243].copy_from_slice(&at.to_le_bytes());
            b[243..247].copy_from_slice(&count.to_le_bytes());
        });
        let e = err_of(&p);
        assert!(
            e.contains(name) && e.contains("EVLR") && e.contains("past the end of the file"),
            "{e}"
        );
    }
}

/// Start of the LASzip VLR's payload in the LAZ file `b`.
fn laszip_payload(b: &[u8]) -> usize {
    let mut at = u16::from_le_bytes([b[94], b[95]]) as usize;
    while &b[at + 2..at + 16] != b"laszip encoded" {
        at += 54 + u16::from_le_bytes([b[at + 20], b[at + 21]]) as usize;
    }
    at + 54
}

#[test]
fn laszip_items_that_do_not_describe_the_records_are_refused() {
    // Found by the fuzzer: the parallel LAZ decompressor asserted (panicked) on an item size
    // that did not divide the records, and divided by zero on an item size of 0.
    let d = tempfile::tempdir().unwrap();
    for (name, item0_size) in [
        ("item127.laz", 127u16),
        ("item0.laz", 0),
        ("item19.laz", 19),
    ] {
        let p = hostile(d.path(), name, &sample(), |b| {
            // Items follow 34 bytes of LASzip fields: type, size, version (u16 each).
            let at = laszip_payload(b) + 34 + 2;
            b[at..at + 2].copy_from_slice(&item0_size.to_le_bytes());
        });
        let e = err_of(&p);
        assert!(e.contains(name) && e.contains("LASzip item"), "{e}");
    }
}

#[test]
fn laz_chunk_sizes_that_do_not_fit_the_points_or_memory_are_refused() {
    // Found by the fuzzer: a chunk size of 4e9 points made the LAZ decompressor abort on
    // allocation; one of 255 points (fewer than the header's 7492 in the one chunk) made it
    // wrap a subtraction and panic (capacity overflow).
    let d = tempfile::tempdir().unwrap();
    for (name, chunk_points, expect) in [
        ("chunk4e9.laz", 4_294_967_294u32, "LASzip chunk size"),
        ("chunk255.laz", 255, "chunk table holds at most 255"),
    ] {
        let p = hostile(d.path(), name, &sample(), |b| {
            let at = laszip_payload(b) + 12;
            b[at..at + 4].copy_from_slice(&chunk_points.to_le_bytes());
        });
        let e = err_of(&p);
        assert!(e.contains(name) && e.contains(expect), "{e}");
    }
}

#[test]
fn laz_layer_sizes_larger_than_their_chunk_are_refused() {
    // Found by the fuzzer (point format 6 seed): the layered LAZ decompressor allocated a
    // corrupt layer size as read, up to 4 GiB per layer, and aborted.
    let d = tempfile::tempdir().unwrap();
    let base = landcarbon::testdata::bundled("pdal_extra_bytes_crop.laz");
    let p = hostile(d.path(), "layer4g.laz", &base, |b| {
        // Chunk 0: its first point raw (the record length), a u32 count, then layer sizes.
        let rec = u16::from_le_bytes([b[105], b[106]]) as usize;
        let at = offset_to_points(b) + 8 + rec + 4;
        b[at..at + 4].copy_from_slice(&u32::MAX.to_le_bytes());
    });
    let e = err_of(&p);
    assert!(e.contains("layer4g.laz") && e.contains("layers"), "{e}");
}

#[test]
fn the_same_tile_twice_is_a_duplicate_input() {
    let las = las14();
    let other = las
        .parent()
        .unwrap()
        .join("isprs/../")
        .join(las.file_name().unwrap());
    let e = fails_naming(&["info"], &[&las, &other], "laspy_file_with_both");
    assert!(e.contains("duplicate input"), "{e}");
    let d = tempfile::tempdir().unwrap();
    let o = d.path().join("dtm.tif");
    let e = fails_naming(
        &["dtm", "-o", o.to_str().unwrap()],
        &[&las, &las],
        "laspy_file",
    );
    assert!(e.contains("duplicate input"), "{e}");
}

#[test]
fn a_low_point_count_and_a_missing_crs_are_warned_about() {
    let d = tempfile::tempdir().unwrap();
    let p = hostile(d.path(), "low_count.las", &las14(), |b| {
        let n = u64::from_le_bytes(b[247..255].try_into().unwrap()) / 2;
        b[247..255].copy_from_slice(&n.to_le_bytes());
    });
    let out = bin().args(["info"]).arg(&p).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("low_count.las") && stderr.contains("holds 25408 records"),
        "{stderr}"
    );
    let p = hostile(d.path(), "no_crs.las", &las14(), |b| {
        b[100..104].copy_from_slice(&0u32.to_le_bytes())
    });
    let out = bin().args(["info"]).arg(&p).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("no_crs.las") && stderr.contains("no CRS"),
        "{stderr}"
    );
}

#[test]
fn tiles_10000_km_apart_make_no_raster() {
    let d = tempfile::tempdir().unwrap();
    let far = hostile(d.path(), "far.las", &las14(), |b| {
        for at in [155, 179, 187] {
            let v = get_f64(b, at);
            put_f64(b, at, v + 1e7);
        }
    });
    let o = d.path().join("dtm.tif");
    let e = fails_naming(
        &["dtm", "-o", o.to_str().unwrap()],
        &[&las14(), &far],
        "far.las",
    );
    assert!(e.contains("span"), "{e}");
}

/// A copy of `src` whose header announces `n` points (LAS 1.4: the 64-bit count at byte 247;
/// the legacy 32-bit count at 107 when it is set).
fn with_point_count(src: &Path, dst: &Path, n: u64) {
    let mut b = std::fs::read(src).unwrap();
    assert_eq!(&b[..4], b"LASF");
    let minor = b[25];
    if minor >= 4 {
        b[247..255].copy_from_slice(&n.to_le_bytes());
    }
    let legacy = u32::from_le_bytes(b[107..111].try_into().unwrap());
    if legacy != 0 || minor < 4 {
        b[107..111].copy_from_slice(&(n as u32).to_le_bytes());
    }
    std::fs::write(dst, b).unwrap();
}

#[test]
fn header_count_lower_than_the_data_is_a_warning_naming_the_file_and_the_excess() {
    let d = tempfile::tempdir().unwrap();
    // LAZ (84524 points in chunks of 50000): the chunk table shows at least 50001 points.
    let laz = d.path().join("undercount.laz");
    with_point_count(
        &landcarbon::testdata::bundled("ignf-lidar-for-fuel_test_data_0000_0000_LA93_IGN69.laz"),
        &laz,
        40_000,
    );
    let out = bin().arg("info").arg(&laz).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("undercount.laz")
            && err.contains("announces 40000 points")
            && err.contains("at least 50001")
            && err.contains("at least 10001 beyond the count"),
        "{err}"
    );
    // LAS: the exact number of records beyond the count.
    let full = d.path().join("full.las");
    points::write(&points::read(&sample()).unwrap(), &full).unwrap();
    let las = d.path().join("undercount.las");
    with_point_count(&full, &las, 7000);
    let out = bin().arg("info").arg(&las).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("undercount.las") && err.contains("holds 7492 records (492 beyond the count)"),
        "{err}"
    );
}

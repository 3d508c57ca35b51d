//! Read → write → read keeps every field of every point, the header's version, format,
//! scale/offset, VLRs, EVLRs and CRS — on every bundled file, in LAS and in LAZ.

use landcarbon::points::{self, PointCloud};

fn bundled_files() -> Vec<std::path::PathBuf> {
    let mut v = Vec::new();
    for dir in [
        landcarbon::testdata::bundled(""),
        landcarbon::testdata::bundled("isprs"),
    ] {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if matches!(
                p.extension().and_then(|e| e.to_str()),
                Some("las") | Some("laz")
            ) {
                v.push(p);
            }
        }
    }
    v.sort();
    assert!(v.len() >= 12, "expected the bundled files, found {v:?}");
    v
}

/// Asserts two columns are equal, reporting the first differing index rather than the columns.
fn same<T: PartialEq + std::fmt::Debug>(a: &[T], b: &[T], what: &str) {
    assert_eq!(a.len(), b.len(), "{what}: length");
    if let Some(i) = (0..a.len()).find(|&i| a[i] != b[i]) {
        panic!(
            "{what}: first difference at point {i}: {:?} vs {:?}",
            a[i], b[i]
        );
    }
}

fn assert_same_points(a: &PointCloud, b: &PointCloud, what: &str) {
    assert_eq!(a.len(), b.len(), "{what}: count");
    same(&a.x, &b.x, &format!("{what}: x"));
    same(&a.y, &b.y, &format!("{what}: y"));
    same(&a.z, &b.z, &format!("{what}: z"));
    same(&a.intensity, &b.intensity, &format!("{what}: intensity"));
    same(
        &a.return_number,
        &b.return_number,
        &format!("{what}: return number"),
    );
    same(
        &a.number_of_returns,
        &b.number_of_returns,
        &format!("{what}: number of returns"),
    );
    same(
        &a.classification,
        &b.classification,
        &format!("{what}: classification"),
    );
    same(&a.flags, &b.flags, &format!("{what}: flags"));
    same(
        &a.scanner_channel,
        &b.scanner_channel,
        &format!("{what}: scanner channel"),
    );
    same(
        &a.scan_angle_deg,
        &b.scan_angle_deg,
        &format!("{what}: scan angle"),
    );
    same(&a.user_data, &b.user_data, &format!("{what}: user data"));
    same(
        &a.point_source_id,
        &b.point_source_id,
        &format!("{what}: point source id"),
    );
    assert_eq!(
        a.gps_time.is_some(),
        b.gps_time.is_some(),
        "{what}: gps time presence"
    );
    same(
        a.gps_time.as_deref().unwrap_or(&[]),
        b.gps_time.as_deref().unwrap_or(&[]),
        &format!("{what}: gps time"),
    );
    same(
        a.rgb.as_deref().unwrap_or(&[]),
        b.rgb.as_deref().unwrap_or(&[]),
        &format!("{what}: rgb"),
    );
    same(
        a.nir.as_deref().unwrap_or(&[]),
        b.nir.as_deref().unwrap_or(&[]),
        &format!("{what}: nir"),
    );
    assert_eq!(a.waveform, b.waveform, "{what}: waveform");
    assert_eq!(
        a.extra.record_len, b.extra.record_len,
        "{what}: extra bytes length"
    );
    assert_eq!(a.extra.data, b.extra.data, "{what}: extra bytes");
}

fn assert_same_header(a: &PointCloud, b: &PointCloud, what: &str) {
    let (ha, hb) = (&a.meta.header, &b.meta.header);
    assert_eq!(ha.version(), hb.version(), "{what}: version");
    assert_eq!(
        a.meta.format_id(),
        b.meta.format_id(),
        "{what}: point format"
    );
    assert_eq!(ha.transforms(), hb.transforms(), "{what}: scale/offset");
    assert_eq!(
        ha.number_of_points(),
        hb.number_of_points(),
        "{what}: point count"
    );
    assert_eq!(a.meta.crs, b.meta.crs, "{what}: CRS");
    let vlrs = |h: &las::Header| -> Vec<(String, u16, Vec<u8>)> {
        h.all_vlrs()
            .filter(|v| !las::laz::is_laszip_vlr(v))
            .map(|v| (v.user_id.clone(), v.record_id, v.data.clone()))
            .collect()
    };
    assert_eq!(vlrs(ha), vlrs(hb), "{what}: VLRs and EVLRs");
    // The written header's bounds are those of the points (the source header's may be looser),
    // to within one scale step.
    let bb = hb.bounds();
    let pb = b.bounds().unwrap();
    let got = [bb.min.x, bb.min.y, bb.min.z, bb.max.x, bb.max.y, bb.max.z];
    for k in 0..6 {
        let step = [
            hb.transforms().x.scale,
            hb.transforms().y.scale,
            hb.transforms().z.scale,
        ][k % 3];
        assert!(
            (got[k] - pb[k]).abs() <= step + 1e-9,
            "{what}: header bound {k} {} vs points {}",
            got[k],
            pb[k]
        );
    }
}

#[test]
fn every_bundled_file_round_trips_in_las_and_laz() {
    let dir = tempfile::tempdir().unwrap();
    for path in bundled_files() {
        let original = points::read(&path).unwrap();
        assert!(!original.is_empty());
        for ext in ["laz", "las"] {
            let out = dir.path().join(format!("rt.{ext}"));
            points::write(&original, &out).unwrap();
            let back = points::read(&out).unwrap();
            let what = format!("{} as .{ext}", path.display());
            assert_same_points(&original, &back, &what);
            assert_same_header(&original, &back, &what);
        }
    }
}

#[test]
fn las14_format8_with_two_extra_bytes_vlrs_keeps_named_dimensions() {
    let path = landcarbon::testdata::bundled("pdal_extra_bytes_crop.laz");
    let c = points::read(&path).unwrap();
    assert_eq!(c.meta.format_id(), 8);
    assert_eq!(c.meta.version(), "1.4");
    assert_eq!(c.extra.record_len, 3);
    let names: Vec<&str> = c.extra.dims.iter().map(|d| d.name.as_str()).collect();
    // The second VLR describes a u8 "confidence" (laspy 2.x lists it as undocumented bytes).
    assert_eq!(names, ["Deviation", "confidence"]);
    let dev = c.extra.get_f64("Deviation").unwrap();
    assert_eq!(dev.len(), c.len());
    // Cross-checked with laspy: int(np.asarray(f["Deviation"]).sum()).
    assert_eq!(dev.iter().sum::<f64>(), 99_800_064.0);
    assert!(c.rgb.is_some() && c.nir.is_some() && c.gps_time.is_some());
}

#[test]
fn an_added_extra_dimension_is_written_and_read_back() {
    let mut c = points::read(&landcarbon::testdata::bundled("pdal_extra_bytes_crop.laz")).unwrap();
    let hag: Vec<f64> = c.z.iter().map(|z| z - 100.0).collect();
    c.extra
        .set_f64("HeightAboveGround", &hag, "height above ground (m)");
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("hag.laz");
    points::write(&c, &out).unwrap();
    let back = points::read(&out).unwrap();
    assert_eq!(back.extra.record_len, 3 + 8);
    assert_eq!(back.extra.get_f64("HeightAboveGround").unwrap(), hag);
    // The original dimensions survive.
    assert_eq!(
        back.extra.get_f64("Deviation"),
        c.extra.get_f64("Deviation")
    );
}

#[test]
fn synthetic_cloud_round_trips() {
    let (c, _) = landcarbon::synth::generate(&landcarbon::synth::SynthParams {
        size_m: [30.0, 30.0],
        ..Default::default()
    });
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("s.laz");
    points::write(&c, &out).unwrap();
    let back = points::read(&out).unwrap();
    assert_same_points(&c, &back, "synthetic");
    assert_eq!(back.meta.crs.epsg, Some(4546));
}

#[test]
fn no_partial_file_is_left_when_a_write_fails() {
    let mut c = points::read(&landcarbon::testdata::bundled("isprs/samp24-utm.laz")).unwrap();
    // Format 0 cannot store class 200: the write must fail and leave nothing behind.
    c.classification[10] = 200;
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("bad.laz");
    let err = points::write(&c, &out).unwrap_err().to_string();
    assert!(err.contains("class 200"), "{err}");
    assert!(!out.exists());
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        0,
        "temporary file left behind"
    );
}

/// LAS 1.2 counts returns 1–5 only; a 1.2 file with a sixth return (lidR's Topography sample
/// has one) is written as LAS 1.4 instead of failing, and every point survives.
#[test]
fn a_sixth_return_in_las12_is_written_as_las14() {
    let dir = tempfile::tempdir().unwrap();
    let mut cloud = points::read(&landcarbon::testdata::bundled("isprs/samp24-utm.laz")).unwrap();
    assert_eq!(cloud.meta.header.version(), las::Version::new(1, 2));
    cloud.return_number[0] = 6;
    cloud.number_of_returns[0] = 6;
    let out = dir.path().join("six.laz");
    points::write(&cloud, &out).unwrap();
    let back = points::read(&out).unwrap();
    assert_eq!(back.meta.header.version(), las::Version::new(1, 4));
    assert_same_points(&cloud, &back, "sixth return");
}

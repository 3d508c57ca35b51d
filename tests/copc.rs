//! COPC: plain outputs never carry a COPC source's records; CRS from EVLRs; COPC written for
//! `*.copc.laz` reads back whole and by box.

#[path = "common/chunk_points.rs"]
mod chunk_points;
use chunk_points::chunk_points;
use landcarbon::points::{self, copc};
use std::path::Path;

/// `(user_id, record_id)` of some VLRs or EVLRs.
type Records = Vec<(String, u16)>;

/// The records of every VLR and EVLR of `path`, parsed from the raw file so that the check
/// does not depend on any LAS library's reading of EVLRs.
fn raw_records(path: &Path) -> (Records, Records) {
    let b = std::fs::read(path).unwrap();
    let u16_at = |o: usize| u16::from_le_bytes([b[o], b[o + 1]]);
    let u32_at = |o: usize| u32::from_le_bytes(b[o..o + 4].try_into().unwrap());
    let u64_at = |o: usize| u64::from_le_bytes(b[o..o + 8].try_into().unwrap());
    let name = |o: usize| {
        String::from_utf8_lossy(&b[o..o + 16])
            .trim_end_matches('\0')
            .to_string()
    };
    let mut vlrs = Vec::new();
    let mut at = u16_at(94) as usize;
    for _ in 0..u32_at(100) {
        vlrs.push((name(at + 2), u16_at(at + 18)));
        at += 54 + u16_at(at + 20) as usize;
    }
    let mut evlrs = Vec::new();
    if b[25] >= 4 {
        let mut at = u64_at(235) as usize;
        for _ in 0..u32_at(243) {
            evlrs.push((name(at + 2), u16_at(at + 18)));
            at += 60 + u64_at(at + 20) as usize;
        }
    }
    (vlrs, evlrs)
}

/// A cloud whose header carries a COPC info VLR and hierarchy EVLR, as one read from a COPC
/// file does.
fn cloud_with_copc_records() -> points::PointCloud {
    let mut c = points::read(&landcarbon::testdata::bundled(
        "ignf-lidar-for-fuel_test_data_0000_0000_LA93_IGN69.laz",
    ))
    .unwrap();
    let mut b = las::Builder::from(c.meta.header.clone());
    let info = copc::CopcInfo {
        center: [0.0; 3],
        halfsize: 1.0,
        spacing: 1.0,
        root_hier_offset: 12345,
        root_hier_size: 32,
        gpstime_min: 0.0,
        gpstime_max: 0.0,
    };
    b.vlrs.insert(
        0,
        las::Vlr {
            user_id: copc::USER_ID.into(),
            record_id: copc::INFO_RECORD,
            description: "copc info".into(),
            data: info.to_bytes(),
        },
    );
    b.evlrs.push(las::Vlr {
        user_id: copc::USER_ID.into(),
        record_id: copc::HIERARCHY_RECORD,
        description: "EPT hierarchy".into(),
        data: vec![0; 32],
    });
    c.meta.header = b.into_header().unwrap();
    c
}

#[test]
fn plain_outputs_drop_the_copc_records_of_their_source() {
    let c = cloud_with_copc_records();
    let dir = tempfile::tempdir().unwrap();
    for name in ["out.laz", "out.las"] {
        let out = dir.path().join(name);
        points::write(&c, &out).unwrap();
        let (vlrs, evlrs) = raw_records(&out);
        assert!(
            vlrs.iter().chain(&evlrs).all(|(u, _)| u != copc::USER_ID),
            "{name}: COPC records copied into a plain output: VLRs {vlrs:?}, EVLRs {evlrs:?}"
        );
        // The other records are kept (the CRS among them).
        assert!(
            vlrs.iter().any(|(u, _)| u == "LASF_Projection"),
            "{name}: {vlrs:?}"
        );
        let back = points::read(&out).unwrap();
        assert_eq!(back.len(), c.len(), "{name}");
        assert_eq!(back.meta.crs.epsg, Some(2154), "{name}");
    }
}

#[test]
fn split_outputs_drop_the_copc_records_of_their_source() {
    let c = cloud_with_copc_records();
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("src.las");
    // Written by hand with las so that the source keeps its COPC records, as a COPC tile does.
    {
        let mut h = las::Builder::from(c.meta.header.clone());
        h.point_format.is_compressed = false;
        h.vlrs.retain(|v| !las::laz::is_laszip_vlr(v));
        let mut w = las::Writer::from_path(&src, h.into_header().unwrap()).unwrap();
        let mut r = las::Reader::from_path(landcarbon::testdata::bundled(
            "ignf-lidar-for-fuel_test_data_0000_0000_LA93_IGN69.laz",
        ))
        .unwrap();
        let mut data = las::PointDataBuilder::new().for_header(r.header()).build();
        r.fill_points(u64::MAX, &mut data).unwrap();
        w.write_points(&data).unwrap();
        w.close().unwrap();
    }
    let (vlrs, _) = raw_records(&src);
    assert_eq!(
        vlrs[0].0,
        copc::USER_ID,
        "the source should carry the info VLR"
    );
    let out = dir.path().join("part.las");
    let n = points::split_by_rects(&src, &[(vec![[0.0, 0.0, 1e9, 1e9]], out.clone())]).unwrap();
    assert_eq!(n, vec![c.len() as u64]);
    let (vlrs, evlrs) = raw_records(&out);
    assert!(
        vlrs.iter().chain(&evlrs).all(|(u, _)| u != copc::USER_ID),
        "COPC records copied into a split: VLRs {vlrs:?}, EVLRs {evlrs:?}"
    );
}

/// Writes the bundled IGN tile (LAS 1.4, EPSG:2154 as WKT) with `crs` as its only CRS record,
/// put in an EVLR after another EVLR (as a COPC file puts its hierarchy first), without any
/// CRS VLR; returns the path.
fn with_crs_in_second_evlr(dir: &Path, name: &str, crs: las::Vlr) -> std::path::PathBuf {
    let src =
        landcarbon::testdata::bundled("ignf-lidar-for-fuel_test_data_0000_0000_LA93_IGN69.laz");
    let mut r = las::Reader::from_path(&src).unwrap();
    let mut b = las::Builder::from(r.header().clone());
    b.vlrs
        .retain(|v| !v.is_crs() && !las::laz::is_laszip_vlr(v));
    b.vlrs.retain(|v| v.user_id != "liblas");
    b.point_format.is_compressed = name.ends_with(".laz");
    b.evlrs = vec![
        las::Vlr {
            user_id: "landcarbon-test".into(),
            record_id: 7,
            description: "first EVLR".into(),
            data: vec![1, 2, 3],
        },
        crs,
    ];
    let out = dir.join(name);
    let mut w = las::Writer::from_path(&out, b.into_header().unwrap()).unwrap();
    let mut data = las::PointDataBuilder::new().for_header(r.header()).build();
    r.fill_points(u64::MAX, &mut data).unwrap();
    w.write_points(&data).unwrap();
    w.close().unwrap();
    out
}

#[test]
fn crs_is_read_from_any_evlr() {
    let src =
        landcarbon::testdata::bundled("ignf-lidar-for-fuel_test_data_0000_0000_LA93_IGN69.laz");
    let wkt = las::Reader::from_path(&src)
        .unwrap()
        .header()
        .get_wkt_crs_bytes()
        .unwrap()
        .to_vec();
    let dir = tempfile::tempdir().unwrap();
    let wkt_vlr = las::Vlr {
        user_id: "LASF_Projection".into(),
        record_id: 2112,
        description: "OGC WKT".into(),
        data: wkt,
    };
    let geotiff = points::crs::geotiff_vlr_for_epsg(2154).unwrap();
    for (name, vlr) in [
        ("wkt.laz", wkt_vlr.clone()),
        ("wkt.las", wkt_vlr),
        ("geotiff.laz", geotiff),
    ] {
        let path = with_crs_in_second_evlr(dir.path(), name, vlr);
        let (vlrs, evlrs) = raw_records(&path);
        assert!(vlrs.iter().all(|(u, _)| u != "LASF_Projection"), "{vlrs:?}");
        assert_eq!(evlrs.len(), 2, "{name}: {evlrs:?}");
        let (_, meta) = points::open(&path).unwrap();
        assert_eq!(meta.crs.epsg, Some(2154), "{name}: CRS {:?}", meta.crs);
        // Every EVLR is kept and written back.
        let cloud = points::read(&path).unwrap();
        let out = dir.path().join(format!("back-{name}"));
        points::write(&cloud, &out).unwrap();
        let (_, evlrs_back) = raw_records(&out);
        assert_eq!(evlrs_back, evlrs, "{name}: EVLRs after a round trip");
        assert_eq!(points::open(&out).unwrap().1.crs.epsg, Some(2154), "{name}");
    }
}

type PointKey = (i64, i64, i64, u16, u8, u8);

/// Point `i` as a comparable tuple (coordinates to the millimetre).
fn key(c: &points::PointCloud, i: usize) -> PointKey {
    (
        (c.x[i] * 1000.0).round() as i64,
        (c.y[i] * 1000.0).round() as i64,
        (c.z[i] * 1000.0).round() as i64,
        c.intensity[i],
        c.classification[i],
        c.return_number[i],
    )
}

/// Points as sortable tuples (a COPC file stores them node by node, not in source order).
fn sorted_points(c: &points::PointCloud) -> Vec<PointKey> {
    let mut v: Vec<_> = (0..c.len()).map(|i| key(c, i)).collect();
    v.sort_unstable();
    v
}

/// The COPC layout of `path` read from the raw bytes: info VLR at 375, hierarchy entries.
fn copc_layout(path: &Path) -> (copc::CopcInfo, Vec<copc::Entry>) {
    let b = std::fs::read(path).unwrap();
    assert_eq!(&b[..4], b"LASF");
    assert_eq!((b[24], b[25]), (1, 4), "COPC is LAS 1.4");
    assert!(
        matches!(b[104] & 0x3F, 6..=8),
        "point format {}",
        b[104] & 0x3F
    );
    // The info VLR is the first, its payload at 375 + 54.
    assert_eq!(&b[377..381], b"copc");
    assert_eq!(u16::from_le_bytes([b[393], b[394]]), copc::INFO_RECORD);
    let info = copc::CopcInfo::parse(&b[429..589]).unwrap();
    let at = info.root_hier_offset as usize;
    let entries = copc::Entry::parse_page(&b[at..at + info.root_hier_size as usize]);
    (info, entries)
}

#[test]
fn copc_output_holds_every_point_in_an_octree_of_chunks() {
    let dir = tempfile::tempdir().unwrap();
    for (src, format) in [
        (
            landcarbon::testdata::bundled("ignf-lidar-for-fuel_test_data_0000_0000_LA93_IGN69.laz"),
            8u8,
        ),
        (landcarbon::testdata::bundled("isprs/samp11-utm.laz"), 6),
    ] {
        let c = points::read(&src).unwrap();
        let out = dir.path().join("out.copc.laz");
        points::write(&c, &out).unwrap();
        let (info, entries) = copc_layout(&out);
        let what = src.display();
        assert_eq!(
            entries.iter().map(|e| e.point_count as u64).sum::<u64>(),
            c.len() as u64,
            "{what}: the hierarchy counts every point"
        );
        assert!(entries.len() > 1, "{what}: {} nodes", entries.len());
        let keys: std::collections::HashSet<_> = entries.iter().map(|e| e.key).collect();
        let len = std::fs::metadata(&out).unwrap().len();
        for e in &entries {
            assert!(e.point_count > 0 && e.byte_size > 0, "{what}: {e:?}");
            assert!(e.offset + e.byte_size as u64 <= len, "{what}: {e:?}");
            if e.key.level > 0 {
                let parent = copc::VoxelKey {
                    level: e.key.level - 1,
                    x: e.key.x / 2,
                    y: e.key.y / 2,
                    z: e.key.z / 2,
                };
                assert!(keys.contains(&parent), "{what}: {e:?} has no parent");
            }
        }
        // Chunks follow one another: each node's chunk starts where the previous one ends.
        let mut by_offset = entries.clone();
        by_offset.sort_by_key(|e| e.offset);
        for w in by_offset.windows(2) {
            assert_eq!(w[0].offset + w[0].byte_size as u64, w[1].offset, "{what}");
        }
        assert!(info.halfsize > 0.0 && info.spacing > 0.0);
        // Read back as plain LAZ: the same points, the same CRS, the COPC point format.
        let back = points::read(&out).unwrap();
        assert_eq!(back.meta.format_id(), format, "{what}");
        assert_eq!(sorted_points(&back), sorted_points(&c), "{what}");
        assert_eq!(back.meta.crs.epsg, c.meta.crs.epsg, "{what}");
        assert!(
            back.meta.crs.wkt.is_some(),
            "{what}: COPC carries its CRS as WKT"
        );
    }
}

#[test]
fn copc_of_a_waveform_format_is_refused_naming_the_file() {
    let mut c = points::read(&landcarbon::testdata::bundled("isprs/samp24-utm.laz")).unwrap();
    c.meta.format = las::point::Format::new(4).unwrap();
    c.waveform = Some(vec![[0u8; 29]; c.len()]);
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("w.copc.laz");
    let err = points::write(&c, &out).unwrap_err().to_string();
    assert!(
        err.contains("w.copc.laz") && err.contains("waveform"),
        "{err}"
    );
    assert!(!out.exists());
}

fn filtered(c: &points::PointCloud, r: [f64; 4]) -> Vec<PointKey> {
    (0..c.len())
        .filter(|&i| c.x[i] >= r[0] && c.x[i] <= r[2] && c.y[i] >= r[1] && c.y[i] <= r[3])
        .map(|i| key(c, i))
        .collect()
}

/// A box read of a COPC file decodes only the nodes meeting the box and returns exactly the
/// points a full read filtered to the box returns, in the same order.
#[test]
fn copc_box_reads_equal_a_brute_force_filter() {
    let src = landcarbon::testdata::shared_or_skip("lasR_bcts_2.laz", "copc_box_reads")
        .unwrap_or_else(|| {
            landcarbon::testdata::bundled("ignf-lidar-for-fuel_test_data_0000_0000_LA93_IGN69.laz")
        });
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("t.copc.laz");
    points::write(&points::read(&src).unwrap(), &out).unwrap();
    let whole = points::read(&out).unwrap();
    let b = whole.bounds().unwrap();
    let (w, h) = (b[3] - b[0], b[4] - b[1]);
    let boxes = [
        [b[0], b[1], b[0] + 30.0, b[4]], // west strip
        [b[3] - 30.0, b[1], b[3], b[4]], // east strip
        [b[0], b[4] - 30.0, b[3], b[4]], // north strip
        [
            b[0] + 0.3 * w,
            b[1] + 0.3 * h,
            b[0] + 0.6 * w,
            b[1] + 0.5 * h,
        ], // inside
        [b[0] - 100.0, b[1] - 100.0, b[0] - 50.0, b[1] - 50.0], // outside
        [b[0] - 1.0, b[1] - 1.0, b[3] + 1.0, b[4] + 1.0], // all
    ];
    for r in boxes {
        let mut c = points::PointCloud::empty(whole.meta.clone());
        let decoded = copc::read::read_box_into(&out, &mut c, r, &mut |_, _| Some(false)).unwrap();
        assert_eq!(filtered(&c, r), filtered(&whole, r), "box {r:?}");
        assert_eq!(
            c.len(),
            filtered(&whole, r).len(),
            "box {r:?}: no point outside"
        );
        if r[2] - r[0] <= 30.0 {
            assert!(
                decoded < whole.len() as u64 * 6 / 10,
                "a 30 m strip decoded {decoded} of {} points",
                whole.len()
            );
        }
    }
}

/// Chunks read from COPC tiles (neighbour strips and the parts of a cut tile through the
/// octree) hold the same points, core and buffer alike, as chunks read from the LAZ tiles.
#[test]
fn catalog_chunks_of_copc_tiles_equal_those_of_laz_tiles() {
    let (Some(a), Some(b)) = (
        landcarbon::testdata::shared_or_skip("lasR_bcts_1.laz", "catalog_chunks_of_copc_tiles"),
        landcarbon::testdata::shared_or_skip("lasR_bcts_2.laz", "catalog_chunks_of_copc_tiles"),
    ) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let mut copc_paths = Vec::new();
    for (p, name) in [(&a, "a.copc.laz"), (&b, "b.copc.laz")] {
        let out = dir.path().join(name);
        points::write(&points::read(p).unwrap(), &out).unwrap();
        copc_paths.push(out.display().to_string());
    }
    let laz_paths = vec![a.display().to_string(), b.display().to_string()];
    use landcarbon::catalog::{self, strips::StripCache, Catalog, ChunkOptions};
    // Whole tiles, then tiles cut into parts of about 300k points.
    for max_points in [0, 300_000] {
        let opts = ChunkOptions {
            buffer_m: 20.0,
            max_points,
            ..Default::default()
        };
        let mut per_layout = Vec::new();
        // One plan for both: the parts of a cut tile follow a sample of its points, which
        // depends on their order in the file (an octree's in COPC).
        let plan = Catalog::open(&laz_paths).unwrap().plan(&opts).unwrap();
        for paths in [&laz_paths, &copc_paths] {
            let cat = Catalog::open(paths).unwrap();
            let ids: Vec<usize> = (0..plan.len()).collect();
            let cache = StripCache::build(&cat, &plan, &ids, Some(dir.path()), true).unwrap();
            let chunks: Vec<_> = plan
                .iter()
                .map(|c| chunk_points(&catalog::read_chunk_with(&cat, c, Some(&cache)).unwrap()))
                .collect();
            per_layout.push(chunks);
        }
        assert_eq!(per_layout[0].len(), per_layout[1].len());
        if max_points > 0 {
            assert!(per_layout[0].len() > 2, "the tiles should be cut");
        }
        for (k, (l, c)) in per_layout[0].iter().zip(&per_layout[1]).enumerate() {
            assert!(l.iter().any(|p| p.0), "chunk {k} has buffer points");
            assert_eq!(l, c, "chunk {k} (max_points {max_points})");
        }
    }
}

#[test]
fn a_copc_hierarchy_that_miscounts_is_refused_naming_the_file() {
    let c = points::read(&landcarbon::testdata::bundled("isprs/samp24-utm.laz")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("bad.copc.laz");
    points::write(&c, &out).unwrap();
    let (info, _) = copc_layout(&out);
    let meta = points::read(&out).unwrap().meta;
    let mut b = std::fs::read(&out).unwrap();
    // The first entry's point count: 28 bytes into it.
    let at = info.root_hier_offset as usize + 28;
    b[at..at + 4].copy_from_slice(&i32::MAX.to_le_bytes());
    std::fs::write(&out, &b).unwrap();
    let mut cloud = points::PointCloud::empty(meta);
    let err = copc::read::read_box_into(&out, &mut cloud, [0.0, 0.0, 1e9, 1e9], &mut |_, _| {
        Some(false)
    });
    let msg = format!("{:?}", err.map(|_| ()));
    assert!(
        msg.contains("bad.copc.laz") && msg.contains("hierarchy"),
        "{msg}"
    );
}

//! Tree IDs are integers everywhere: the `treeID` dimension of `trees --laz-out` is an unsigned
//! 64-bit extra-bytes dimension (LAS data type 7, read back exactly), the CSV's `tree_id` an
//! integer column and the GeoPackage's an Integer64 field; the three name the same trees, and
//! each ID is the apex's position cell (`tree_id(x, y)`). `scripts/check-treeid-laspy.sh`
//! checks the LAZ with laspy, an independent reader.

#[path = "common/cli.rs"]
mod cli;

use cli::s;
use gdal::vector::{FieldValue, LayerAccess, OGRFieldType};
use gdal::Dataset;
use landcarbon::algo::trees::tree_id;
use landcarbon::points::{self, extra::ExtraType};
use std::collections::BTreeSet;

#[test]
fn tree_ids_are_integers_in_laz_csv_and_gpkg() {
    let tile =
        landcarbon::testdata::bundled("ignf-lidar-for-fuel_test_data_0000_0000_LA93_IGN69.laz");
    let d = tempfile::tempdir().unwrap();
    let gpkg = d.path().join("trees.gpkg");
    let laz = d.path().join("laz");
    cli::ok_quiet(&["trees", &s(&tile), "-o", &s(&gpkg), "--laz-out", &s(&laz)]);

    // CSV: integer IDs, each the apex's position cell.
    let text = std::fs::read_to_string(gpkg.with_extension("csv")).unwrap();
    let mut lines = text.lines();
    let head: Vec<&str> = lines.next().unwrap().split(',').collect();
    assert_eq!(&head[..3], ["tree_id", "x", "y"]);
    let mut csv_ids = BTreeSet::new();
    for l in lines {
        let f: Vec<&str> = l.splitn(4, ',').collect();
        let id: u64 = f[0]
            .parse()
            .unwrap_or_else(|_| panic!("tree_id '{}' is not an integer", f[0]));
        let (x, y): (f64, f64) = (f[1].parse().unwrap(), f[2].parse().unwrap());
        // The CSV rounds x and y to the millimetre: the apex cell is one of those around.
        let near = [-0.001, 0.0, 0.001]
            .iter()
            .flat_map(|dx| [-0.001, 0.0, 0.001].map(|dy| tree_id(x + dx, y + dy)))
            .any(|t| t == id);
        assert!(near, "tree_id {id} is not the apex cell of ({x}, {y})");
        assert!(id > 0 && id < 1 << 53);
        csv_ids.insert(id);
    }
    assert!(csv_ids.len() >= 10, "{} trees", csv_ids.len());

    // GeoPackage: an Integer64 field with the same IDs.
    let ds = Dataset::open(&gpkg).unwrap();
    let mut layer = ds.layer_by_name("tree_tops").unwrap();
    let defn = layer.defn();
    let field = defn.fields().find(|f| f.name() == "tree_id").unwrap();
    assert_eq!(field.field_type(), OGRFieldType::OFTInteger64);
    let gpkg_ids: BTreeSet<u64> = layer
        .features()
        .map(|f| match f.field(0).unwrap() {
            Some(FieldValue::Integer64Value(v)) => v as u64,
            other => panic!("tree_id field holds {other:?}"),
        })
        .collect();
    assert_eq!(gpkg_ids, csv_ids);

    // LAZ: a u64 extra-bytes dimension (data type 7 in its descriptor) whose non-zero values
    // are the table's trees.
    let files: Vec<_> = std::fs::read_dir(&laz)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(files.len(), 1);
    let c = points::read(&files[0]).unwrap();
    let dim = &c.extra.dims[c.extra.find("treeID").expect("treeID dimension")];
    assert_eq!(dim.kind, ExtraType::U64);
    assert_eq!(dim.descriptor[2], 7, "extra-bytes data type");
    let ids = c.extra.get_u64("treeID").unwrap();
    let laz_ids: BTreeSet<u64> = ids.iter().copied().filter(|&i| i != 0).collect();
    assert!(ids.contains(&0), "points outside crowns are 0");
    assert!(
        laz_ids.is_subset(&csv_ids) && laz_ids.len() * 10 >= csv_ids.len() * 9,
        "{} labelled trees of {}",
        laz_ids.len(),
        csv_ids.len()
    );
}

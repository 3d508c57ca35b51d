//! Plot clipping across tiles from GeoPackage polygons and points, and heights read from an
//! extra-bytes attribute instead of Z.

use gdal::vector::OGRwkbGeometryType;
use gdal::vector::{Feature, FieldValue, Geometry, LayerAccess, LayerOptions, OGRFieldType};
use gdal::DriverManager;
use landcarbon::algo::metrics::{metric_index, MetricOptions};
use landcarbon::biomass::plot_metrics::{clip_plots, plot_metrics, HeightSource, PlotHeights};
use landcarbon::catalog::Catalog;
use landcarbon::points;
use landcarbon::synth::{generate, SynthParams};
use landcarbon::vector::{read_plots, PlotReadOptions, PlotShape};
use std::path::Path;

/// Writes a GeoPackage layer of `ty` with a `plot_id` and a `radius_m` field.
fn write_gpkg(path: &Path, ty: OGRwkbGeometryType::Type, feats: &[(&str, &str, f64)]) {
    let drv = DriverManager::get_driver_by_name("GPKG").unwrap();
    let mut ds = drv.create_vector_only(path).unwrap();
    let layer = ds
        .create_layer(LayerOptions {
            name: "plots",
            ty,
            ..Default::default()
        })
        .unwrap();
    layer
        .create_defn_fields(&[
            ("plot_id", OGRFieldType::OFTString),
            ("radius_m", OGRFieldType::OFTReal),
        ])
        .unwrap();
    for (id, wkt, r) in feats {
        let mut f = Feature::new(layer.defn()).unwrap();
        f.set_geometry(Geometry::from_wkt(wkt).unwrap()).unwrap();
        f.set_field(0, &FieldValue::StringValue(id.to_string()))
            .unwrap();
        f.set_field(1, &FieldValue::RealValue(*r)).unwrap();
        f.create(&layer).unwrap();
    }
}

#[test]
fn polygon_and_point_plots_clip_across_tiles() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    // Two 50 m tiles side by side, normalized.
    let mut all = Vec::new();
    for k in 0..2 {
        let p = SynthParams {
            origin: [1000.0 + 50.0 * k as f64, 2000.0],
            size_m: [50.0, 50.0],
            pulses_per_m2: 5.0,
            seed: 3 + k,
            ..Default::default()
        };
        let (mut c, _) = generate(&p);
        for i in 0..c.len() {
            c.z[i] -= p.terrain_z(c.x[i], c.y[i]);
        }
        let path = d.join(format!("t{k}.laz"));
        points::write(&c, &path).unwrap();
        let back = points::read(&path).unwrap();
        all.extend((0..back.len()).map(|i| (back.x[i], back.y[i])));
    }
    // Polygons: a square straddling the tile border with a hole, and a multipolygon.
    let poly = d.join("polys.gpkg");
    write_gpkg(
        &poly,
        OGRwkbGeometryType::wkbMultiPolygon,
        &[
            (
                "sq",
                "MULTIPOLYGON(((1040 2010,1060 2010,1060 2030,1040 2030,1040 2010),(1045 2015,1055 2015,1055 2025,1045 2025,1045 2015)))",
                0.0,
            ),
            (
                "two",
                "MULTIPOLYGON(((1005 2005,1015 2005,1015 2015,1005 2015,1005 2005)),((1085 2035,1095 2035,1095 2045,1085 2045,1085 2035)))",
                0.0,
            ),
        ],
    );
    let set = read_plots(&poly, &PlotReadOptions::default()).unwrap();
    assert_eq!(set.plots.len(), 2);
    assert_eq!(set.plots[0].id, "sq");
    assert!((set.plots[0].shape.area_m2() - 300.0).abs() < 1e-9);
    assert!((set.plots[1].shape.area_m2() - 200.0).abs() < 1e-9);
    // Points with a radius field.
    let pts = d.join("points.gpkg");
    write_gpkg(
        &pts,
        OGRwkbGeometryType::wkbPoint,
        &[
            ("c1", "POINT(1050 2040)", 8.0),
            ("c2", "POINT(1020 2020)", 5.0),
        ],
    );
    let cset = read_plots(&pts, &PlotReadOptions::default()).unwrap();
    assert_eq!(
        cset.plots[0].shape,
        PlotShape::Circle {
            x: 1050.0,
            y: 2040.0,
            radius_m: 8.0
        }
    );
    let cat = Catalog::open(&[
        d.join("t0.laz").display().to_string(),
        d.join("t1.laz").display().to_string(),
    ])
    .unwrap();
    for s in [&set, &cset] {
        let ret = clip_plots(
            &cat,
            &s.plots,
            &PlotHeights::new(HeightSource::Z),
            1,
            &|| {},
        )
        .unwrap();
        for (p, r) in s.plots.iter().zip(&ret) {
            let want = all.iter().filter(|(x, y)| p.shape.contains(*x, *y)).count();
            assert_eq!(r.len(), want, "plot {}", p.id);
            assert!(want > 100);
        }
    }
    // The straddling square takes returns from both tiles.
    let ret = clip_plots(
        &cat,
        &set.plots,
        &PlotHeights::new(HeightSource::Z),
        2,
        &|| {},
    )
    .unwrap();
    assert!(ret[0].x.iter().any(|x| *x < 1050.0) && ret[0].x.iter().any(|x| *x >= 1050.0));
}

#[test]
fn heights_from_extra_bytes_equal_heights_in_z() {
    let tmp = tempfile::tempdir().unwrap();
    let p = SynthParams {
        size_m: [40.0, 40.0],
        pulses_per_m2: 5.0,
        ..Default::default()
    };
    let (mut c, _) = generate(&p);
    let h: Vec<f64> = (0..c.len())
        .map(|i| c.z[i] - p.terrain_z(c.x[i], c.y[i]))
        .collect();
    // Absolute Z kept, height as extra bytes (as `normalize --as-extra-bytes` writes it).
    c.extra
        .set_f64("HeightAboveGround", &h, "height above ground");
    let abs_path = tmp.path().join("abs.laz");
    points::write(&c, &abs_path).unwrap();
    c.z = h.clone();
    let norm_path = tmp.path().join("norm.laz");
    points::write(&c, &norm_path).unwrap();
    let plot = landcarbon::vector::Plot {
        id: "p".into(),
        shape: PlotShape::Circle {
            x: p.origin[0] + 20.0,
            y: p.origin[1] + 20.0,
            radius_m: 11.28,
        },
    };
    let opts = MetricOptions::default();
    let m = |path: &Path, hs: PlotHeights| {
        let cat = Catalog::open(&[path.display().to_string()]).unwrap();
        plot_metrics(
            &clip_plots(&cat, std::slice::from_ref(&plot), &hs, 1, &|| {}).unwrap(),
            &opts,
        )
        .remove(0)
    };
    let a = m(&abs_path, PlotHeights::new(HeightSource::Auto));
    let b = m(&norm_path, PlotHeights::new(HeightSource::Z));
    for name in ["n", "zmean", "zmax", "zq95", "cover", "d3"] {
        let k = metric_index(name).unwrap();
        // Z is stored at 1 cm, the extra bytes as f64: agree to the centimetre.
        assert!(
            (a[k] - b[k]).abs() <= 0.011 * a[k].abs().max(1.0),
            "{name}: {} vs {}",
            a[k],
            b[k]
        );
    }
    // Absolute Z read as heights would be nonsense: the extra attribute must exist when named.
    let cat = Catalog::open(&[norm_path.display().to_string()]).unwrap();
    let nope = PlotHeights::new(HeightSource::Dim("Nope".into()));
    let err = clip_plots(&cat, &[plot], &nope, 1, &|| {}).unwrap_err();
    assert!(err.to_string().contains("Nope"));
}

//! Field plots: their shapes (circle by centre and radius, or polygons) and reading them from a
//! CSV table of centres or from a vector layer (GeoPackage, Shapefile, … through GDAL).
//!
//! * CSV: one row per plot with an id column (`--id-col`, default `plot_id`, else `id`), centre
//!   columns (`x`/`y`, else the first column named `x_…`/`y_…`, e.g. `x_epsg2154`) and a radius
//!   column (`radius_m`, else `radius`) or one radius for all plots.
//! * Vector layer (first layer): polygon and multipolygon features are area plots (holes
//!   honoured); point features are circle centres with a radius as for CSV. The id is the id
//!   field, else the feature id.
//!
//! Every other column or field is kept as a plot attribute (text), so that field measurements
//! (AGB, stratum, …) travel with the plot into the plot-metrics table.
//!
//! Coordinates must be in the CRS of the point clouds: nothing is reprojected here.
//!
//! See also: `crate::biomass::plot_metrics` (clipping returns to plots across tiles).

use super::table::{read_csv, Table};
use crate::{Error, Result};
use gdal::vector::{FieldValue, LayerAccess, OGRwkbGeometryType};
use gdal::Dataset;
use std::path::Path;

/// A plot outline.
#[derive(Debug, Clone, PartialEq)]
pub enum PlotShape {
    /// Circle: centre and radius (m).
    Circle { x: f64, y: f64, radius_m: f64 },
    /// Polygons, each a list of rings `[x, y]` (first ring outer, others holes).
    Polygons(Vec<Vec<Vec<[f64; 2]>>>),
}

impl PlotShape {
    /// `[xmin, ymin, xmax, ymax]`.
    pub fn bbox(&self) -> [f64; 4] {
        match self {
            PlotShape::Circle { x, y, radius_m } => {
                [x - radius_m, y - radius_m, x + radius_m, y + radius_m]
            }
            PlotShape::Polygons(polys) => {
                let mut b = [
                    f64::INFINITY,
                    f64::INFINITY,
                    f64::NEG_INFINITY,
                    f64::NEG_INFINITY,
                ];
                for ring in polys.iter().flatten() {
                    for p in ring {
                        b = [
                            b[0].min(p[0]),
                            b[1].min(p[1]),
                            b[2].max(p[0]),
                            b[3].max(p[1]),
                        ];
                    }
                }
                b
            }
        }
    }

    /// Whether `(x, y)` lies inside (a circle includes its boundary; polygons use the even–odd
    /// rule over all rings, so holes are excluded).
    pub fn contains(&self, px: f64, py: f64) -> bool {
        match self {
            PlotShape::Circle { x, y, radius_m } => {
                let (dx, dy) = (px - x, py - y);
                dx * dx + dy * dy <= radius_m * radius_m
            }
            PlotShape::Polygons(polys) => {
                let mut inside = false;
                for ring in polys.iter().flatten() {
                    let n = ring.len();
                    if n < 3 {
                        continue;
                    }
                    let mut j = n - 1;
                    for i in 0..n {
                        let (xi, yi) = (ring[i][0], ring[i][1]);
                        let (xj, yj) = (ring[j][0], ring[j][1]);
                        if (yi > py) != (yj > py) && px < (xj - xi) * (py - yi) / (yj - yi) + xi {
                            inside = !inside;
                        }
                        j = i;
                    }
                }
                inside
            }
        }
    }

    /// Area in m² (outer rings minus holes).
    pub fn area_m2(&self) -> f64 {
        match self {
            PlotShape::Circle { radius_m, .. } => std::f64::consts::PI * radius_m * radius_m,
            PlotShape::Polygons(polys) => polys
                .iter()
                .map(|rings| {
                    rings
                        .iter()
                        .enumerate()
                        .map(|(k, r)| {
                            let a = ring_area(r).abs();
                            if k == 0 {
                                a
                            } else {
                                -a
                            }
                        })
                        .sum::<f64>()
                })
                .sum(),
        }
    }
}

fn ring_area(r: &[[f64; 2]]) -> f64 {
    let n = r.len();
    if n < 3 {
        return 0.0;
    }
    let mut s = 0.0;
    for i in 0..n {
        let j = (i + 1) % n;
        s += r[i][0] * r[j][1] - r[j][0] * r[i][1];
    }
    s / 2.0
}

/// A field plot: id, outline and its row in the attribute table.
#[derive(Debug, Clone, PartialEq)]
pub struct Plot {
    pub id: String,
    pub shape: PlotShape,
}

/// Plots and their attribute table (row `i` belongs to plot `i`).
#[derive(Debug, Clone)]
pub struct PlotSet {
    pub plots: Vec<Plot>,
    pub attributes: Table,
    /// Name of the id column in `attributes` (absent when ids are feature ids).
    pub id_column: Option<String>,
}

/// How to read plots.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PlotReadOptions {
    /// Id column (default `plot_id`, else `id`).
    pub id_col: Option<String>,
    /// Centre columns of a CSV (default `x`/`y`, else the first `x_…`/`y_…`).
    pub x_col: Option<String>,
    pub y_col: Option<String>,
    /// Radius column (default `radius_m`, else `radius`).
    pub radius_col: Option<String>,
    /// Radius of every circular plot (m) when there is no radius column.
    pub radius_m: Option<f64>,
}

fn find_col(
    t: &Table,
    given: &Option<String>,
    defaults: &[&str],
    prefix: Option<&str>,
) -> Option<usize> {
    if let Some(g) = given {
        return t.col(g);
    }
    for d in defaults {
        if let Some(i) = t.col(d) {
            return Some(i);
        }
    }
    prefix.and_then(|p| {
        t.columns
            .iter()
            .position(|c| c.to_lowercase().starts_with(p))
    })
}

fn radius_of(
    t: &Table,
    row: usize,
    rcol: Option<usize>,
    opts: &PlotReadOptions,
    what: &str,
) -> Result<f64> {
    let r = match rcol {
        Some(c) => t.cell(row, c).trim().parse::<f64>().ok(),
        None => opts.radius_m,
    };
    match r {
        Some(r) if r > 0.0 && r.is_finite() => Ok(r),
        Some(r) => Err(Error::data(
            what,
            format!("row {}: plot radius {r} is not positive", row + 1),
        )),
        None => Err(Error::data(
            what,
            format!(
                "row {}: no plot radius (give a radius_m column or a radius for all plots)",
                row + 1
            ),
        )),
    }
}

/// Reads plots from a CSV of centres or from a vector file.
pub fn read_plots(path: &Path, opts: &PlotReadOptions) -> Result<PlotSet> {
    let ext = path
        .extension()
        .map(|e| e.to_string_lossy().to_lowercase())
        .unwrap_or_default();
    let set = if matches!(ext.as_str(), "csv" | "txt" | "tsv") {
        read_plots_csv(path, opts)?
    } else {
        read_plots_vector(path, opts)?
    };
    if set.plots.is_empty() {
        return Err(Error::data(path.display(), "no plot in the file"));
    }
    let mut ids: Vec<&str> = set.plots.iter().map(|p| p.id.as_str()).collect();
    ids.sort();
    if let Some(w) = ids.windows(2).find(|w| w[0] == w[1]) {
        return Err(Error::data(
            path.display(),
            format!("plot id '{}' occurs more than once", w[0]),
        ));
    }
    Ok(set)
}

fn read_plots_csv(path: &Path, opts: &PlotReadOptions) -> Result<PlotSet> {
    let what = path.display().to_string();
    let t = read_csv(path)?;
    let id = find_col(&t, &opts.id_col, &["plot_id", "id"], None).ok_or_else(|| {
        Error::data(
            &what,
            format!(
                "no plot id column (plot_id or id; columns: {})",
                t.columns.join(", ")
            ),
        )
    })?;
    let xc = find_col(&t, &opts.x_col, &["x"], Some("x_"))
        .ok_or_else(|| Error::data(&what, "no centre x column (x or x_…)"))?;
    let yc = find_col(&t, &opts.y_col, &["y"], Some("y_"))
        .ok_or_else(|| Error::data(&what, "no centre y column (y or y_…)"))?;
    let rcol = find_col(&t, &opts.radius_col, &["radius_m", "radius"], None);
    let xs = t.numeric(xc, &what)?;
    let ys = t.numeric(yc, &what)?;
    let mut plots = Vec::with_capacity(t.len());
    for i in 0..t.len() {
        let (Some(x), Some(y)) = (xs[i], ys[i]) else {
            return Err(Error::data(
                &what,
                format!("row {}: missing plot centre", i + 1),
            ));
        };
        let radius_m = radius_of(&t, i, rcol, opts, &what)?;
        plots.push(Plot {
            id: t.cell(i, id).to_string(),
            shape: PlotShape::Circle { x, y, radius_m },
        });
    }
    let id_column = Some(t.columns[id].clone());
    Ok(PlotSet {
        plots,
        attributes: t,
        id_column,
    })
}

fn field_text(v: Option<FieldValue>) -> String {
    match v {
        None => String::new(),
        Some(FieldValue::IntegerValue(i)) => i.to_string(),
        Some(FieldValue::Integer64Value(i)) => i.to_string(),
        Some(FieldValue::RealValue(r)) => format!("{r}"),
        Some(FieldValue::StringValue(s)) => s,
        Some(FieldValue::DateValue(d)) => d.to_string(),
        Some(FieldValue::DateTimeValue(d)) => d.to_rfc3339(),
        Some(other) => format!("{other:?}"),
    }
}

/// The attribute table of the first layer of a vector file.
pub fn read_vector_attributes(path: &Path) -> Result<Table> {
    let ds = Dataset::open(path).map_err(|e| Error::gdal(path, e))?;
    let mut layer = ds.layer(0).map_err(|e| Error::gdal(path, e))?;
    let columns: Vec<String> = layer.defn().fields().map(|f| f.name()).collect();
    let mut rows = Vec::new();
    for f in layer.features() {
        rows.push(f.fields().map(|(_, v)| field_text(v)).collect());
    }
    Ok(Table { columns, rows })
}

fn rings_of(g: &gdal::vector::Geometry) -> Vec<Vec<[f64; 2]>> {
    (0..g.geometry_count())
        .map(|k| {
            let ring = g.get_geometry(k);
            let mut pts = Vec::new();
            ring.get_points(&mut pts);
            pts.into_iter().map(|(x, y, _)| [x, y]).collect()
        })
        .collect()
}

/// The 2-D base type of an OGR geometry type (drops the 2.5D bit and the ISO Z/M offsets).
fn flatten_type(t: OGRwkbGeometryType::Type) -> OGRwkbGeometryType::Type {
    (t & 0x7fff_ffff) % 1000
}

fn read_plots_vector(path: &Path, opts: &PlotReadOptions) -> Result<PlotSet> {
    let what = path.display().to_string();
    let ds = Dataset::open(path).map_err(|e| Error::gdal(path, e))?;
    let mut layer = ds.layer(0).map_err(|e| Error::gdal(path, e))?;
    let columns: Vec<String> = layer.defn().fields().map(|f| f.name()).collect();
    let mut t = Table {
        columns,
        rows: Vec::new(),
    };
    let mut shapes = Vec::new();
    let mut fids = Vec::new();
    for f in layer.features() {
        t.rows
            .push(f.fields().map(|(_, v)| field_text(v)).collect());
        fids.push(f.fid().map(|v| v.to_string()).unwrap_or_default());
        let Some(g) = f.geometry() else {
            return Err(Error::data(
                &what,
                format!("feature {} has no geometry", t.rows.len()),
            ));
        };
        let gt = flatten_type(g.geometry_type());
        let shape = if gt == OGRwkbGeometryType::wkbPolygon {
            PlotShape::Polygons(vec![rings_of(g)])
        } else if gt == OGRwkbGeometryType::wkbMultiPolygon {
            PlotShape::Polygons(
                (0..g.geometry_count())
                    .map(|k| rings_of(&g.get_geometry(k)))
                    .collect(),
            )
        } else if gt == OGRwkbGeometryType::wkbPoint {
            let (x, y, _) = g.get_point(0);
            PlotShape::Circle {
                x,
                y,
                radius_m: f64::NAN, // set below from the radius column or option
            }
        } else {
            return Err(Error::data(
                &what,
                format!(
                    "feature {}: geometry {} is not a polygon or a point",
                    t.rows.len(),
                    g.geometry_name()
                ),
            ));
        };
        shapes.push(shape);
    }
    let id = find_col(&t, &opts.id_col, &["plot_id", "id"], None);
    if opts.id_col.is_some() && id.is_none() {
        return Err(Error::data(
            &what,
            format!("no id field '{}'", opts.id_col.clone().unwrap_or_default()),
        ));
    }
    let rcol = find_col(&t, &opts.radius_col, &["radius_m", "radius"], None);
    let mut plots = Vec::with_capacity(shapes.len());
    for (i, mut shape) in shapes.into_iter().enumerate() {
        if let PlotShape::Circle { radius_m, .. } = &mut shape {
            *radius_m = radius_of(&t, i, rcol, opts, &what)?;
        }
        let pid = match id {
            Some(c) => t.cell(i, c).to_string(),
            None => fids[i].clone(),
        };
        plots.push(Plot { id: pid, shape });
    }
    let id_column = id.map(|c| t.columns[c].clone());
    Ok(PlotSet {
        plots,
        attributes: t,
        id_column,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn circle_and_polygon_geometry() {
        let c = PlotShape::Circle {
            x: 10.0,
            y: 20.0,
            radius_m: 11.28,
        };
        assert!(c.contains(10.0, 31.27));
        assert!(!c.contains(10.0, 31.3));
        assert!((c.area_m2() - 399.7).abs() < 0.1);
        // 20 × 20 square with a 10 × 10 hole.
        let sq = PlotShape::Polygons(vec![vec![
            vec![[0.0, 0.0], [20.0, 0.0], [20.0, 20.0], [0.0, 20.0]],
            vec![[5.0, 5.0], [15.0, 5.0], [15.0, 15.0], [5.0, 15.0]],
        ]]);
        assert_eq!(sq.area_m2(), 300.0);
        assert!(sq.contains(2.0, 2.0));
        assert!(!sq.contains(10.0, 10.0));
        assert!(!sq.contains(25.0, 2.0));
        assert_eq!(sq.bbox(), [0.0, 0.0, 20.0, 20.0]);
    }

    #[test]
    fn csv_plots_with_default_radius() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("plots.csv");
        std::fs::write(
            &p,
            "plot_id,x_epsg2154,y_epsg2154,agb_t_ha\nA,100,200,150.5\nB,300,400,NA\n",
        )
        .unwrap();
        assert!(read_plots(&p, &PlotReadOptions::default())
            .unwrap_err()
            .to_string()
            .contains("radius"));
        let o = PlotReadOptions {
            radius_m: Some(15.0),
            ..Default::default()
        };
        let s = read_plots(&p, &o).unwrap();
        assert_eq!(s.plots.len(), 2);
        assert_eq!(s.plots[1].id, "B");
        assert_eq!(
            s.plots[0].shape,
            PlotShape::Circle {
                x: 100.0,
                y: 200.0,
                radius_m: 15.0
            }
        );
        assert_eq!(s.id_column.as_deref(), Some("plot_id"));
    }
}

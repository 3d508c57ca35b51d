//! `landcarbon carbon --trees`: the individual-tree (ITD) route to carbon density. Tree AGB
//! (the tree table's `agb_kg`, else the allometry from height and crown diameter) is summed per
//! cell of a grid raster, calibrated per stratum with the ratio of field-plot AGB to the ITD AGB
//! of the same plots, and handed to the same carbon step as the area-based route.
//!
//! See also: `landcarbon::biomass::itd_density` (the estimator), `carbon.rs` (the outputs).

use super::carbon::Args;
use landcarbon::biomass::itd_density::{
    calibrate, fit_ratio, grid_u_pct, itd_density_t_ha, plot_itd_t_ha, tree_agb, RatioFit,
    RatioPlot, TreeAgbSource,
};
use landcarbon::biomass::predict::AgbGrid;
use landcarbon::params::Params;
use landcarbon::raster::{read_geotiff, Raster};
use landcarbon::vector::table::is_missing;
use landcarbon::vector::tree_rows::read_tree_rows;
use landcarbon::vector::{read_plots, PlotReadOptions};
use std::collections::BTreeMap;
use std::path::Path;

/// What the ITD route hands to the writer: the AGB grid, the model metadata for `model.json`
/// (before the carbon keys) and the record's ITD section.
pub struct ItdResult {
    pub agb: AgbGrid,
    pub model: serde_json::Value,
    pub record: serde_json::Value,
}

fn stratum_key(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{}", v as i64)
    } else {
        format!("{v}")
    }
}

fn valid(r: &Raster<f64>, v: f64) -> bool {
    v.is_finite() && v != r.nodata
}

/// The identity of the fit: the ratios and the plots (ids, field and ITD AGB) that made them, so
/// that two years calibrated on their own plots have independent errors and a reused folder
/// keeps one identity.
fn identity(fits: &BTreeMap<String, RatioFit>) -> String {
    let mut h = blake3::Hasher::new();
    for (k, f) in fits {
        h.update(k.as_bytes());
        h.update(&f.ratio.to_bits().to_le_bytes());
        for p in &f.plots {
            h.update(p.id.as_bytes());
            h.update(&p.field_agb_t_ha.to_bits().to_le_bytes());
            h.update(&p.itd_agb_t_ha.to_bits().to_le_bytes());
        }
    }
    format!("agb_itd_ratio@{}", &h.finalize().to_hex()[..16])
}

pub fn run(a: &Args, trees_path: &Path, params: &Params) -> anyhow::Result<ItdResult> {
    let grid_path = a
        .grid_raster
        .as_deref()
        .or(a.metrics.as_deref())
        .ok_or_else(|| anyhow::anyhow!("--trees needs --grid-raster (or --metrics): the grid and coverage of the densities"))?;
    let Some(plots_path) = a.plots.as_deref() else {
        anyhow::bail!("--trees needs --plots: the field plots that calibrate the ITD biomass");
    };
    let gr = read_geotiff(grid_path, 1)?;
    let grid = gr.grid;
    if grid.res_m < 10.0 {
        log::warn!(
            "{}: cells of {} m are smaller than most crowns; ITD sums per cell are meant for cells of about a plot's size (20–30 m)",
            grid_path.display(),
            grid.res_m
        );
    }
    let covered: Vec<bool> = gr.data.iter().map(|&v| valid(&gr, v)).collect();
    let group = params.allometry.group(a.allometry.as_deref())?;
    let rows = read_tree_rows(trees_path)?;
    let (trees, agb_source) = tree_agb(&rows, group, &trees_path.display().to_string())?;
    let (itd, trees_outside) = itd_density_t_ha(&trees, &grid, &covered);
    if trees_outside > 0 {
        log::warn!(
            "{}: {trees_outside} of {} trees lie outside the covered cells of {} and are not counted",
            trees_path.display(),
            trees.len(),
            grid_path.display()
        );
    }

    // Plots: field AGB against the ITD AGB of the trees inside each.
    let opts = PlotReadOptions {
        id_col: a.id_col.clone(),
        radius_m: a.radius,
        ..Default::default()
    };
    let set = read_plots(plots_path, &opts)?;
    let pw = plots_path.display().to_string();
    let iy = set.attributes.require(&a.response, &pw)?;
    let is = a
        .strata
        .as_deref()
        .map(|s| set.attributes.require(s, &pw))
        .transpose()?;
    let mut by: BTreeMap<String, Vec<RatioPlot>> = BTreeMap::new();
    let mut skipped = Vec::new();
    for (k, p) in set.plots.iter().enumerate() {
        let cell = set.attributes.cell(k, iy).trim();
        if is_missing(cell) {
            skipped.push(format!("{}: no {}", p.id, a.response));
            continue;
        }
        let y: f64 = cell
            .parse()
            .ok()
            .filter(|v: &f64| v.is_finite())
            .ok_or_else(|| {
                anyhow::anyhow!(
                    "{pw}: plot {}: {} '{cell}' is not a number",
                    p.id,
                    a.response
                )
            })?;
        // A plot must lie in covered cells, else its ITD sum misses trees that were never
        // scanned.
        let b = p.shape.bbox();
        let in_cover = [[b[0], b[1]], [b[2], b[1]], [b[0], b[3]], [b[2], b[3]]]
            .iter()
            .all(|q| {
                grid.cell_of(q[0], q[1])
                    .is_some_and(|(r, c)| covered[r * grid.ncols + c])
            });
        if !in_cover {
            skipped.push(format!("{}: not inside the covered cells", p.id));
            continue;
        }
        let area = p.shape.area_m2();
        let x = plot_itd_t_ha(&trees, area, |tx, ty| p.shape.contains(tx, ty));
        let key = match is {
            Some(c) => set.attributes.cell(k, c).trim().to_string(),
            None => String::new(),
        };
        by.entry(key).or_default().push(RatioPlot {
            id: p.id.clone(),
            area_m2: area,
            field_agb_t_ha: y,
            itd_agb_t_ha: x,
        });
    }
    for s in &skipped {
        log::warn!("{pw}: plot {s}; not used");
    }
    let mut fits = BTreeMap::new();
    for (k, plots) in by {
        let name = (!k.is_empty()).then(|| k.clone());
        fits.insert(k, fit_ratio(name, plots)?);
    }
    if fits.is_empty() {
        anyhow::bail!("{pw}: no plot with a field AGB inside the covered cells");
    }

    let strata: Option<Vec<Option<String>>> = match (&a.strata, &a.strata_raster) {
        (None, None) => None,
        (Some(_), Some(p)) => {
            let r = read_geotiff(p, 1)?;
            if r.grid != grid {
                anyhow::bail!(
                    "{}: the stratum raster's grid differs from that of {}",
                    p.display(),
                    grid_path.display()
                );
            }
            Some(
                r.data
                    .iter()
                    .map(|&v| valid(&r, v).then(|| stratum_key(v)))
                    .collect(),
            )
        }
        (Some(_), None) => {
            anyhow::bail!("--strata needs --strata-raster: the stratum of each cell")
        }
        (None, Some(_)) => {
            anyhow::bail!("--strata-raster needs --strata: the plots' stratum column")
        }
    };
    let agb = calibrate(grid, &itd, strata.as_deref(), &fits);
    let u_pct = grid_u_pct(&itd, strata.as_deref(), &fits);
    let n_plots: usize = fits.values().map(|f| f.n).sum();
    let model = serde_json::json!({
        "id": identity(&fits),
        "u_pct": u_pct,
        "method": "lidar_itd",
        "form": "ratio",
        "predictors": "ITD AGB (sum of tree AGB per cell)",
        "n_plots": n_plots,
        "ratios": fits.values().map(|f| serde_json::json!({
            "stratum": f.stratum, "n": f.n, "ratio": f.ratio, "se_ratio": f.se_ratio,
            "rse_pct": f.se_ratio / f.ratio * 100.0, "residual_sd_t_ha": f.residual_sd_t_ha,
        })).collect::<Vec<_>>(),
    });
    let record = serde_json::json!({
        "method": "lidar_itd",
        "trees": trees_path.display().to_string(),
        "n_trees": trees.len(),
        "trees_outside_coverage": trees_outside,
        "tree_agb": match agb_source {
            TreeAgbSource::Table => "agb_kg column of the tree table".to_string(),
            TreeAgbSource::Allometry => format!(
                "allometry group '{}' of the parameters from height_m and crown_diameter_m",
                a.allometry.as_deref().unwrap_or(&params.allometry.default_group)
            ),
        },
        "grid_raster": grid_path.display().to_string(),
        "plots": pw,
        "response": a.response,
        "plots_not_used": skipped,
        "u_pct": u_pct,
        "u_pct_note": "95 % half-width of the calibrated grid total from the ratios' sampling variance (Cochran 1977 eq. 6.13, no finite-population correction), strata independent",
        "fits": fits.values().collect::<Vec<_>>(),
    });
    Ok(ItdResult { agb, model, record })
}

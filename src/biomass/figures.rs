//! Diagnostic figures of a calibrated model as PNG (plotters, bitmap backend): observed
//! against predicted values with the 1:1 line (fitted and leave-one-out), and residuals against
//! predicted values.
//!
//! Text needs a TrueType font, read at run time (nothing is bundled): `$LANDCARBON_FONT`, else
//! DejaVu Sans or Liberation Sans from the usual system folders (Debian/Ubuntu package
//! `fonts-dejavu-core`). Without a font the figures are drawn without text, with a warning.
//!
//! See also: [`super::calibrate`], [`super::model`].

use super::model::FittedModel;
use crate::{Error, Result};
use plotters::prelude::*;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

const FONT_PATHS: &[&str] = &[
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/TTF/DejaVuSans.ttf",
    "/usr/share/fonts/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/dejavu-sans-fonts/DejaVuSans.ttf",
    "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf",
    "/usr/share/fonts/liberation/LiberationSans-Regular.ttf",
    "/Library/Fonts/Arial.ttf",
    "C:\\Windows\\Fonts\\arial.ttf",
];

/// Registers a system font once; `true` when text can be drawn.
pub fn font_available() -> bool {
    static FONT: OnceLock<bool> = OnceLock::new();
    *FONT.get_or_init(|| {
        let mut candidates: Vec<PathBuf> = Vec::new();
        if let Some(p) = std::env::var_os("LANDCARBON_FONT") {
            candidates.push(PathBuf::from(p));
        }
        candidates.extend(FONT_PATHS.iter().map(PathBuf::from));
        for p in candidates {
            if let Ok(bytes) = std::fs::read(&p) {
                let leaked: &'static [u8] = Box::leak(bytes.into_boxed_slice());
                if plotters::style::register_font("sans-serif", FontStyle::Normal, leaked).is_ok() {
                    log::debug!("figures: font {}", p.display());
                    return true;
                }
            }
        }
        log::warn!(
            "figures: no TrueType font found (set LANDCARBON_FONT or install fonts-dejavu-core); figures are drawn without text"
        );
        false
    })
}

fn plot_err(path: &Path, e: impl std::fmt::Display) -> Error {
    Error::data(path.display(), format!("figure: {e}"))
}

fn padded(lo: f64, hi: f64) -> (f64, f64) {
    let span = (hi - lo).abs().max(1e-9);
    (lo - 0.05 * span, hi + 0.05 * span)
}

/// Observed (x) against predicted (y): fitted values (filled) and LOOCV predictions (rings),
/// with the 1:1 line.
pub fn observed_vs_predicted(m: &FittedModel, path: &Path) -> Result<()> {
    draw_observed_vs_predicted(m, path, font_available())
}

fn draw_observed_vs_predicted(m: &FittedModel, path: &Path, text: bool) -> Result<()> {
    let obs: Vec<f64> = m.observations.iter().map(|o| o.observed).collect();
    let all = obs
        .iter()
        .chain(m.observations.iter().map(|o| &o.fitted))
        .chain(m.observations.iter().map(|o| &o.loocv))
        .copied()
        .filter(|v| v.is_finite());
    let (lo, hi) = all.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| {
        (a.min(v), b.max(v))
    });
    let (lo, hi) = padded(lo.min(0.0), hi);
    let root = BitMapBackend::new(path, (800, 800)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| plot_err(path, e))?;
    let mut b = ChartBuilder::on(&root);
    b.margin(20);
    if text {
        let title = format!(
            "{}{}: R² {:.3}, LOOCV RMSE {:.2} ({:.1} %)",
            m.response,
            m.stratum
                .as_ref()
                .map(|s| format!(" [{s}]"))
                .unwrap_or_default(),
            m.fit.r2,
            m.loocv.rmse,
            m.loocv.rrmse_pct
        );
        b.caption(title, ("sans-serif", 22))
            .x_label_area_size(50)
            .y_label_area_size(60);
    }
    let mut chart = b
        .build_cartesian_2d(lo..hi, lo..hi)
        .map_err(|e| plot_err(path, e))?;
    if text {
        chart
            .configure_mesh()
            .x_desc(format!("observed {}", m.response))
            .y_desc("predicted")
            .draw()
            .map_err(|e| plot_err(path, e))?;
    } else {
        chart
            .configure_mesh()
            .x_labels(0)
            .y_labels(0)
            .disable_x_axis()
            .disable_y_axis()
            .draw()
            .map_err(|e| plot_err(path, e))?;
    }
    chart
        .draw_series(LineSeries::new(
            vec![(lo, lo), (hi, hi)],
            BLACK.stroke_width(2),
        ))
        .map_err(|e| plot_err(path, e))?;
    let fitted = chart
        .draw_series(
            m.observations
                .iter()
                .map(|o| Circle::new((o.observed, o.fitted), 4, BLUE.filled())),
        )
        .map_err(|e| plot_err(path, e))?;
    if text {
        fitted
            .label("fitted")
            .legend(|(x, y)| Circle::new((x, y), 4, BLUE.filled()));
    }
    let cv = chart
        .draw_series(
            m.observations
                .iter()
                .map(|o| Circle::new((o.observed, o.loocv), 5, RED.stroke_width(2))),
        )
        .map_err(|e| plot_err(path, e))?;
    if text {
        cv.label("leave-one-out")
            .legend(|(x, y)| Circle::new((x, y), 5, RED.stroke_width(2)));
        chart
            .configure_series_labels()
            .border_style(BLACK)
            .background_style(WHITE.mix(0.8))
            .position(SeriesLabelPosition::UpperLeft)
            .draw()
            .map_err(|e| plot_err(path, e))?;
    }
    root.present().map_err(|e| plot_err(path, e))?;
    Ok(())
}

/// Residuals (observed − predicted) against predicted values, fitted and LOOCV, with the zero
/// line.
pub fn residuals(m: &FittedModel, path: &Path) -> Result<()> {
    draw_residuals(m, path, font_available())
}

fn draw_residuals(m: &FittedModel, path: &Path, text: bool) -> Result<()> {
    let pts_fit: Vec<(f64, f64)> = m
        .observations
        .iter()
        .map(|o| (o.fitted, o.observed - o.fitted))
        .collect();
    let pts_cv: Vec<(f64, f64)> = m
        .observations
        .iter()
        .map(|o| (o.loocv, o.observed - o.loocv))
        .collect();
    let (xlo, xhi, ylo, yhi) = pts_fit.iter().chain(&pts_cv).fold(
        (
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::INFINITY,
            f64::NEG_INFINITY,
        ),
        |(a, b, c, d), (x, y)| (a.min(*x), b.max(*x), c.min(*y), d.max(*y)),
    );
    let (xlo, xhi) = padded(xlo, xhi);
    let ymax = ylo.abs().max(yhi.abs()) * 1.1 + 1e-9;
    let root = BitMapBackend::new(path, (900, 600)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| plot_err(path, e))?;
    let mut b = ChartBuilder::on(&root);
    b.margin(20);
    if text {
        b.caption(
            format!(
                "{} residuals (bias {:.2}, LOOCV bias {:.2})",
                m.response, m.fit.bias, m.loocv.bias
            ),
            ("sans-serif", 22),
        )
        .x_label_area_size(50)
        .y_label_area_size(60);
    }
    let mut chart = b
        .build_cartesian_2d(xlo..xhi, -ymax..ymax)
        .map_err(|e| plot_err(path, e))?;
    if text {
        chart
            .configure_mesh()
            .x_desc("predicted")
            .y_desc("observed − predicted")
            .draw()
            .map_err(|e| plot_err(path, e))?;
    } else {
        chart
            .configure_mesh()
            .x_labels(0)
            .y_labels(0)
            .disable_x_axis()
            .disable_y_axis()
            .draw()
            .map_err(|e| plot_err(path, e))?;
    }
    chart
        .draw_series(LineSeries::new(
            vec![(xlo, 0.0), (xhi, 0.0)],
            BLACK.stroke_width(2),
        ))
        .map_err(|e| plot_err(path, e))?;
    chart
        .draw_series(pts_fit.iter().map(|p| Circle::new(*p, 4, BLUE.filled())))
        .map_err(|e| plot_err(path, e))?;
    chart
        .draw_series(
            pts_cv
                .iter()
                .map(|p| Circle::new(*p, 5, RED.stroke_width(2))),
        )
        .map_err(|e| plot_err(path, e))?;
    root.present().map_err(|e| plot_err(path, e))?;
    Ok(())
}

/// Writes both figures beside `stem` (`<stem>_obs_pred.png`, `<stem>_residuals.png`, with the
/// stratum in the name when there is one) and returns their paths.
pub fn write_figures(m: &FittedModel, stem: &Path) -> Result<Vec<PathBuf>> {
    let base = stem
        .file_stem()
        .map(|s| s.to_string_lossy().to_string())
        .unwrap_or_else(|| "model".into());
    let suffix = m
        .stratum
        .as_ref()
        .map(|s| {
            let clean: String = s
                .chars()
                .map(|c| if c.is_alphanumeric() { c } else { '_' })
                .collect();
            format!("_{clean}")
        })
        .unwrap_or_default();
    let dir = stem.parent().unwrap_or(Path::new("."));
    let a = dir.join(format!("{base}{suffix}_obs_pred.png"));
    let b = dir.join(format!("{base}{suffix}_residuals.png"));
    observed_vs_predicted(m, &a)?;
    residuals(m, &b)?;
    Ok(vec![a, b])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::biomass::calibrate::{calibrate, CalibrateOptions, PlotData};

    fn model() -> FittedModel {
        let n = 15;
        let h: Vec<f64> = (0..n).map(|i| 5.0 + i as f64).collect();
        let y: Vec<f64> = h
            .iter()
            .enumerate()
            .map(|(i, h)| 2.0 * h.powf(1.4) * (0.1 * ((i * 3 % 5) as f64 - 2.0)).exp())
            .collect();
        let data = PlotData {
            ids: (0..n).map(|i| i.to_string()).collect(),
            y,
            names: vec!["zmean".into()],
            cols: vec![h],
            notes: vec![],
        };
        let opts = CalibrateOptions {
            fixed: true,
            ..Default::default()
        };
        calibrate(&data, &opts, None).unwrap()
    }

    fn is_png(p: &Path) -> bool {
        std::fs::read(p)
            .map(|b| b.len() > 1000 && b.starts_with(b"\x89PNG\r\n\x1a\n"))
            .unwrap_or(false)
    }

    #[test]
    fn figures_without_a_font_are_still_drawn() {
        // This test never registers a font: the text-free path must not touch one.
        let dir = tempfile::tempdir().unwrap();
        let m = model();
        let a = dir.path().join("a.png");
        let b = dir.path().join("b.png");
        draw_observed_vs_predicted(&m, &a, false).unwrap();
        draw_residuals(&m, &b, false).unwrap();
        assert!(is_png(&a) && is_png(&b));
    }

    #[test]
    fn figures_are_written_beside_the_model() {
        let dir = tempfile::tempdir().unwrap();
        let mut m = model();
        m.stratum = Some("mixed forest".into());
        let files = write_figures(&m, &dir.path().join("model.json")).unwrap();
        assert_eq!(
            files,
            [
                dir.path().join("model_mixed_forest_obs_pred.png"),
                dir.path().join("model_mixed_forest_residuals.png")
            ]
        );
        assert!(files.iter().all(|f| is_png(f)));
    }
}

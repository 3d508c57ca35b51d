//! The `[run]` section of the configuration: what `landcarbon run` processes and produces.
//! Every other section (`[ground]`, `[dtm]`, `[chm]`, `[trees]`, `[metrics]`, `[calibrate]`,
//! `[carbon]`, `[account]`) is the one the single-stage commands read, so one file drives both.
//!
//! ```toml
//! [run]
//! output = "results"
//! [[run.surveys]]
//! year = 2025
//! inputs = ["tiles/2025/*.laz"]
//! plots = "plots_2025.csv"       # plot id, x, y, radius and the field response
//! response = "agb_t_ha"
//! ```
//! Paths are relative to the configuration file.

use std::path::{Path, PathBuf};

/// One LiDAR survey (one year).
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Survey {
    /// The survey year (the accounting's t1 or t2).
    pub year: i32,
    /// Tiles: files, folders, globs, input lists (a text file of paths, one a line) or
    /// virtual point clouds (`.vpc`).
    pub inputs: Vec<String>,
    /// Field plots with the response (CSV or GDAL vector); `None`: no calibration here, a
    /// `model` must be given for carbon density.
    pub plots: Option<PathBuf>,
    /// Column of `plots` holding the field response.
    pub response: String,
    /// A ready model file (JSON from `landcarbon calibrate`), used instead of calibrating.
    pub model: Option<PathBuf>,
}

/// Which per-chunk stages run (each needs the ones before it that it uses).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Stages {
    pub ground: bool,
    pub dtm: bool,
    pub vegetation: bool,
    pub chm: bool,
    pub trees: bool,
    pub metrics: bool,
    /// Write the classified, normalized points (`HeightAboveGround` extra bytes) as LAZ.
    pub laz: bool,
}

impl Default for Stages {
    fn default() -> Self {
        Stages {
            ground: true,
            dtm: true,
            vegetation: true,
            chm: true,
            trees: true,
            metrics: true,
            laz: false,
        }
    }
}

/// The `[run]` section.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RunConfig {
    /// Output folder.
    pub output: Option<PathBuf>,
    pub surveys: Vec<Survey>,
    pub stages: Stages,
}

impl RunConfig {
    /// Refuses surveys sharing a year: each writes to `<output>/<year>`, so their chunks,
    /// manifests and mosaics would overwrite (or "resume" from) one another.
    pub fn check_surveys(&self) -> crate::Result<()> {
        for (i, a) in self.surveys.iter().enumerate() {
            if let Some(j) = self.surveys[..i].iter().position(|b| b.year == a.year) {
                return Err(crate::Error::Config(format!(
                    "[[run.surveys]] {} and {} both have year {}: each survey writes to <output>/<year>, so the years must differ",
                    j + 1,
                    i + 1,
                    a.year
                )));
            }
        }
        Ok(())
    }

    /// Makes relative paths relative to `base` (the configuration file's folder).
    pub fn resolve_relative(&mut self, base: &Path) {
        let fix = |p: &mut PathBuf| {
            if p.is_relative() {
                *p = base.join(&*p);
            }
        };
        if let Some(o) = &mut self.output {
            fix(o);
        }
        for s in &mut self.surveys {
            for i in &mut s.inputs {
                if Path::new(i).is_relative() {
                    *i = base.join(&*i).display().to_string();
                }
            }
            if let Some(p) = &mut s.plots {
                fix(p);
            }
            if let Some(p) = &mut s.model {
                fix(p);
            }
        }
    }
}

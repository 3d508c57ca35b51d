//! One survey (one year of tiles) through the pipeline: open its catalog and plan its chunks,
//! run the per-chunk stages on a set of chunks (all, or one shard's) skipping those already
//! complete in the manifest, then the reducers once every chunk is complete.

use super::chunk::{self, ChunkContext};
use super::config::{Stages, Survey};
use super::manifest::Manifest;
use super::reduce;
use crate::biomass::predict::CarbonOptions;
use crate::catalog::{self, Catalog, Chunk};
use crate::config::Config;
use crate::params::Params;
use crate::vector::{read_plots, PlotSet};
use crate::{Error, Result};
use std::path::PathBuf;
use std::time::Instant;

/// A survey ready to run.
pub struct SurveyRun<'a> {
    pub cfg: &'a Config,
    pub survey: &'a Survey,
    pub stages: &'a Stages,
    /// `<output>/<year>`.
    pub out: PathBuf,
    pub catalog: Catalog,
    pub plan: Vec<Chunk>,
    pub plots: Option<PlotSet>,
    pub manifest: Manifest,
}

/// What the map phase did.
#[derive(Debug, Default)]
pub struct MapReport {
    pub ran: Vec<usize>,
    pub resumed: Vec<usize>,
    pub failures: Vec<(usize, String)>,
    pub points: u64,
    pub chunk_seconds: Vec<(usize, f64)>,
    pub stage_seconds: Vec<(String, f64)>,
}

/// What the reducers wrote.
#[derive(Debug, Default, serde::Serialize)]
pub struct ReduceReport {
    pub files: Vec<PathBuf>,
    pub trees: usize,
    pub plots_with_metrics: usize,
    pub model: Option<PathBuf>,
    pub model_summary: Option<String>,
    pub carbon: Option<PathBuf>,
    /// Reducer stages that did not run, each with the reason (`("carbon", "no model …")`).
    pub skipped: Vec<(String, String)>,
}

impl<'a> SurveyRun<'a> {
    /// Opens the survey's catalog, plans its chunks and reads its plots.
    pub fn open(
        cfg: &'a Config,
        survey: &'a Survey,
        stages: &'a Stages,
        root: &std::path::Path,
    ) -> Result<Self> {
        if survey.inputs.is_empty() {
            return Err(Error::Config(format!("survey {}: no inputs", survey.year)));
        }
        let out = root.join(survey.year.to_string());
        std::fs::create_dir_all(&out).map_err(|e| Error::io(&out, e))?;
        let catalog = Catalog::open(&survey.inputs)?;
        let plan = catalog.plan(&cfg.chunk)?;
        let plots = match &survey.plots {
            Some(p) => Some(read_plots(p, &cfg.metrics.plots)?),
            None => None,
        };
        let manifest = Manifest::new(&out)?;
        Ok(SurveyRun {
            cfg,
            survey,
            stages,
            out,
            catalog,
            plan,
            plots,
            manifest,
        })
    }

    /// Ids of every chunk of the plan.
    pub fn all_chunks(&self) -> Vec<usize> {
        self.plan.iter().map(|c| c.id).collect()
    }

    /// Runs the per-chunk stages on `ids`, skipping chunks already complete.
    pub fn map(&self, ids: &[usize], on_done: &(dyn Fn(usize, bool) + Sync)) -> Result<MapReport> {
        let mut rep = MapReport::default();
        let mut todo: Vec<Chunk> = Vec::new();
        for &id in ids {
            let c = self
                .plan
                .get(id)
                .ok_or_else(|| Error::Config(format!("chunk {id} is not in the plan")))?;
            if self.manifest.completed(id).is_some() {
                rep.resumed.push(id);
                on_done(id, true);
            } else {
                todo.push(c.clone());
            }
        }
        if todo.is_empty() {
            return Ok(rep);
        }
        let plots = self
            .plots
            .as_ref()
            .map(|s| s.plots.as_slice())
            .unwrap_or(&[]);
        let params = Params::load(self.cfg.carbon.params.as_deref())?;
        let ctx = ChunkContext {
            cfg: self.cfg,
            stages: self.stages,
            crs: &self.catalog.crs,
            out: &self.out,
            plots,
            allometry: Some(params.allometry.group(None)?),
        };
        // The engine numbers chunks by position in the slice it gets; map back to plan ids.
        let mut sub = todo.clone();
        for (i, c) in sub.iter_mut().enumerate() {
            c.id = i;
        }
        let report = catalog::run(
            &self.catalog,
            &sub,
            &self.cfg.engine,
            &|i, ok| on_done(todo[i].id, ok),
            |c, cloud| {
                let real = &todo[c.id];
                let t0 = Instant::now();
                let s = chunk::process(&ctx, real, cloud)?;
                self.manifest
                    .record(real.id, &s.files, s.core_points, s.stage_seconds.clone())?;
                Ok((s, t0.elapsed().as_secs_f64()))
            },
        )?;
        let mut stage: std::collections::BTreeMap<String, f64> = Default::default();
        let mut order: Vec<String> = Vec::new();
        // Reading comes first: the buffer strips (wall, before the chunks) and the chunk reads.
        for (k, v) in [
            ("buffer strips", report.strips_seconds),
            ("read", report.read_seconds),
        ] {
            if v > 0.0 {
                order.push(k.to_string());
                stage.insert(k.to_string(), v);
            }
        }
        for (i, (s, secs)) in report.results {
            let id = todo[i].id;
            rep.ran.push(id);
            rep.points += s.core_points;
            rep.chunk_seconds.push((id, secs));
            for (k, v) in s.stage_seconds {
                if !stage.contains_key(&k) {
                    order.push(k.clone());
                }
                *stage.entry(k).or_default() += v;
            }
        }
        rep.stage_seconds = order.into_iter().map(|k| (k.clone(), stage[&k])).collect();
        for f in report.failures {
            let id = todo[f.chunk_id].id;
            let msg = f.error.to_string().replacen(
                &format!("chunk {}", f.chunk_id),
                &format!("chunk {id}"),
                1,
            );
            rep.failures.push((id, msg));
        }
        Ok(rep)
    }

    /// Chunks not yet complete.
    pub fn missing(&self) -> Vec<usize> {
        self.all_chunks()
            .into_iter()
            .filter(|&id| self.manifest.completed(id).is_none())
            .collect()
    }

    /// Runs the reducers; every chunk must be complete.
    pub fn reduce(&self) -> Result<ReduceReport> {
        let missing = self.missing();
        if !missing.is_empty() {
            return Err(Error::data(
                format!("survey {}", self.survey.year),
                format!("{} chunk(s) not complete ({:?}…): run them (or `landcarbon plan --missing`) before merging", missing.len(), &missing[..missing.len().min(5)]),
            ));
        }
        let ids = self.all_chunks();
        let crs = &self.catalog.crs;
        let mut rep = ReduceReport::default();
        for name in ["dtm", "chm", "metrics"] {
            if let Some(p) = reduce::mosaic(&self.out, &ids, name, crs)? {
                rep.files.push(p);
            }
        }
        if let Some((p, n_trees)) = reduce::trees(&self.out, &ids)? {
            rep.trees = n_trees;
            rep.files.push(p);
        }
        let mut model = match &self.survey.model {
            Some(m) => Some((m.clone(), crate::biomass::model::ModelFile::read(m)?)),
            None => None,
        };
        let plots_file = || {
            self.survey
                .plots
                .as_ref()
                .map(|p| p.display().to_string())
                .unwrap_or_default()
        };
        if self.plots.is_none() {
            rep.skipped.push((
                "plot metrics and calibration".into(),
                "no field plots ([[run.surveys]] plots is not set)".into(),
            ));
        }
        if let Some(set) = &self.plots {
            let table = reduce::plot_table(&self.out, &ids, set)?;
            if table.is_none() {
                rep.skipped.push((
                    "calibration".into(),
                    format!("no plot of {} has metrics (plots outside the tiles, or the metrics stage is off)", plots_file()),
                ));
            } else if model.is_none() && self.survey.response.is_empty() {
                rep.skipped.push((
                    "calibration".into(),
                    "[[run.surveys]] response (the field column to model) is not set".into(),
                ));
            }
            if let Some((p, table)) = table {
                rep.plots_with_metrics = table.len();
                rep.files.push(p.clone());
                if model.is_none() && !self.survey.response.is_empty() {
                    let mut o = self.cfg.calibrate.clone();
                    o.response = self.survey.response.clone();
                    model = Some(reduce::calibrate(
                        &self.out,
                        &table,
                        &o,
                        &p.display().to_string(),
                    )?);
                }
            }
        }
        let metrics = self.out.join("metrics.tif");
        if let (Some((mp, m)), true) = (&model, metrics.exists()) {
            rep.model = Some(mp.clone());
            rep.model_summary = Some(m.summary());
            let params = Params::load(self.cfg.carbon.params.as_deref())?;
            let opts = CarbonOptions {
                class: self.cfg.carbon.class,
                zone: self.cfg.carbon.zone.clone(),
            };
            rep.carbon = Some(reduce::carbon(&self.out, &metrics, m, &params, &opts, crs)?);
        } else if model.is_none() {
            rep.skipped.push((
                "carbon density".into(),
                "no biomass model (give [[run.surveys]] model, or plots and response to calibrate one)".into(),
            ));
        } else {
            rep.skipped.push((
                "carbon density".into(),
                format!("no {} (the metrics stage is off)", metrics.display()),
            ));
        }
        Ok(rep)
    }
}

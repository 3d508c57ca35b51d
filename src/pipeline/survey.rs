//! One survey (one year of tiles) through the pipeline: open its catalog and plan its chunks,
//! run the per-chunk stages on a set of chunks (all, or one shard's) skipping those already
//! complete in the manifest, then the reducers once every chunk is complete.

use super::chunk::{self, ChunkContext};
use super::config::{Stages, Survey};
use super::key::{self, ChunkKey, Stale};
use super::manifest::{ChunkState, Manifest};
use super::reduce;
use crate::biomass::predict::CarbonOptions;
use crate::catalog::{self, Catalog, Chunk};
use crate::config::Config;
use crate::params::Params;
use crate::vector::{read_plots, PlotSet};
use crate::{Error, Result};
use rayon::prelude::*;
use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::Mutex;
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
    keys: KeyParts,
    /// Chunks checked complete (or recorded) by this process: the reducers do not hash them
    /// again.
    verified: Mutex<BTreeSet<usize>>,
}

/// What every chunk key of the survey is made of, computed once.
struct KeyParts {
    survey: String,
    /// Fingerprint per catalog tile.
    tiles: Vec<String>,
    /// Fingerprint of the field plots file ("" without plots).
    plots: String,
    /// Hash of the per-chunk stages' configuration.
    config: String,
}

/// The configuration the per-chunk stages read (and the parameters file: the allometry gives
/// each tree its DBH and AGB), hashed into every chunk key.
#[derive(serde::Serialize)]
struct StageConfig<'a> {
    chunk: &'a crate::catalog::ChunkOptions,
    stages: &'a Stages,
    ground: &'a crate::algo::ground::GroundConfig,
    dtm: &'a crate::algo::terrain::DtmOptions,
    vegetation: &'a crate::algo::vegetation::VegetationParams,
    chm: &'a crate::algo::canopy::ChmParams,
    trees: &'a crate::algo::trees::TreesParams,
    metrics: &'a crate::biomass::config::MetricsConfig,
    /// BLAKE3 of the parameters file, or "embedded".
    params: String,
}

impl KeyParts {
    fn new(cfg: &Config, survey: &Survey, stages: &Stages, catalog: &Catalog) -> Result<Self> {
        let tiles = catalog
            .tiles
            .par_iter()
            .map(|t| key::file_fingerprint(&t.path))
            .collect::<Result<Vec<_>>>()?;
        let plots = match &survey.plots {
            Some(p) => key::file_fingerprint(p)?,
            None => String::new(),
        };
        let params = match &cfg.carbon.params {
            Some(p) => key::hash_file(p)?,
            None => "embedded".to_string(),
        };
        let config = key::hash_json(&StageConfig {
            chunk: &cfg.chunk,
            stages,
            ground: &cfg.ground,
            dtm: &cfg.dtm,
            vegetation: &cfg.vegetation,
            chm: &cfg.chm,
            trees: &cfg.trees,
            metrics: &cfg.metrics,
            params,
        })?;
        Ok(KeyParts {
            survey: survey.year.to_string(),
            tiles,
            plots,
            config,
        })
    }

    fn key(&self, chunk: &Chunk) -> ChunkKey {
        let inputs = key::hash_parts(
            chunk
                .tiles
                .iter()
                .map(|&t| self.tiles[t].as_str())
                .chain([self.plots.as_str()]),
        );
        let rects = format!(
            "{:?} {:?} {:?} {:?}",
            chunk.core, chunk.buffered, chunk.own_tile, chunk.part
        );
        ChunkKey {
            version: env!("CARGO_PKG_VERSION").to_string(),
            survey: self.survey.clone(),
            inputs,
            config: key::hash_parts([self.config.as_str(), rects.as_str()]),
        }
    }
}

/// What the map phase did.
#[derive(Debug, Default)]
pub struct MapReport {
    pub ran: Vec<usize>,
    pub resumed: Vec<usize>,
    pub failures: Vec<(usize, String)>,
    /// Chunks that had a record but were recomputed, and why.
    pub recomputed: Vec<(usize, Stale)>,
    pub points: u64,
    pub chunk_seconds: Vec<(usize, f64)>,
    pub stage_seconds: Vec<(String, f64)>,
}

impl MapReport {
    /// "N chunks recomputed: 2 inputs changed, 1 config changed", or `None` when none was.
    pub fn recomputed_summary(&self) -> Option<String> {
        if self.recomputed.is_empty() {
            return None;
        }
        let mut by: std::collections::BTreeMap<Stale, usize> = Default::default();
        for (_, why) in &self.recomputed {
            *by.entry(*why).or_default() += 1;
        }
        let parts: Vec<String> = by
            .iter()
            .map(|(why, n)| format!("{n} {}", why.describe()))
            .collect();
        Some(format!(
            "{} chunk(s) recomputed: {}",
            self.recomputed.len(),
            parts.join(", ")
        ))
    }
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
        let keys = KeyParts::new(cfg, survey, stages, &catalog)?;
        Ok(SurveyRun {
            cfg,
            survey,
            stages,
            out,
            catalog,
            plan,
            plots,
            manifest,
            keys,
            verified: Mutex::new(BTreeSet::new()),
        })
    }

    /// The key chunk `chunk` of this survey is computed for now.
    pub fn key(&self, chunk: &Chunk) -> ChunkKey {
        self.keys.key(chunk)
    }

    /// Whether each chunk of `ids` can be reused (manifest record for the current key, content
    /// hashes checked), in parallel; chunks this process already verified count as complete.
    fn states(&self, ids: &[usize]) -> Result<Vec<(usize, Option<Stale>)>> {
        let verified = self.verified.lock().expect("verified set").clone();
        ids.par_iter()
            .map(|&id| {
                let c = self
                    .plan
                    .get(id)
                    .ok_or_else(|| Error::Config(format!("chunk {id} is not in the plan")))?;
                if verified.contains(&id) {
                    return Ok((id, None));
                }
                Ok(match self.manifest.check(id, &self.key(c)) {
                    ChunkState::Complete(_) => (id, None),
                    ChunkState::Stale(why) => (id, Some(why)),
                })
            })
            .collect()
    }

    fn mark_verified(&self, id: usize) {
        self.verified.lock().expect("verified set").insert(id);
    }

    /// Ids of every chunk of the plan.
    pub fn all_chunks(&self) -> Vec<usize> {
        self.plan.iter().map(|c| c.id).collect()
    }

    /// Runs the per-chunk stages on `ids`, skipping chunks already complete.
    pub fn map(&self, ids: &[usize], on_done: &(dyn Fn(usize, bool) + Sync)) -> Result<MapReport> {
        let mut rep = MapReport::default();
        let mut todo: Vec<Chunk> = Vec::new();
        for (id, state) in self.states(ids)? {
            match state {
                None => {
                    self.mark_verified(id);
                    rep.resumed.push(id);
                    on_done(id, true);
                }
                Some(why) => {
                    if why != Stale::Unrecorded {
                        rep.recomputed.push((id, why));
                    }
                    todo.push(self.plan[id].clone());
                }
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
        let cores: Vec<catalog::Rect> = self.plan.iter().map(|c| c.core).collect();
        let ctx = ChunkContext {
            cores: &cores,
            extent: self.catalog.extent(),
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
                // From scratch: no record, and no file of an earlier computation left for a
                // reducer to pick up.
                self.manifest.forget(real.id)?;
                let dir = chunk::chunk_dir(&self.out, real.id);
                if dir.exists() {
                    std::fs::remove_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
                }
                let s = match chunk::process(&ctx, real, cloud) {
                    Ok(s) => s,
                    Err(Error::Cancelled) => {
                        // Stopped between stages: its files are a part of the chunk, which
                        // has no manifest record; remove them now rather than at the resume.
                        let _ = std::fs::remove_dir_all(&dir);
                        return Err(Error::Cancelled);
                    }
                    Err(e) => return Err(e),
                };
                self.manifest.record(
                    real.id,
                    &self.key(real),
                    &s.files,
                    s.core_points,
                    s.stage_seconds.clone(),
                )?;
                self.mark_verified(real.id);
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

    /// Chunks not complete for the current key (never computed, stale or corrupt), and why.
    pub fn stale(&self) -> Result<Vec<(usize, Stale)>> {
        Ok(self
            .states(&self.all_chunks())?
            .into_iter()
            .filter_map(|(id, s)| s.map(|s| (id, s)))
            .collect())
    }

    /// Chunks not yet complete for the current key.
    pub fn missing(&self) -> Result<Vec<usize>> {
        Ok(self.stale()?.into_iter().map(|(id, _)| id).collect())
    }

    /// Runs the reducers; every chunk must be complete for the current key, with intact files.
    pub fn reduce(&self) -> Result<ReduceReport> {
        let stale = self.stale()?;
        if !stale.is_empty() {
            let first: Vec<String> = stale
                .iter()
                .take(5)
                .map(|(id, why)| format!("{id}: {}", why.describe()))
                .collect();
            return Err(Error::data(
                format!("survey {} ({})", self.survey.year, self.out.display()),
                format!("{} chunk(s) not complete ({}{}): run them (`landcarbon run`, or `landcarbon plan --missing`) before merging", stale.len(), first.join("; "), if stale.len() > 5 { "; …" } else { "" }),
            ));
        }
        let ids = self.all_chunks();
        let crs = &self.catalog.crs;
        let mut rep = ReduceReport::default();
        // The chunks are done: the engine's threads are GDAL's while the mosaics are written.
        let _gdal_threads = crate::raster::gdal_threads(self.cfg.engine.threads)?;
        for name in ["dtm", "chm", "metrics"] {
            if let Some(p) = reduce::mosaic(&self.out, &ids, name, crs, &self.catalog.extent())? {
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
            let bands =
                reduce::predictor_bands_from_chunks(&self.out, &ids, m, &self.catalog.extent())?;
            rep.carbon = Some(reduce::carbon(&self.out, &bands, m, &params, &opts, crs)?);
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

//! `landcarbon run`, `plan` and `merge`: the whole chain over one or two surveys, on one
//! machine or as a sharded job on a cluster.
//!
//! * `run CONFIG` — every chunk of every survey (skipping chunks already complete for the same
//!   inputs, configuration and version, with intact files; see `pipeline::key`), then the
//!   reducers (mosaics, trees, plot metrics, calibration, carbon density) and, when `[account]`
//!   names the patches, the accounting. Interrupted, the same command resumes.
//! * `run CONFIG --shard i/N` — only shard i's chunks (no reducers): one Slurm array task.
//!   With `--plan shards.json` the task runs exactly the chunks that manifest gives shard i
//!   (so a `plan --missing` manifest can be resubmitted); without it the shards are dealt again
//!   over every chunk, as `plan` without `--missing` deals them.
//! * `plan CONFIG --shards N` — the shard manifest (chunks balanced by points, the memory and
//!   CPUs a task needs); `--missing` plans only chunks not yet complete.
//! * `merge CONFIG` — the reducers and the accounting, once every shard is done.

use super::account;
use super::common::{progress, Common, Outcome};
use landcarbon::catalog::Chunk;
use landcarbon::config::Config;
use landcarbon::pipeline::survey::{MapReport, SurveyRun};
use landcarbon::pipeline::{self, LockMode, OutputLock, RunRecord};
use std::path::{Path, PathBuf};
use std::time::Instant;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Pipeline configuration (TOML with a [run] section).
    pub config: PathBuf,
    /// Output folder (overrides [run] output). An existing folder is resumed into: chunks
    /// whose inputs, configuration and version are unchanged (with intact files) are kept, the
    /// rest recomputed; reducer outputs are overwritten. One `run` at a time holds it (lock).
    #[arg(short, long)]
    pub output: Option<PathBuf>,
    /// Run only shard i of N (0-based), e.g. 3/16; the reducers are left to `merge`.
    #[arg(long)]
    pub shard: Option<String>,
    /// With --shard: take shard i's chunks from this shard manifest (written by `plan`) instead
    /// of dealing every chunk again. Needed after `plan --missing`, whose shards hold only the
    /// chunks still missing.
    #[arg(long, requires = "shard")]
    pub plan: Option<PathBuf>,
    /// Chunk side in metres (0 = one chunk per tile).
    #[arg(long)]
    pub chunk_size: Option<f64>,
    /// Buffer around each chunk in metres.
    #[arg(long)]
    pub buffer: Option<f64>,
    /// A tile with more points is cut automatically into buffered chunks of about this many
    /// points (0 = never; by-tile chunking only).
    #[arg(long)]
    pub max_chunk_points: Option<u64>,
    /// Stop starting new chunks after the first failure.
    #[arg(long)]
    pub stop_early: bool,
    /// Print the effective configuration (the file and flags over the defaults) as TOML and
    /// exit without running anything.
    #[arg(long)]
    pub print_config: bool,
}

#[derive(Debug, clap::Args)]
pub struct PlanArgs {
    /// Pipeline configuration.
    pub config: PathBuf,
    /// Number of shards (array tasks).
    #[arg(long, default_value_t = 1)]
    pub shards: usize,
    /// Plan only the chunks not yet complete (to resubmit failed tasks).
    #[arg(long)]
    pub missing: bool,
    /// Output folder (overrides [run] output).
    #[arg(long)]
    pub output_dir: Option<PathBuf>,
    /// Shard manifest to write (JSON).
    #[arg(short, long)]
    pub output: PathBuf,
}

#[derive(Debug, clap::Args)]
pub struct MergeArgs {
    /// Pipeline configuration.
    pub config: PathBuf,
    /// Output folder (overrides [run] output).
    #[arg(short, long)]
    pub output: Option<PathBuf>,
}

/// The configuration file with relative paths made relative to it and the flags applied.
fn load(c: &Common, path: &Path, output: Option<&PathBuf>) -> anyhow::Result<(Config, PathBuf)> {
    let cfg = effective(c, path, output)?;
    // Before the output folder is created or a point read.
    pipeline::validate::validate_run(&cfg, path)?;
    let out = cfg.run.output.clone().ok_or_else(|| {
        anyhow::anyhow!("{}: [run] output is not set (or give -o)", path.display())
    })?;
    if cfg.run.surveys.is_empty() {
        anyhow::bail!("{}: [run] has no [[run.surveys]]", path.display());
    }
    let mut cfg = cfg;
    cfg.run
        .check_surveys()
        .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    std::fs::create_dir_all(&out).map_err(|e| landcarbon::Error::io(&out, e))?;
    // Absolute, so that chunk files and the manifest name the same paths from any folder.
    let out = std::path::absolute(&out).map_err(|e| landcarbon::Error::io(&out, e))?;
    cfg.run.output = Some(out.clone());
    Ok((cfg, out))
}

/// The configuration file over the defaults, relative paths resolved, common flags applied.
fn effective(c: &Common, path: &Path, output: Option<&PathBuf>) -> anyhow::Result<Config> {
    let mut cfg = Config::from_file(path)?;
    let base = path.parent().unwrap_or(Path::new(".")).to_path_buf();
    cfg.run.resolve_relative(&base);
    cfg.account.resolve_relative(&base);
    if let Some(p) = &mut cfg.carbon.params {
        if p.is_relative() {
            *p = base.join(&*p);
        }
    }
    if let Some(t) = c.threads {
        cfg.threads = t;
    }
    cfg.engine.threads = cfg.threads;
    if let Some(o) = output {
        cfg.run.output = Some(o.clone());
    }
    Ok(cfg)
}

/// Applies the chunking flags of `run`.
fn apply_run_flags(cfg: &mut Config, a: &Args) {
    if let Some(v) = a.chunk_size {
        cfg.chunk.size_m = v;
    }
    if let Some(v) = a.buffer {
        cfg.chunk.buffer_m = v;
    }
    if let Some(v) = a.max_chunk_points {
        cfg.chunk.max_points = v;
    }
    if a.stop_early {
        cfg.engine.stop_early = true;
    }
}

fn open_surveys<'a>(cfg: &'a Config, out: &Path) -> anyhow::Result<Vec<SurveyRun<'a>>> {
    let mut v = Vec::new();
    for s in &cfg.run.surveys {
        v.push(SurveyRun::open(cfg, s, &cfg.run.stages, out)?);
    }
    Ok(v)
}

/// (survey index, chunk id) pairs.
type Keys = Vec<(usize, usize)>;

/// Every (survey, chunk) as one list of chunks for sharding; `id` = position in the list.
fn global_chunks(surveys: &[SurveyRun], only_missing: bool) -> anyhow::Result<(Vec<Chunk>, Keys)> {
    let mut chunks = Vec::new();
    let mut keys = Vec::new();
    for (si, s) in surveys.iter().enumerate() {
        let missing = only_missing.then(|| s.missing()).transpose()?;
        for c in &s.plan {
            if missing.as_ref().is_some_and(|m| !m.contains(&c.id)) {
                continue;
            }
            let mut g = c.clone();
            g.id = chunks.len();
            chunks.push(g);
            keys.push((si, c.id));
        }
    }
    Ok((chunks, keys))
}

/// The chunks (all of them, or only those still missing) dealt to shards balanced by points.
struct Dealt {
    shards: Vec<pipeline::Shard>,
    /// Per shard: its (survey, chunk) pairs.
    keyed: Vec<Vec<(usize, usize)>>,
    n_chunks: usize,
}

/// Deals the chunks to at most `n` shards.
fn deal(surveys: &[SurveyRun], n: usize, only_missing: bool) -> anyhow::Result<Dealt> {
    let (chunks, keys) = global_chunks(surveys, only_missing)?;
    let shards = pipeline::shards(&chunks, n.max(1).min(chunks.len().max(1)))?;
    let keyed = shards
        .iter()
        .map(|s| s.chunk_ids.iter().map(|&g| keys[g]).collect())
        .collect();
    Ok(Dealt {
        shards,
        keyed,
        n_chunks: chunks.len(),
    })
}

/// The shard manifest written by `plan`.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
pub struct ShardPlan {
    pub config: PathBuf,
    pub output: PathBuf,
    pub n_shards: usize,
    /// Chunks planned (all of them, or only those still missing with `--missing`).
    #[serde(default)]
    pub n_chunks: usize,
    /// Chunks per survey in the configuration's chunk plan, to refuse a shard manifest made for
    /// another chunking.
    #[serde(default)]
    pub survey_chunks: Vec<usize>,
    /// Per shard: (survey index, chunk id) pairs.
    pub shards: Vec<Vec<(usize, usize)>>,
    pub est_points: Vec<u64>,
    /// Suggested `--cpus-per-task` and `--mem` (MB) per array task.
    pub cpus_per_task: usize,
    pub mem_mb_per_task: u64,
}

/// Memory a task needs: its largest chunk with buffer per thread, plus a base. Measured with
/// `scripts/bench-county.sh --cells 32 --pulses 10` (chunks of up to ~0.67 M buffered points):
/// peak RSS 564 MB with 1 thread and 855 MB with 2, i.e. ≈ 430 bytes per buffered point per
/// thread (the points in columns are 60; the rest is the stages' working sets and the
/// allocator's per-thread arenas) on a base of ≈ 280 MB. Rounded up to 450 and 300.
fn mem_mb(largest_points: u64, threads: usize) -> u64 {
    300 + largest_points * 450 * threads as u64 / 1_000_000
}

pub fn plan(c: &Common, a: &PlanArgs) -> anyhow::Result<Outcome> {
    let (cfg, out) = load(c, &a.config, a.output_dir.as_ref())?;
    let surveys = open_surveys(&cfg, &out)?;
    let Dealt {
        shards,
        keyed,
        n_chunks,
    } = deal(&surveys, a.shards, a.missing)?;
    let cpus = if cfg.threads > 0 { cfg.threads } else { 4 };
    let largest = shards
        .iter()
        .map(|s| s.largest_chunk_points)
        .max()
        .unwrap_or(0);
    // The buffer adds points around the core: scale by the largest buffered/core area ratio.
    let grow = surveys
        .iter()
        .flat_map(|s| s.plan.iter())
        .map(|ch| {
            let a = |r: &[f64; 4]| (r[2] - r[0]) * (r[3] - r[1]);
            (a(&ch.buffered) / a(&ch.core).max(1.0)).min(4.0)
        })
        .fold(1.0f64, f64::max);
    let plan = ShardPlan {
        config: a.config.canonicalize().unwrap_or(a.config.clone()),
        output: out.clone(),
        n_shards: shards.len(),
        n_chunks,
        survey_chunks: surveys.iter().map(|s| s.plan.len()).collect(),
        shards: keyed,
        est_points: shards.iter().map(|s| s.est_points).collect(),
        cpus_per_task: cpus,
        mem_mb_per_task: mem_mb((largest as f64 * grow) as u64, cpus),
    };
    let text = serde_json::to_string_pretty(&plan)?;
    std::fs::write(&a.output, text).map_err(|e| landcarbon::Error::io(&a.output, e))?;
    if !c.quiet {
        eprintln!(
            "{} chunk(s){} in {} shard(s) → {} (suggested --cpus-per-task={} --mem={}M)",
            n_chunks,
            if a.missing { " still missing" } else { "" },
            plan.n_shards,
            a.output.display(),
            plan.cpus_per_task,
            plan.mem_mb_per_task
        );
    }
    Ok(Outcome::Complete)
}

/// Shard `i` of `n` as written by `plan` into `path`: its (survey, chunk) pairs, after checking
/// that the manifest was made for this configuration's chunking and output folder.
fn planned_shard(
    path: &Path,
    i: usize,
    n: usize,
    surveys: &[SurveyRun],
    out: &Path,
) -> anyhow::Result<Vec<(usize, usize)>> {
    let text = std::fs::read_to_string(path).map_err(|e| landcarbon::Error::io(path, e))?;
    let plan: ShardPlan = serde_json::from_str(&text)
        .map_err(|e| anyhow::anyhow!("{}: not a shard manifest: {e}", path.display()))?;
    if plan.n_shards != n || plan.shards.len() != n {
        anyhow::bail!(
            "{}: the plan has {} shard(s), --shard says {n}",
            path.display(),
            plan.n_shards
        );
    }
    if plan.output != out {
        anyhow::bail!(
            "{}: the plan was made for output {}, this run writes to {} (give the same -o)",
            path.display(),
            plan.output.display(),
            out.display()
        );
    }
    let now: Vec<usize> = surveys.iter().map(|s| s.plan.len()).collect();
    if !plan.survey_chunks.is_empty() && plan.survey_chunks != now {
        anyhow::bail!(
            "{}: the plan was made for {:?} chunk(s) per survey, the configuration now gives {:?}: run `landcarbon plan` again",
            path.display(),
            plan.survey_chunks,
            now
        );
    }
    let mine = plan.shards[i].clone();
    if let Some(&(s, c)) = mine
        .iter()
        .find(|&&(s, c)| s >= surveys.len() || c >= surveys[s].plan.len())
    {
        anyhow::bail!(
            "{}: shard {i} names chunk {c} of survey {s}, which the configuration does not have",
            path.display()
        );
    }
    Ok(mine)
}

fn map_all(
    c: &Common,
    surveys: &[SurveyRun],
    pick: &dyn Fn(usize) -> Vec<usize>,
) -> anyhow::Result<Vec<MapReport>> {
    let total: usize = (0..surveys.len()).map(|i| pick(i).len()).sum();
    let pb = progress(c, total as u64, "chunks");
    let mut reports = Vec::new();
    for (i, s) in surveys.iter().enumerate() {
        let ids = pick(i);
        reports.push(s.map(&ids, &|_, _| pb.inc(1))?);
    }
    pb.finish_and_clear();
    if !c.quiet {
        for (s, r) in surveys.iter().zip(&reports) {
            if let Some(line) = r.recomputed_summary() {
                eprintln!("survey {}: {line}", s.survey.year);
            }
        }
    }
    Ok(reports)
}

/// Takes the output folder's lock; exclusively, also removes the temporary files that
/// interrupted runs left behind.
fn hold(c: &Common, out: &Path, mode: LockMode) -> anyhow::Result<OutputLock> {
    let lock = OutputLock::acquire(out, mode)?;
    if mode == LockMode::Exclusive {
        let removed = pipeline::partial::remove_stale(out)?;
        if !removed.is_empty() && !c.quiet {
            eprintln!(
                "removed {} temporary file(s) left by an interrupted run",
                removed.len()
            );
        }
    }
    Ok(lock)
}

pub fn run(c: &Common, a: &Args) -> anyhow::Result<Outcome> {
    let started = Instant::now();
    if a.print_config {
        let mut cfg = effective(c, &a.config, a.output.as_ref())?;
        apply_run_flags(&mut cfg, a);
        let text = toml::to_string_pretty(&cfg)
            .map_err(|e| anyhow::anyhow!("{}: cannot print as TOML: {e}", a.config.display()))?;
        print!("{text}");
        return Ok(Outcome::Complete);
    }
    let (mut cfg, out) = load(c, &a.config, a.output.as_ref())?;
    apply_run_flags(&mut cfg, a);
    let shard = a.shard.as_deref().map(pipeline::parse_shard).transpose()?;
    // Shard tasks write one folder together; a whole run owns it.
    let mode = match shard {
        Some(_) => LockMode::Shared,
        None => LockMode::Exclusive,
    };
    let _lock = hold(c, &out, mode)?;
    let surveys = open_surveys(&cfg, &out)?;
    let reports = match shard {
        Some((i, n)) => {
            let mine = match &a.plan {
                Some(p) => planned_shard(p, i, n, &surveys, &out)?,
                None => deal(&surveys, n, false)?
                    .keyed
                    .get(i)
                    .cloned()
                    .unwrap_or_default(),
            };
            map_all(c, &surveys, &|si| {
                mine.iter().filter(|k| k.0 == si).map(|k| k.1).collect()
            })?
        }
        None => map_all(c, &surveys, &|si| surveys[si].all_chunks())?,
    };
    let failed: Vec<String> = reports
        .iter()
        .flat_map(|r| r.failures.iter().map(|(_, e)| e.clone()))
        .collect();
    for e in &failed {
        eprintln!("landcarbon: chunk failed: {e}");
    }
    let mut record = record_for(&cfg, &surveys, &reports, started)?;
    if let Some((i, n)) = shard {
        // One record per task; with --plan, per manifest too (a resubmission keeps the first).
        let name = match a.plan.as_ref().and_then(|p| p.file_stem()) {
            Some(stem) => format!("run-{}-{i}-of-{n}.json", stem.to_string_lossy()),
            None => format!("run-shard-{i}-of-{n}.json"),
        };
        record.write(&out.join(name))?;
        return Ok(if failed.is_empty() {
            Outcome::Complete
        } else {
            Outcome::Partial
        });
    }
    if !failed.is_empty() {
        record.write(&out.join("run.json"))?;
        eprintln!(
            "landcarbon: {} chunk(s) failed; fix them and run the same command again to resume",
            failed.len()
        );
        return Ok(Outcome::Partial);
    }
    let outcome = reduce_all(c, &cfg, &surveys, &out, &mut record)?;
    record.wall_seconds = started.elapsed().as_secs_f64();
    record.peak_rss_mb = pipeline::peak_rss_mb();
    record.write(&out.join("run.json"))?;
    Ok(outcome)
}

pub fn merge(c: &Common, a: &MergeArgs) -> anyhow::Result<Outcome> {
    let started = Instant::now();
    let (cfg, out) = load(c, &a.config, a.output.as_ref())?;
    let _lock = hold(c, &out, LockMode::Exclusive)?;
    let surveys = open_surveys(&cfg, &out)?;
    let mut record = record_for(&cfg, &surveys, &[], started)?;
    let outcome = reduce_all(c, &cfg, &surveys, &out, &mut record)?;
    record.wall_seconds = started.elapsed().as_secs_f64();
    record.peak_rss_mb = pipeline::peak_rss_mb();
    record.write(&out.join("run.json"))?;
    Ok(outcome)
}

fn record_for(
    cfg: &Config,
    surveys: &[SurveyRun],
    reports: &[MapReport],
    started: Instant,
) -> anyhow::Result<RunRecord> {
    let mut inputs = Vec::new();
    for s in surveys {
        let paths: Vec<PathBuf> = s.catalog.tiles.iter().map(|t| t.path.clone()).collect();
        inputs.extend(pipeline::hash_inputs(&paths)?);
    }
    let mut stage: Vec<(String, f64)> = Vec::new();
    for r in reports {
        for (k, v) in &r.stage_seconds {
            match stage.iter_mut().find(|(n, _)| n == k) {
                Some(e) => e.1 += v,
                None => stage.push((k.clone(), *v)),
            }
        }
    }
    Ok(RunRecord {
        version: env!("CARGO_PKG_VERSION").to_string(),
        command: std::env::args().collect(),
        config: serde_json::to_value(cfg)?,
        inputs,
        chunks_total: surveys.iter().map(|s| s.plan.len()).sum(),
        chunks_run: reports.iter().map(|r| r.ran.len()).sum(),
        chunks_resumed: reports.iter().map(|r| r.resumed.len()).sum(),
        chunks_recomputed: reports.iter().map(|r| r.recomputed.len()).sum(),
        recomputed: surveys
            .iter()
            .zip(reports)
            .flat_map(|(s, r)| {
                r.recomputed
                    .iter()
                    .map(|(id, why)| (s.survey.year, *id, why.describe().to_string()))
            })
            .collect(),
        points: reports.iter().map(|r| r.points).sum(),
        stage_seconds: stage,
        chunk_seconds: reports
            .iter()
            .flat_map(|r| r.chunk_seconds.clone())
            .collect(),
        wall_seconds: started.elapsed().as_secs_f64(),
        threads: rayon::current_num_threads(),
        peak_rss_mb: pipeline::peak_rss_mb(),
        failures: reports
            .iter()
            .flat_map(|r| {
                r.failures
                    .iter()
                    .map(|(id, e)| pipeline::record::FailureRecord {
                        chunk_id: *id,
                        error: e.clone(),
                    })
            })
            .collect(),
    })
}

fn reduce_all(
    c: &Common,
    cfg: &Config,
    surveys: &[SurveyRun],
    out: &Path,
    record: &mut RunRecord,
) -> anyhow::Result<Outcome> {
    let mut carbon_dirs: Vec<(i32, PathBuf)> = Vec::new();
    for s in surveys {
        // An embedder's cancellation (Python's Ctrl-C) stops between reducers; the command
        // line has no job and runs on.
        landcarbon::job::check()?;
        let t0 = Instant::now();
        let rep = s.reduce()?;
        record.stage_seconds.push((
            format!("reduce {}", s.survey.year),
            t0.elapsed().as_secs_f64(),
        ));
        if !c.quiet {
            eprintln!(
                "survey {}: {} chunks, {} trees, {} plots with metrics{}",
                s.survey.year,
                s.plan.len(),
                rep.trees,
                rep.plots_with_metrics,
                rep.carbon
                    .as_ref()
                    .map(|p| format!(", carbon density in {}", p.display()))
                    .unwrap_or_default()
            );
        }
        if !c.quiet {
            for (stage, why) in &rep.skipped {
                eprintln!("survey {}: {stage} not run: {why}", s.survey.year);
            }
        }
        if let Some(d) = rep.carbon {
            carbon_dirs.push((s.survey.year, d));
        }
    }
    let mut acc = cfg.account.clone();
    if acc.patches_t1.is_none() || acc.patches_t2.is_none() {
        if !c.quiet {
            eprintln!("accounting not run: [account] patches_t1 and patches_t2 are not both set");
        }
        return Ok(Outcome::Complete);
    }
    // Years and density folders from the surveys, unless the [account] section sets them.
    let mut years: Vec<i32> = surveys.iter().map(|s| s.survey.year).collect();
    years.sort();
    if acc.year_t1.is_none() {
        acc.year_t1 = years.first().copied();
    }
    if acc.year_t2.is_none() {
        acc.year_t2 = years.last().copied();
    }
    for (year, dir) in &carbon_dirs {
        let slot = if Some(*year) == acc.year_t1 {
            &mut acc.t1
        } else if Some(*year) == acc.year_t2 {
            &mut acc.t2
        } else {
            continue;
        };
        if !slot.lidar.is_set() {
            slot.lidar.dir = Some(dir.clone());
        }
    }
    if acc.out.is_none() {
        acc.out = Some(out.join("account"));
    }
    if acc.params.is_none() {
        acc.params = cfg.carbon.params.clone();
    }
    landcarbon::job::check()?;
    let t0 = Instant::now();
    let o = account::run_config(c, acc, t0)?;
    record
        .stage_seconds
        .push(("account".into(), t0.elapsed().as_secs_f64()));
    Ok(o)
}

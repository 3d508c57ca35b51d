//! `landcarbon._native`: the Python extension module behind the `landcarbon` package.
//!
//! Point clouds stay in Rust: [`PyPointCloud`] is frozen (never changed after it is made), so
//! its columns can be handed to Python as read-only numpy arrays that borrow the Rust buffers
//! (no copy; the array keeps the cloud alive). Stages that change points return a new cloud.
//!
//! Every stage reuses the command-line layer: `src/cli` is compiled into this module, keyword
//! arguments are mapped onto the subcommand's flags (same names, same defaults, same checks),
//! and the in-memory stages (`ground`, `normalize`) take their configuration from the same
//! resolution code as the CLI. Errors raise `LandcarbonError` with the CLI's message.
//! Long work runs on a worker thread with the GIL released, inside a cancellable job; the
//! calling thread polls Python's signal handlers and the job's progress, and Ctrl-C cancels
//! the work and waits for it to stop before raising (see [`run_detached`]).

#[allow(dead_code, unused_imports, clippy::all)]
#[path = "../../src/cli/mod.rs"]
mod cli;

use landcarbon::job::{Job, Progress};
use landcarbon::points::{self, PointCloud};
use pyo3::create_exception;
use pyo3::exceptions::PyException;
use pyo3::prelude::*;
use pyo3::sync::GILOnceCell;
use pyo3::types::{PyBytes, PyDict, PyList, PyTuple};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::RecvTimeoutError;
use std::time::Duration;

create_exception!(
    _native,
    LandcarbonError,
    PyException,
    "An error of landcarbon, with the same message (file and fault) as the command line's."
);

fn err(e: &(dyn std::error::Error + 'static)) -> PyErr {
    LandcarbonError::new_err(cli::error_chain(e))
}

fn anyhow_err(e: anyhow::Error) -> PyErr {
    err(e.as_ref())
}

/// Worker threads of this module still running (see [`_active_jobs`]).
static ACTIVE: AtomicUsize = AtomicUsize::new(0);

/// Counts a worker thread from before it is started until its work has returned (or
/// panicked), so that `_active_jobs()` is 0 only once no work of this module runs.
struct Active;

impl Active {
    fn new() -> Active {
        ACTIVE.fetch_add(1, Ordering::SeqCst);
        Active
    }
}

impl Drop for Active {
    fn drop(&mut self) {
        ACTIVE.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Progress display of a call: `progress(label, done, total, points)` from the polling
/// thread; `watched` says whether the Python layer shows progress (the CLI code then draws no
/// terminal bar of its own).
struct Watch<'a, 'py> {
    callback: Option<&'a Bound<'py, PyAny>>,
    watched: bool,
}

impl Watch<'_, '_> {
    /// Calls not shown to Python: the CLI code keeps its own bar (the console script).
    fn none() -> Self {
        Watch {
            callback: None,
            watched: false,
        }
    }
    /// In-memory stages: nothing to show, no terminal bar.
    fn quiet() -> Self {
        Watch {
            callback: None,
            watched: true,
        }
    }
}

/// Runs `f` on a worker thread with the GIL released, inside a [`Job`] that the library's
/// long loops check. The calling thread polls every 100 ms: it delivers the job's progress to
/// the callback (so Python code runs on the thread holding the GIL) and runs Python's signal
/// handlers. When they raise (Ctrl-C: KeyboardInterrupt), or the callback does, the job is
/// cancelled and the worker joined before the exception is raised: the work stops at its next
/// check (between chunks, between a chunk's stages) and nothing more is written. A second
/// Ctrl-C while waiting raises at once and leaves the worker to stop on its own.
fn run_detached<T, F>(py: Python<'_>, watch: Watch<'_, '_>, f: F) -> PyResult<T>
where
    T: Send + 'static,
    F: FnOnce() -> T + Send + 'static,
{
    let job = if watch.watched {
        Job::watched()
    } else {
        Job::new()
    };
    let (tx, rx) = std::sync::mpsc::channel();
    let active = Active::new();
    let worker_job = job.clone();
    std::thread::Builder::new()
        .name("landcarbon".into())
        .spawn(move || {
            let v = {
                let _entered = worker_job.enter();
                f()
            };
            drop(active);
            let _ = tx.send(v);
        })
        .map_err(|e| LandcarbonError::new_err(format!("cannot start a worker thread: {e}")))?;
    // The receiver is only used by this thread; the mutex makes it shareable with
    // `allow_threads`'s closure.
    let rx = std::sync::Mutex::new(rx);
    let recv = |py: Python<'_>| {
        py.allow_threads(|| {
            let rx = rx.lock().unwrap_or_else(|e| e.into_inner());
            rx.recv_timeout(Duration::from_millis(100))
        })
    };
    let mut shown = Progress::default();
    let mut show = |job: &Job| -> PyResult<()> {
        let Some(cb) = watch.callback else {
            return Ok(());
        };
        let p = job.progress();
        if p.stage == 0 || p == shown {
            return Ok(());
        }
        cb.call1((p.label.as_str(), p.done, p.total, p.points))?;
        shown = p;
        Ok(())
    };
    loop {
        match recv(py) {
            Ok(v) => {
                // The last counts (the stage's total), which the last poll may have missed.
                show(&job)?;
                return Ok(v);
            }
            Err(RecvTimeoutError::Timeout) => {
                if let Err(e) = py.check_signals().and_then(|_| show(&job)) {
                    job.cancel();
                    loop {
                        match recv(py) {
                            Ok(_) | Err(RecvTimeoutError::Disconnected) => return Err(e),
                            Err(RecvTimeoutError::Timeout) => py.check_signals()?,
                        }
                    }
                }
            }
            Err(RecvTimeoutError::Disconnected) => {
                return Err(LandcarbonError::new_err("the worker thread panicked"))
            }
        }
    }
}

/// How many calls of this module have work running on a worker thread (0 once an
/// interrupted call has raised: the interrupted work was stopped, not left running).
#[pyfunction]
fn _active_jobs() -> usize {
    ACTIVE.load(Ordering::SeqCst)
}

/// A point cloud: LAS/LAZ points column by column, with the CRS and extra bytes of its file.
///
/// Columns are read-only numpy arrays that share memory with the cloud (no copy). Functions
/// that change points (`ground`, `normalize`) return a new cloud.
#[pyclass(frozen, module = "landcarbon._native", name = "PointCloud")]
pub struct PyPointCloud {
    inner: PointCloud,
}

/// Element types that can be shown to numpy, with their array-interface type string.
trait Element: Copy + Send + Sync + 'static {
    const TYPESTR: &'static str;
}
impl Element for f64 {
    const TYPESTR: &'static str = "<f8";
}
impl Element for f32 {
    const TYPESTR: &'static str = "<f4";
}
impl Element for u16 {
    const TYPESTR: &'static str = "<u2";
}
impl Element for u8 {
    const TYPESTR: &'static str = "|u1";
}

/// A read-only window on memory that some Python object keeps alive, shown to numpy through
/// the array interface (`numpy.asarray` wraps it without copying and holds it as the array's
/// base, so the owner lives as long as any array on it).
#[pyclass(frozen, module = "landcarbon._native")]
struct Column {
    /// Keeps the memory alive (a frozen point cloud or a [`Buffer`]).
    _owner: Py<PyAny>,
    address: usize,
    shape: Vec<usize>,
    typestr: &'static str,
}

#[pymethods]
impl Column {
    #[getter]
    fn __array_interface__<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let d = PyDict::new(py);
        d.set_item("version", 3)?;
        d.set_item("shape", PyTuple::new(py, &self.shape)?)?;
        d.set_item("typestr", self.typestr)?;
        // (address, read-only): numpy marks the array not writeable.
        d.set_item("data", (self.address, true))?;
        Ok(d)
    }
}

/// Memory owned by Rust for an array handed to Python (raster bands).
#[pyclass(frozen, module = "landcarbon._native")]
struct Buffer {
    data: Vec<f64>,
}

static ASARRAY: GILOnceCell<Py<PyAny>> = GILOnceCell::new();

/// A read-only numpy array of `shape` over `v`, which `owner` keeps alive and unchanged.
fn array<'py, T: Element>(
    py: Python<'py>,
    owner: Py<PyAny>,
    v: &[T],
    shape: Vec<usize>,
) -> PyResult<Bound<'py, PyAny>> {
    debug_assert_eq!(
        shape.iter().product::<usize>() * std::mem::size_of::<T>(),
        std::mem::size_of_val(v)
    );
    let asarray = ASARRAY.get_or_try_init(py, || -> PyResult<Py<PyAny>> {
        Ok(py.import("numpy")?.getattr("asarray")?.unbind())
    })?;
    let col = Column {
        _owner: owner,
        // An empty Vec's dangling pointer is aligned and never read (zero elements).
        address: v.as_ptr() as usize,
        shape,
        typestr: T::TYPESTR,
    };
    asarray.bind(py).call1((Bound::new(py, col)?,))
}

/// A 1-D column of a frozen cloud: the cloud is never changed, so `v` stays where it is
/// while any array on it lives.
fn view<'py, T: Element>(owner: &Bound<'py, PyPointCloud>, v: &[T]) -> PyResult<Bound<'py, PyAny>> {
    array(
        owner.py(),
        owner.clone().into_any().unbind(),
        v,
        vec![v.len()],
    )
}

#[pymethods]
impl PyPointCloud {
    fn __len__(&self) -> usize {
        self.inner.len()
    }

    fn __repr__(&self) -> String {
        let c = &self.inner;
        format!(
            "PointCloud({} points, format {}, CRS {}{})",
            c.len(),
            c.meta.format_id(),
            c.meta.crs.describe(),
            c.meta
                .path
                .as_ref()
                .map(|p| format!(", from {}", p.display()))
                .unwrap_or_default()
        )
    }

    /// X coordinates (CRS units), float64, shared with the cloud.
    #[getter]
    fn x<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, PyAny>> {
        view(slf, &slf.get().inner.x)
    }
    /// Y coordinates (CRS units), float64, shared with the cloud.
    #[getter]
    fn y<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, PyAny>> {
        view(slf, &slf.get().inner.y)
    }
    /// Z coordinates (CRS units; height above ground after `normalize`), float64.
    #[getter]
    fn z<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, PyAny>> {
        view(slf, &slf.get().inner.z)
    }
    /// Intensity, uint16.
    #[getter]
    fn intensity<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, PyAny>> {
        view(slf, &slf.get().inner.intensity)
    }
    /// Return number (1-based), uint8.
    #[getter]
    fn return_number<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, PyAny>> {
        view(slf, &slf.get().inner.return_number)
    }
    /// Number of returns of the pulse, uint8.
    #[getter]
    fn number_of_returns<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, PyAny>> {
        view(slf, &slf.get().inner.number_of_returns)
    }
    /// ASPRS classification, uint8 (2 ground, 7 noise, ...).
    #[getter]
    fn classification<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, PyAny>> {
        view(slf, &slf.get().inner.classification)
    }
    /// Synthetic / key-point / withheld / overlap / scan-direction / edge bits, uint8.
    #[getter]
    fn flags<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, PyAny>> {
        view(slf, &slf.get().inner.flags)
    }
    /// Scanner channel (formats 6-10), uint8.
    #[getter]
    fn scanner_channel<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, PyAny>> {
        view(slf, &slf.get().inner.scanner_channel)
    }
    /// Scan angle in degrees, float32.
    #[getter]
    fn scan_angle_deg<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, PyAny>> {
        view(slf, &slf.get().inner.scan_angle_deg)
    }
    /// User data, uint8.
    #[getter]
    fn user_data<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, PyAny>> {
        view(slf, &slf.get().inner.user_data)
    }
    /// Point source id (flight line), uint16.
    #[getter]
    fn point_source_id<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, PyAny>> {
        view(slf, &slf.get().inner.point_source_id)
    }
    /// GPS time, float64, or None when the point format has none.
    #[getter]
    fn gps_time<'py>(slf: &Bound<'py, Self>) -> PyResult<Option<Bound<'py, PyAny>>> {
        slf.get()
            .inner
            .gps_time
            .as_ref()
            .map(|v| view(slf, v))
            .transpose()
    }
    /// Near-infrared, uint16, or None.
    #[getter]
    fn nir<'py>(slf: &Bound<'py, Self>) -> PyResult<Option<Bound<'py, PyAny>>> {
        slf.get()
            .inner
            .nir
            .as_ref()
            .map(|v| view(slf, v))
            .transpose()
    }
    /// Red, green, blue as an (n, 3) uint16 array, or None.
    #[getter]
    fn rgb<'py>(slf: &Bound<'py, Self>) -> PyResult<Option<Bound<'py, PyAny>>> {
        let Some(v) = slf.get().inner.rgb.as_ref() else {
            return Ok(None);
        };
        let owner = slf.clone().into_any().unbind();
        array(slf.py(), owner, v.as_flattened(), vec![v.len(), 3]).map(Some)
    }
    /// The raw extra bytes, an (n, record_len) uint8 array shared with the cloud.
    #[getter]
    fn extra_bytes<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, PyAny>> {
        let e = &slf.get().inner.extra;
        let n = slf.get().inner.len();
        let owner = slf.clone().into_any().unbind();
        array(
            slf.py(),
            owner,
            &e.data[..n * e.record_len],
            vec![n, e.record_len],
        )
    }
    /// Names of the described extra-bytes dimensions, in file order.
    #[getter]
    fn extra_dims(&self) -> Vec<String> {
        self.inner
            .extra
            .dims
            .iter()
            .map(|d| d.name.clone())
            .collect()
    }
    /// One extra-bytes dimension as float64 (scale and offset applied; a new array).
    fn extra(&self, name: &str) -> PyResult<Vec<f64>> {
        self.inner.extra.get_f64(name).ok_or_else(|| {
            LandcarbonError::new_err(format!(
                "no extra-bytes dimension '{name}' (the cloud has: {})",
                self.extra_dims().join(", ")
            ))
        })
    }
    /// EPSG code of the CRS, or None.
    #[getter]
    fn epsg(&self) -> Option<u32> {
        self.inner.meta.crs.epsg
    }
    /// WKT of the CRS when the file carried one, else None.
    #[getter]
    fn wkt(&self) -> Option<String> {
        self.inner.meta.crs.wkt.clone()
    }
    /// The CRS as a string for GDAL/pyproj/rasterio (`EPSG:n` or WKT), or None when unknown.
    #[getter]
    fn crs(&self) -> Option<String> {
        self.inner.meta.crs.gdal_definition()
    }
    /// LAS version ("1.4") and point format id.
    #[getter]
    fn version(&self) -> String {
        self.inner.meta.version()
    }
    #[getter]
    fn point_format(&self) -> u8 {
        self.inner.meta.format_id()
    }
    /// The file the points were read from, or None.
    #[getter]
    fn path(&self) -> Option<PathBuf> {
        self.inner.meta.path.clone()
    }
    /// (xmin, ymin, zmin, xmax, ymax, zmax) of the points, or None when empty.
    #[getter]
    fn bounds(&self) -> Option<(f64, f64, f64, f64, f64, f64)> {
        let c = &self.inner;
        if c.is_empty() {
            return None;
        }
        let mm = |v: &[f64]| {
            v.iter()
                .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &x| {
                    (a.min(x), b.max(x))
                })
        };
        let (x0, x1) = mm(&c.x);
        let (y0, y1) = mm(&c.y);
        let (z0, z1) = mm(&c.z);
        Some((x0, y0, z0, x1, y1, z1))
    }
    /// A new cloud with the given classification (uint8, one per point); the rest is shared
    /// by value (copied once).
    fn with_classification(&self, classification: &Bound<'_, PyBytes>) -> PyResult<PyPointCloud> {
        let cls = classification.as_bytes();
        if cls.len() != self.inner.len() {
            return Err(LandcarbonError::new_err(format!(
                "classification has {} values for {} points",
                cls.len(),
                self.inner.len()
            )));
        }
        let mut inner = self.inner.clone();
        inner.classification.copy_from_slice(cls);
        Ok(PyPointCloud { inner })
    }
}

/// Reads LAS/LAZ files (paths, folders or glob patterns) into one cloud; with `bounds`
/// (xmin, ymin, xmax, ymax) only the points inside (edges included) are kept.
#[pyfunction]
#[pyo3(signature = (inputs, bounds=None))]
fn read(py: Python<'_>, inputs: Vec<String>, bounds: Option<[f64; 4]>) -> PyResult<PyPointCloud> {
    let inner = run_detached(py, Watch::quiet(), move || read_all(&inputs, bounds))?
        .map_err(|e| err(&e))?;
    Ok(PyPointCloud { inner })
}

fn read_all(inputs: &[String], bounds: Option<[f64; 4]>) -> landcarbon::Result<PointCloud> {
    let paths = landcarbon::catalog::index::expand_inputs(inputs)?;
    let mut out: Option<PointCloud> = None;
    for p in &paths {
        landcarbon::job::check()?;
        let cloud = match bounds {
            None => points::read(p)?,
            Some([x0, y0, x1, y1]) => points::read_filtered(p, &mut |x, y| {
                (x >= x0 && x <= x1 && y >= y0 && y <= y1).then_some(false)
            })?,
        };
        match &mut out {
            None => out = Some(cloud),
            Some(o) => o
                .append(&cloud)
                .map_err(|e| landcarbon::Error::data(p.display().to_string(), e.to_string()))?,
        }
    }
    out.ok_or_else(|| landcarbon::Error::data("inputs", "no LAS/LAZ file in the inputs"))
}

/// Writes the cloud to a LAS or LAZ file (by extension), keeping every attribute.
#[pyfunction]
fn write(py: Python<'_>, cloud: Py<PyPointCloud>, path: PathBuf) -> PyResult<()> {
    run_detached(py, Watch::quiet(), move || {
        points::write(&cloud.get().inner, &path)
    })?
    .map_err(|e| err(&e))
}

/// The flags of `landcarbon <command>` for keyword arguments: `name=value` → `--name value`
/// (underscores become dashes), switches for `True`, lists joined with commas; `None` is left
/// out so the CLI's default applies. Unknown names are errors listing the accepted ones.
#[pyfunction]
fn flags(command: &str, kwargs: &Bound<'_, PyDict>) -> PyResult<Vec<String>> {
    let root = cli::command();
    let sub = root
        .get_subcommands()
        .find(|s| s.get_name() == command)
        .ok_or_else(|| LandcarbonError::new_err(format!("no command '{command}'")))?;
    let args: Vec<&clap::Arg> = sub.get_arguments().chain(root.get_arguments()).collect();
    let mut out = Vec::new();
    for (k, v) in kwargs.iter() {
        let key: String = k.extract()?;
        if v.is_none() {
            continue;
        }
        let long = key.replace('_', "-");
        let Some(arg) = args.iter().find(|a| a.get_long() == Some(long.as_str())) else {
            let mut names: Vec<String> = args
                .iter()
                .filter_map(|a| a.get_long())
                .filter(|l| *l != "help" && *l != "version")
                .map(|l| l.replace('-', "_"))
                .collect();
            names.sort();
            return Err(LandcarbonError::new_err(format!(
                "{command}: unknown parameter '{key}'; accepted: {}",
                names.join(", ")
            )));
        };
        let flag = format!("--{long}");
        let is_switch = matches!(
            arg.get_action(),
            clap::ArgAction::SetTrue | clap::ArgAction::Count
        );
        if is_switch {
            if v.extract::<bool>()? {
                out.push(flag);
            }
            continue;
        }
        let value = if let Ok(b) = v.extract::<bool>() {
            b.to_string()
        } else if let Ok(l) = v.downcast::<PyList>() {
            l.iter()
                .map(|x| x.str().map(|s| s.to_string()))
                .collect::<PyResult<Vec<_>>>()?
                .join(",")
        } else if let Ok(t) = v.downcast::<PyTuple>() {
            t.iter()
                .map(|x| x.str().map(|s| s.to_string()))
                .collect::<PyResult<Vec<_>>>()?
                .join(",")
        } else {
            // os.PathLike → its path; everything else → str().
            let os = py_fspath(&v).unwrap_or(v.clone());
            os.str()?.to_string()
        };
        out.push(flag);
        out.push(value);
    }
    Ok(out)
}

fn py_fspath<'py>(v: &Bound<'py, PyAny>) -> Option<Bound<'py, PyAny>> {
    if v.hasattr("__fspath__").ok()? {
        v.call_method0("__fspath__").ok()
    } else {
        None
    }
}

/// Runs `landcarbon ARGS...` in this process (no program name), with the GIL released.
/// Returns 0 when complete, 1 when some inputs or chunks failed (reported on stderr as the CLI
/// does); raises LandcarbonError with the CLI's message on a fatal error and on bad flags.
/// `progress(label, done, total, points)` is called from this thread as steps (chunks, tiles)
/// complete; the command draws no terminal bar of its own.
#[pyfunction]
#[pyo3(name = "cli", signature = (args, progress=None))]
fn run_cli(py: Python<'_>, args: Vec<String>, progress: Option<Bound<'_, PyAny>>) -> PyResult<i32> {
    let parsed = cli::parse_from(std::iter::once("landcarbon".to_string()).chain(args))
        .map_err(|e| LandcarbonError::new_err(e.to_string().trim_end().to_string()))?;
    cli::init_logging(&parsed.common);
    let watch = Watch {
        callback: progress.as_ref(),
        watched: true,
    };
    match run_detached(py, watch, move || {
        cli::dispatch(&parsed).map_err(|e| cli::error_chain(e.as_ref()))
    })? {
        Ok(cli::Outcome::Complete) => Ok(0),
        Ok(cli::Outcome::Partial) => Ok(1),
        Err(msg) => Err(LandcarbonError::new_err(msg)),
    }
}

/// The `landcarbon` console script: the CLI's own main on `argv` (program name first);
/// returns the exit code (0 complete, 1 partial, 2 error; clap's codes for bad flags, help).
#[pyfunction]
#[pyo3(name = "main")]
fn console_main(py: Python<'_>, argv: Vec<String>) -> PyResult<i32> {
    let parsed = match cli::parse_from(argv) {
        Ok(p) => p,
        Err(e) => {
            let _ = e.print();
            return Ok(e.exit_code());
        }
    };
    run_detached(py, Watch::none(), move || cli::main(parsed))
}

/// Parses a `landcarbon <command>` line whose stage runs in memory (inputs and output are
/// placeholders the resolution code never opens).
fn parse_stage(command: &str, args: Vec<String>) -> PyResult<cli::Cli> {
    let argv = ["landcarbon", command, "<cloud>", "-o", "<memory>.laz"]
        .into_iter()
        .map(String::from)
        .chain(args);
    cli::parse_from(argv)
        .map_err(|e| LandcarbonError::new_err(e.to_string().trim_end().to_string()))
}

/// Classifies ground (2), noise (7) and the rest (1) in memory, exactly as `landcarbon ground`
/// does on one tile; `args` are its flags. Returns the new cloud and the filter's report.
#[pyfunction]
fn ground(
    py: Python<'_>,
    cloud: Py<PyPointCloud>,
    args: Vec<String>,
) -> PyResult<(PyPointCloud, Py<PyDict>)> {
    let parsed = parse_stage("ground", args)?;
    let cfg = cli::ground_config(&parsed).map_err(anyhow_err)?;
    let (inner, rep) = run_detached(py, Watch::quiet(), move || {
        let mut c = cloud.get().inner.clone();
        let r = landcarbon::algo::ground::classify_ground(&mut c, &cfg);
        r.map(|r| (c, r))
    })?
    .map_err(|e| err(&e))?;
    let d = PyDict::new(py);
    d.set_item("method", rep.method.to_string())?;
    d.set_item("n_points", rep.n_points)?;
    d.set_item("n_candidates", rep.n_candidates)?;
    d.set_item("n_ground", rep.n_ground)?;
    d.set_item("n_noise", rep.n_noise)?;
    d.set_item("filter_s", rep.filter_s)?;
    Ok((PyPointCloud { inner }, d.unbind()))
}

/// Heights above ground in memory, as `landcarbon normalize` does on one tile: from the
/// cloud's own ground points (TIN by default) or `--dtm`; as Z or as the extra-bytes dimension
/// `HeightAboveGround` (`as_extra_bytes`). Returns the new cloud.
#[pyfunction]
fn normalize(py: Python<'_>, cloud: Py<PyPointCloud>, args: Vec<String>) -> PyResult<PyPointCloud> {
    use landcarbon::algo::terrain::{self, GroundReference, GroundSurface};
    let parsed = parse_stage("normalize", args)?;
    let opts = cli::normalize_options(&parsed).map_err(anyhow_err)?;
    let inner = run_detached(py, Watch::quiet(), move || -> anyhow::Result<PointCloud> {
        let mut c = cloud.get().inner.clone();
        let method = opts.method();
        match &opts.dtm {
            Some(p) => {
                let r = landcarbon::raster::read_geotiff(p, 1)?;
                terrain::normalize(&mut c, &GroundReference::Raster(&r), opts.output(), opts.drop_unnormalized)?;
            }
            None => {
                let mask = terrain::ground_mask(&c, &opts.ground_classes);
                if !mask.iter().any(|g| *g) {
                    anyhow::bail!(
                        "normalize: no ground point of classes {:?} in the cloud: classify ground first (landcarbon.ground), set ground_classes, or give dtm",
                        opts.ground_classes
                    );
                }
                let s = GroundSurface::from_cloud(&c, &mask, &method)?;
                terrain::normalize(&mut c, &GroundReference::Surface(&s), opts.output(), opts.drop_unnormalized)?;
            }
        }
        Ok(c)
    })?
    .map_err(anyhow_err)?;
    Ok(PyPointCloud { inner })
}

/// Reads every band of a GeoTIFF: (list of (band name, float64 2-D array)), geotransform,
/// CRS (`EPSG:n` or WKT, or None), nodata). The arrays are read-only views of Rust memory.
#[pyfunction]
#[allow(clippy::type_complexity)]
fn read_raster<'py>(
    py: Python<'py>,
    path: PathBuf,
) -> PyResult<(
    Vec<(String, Bound<'py, PyAny>)>,
    [f64; 6],
    Option<String>,
    Option<f64>,
)> {
    let p = path.clone();
    let (bands, gt, crs, nodata) =
        run_detached(py, Watch::quiet(), move || read_bands(&p))?.map_err(|e| err(&e))?;
    let mut arrays = Vec::with_capacity(bands.len());
    for (name, a) in bands {
        let shape = vec![a.nrows(), a.ncols()];
        // Row-major (standard layout) data, as GDAL reads it.
        let data = if a.is_standard_layout() {
            a.into_raw_vec_and_offset().0
        } else {
            a.iter().copied().collect()
        };
        let buf = Bound::new(py, Buffer { data })?;
        let arr = array(py, buf.clone().into_any().unbind(), &buf.get().data, shape)?;
        arrays.push((name, arr));
    }
    Ok((arrays, gt, crs, nodata))
}

#[allow(clippy::type_complexity)]
fn read_bands(
    path: &Path,
) -> landcarbon::Result<(
    Vec<(String, ndarray::Array2<f64>)>,
    [f64; 6],
    Option<String>,
    Option<f64>,
)> {
    // The grid checks of the library's reader (north-up, square cells), on band 1.
    let mut first = landcarbon::raster::read_geotiff(path, 1)?;
    let gt = first.grid.geotransform();
    let (nrows, ncols) = first.data.dim();
    // One dataset for every band: a pixel-interleaved file decompresses each block once into
    // GDAL's block cache instead of once per band (68 metric bands: 90 s -> well under 1 s).
    use gdal::Metadata;
    let ds = gdal::Dataset::open(path).map_err(|e| landcarbon::Error::gdal(path, e))?;
    let mut bands = Vec::with_capacity(ds.raster_count());
    let mut nodata = Some(first.nodata);
    for i in 1..=ds.raster_count() {
        let band = ds
            .rasterband(i)
            .map_err(|e| landcarbon::Error::gdal(path, e))?;
        let name = band.description().unwrap_or_default();
        let name = if name.is_empty() {
            format!("band{i}")
        } else {
            name
        };
        if i == 1 {
            bands.push((name, std::mem::take(&mut first.data)));
            continue;
        }
        if nodata.is_some()
            && band.no_data_value().unwrap_or(f64::NAN).to_bits() != first.nodata.to_bits()
        {
            nodata = None; // bands disagree: no single nodata value
        }
        let buf = band
            .read_as::<f64>((0, 0), (ncols, nrows), (ncols, nrows), None)
            .map_err(|e| landcarbon::Error::gdal(path, e))?;
        let (_, data) = buf.into_shape_and_vec();
        let data = ndarray::Array2::from_shape_vec((nrows, ncols), data)
            .map_err(|e| landcarbon::Error::data(path.display(), e))?;
        bands.push((name, data));
    }
    let crs = landcarbon::raster::raster_crs(path)?.gdal_definition();
    Ok((bands, gt, crs, nodata))
}

/// A TOML document from JSON text (for `run(dict)`: the dict is written as pipeline.toml).
#[pyfunction]
fn json_to_toml(json: &str) -> PyResult<String> {
    let v: serde_json::Value =
        serde_json::from_str(json).map_err(|e| LandcarbonError::new_err(e.to_string()))?;
    toml::to_string(&v).map_err(|e| LandcarbonError::new_err(format!("configuration: {e}")))
}

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("LandcarbonError", m.py().get_type::<LandcarbonError>())?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add_class::<PyPointCloud>()?;
    m.add_class::<Column>()?;
    m.add_class::<Buffer>()?;
    m.add_function(wrap_pyfunction!(read, m)?)?;
    m.add_function(wrap_pyfunction!(write, m)?)?;
    m.add_function(wrap_pyfunction!(flags, m)?)?;
    m.add_function(wrap_pyfunction!(run_cli, m)?)?;
    m.add_function(wrap_pyfunction!(console_main, m)?)?;
    m.add_function(wrap_pyfunction!(ground, m)?)?;
    m.add_function(wrap_pyfunction!(normalize, m)?)?;
    m.add_function(wrap_pyfunction!(read_raster, m)?)?;
    m.add_function(wrap_pyfunction!(json_to_toml, m)?)?;
    m.add_function(wrap_pyfunction!(_active_jobs, m)?)?;
    Ok(())
}

//! A stable, in-process, coverage-free mutation fuzzer for the LAS/LAZ read paths (issue #15:
//! no crash on any input). cargo-fuzz needs a nightly toolchain; this runs on stable, in the
//! normal test suite (`tests/fuzz_seed.rs`, a short deterministic pass) and as a long runner
//! (`examples/fuzz_read.rs`, `scripts/fuzz.sh`). One copy of the logic, included by both with
//! `#[path]`.
//!
//! A case is `(seed file, case number)`: the case number seeds a PRNG that picks the
//! mutations, so every case is reproducible. Each case is written to `DIR/current.<ext>` (and
//! its description to `DIR/current.txt`) before it runs, so a hard crash leaves the reproducer
//! on disk. A case fails when a read path panics, returns an error that does not name the file,
//! accepts the file but returns inconsistent points, asks for one allocation larger than
//! [`ALLOC_LIMIT_BYTES`], or runs longer than the slow-case bound.
//!
//! The binary that uses this module must install [`CountingAlloc`] as its global allocator.
#![allow(dead_code)]

use landcarbon::points::{self, PointCloud};
use std::alloc::{GlobalAlloc, Layout, System};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Mutex, Once};
use std::time::{Duration, Instant};

/// Largest single allocation a read of a small fuzzed file may ask for. A larger request is
/// refused (null) after being recorded: a fallible request then fails cleanly and the case is
/// reported; an infallible one aborts the process, which the long runner reports as a crash
/// with the reproducer left on disk.
pub const ALLOC_LIMIT_BYTES: usize = 512 << 20;

static LARGEST_BYTES: AtomicUsize = AtomicUsize::new(0);
static LIVE_BYTES: AtomicUsize = AtomicUsize::new(0);
static PEAK_LIVE_BYTES: AtomicUsize = AtomicUsize::new(0);
static REFUSED_BYTES: AtomicUsize = AtomicUsize::new(0);

/// A global allocator that records the largest single request and the peak of live bytes, and
/// refuses requests above [`ALLOC_LIMIT_BYTES`] instead of letting them abort the machine.
pub struct CountingAlloc;

impl CountingAlloc {
    fn note(size: usize) -> bool {
        LARGEST_BYTES.fetch_max(size, Ordering::Relaxed);
        if size > ALLOC_LIMIT_BYTES {
            REFUSED_BYTES.fetch_max(size, Ordering::Relaxed);
            return false;
        }
        true
    }
    fn grew(size: usize) {
        let live = LIVE_BYTES.fetch_add(size, Ordering::Relaxed) + size;
        PEAK_LIVE_BYTES.fetch_max(live, Ordering::Relaxed);
    }
}

unsafe impl GlobalAlloc for CountingAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if !Self::note(layout.size()) {
            return std::ptr::null_mut();
        }
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            Self::grew(layout.size());
        }
        p
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if !Self::note(layout.size()) {
            return std::ptr::null_mut();
        }
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() {
            Self::grew(layout.size());
        }
        p
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) };
        LIVE_BYTES.fetch_sub(layout.size(), Ordering::Relaxed);
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if !Self::note(new_size) {
            return std::ptr::null_mut();
        }
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            LIVE_BYTES.fetch_sub(layout.size(), Ordering::Relaxed);
            Self::grew(new_size);
        }
        p
    }
}

/// Allocation figures since the last [`reset_alloc_stats`].
#[derive(Debug, Clone, Copy, Default)]
pub struct AllocStats {
    pub largest_bytes: usize,
    pub peak_live_bytes: usize,
    /// Largest request refused for exceeding [`ALLOC_LIMIT_BYTES`] (0: none).
    pub refused_bytes: usize,
}

pub fn reset_alloc_stats() {
    LARGEST_BYTES.store(0, Ordering::Relaxed);
    REFUSED_BYTES.store(0, Ordering::Relaxed);
    PEAK_LIVE_BYTES.store(LIVE_BYTES.load(Ordering::Relaxed), Ordering::Relaxed);
}

pub fn alloc_stats() -> AllocStats {
    AllocStats {
        largest_bytes: LARGEST_BYTES.load(Ordering::Relaxed),
        peak_live_bytes: PEAK_LIVE_BYTES.load(Ordering::Relaxed),
        refused_bytes: REFUSED_BYTES.load(Ordering::Relaxed),
    }
}

/// Panics when [`CountingAlloc`] is not the global allocator: without it the allocation bound
/// would silently check nothing.
pub fn assert_counting_alloc_installed() {
    reset_alloc_stats();
    let v: Vec<u8> = Vec::with_capacity(3 << 20);
    std::hint::black_box(&v);
    assert!(
        alloc_stats().largest_bytes >= 3 << 20,
        "fuzz: CountingAlloc is not the #[global_allocator] of this binary"
    );
}

/// Deterministic PRNG (SplitMix64): a case's mutations depend only on the seed's name and the
/// case number.
pub struct Rng(u64);

impl Rng {
    pub fn for_case(seed_name: &str, case: u64) -> Rng {
        // FNV-1a of the name, so that adding a seed does not renumber the others' cases.
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for b in seed_name.bytes() {
            h = (h ^ b as u64).wrapping_mul(0x0100_0000_01b3);
        }
        Rng(h ^ case.wrapping_mul(0x9E37_79B9_7F4A_7C15))
    }
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in `0..n` (`0` when `n == 0`).
    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            0
        } else {
            self.next_u64() % n
        }
    }
    pub fn index(&mut self, n: usize) -> usize {
        self.below(n as u64) as usize
    }
    pub fn one_in(&mut self, n: u64) -> bool {
        self.below(n) == 0
    }
    pub fn pick<T: Copy>(&mut self, s: &[T]) -> T {
        s[self.index(s.len())]
    }
}

/// Where the structures of a (trusted) seed file lie, for mutators that aim at them.
#[derive(Debug, Clone, Default)]
pub struct Map {
    pub minor: u8,
    pub header_size: usize,
    pub offset_to_points: usize,
    pub record_len: usize,
    pub n_points: u64,
    pub compressed: bool,
    /// Start of each VLR header (54 bytes, then its payload).
    pub vlrs: Vec<usize>,
    /// Start of the LASzip VLR's payload.
    pub laszip_data: Option<usize>,
    /// Position of the LAZ chunk table.
    pub chunk_table: Option<usize>,
}

impl Map {
    pub fn of(b: &[u8]) -> Map {
        let u16_at = |o: usize| {
            b.get(o..o + 2)
                .map_or(0, |s| u16::from_le_bytes([s[0], s[1]]))
        };
        let u32_at = |o: usize| {
            b.get(o..o + 4)
                .map_or(0, |s| u32::from_le_bytes(s.try_into().unwrap()))
        };
        let u64_at = |o: usize| {
            b.get(o..o + 8)
                .map_or(0, |s| u64::from_le_bytes(s.try_into().unwrap()))
        };
        let mut m = Map {
            minor: b.get(25).copied().unwrap_or(0),
            header_size: u16_at(94) as usize,
            offset_to_points: u32_at(96) as usize,
            record_len: u16_at(105) as usize,
            compressed: b.get(104).is_some_and(|f| f & 0xC0 != 0),
            ..Map::default()
        };
        m.n_points = if m.minor >= 4 {
            u64_at(247)
        } else {
            u32_at(107) as u64
        };
        let mut at = m.header_size;
        for _ in 0..u32_at(100).min(64) {
            if at + 54 > b.len() {
                break;
            }
            m.vlrs.push(at);
            if &b[at + 2..at + 16] == b"laszip encoded" && u16_at(at + 18) == 22204 {
                m.laszip_data = Some(at + 54);
            }
            at += 54 + u16_at(at + 20) as usize;
        }
        if m.compressed {
            let t = u64_at(m.offset_to_points) as usize;
            if t > m.offset_to_points && t + 8 <= b.len() {
                m.chunk_table = Some(t);
            }
        }
        m
    }
}

/// A seed file: its bytes and their map.
#[derive(Debug, Clone)]
pub struct Seed {
    /// File name: with the case number, the reproducer of a case.
    pub name: String,
    pub path: PathBuf,
    /// `las` or `laz`, kept for the mutated file.
    pub ext: String,
    pub bytes: Vec<u8>,
    pub map: Map,
}

impl Seed {
    pub fn load(path: &Path) -> std::io::Result<Seed> {
        let bytes = std::fs::read(path)?;
        Ok(Seed {
            name: path.file_name().unwrap().to_string_lossy().into_owned(),
            path: path.to_path_buf(),
            ext: path
                .extension()
                .map_or("las".into(), |e| e.to_string_lossy().to_lowercase()),
            map: Map::of(&bytes),
            bytes,
        })
    }
}

/// The default seeds: two small ISPRS LAZ tiles (format 0, LAS 1.2), a LAS 1.4 LAZ with extra
/// bytes (format 8) and a LAS 1.4 LAS with WKT and GeoTIFF VLRs (format 6).
pub fn default_seed_paths() -> Vec<PathBuf> {
    [
        "isprs/samp21-utm.laz",
        "isprs/samp24-utm.laz",
        "pdal_extra_bytes_crop.laz",
        "laspy_file_with_both_wkt_and_geotiff_vlrs.las",
    ]
    .iter()
    .map(|r| landcarbon::testdata::bundled(r))
    .collect()
}

/// Writes uncompressed (`.las`) copies of LAZ seeds into `dir`, so that the raw LAS record
/// decoder is fuzzed with their point formats too; returns their paths.
pub fn las_copies(lazs: &[PathBuf], dir: &Path) -> landcarbon::Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir).map_err(|e| landcarbon::Error::io(dir, e))?;
    let mut out = Vec::new();
    for p in lazs {
        let name = p.file_stem().unwrap().to_string_lossy();
        let dst = dir.join(format!("{name}-raw.las"));
        let cloud = points::read(p)?;
        points::write(&cloud, &dst)?;
        out.push(dst);
    }
    Ok(out)
}

// ---------------------------------------------------------------------------------------------
// Mutators.

const U8S: &[u8] = &[
    0, 1, 2, 3, 4, 0x0F, 0x10, 0x3F, 0x40, 0x7F, 0x80, 0xC0, 0xFE, 0xFF,
];
const U16S: &[u16] = &[
    0, 1, 2, 20, 54, 0x7F, 0x80, 0xFF, 0x100, 227, 235, 375, 0x7FFF, 0x8000, 0xFFFE, 0xFFFF,
];
const U32S: &[u32] = &[
    0,
    1,
    2,
    0x7F,
    0xFF,
    0xFFFF,
    0x1_0000,
    1_000_000,
    1_000_000_000,
    0x7FFF_FFFF,
    0x8000_0000,
    4_000_000_000,
    0xFFFF_FFFE,
    0xFFFF_FFFF,
];
const U64S: &[u64] = &[
    0,
    1,
    2,
    0xFFFF_FFFF,
    1 << 32,
    1_000_000_000,
    4_000_000_000,
    1 << 40,
    1 << 48,
    i64::MAX as u64,
    1 << 63,
    u64::MAX - 1,
    u64::MAX,
];
const F64S: &[f64] = &[
    0.0,
    -0.0,
    1.0,
    -1.0,
    1e-9,
    1e-300,
    f64::MIN_POSITIVE,
    5e-324,
    1e5,
    -1e5,
    1e7,
    -1e7,
    1e9,
    -1e9,
    1e300,
    f64::MAX,
    f64::MIN,
    f64::INFINITY,
    f64::NEG_INFINITY,
    f64::NAN,
];

#[derive(Clone, Copy)]
enum Kind {
    U8,
    U16,
    U32,
    U64,
    F64,
}

/// Header fields (LAS 1.4 R15 table 3): offset, type, name.
const FIELDS: &[(usize, Kind, &str)] = &[
    (4, Kind::U16, "file source id"),
    (6, Kind::U16, "global encoding"),
    (24, Kind::U8, "version major"),
    (25, Kind::U8, "version minor"),
    (94, Kind::U16, "header size"),
    (96, Kind::U32, "offset to point data"),
    (100, Kind::U32, "number of VLRs"),
    (104, Kind::U8, "point format"),
    (105, Kind::U16, "record length"),
    (107, Kind::U32, "legacy point count"),
    (111, Kind::U32, "legacy points by return 1"),
    (131, Kind::F64, "x scale"),
    (139, Kind::F64, "y scale"),
    (147, Kind::F64, "z scale"),
    (155, Kind::F64, "x offset"),
    (163, Kind::F64, "y offset"),
    (171, Kind::F64, "z offset"),
    (179, Kind::F64, "max x"),
    (187, Kind::F64, "min x"),
    (195, Kind::F64, "max y"),
    (203, Kind::F64, "min y"),
    (211, Kind::F64, "max z"),
    (219, Kind::F64, "min z"),
    (227, Kind::U64, "waveform data start"),
    (235, Kind::U64, "EVLR start"),
    (243, Kind::U32, "number of EVLRs"),
    (247, Kind::U64, "point count (1.4)"),
    (255, Kind::U64, "points by return 1 (1.4)"),
];

/// LASzip VLR payload fields: offset within the payload, type, name.
const LASZIP_FIELDS: &[(usize, Kind, &str)] = &[
    (0, Kind::U16, "laszip compressor"),
    (2, Kind::U16, "laszip coder"),
    (4, Kind::U8, "laszip version major"),
    (5, Kind::U8, "laszip version minor"),
    (6, Kind::U16, "laszip revision"),
    (8, Kind::U32, "laszip options"),
    (12, Kind::U32, "laszip chunk size"),
    (16, Kind::U64, "laszip special EVLR count"),
    (24, Kind::U64, "laszip special EVLR offset"),
    (32, Kind::U16, "laszip item count"),
    (34, Kind::U16, "laszip item 0 type"),
    (36, Kind::U16, "laszip item 0 size"),
    (38, Kind::U16, "laszip item 0 version"),
    (40, Kind::U16, "laszip item 1 type"),
    (42, Kind::U16, "laszip item 1 size"),
];

fn put(b: &mut [u8], at: usize, v: &[u8]) -> bool {
    match b.get_mut(at..at.saturating_add(v.len())) {
        Some(s) => {
            s.copy_from_slice(v);
            true
        }
        None => false,
    }
}

fn get_uint(b: &[u8], at: usize, kind: Kind) -> u64 {
    let w = width(kind);
    let mut a = [0u8; 8];
    if let Some(s) = b.get(at..at + w) {
        a[..w].copy_from_slice(s);
    }
    u64::from_le_bytes(a)
}

fn width(kind: Kind) -> usize {
    match kind {
        Kind::U8 => 1,
        Kind::U16 => 2,
        Kind::U32 => 4,
        Kind::U64 | Kind::F64 => 8,
    }
}

/// An interesting value of `kind` for the field at `at`: an extreme, a value near the file
/// length, or the current value nudged.
fn interesting(r: &mut Rng, b: &[u8], at: usize, kind: Kind) -> (Vec<u8>, String) {
    let len = b.len() as u64;
    let cur = get_uint(b, at, kind);
    let near = [
        len,
        len.wrapping_sub(1),
        len + 1,
        len / 2,
        cur.wrapping_add(1 + r.below(16)),
        cur.wrapping_sub(1 + r.below(16)),
        cur.wrapping_mul(2),
        cur / 2,
        r.next_u64(),
    ];
    let pick_int = |r: &mut Rng, list: &[u64]| {
        if r.one_in(2) {
            r.pick(list)
        } else {
            r.pick(&near)
        }
    };
    match kind {
        Kind::U8 => {
            let v = if r.one_in(2) {
                r.pick(U8S)
            } else {
                r.pick(&near) as u8
            };
            (vec![v], format!("{v}"))
        }
        Kind::U16 => {
            let v = pick_int(r, &U16S.iter().map(|&v| v as u64).collect::<Vec<_>>()) as u16;
            (v.to_le_bytes().to_vec(), format!("{v}"))
        }
        Kind::U32 => {
            let v = pick_int(r, &U32S.iter().map(|&v| v as u64).collect::<Vec<_>>()) as u32;
            (v.to_le_bytes().to_vec(), format!("{v}"))
        }
        Kind::U64 => {
            let v = pick_int(r, U64S);
            (v.to_le_bytes().to_vec(), format!("{v}"))
        }
        Kind::F64 => {
            let cur = f64::from_bits(cur);
            let v = match r.below(4) {
                0 | 1 => r.pick(F64S),
                2 => cur * r.pick(&[-1.0, 2.0, 0.5, 1e3, 1e-3, 1e9]),
                _ => cur + r.pick(&[1e5, -1e5, 1e7, -1e7, 1.0]),
            };
            (v.to_le_bytes().to_vec(), format!("{v:e}"))
        }
    }
}

/// One mutation of `b` (a seed's bytes, possibly already mutated); returns its description.
fn mutate_once(r: &mut Rng, b: &mut Vec<u8>, m: &Map, donor: &[u8]) -> String {
    let len = b.len();
    if len == 0 {
        b.extend_from_slice(&donor[..donor.len().min(375)]);
        return "empty: refilled from donor".into();
    }
    let data_start = m.offset_to_points.min(len);
    // Half of the blind mutations aim at the header and VLRs, where the parsers are.
    let offset = |r: &mut Rng| {
        if r.one_in(2) && data_start > 0 {
            r.index(data_start)
        } else {
            r.index(len)
        }
    };
    match r.below(16) {
        0 => {
            let at = offset(r);
            let bit = r.below(8);
            b[at] ^= 1 << bit;
            format!("flip bit {bit} @{at}")
        }
        1 => {
            let at = offset(r);
            let v = r.pick(U8S);
            b[at] = v;
            format!("byte @{at} = {v}")
        }
        2 => {
            let at = offset(r);
            let kind = r.pick(&[Kind::U16, Kind::U32, Kind::U64, Kind::F64]);
            let (v, s) = interesting(r, b, at, kind);
            put(b, at, &v);
            format!("word @{at} = {s}")
        }
        3..=5 => {
            let (at, kind, name) = r.pick(FIELDS);
            let (v, s) = interesting(r, b, at, kind);
            put(b, at, &v);
            format!("{name} @{at} = {s}")
        }
        6 if !m.vlrs.is_empty() => {
            let v = r.pick(&m.vlrs);
            match r.below(4) {
                0 => {
                    let (val, s) = interesting(r, b, v + 20, Kind::U16);
                    put(b, v + 20, &val);
                    format!("VLR @{v} record length = {s}")
                }
                1 => {
                    let (user, id): (&[u8], u16) = r.pick(&[
                        (&b"LASF_Projection\0"[..], 34735),
                        (&b"LASF_Projection\0"[..], 34736),
                        (&b"LASF_Projection\0"[..], 34737),
                        (&b"LASF_Projection\0"[..], 2112),
                        (&b"LASF_Spec\0\0\0\0\0\0\0"[..], 4),
                        (&b"laszip encoded\0\0"[..], 22204),
                        (&b"copc\0\0\0\0\0\0\0\0\0\0\0\0"[..], 1),
                    ]);
                    put(b, v + 2, user);
                    put(b, v + 18, &id.to_le_bytes());
                    format!("VLR @{v} becomes {} {id}", String::from_utf8_lossy(user))
                }
                _ => {
                    // Payload words: GeoTIFF key counts, extra-bytes types, WKT text.
                    let n = get_uint(b, v + 20, Kind::U16) as usize;
                    let at = v + 54 + r.index(n.max(1));
                    let kind = r.pick(&[Kind::U8, Kind::U16, Kind::U16, Kind::U32, Kind::F64]);
                    let (val, s) = interesting(r, b, at, kind);
                    put(b, at, &val);
                    format!("VLR @{v} payload @{at} = {s}")
                }
            }
        }
        7 if m.laszip_data.is_some() => {
            let d = m.laszip_data.unwrap();
            let (o, kind, name) = r.pick(LASZIP_FIELDS);
            let (val, s) = interesting(r, b, d + o, kind);
            put(b, d + o, &val);
            format!("{name} @{} = {s}", d + o)
        }
        8 if m.compressed => {
            // The chunk table: its offset, its version and count, or its entries; or the head
            // of the first chunk (after its raw first point: a point count and, in layered
            // LAZ, one size per layer).
            let t = m.chunk_table.unwrap_or(len.saturating_sub(8));
            match r.below(4) {
                3 => {
                    let at = m.offset_to_points + 8 + m.record_len + 4 * r.index(12);
                    let (val, s) = interesting(r, b, at, Kind::U32);
                    put(b, at, &val);
                    format!("chunk 0 head word @{at} = {s}")
                }
                0 => {
                    let (val, s) = interesting(r, b, m.offset_to_points, Kind::U64);
                    put(b, m.offset_to_points, &val);
                    format!("chunk table offset @{} = {s}", m.offset_to_points)
                }
                1 => {
                    let at = t + 4 * r.index(2);
                    let (val, s) = interesting(r, b, at, Kind::U32);
                    put(b, at, &val);
                    format!("chunk table word @{at} = {s}")
                }
                _ => {
                    let at = t + 8 + r.index(len.saturating_sub(t + 8).max(1));
                    if at < len {
                        b[at] = r.next_u64() as u8;
                    }
                    format!("chunk table entry byte @{at}")
                }
            }
        }
        9 => {
            // Truncation, often at a structure boundary.
            let mut cuts = vec![
                m.header_size,
                m.offset_to_points,
                m.offset_to_points + 8,
                len - 1,
                len / 2,
                r.index(len),
            ];
            cuts.extend(m.vlrs.iter().map(|&v| v + 54));
            if let Some(t) = m.chunk_table {
                cuts.extend([t, t + 4, t + 8]);
            }
            let at = r.pick(&cuts).min(len);
            b.truncate(at);
            format!("truncate to {at}")
        }
        10 => {
            // Splice: a block of the donor (another seed or this one) over, into, or out of
            // the file.
            let max_len = r.pick(&[8usize, 64, 512, 4096]);
            let n = 1 + r.index(max_len);
            let src = r.index(donor.len().max(1));
            let src_end = (src + n).min(donor.len());
            let block = donor[src.min(src_end)..src_end].to_vec();
            let at = offset(r);
            match r.below(3) {
                0 => {
                    let end = (at + block.len()).min(len);
                    b[at..end].copy_from_slice(&block[..end - at]);
                    format!("splice {} donor bytes @{src} over @{at}", end - at)
                }
                1 => {
                    b.splice(at..at, block.iter().copied());
                    format!("insert {} donor bytes @{src} at @{at}", block.len())
                }
                _ => {
                    let end = (at + n).min(len);
                    b.drain(at..end);
                    format!("delete {}..{end}", at)
                }
            }
        }
        11 if m.minor >= 4 => {
            // An EVLR: somewhere in the file or appended, with an interesting length.
            let at = if r.one_in(2) { len } else { offset(r) };
            let mut e = vec![0u8; 60];
            e[2..18].copy_from_slice(r.pick(&[
                &b"LASF_Projection\0"[..],
                &b"LASF_Spec\0\0\0\0\0\0\0"[..],
                &b"landcarbon fuzz\0"[..],
            ]));
            let id: u16 = r.pick(&[2112, 4, 34735, 1, 65535]);
            e[18..20].copy_from_slice(&id.to_le_bytes());
            let (v, s) = interesting(r, &e, 20, Kind::U64);
            e[20..28].copy_from_slice(&v);
            if at >= len {
                b.extend_from_slice(&e);
                b.extend((0..r.index(300)).map(|i| i as u8));
            } else {
                let end = (at + 60).min(len);
                b[at..end].copy_from_slice(&e[..end - at]);
            }
            let count: u32 = r.pick(&[1, 1, 2, 1000, u32::MAX]);
            put(b, 235, &(at as u64).to_le_bytes());
            put(b, 243, &count.to_le_bytes());
            format!("EVLR {id} at @{at} (count {count}) of length {s}")
        }
        12..=13 if data_start < len => {
            // Point records: coordinates and fields of a record (LAS), the compressed stream
            // (LAZ).
            let rec = m.record_len.max(1);
            if m.compressed {
                let at = data_start + 8 + r.index(len.saturating_sub(data_start + 8).max(1));
                let n = 1 + r.index(8);
                for v in &mut b[at.min(len)..(at + n).min(len)] {
                    *v = r.next_u64() as u8;
                }
                format!("LAZ stream bytes @{at}..+{n} randomised")
            } else {
                let i = r.index(((len - data_start) / rec).max(1));
                let field = r.pick(&[0usize, 4, 8, 12, 14, 15, 16, 18, 20, 22, 24, 28]);
                let at = data_start + i * rec + field.min(rec - 1);
                let v: i32 = r.pick(&[0, 1, -1, i32::MAX, i32::MIN, 1 << 20, -(1 << 20)]);
                put(b, at, &v.to_le_bytes());
                format!("record {i} field +{field} = {v}")
            }
        }
        _ => {
            let at = offset(r);
            let n = 1 + r.index(16);
            for v in &mut b[at.min(len)..(at + n).min(len)] {
                *v = r.next_u64() as u8;
            }
            format!("random bytes @{at}..+{n}")
        }
    }
}

/// The bytes spliced into cases: the seed itself or one of the default seeds (fixed test
/// data, so that a case depends only on its seed and number).
fn donors() -> &'static [Vec<u8>] {
    static DONORS: std::sync::OnceLock<Vec<Vec<u8>>> = std::sync::OnceLock::new();
    DONORS.get_or_init(|| {
        default_seed_paths()
            .iter()
            .map(|p| std::fs::read(p).expect("default seed"))
            .collect()
    })
}

/// The bytes of case `case` of `seed` and a description of its mutations.
pub fn mutate(seed: &Seed, case: u64) -> (Vec<u8>, String) {
    let mut r = Rng::for_case(&seed.name, case);
    let mut b = seed.bytes.clone();
    // Mostly one mutation (the checks each see one fault), sometimes a stack of them.
    let n = match r.below(8) {
        0..=3 => 1,
        4 | 5 => 2,
        6 => 3,
        _ => 4 + r.index(6),
    };
    let donor = if r.one_in(2) {
        &seed.bytes
    } else {
        &donors()[r.index(donors().len())]
    };
    let mut what = Vec::new();
    for _ in 0..n {
        what.push(mutate_once(&mut r, &mut b, &seed.map, donor));
    }
    (b, what.join("; "))
}

// ---------------------------------------------------------------------------------------------
// The target: every public read path, with the invariants an accepted file must meet.

/// What a target made of a file.
#[derive(Debug, Clone)]
pub enum Verdict {
    /// Read, with this many points.
    Accepted(u64),
    /// Refused with this message (which names the file).
    Refused(String),
}

/// A target: reads the file at the path; `Err` is a broken invariant (not a refused file).
pub type Target = dyn Fn(&Path, u64) -> Result<Verdict, String> + Sync;

/// The message of `e`, or a broken invariant when it does not name `path`.
pub fn named(path: &Path, what: &str, e: &landcarbon::Error) -> Result<String, String> {
    let msg = e.to_string();
    if msg.contains(&path.display().to_string()) {
        Ok(msg)
    } else {
        Err(format!("{what}: error does not name the file: {msg}"))
    }
}

fn consistent(what: &str, c: &PointCloud) -> Result<(), String> {
    let n = c.x.len();
    let lens = [
        c.y.len(),
        c.z.len(),
        c.intensity.len(),
        c.return_number.len(),
        c.number_of_returns.len(),
        c.classification.len(),
        c.flags.len(),
        c.scanner_channel.len(),
        c.scan_angle_deg.len(),
        c.user_data.len(),
        c.point_source_id.len(),
        c.is_buffer.len(),
        c.gps_time.as_ref().map_or(n, Vec::len),
        c.rgb.as_ref().map_or(n, Vec::len),
        c.nir.as_ref().map_or(n, Vec::len),
        c.waveform.as_ref().map_or(n, Vec::len),
        match c.extra.record_len {
            0 => n,
            l => c.extra.data.len() / l,
        },
    ];
    if lens.iter().any(|&l| l != n) || !c.extra.data.len().is_multiple_of(c.extra.record_len.max(1))
    {
        return Err(format!(
            "{what}: columns of different lengths ({n} x, {lens:?})"
        ));
    }
    if let Some(i) =
        (0..n).find(|&i| !(c.x[i].is_finite() && c.y[i].is_finite() && c.z[i].is_finite()))
    {
        return Err(format!(
            "{what}: point {i} is not finite ({}, {}, {})",
            c.x[i], c.y[i], c.z[i]
        ));
    }
    Ok(())
}

fn same_points(a: &PointCloud, b: &PointCloud) -> bool {
    let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
    bits(&a.x) == bits(&b.x)
        && bits(&a.y) == bits(&b.y)
        && bits(&a.z) == bits(&b.z)
        && a.intensity == b.intensity
        && a.return_number == b.return_number
        && a.number_of_returns == b.number_of_returns
        && a.classification == b.classification
        && a.flags == b.flags
        && a.scanner_channel == b.scanner_channel
        && a.user_data == b.user_data
        && a.point_source_id == b.point_source_id
        && a.gps_time.as_ref().map(|v| bits(v)) == b.gps_time.as_ref().map(|v| bits(v))
        && a.rgb == b.rgb
        && a.nir == b.nir
        && a.waveform == b.waveform
        && a.extra.data == b.extra.data
}

/// Runs `open`, `read` (serial on odd cases, overlapped on even ones), `read_filtered` keeping
/// everything, and `read_filtered_into` keeping the west half, and checks that they agree: the
/// same refusal or acceptance, the same points, as many as the header announces, every error
/// naming the file, columns of one length, finite coordinates.
pub fn read_paths(path: &Path, case: u64) -> Result<Verdict, String> {
    let opened = points::open(path);
    let read = if case % 2 == 1 {
        rayon::ThreadPoolBuilder::new()
            .num_threads(1)
            .build()
            .map_err(|e| e.to_string())?
            .install(|| points::read(path))
    } else {
        points::read(path)
    };
    let all = points::read_filtered(path, &mut |_, _| Some(false));
    let (meta, cloud) = match (opened, read) {
        (Err(e), Err(_)) => {
            let msg = named(path, "open", &e)?;
            if let Ok(c) = all {
                return Err(format!(
                    "open refused the file ({msg}) but read_filtered accepted {} points",
                    c.len()
                ));
            }
            return Ok(Verdict::Refused(msg));
        }
        (Err(e), Ok(c)) => {
            return Err(format!(
                "open refused the file ({e}) but read accepted {} points",
                c.len()
            ))
        }
        (Ok(_), Err(e)) => {
            let msg = named(path, "read", &e)?;
            if let Ok(c) = all {
                return Err(format!(
                    "read refused the file ({msg}) but read_filtered accepted {} points",
                    c.len()
                ));
            }
            if let Err(e) = &all {
                named(path, "read_filtered", e)?;
            }
            return Ok(Verdict::Refused(msg));
        }
        (Ok((_, meta)), Ok(c)) => (meta, c),
    };
    consistent("read", &cloud)?;
    let announced = meta.header.number_of_points();
    if cloud.len() as u64 != announced {
        return Err(format!(
            "read accepted {} points where the header announces {announced}",
            cloud.len()
        ));
    }
    match all {
        Err(e) => {
            let msg = named(path, "read_filtered", &e)?;
            return Err(format!(
                "read accepted {} points but read_filtered refused the file: {msg}",
                cloud.len()
            ));
        }
        Ok(f) => {
            consistent("read_filtered", &f)?;
            if !same_points(&cloud, &f) {
                return Err(format!(
                    "read and read_filtered (keeping all) decode different points ({} and {})",
                    cloud.len(),
                    f.len()
                ));
            }
        }
    }
    let mid = cloud.x.iter().sum::<f64>() / cloud.len().max(1) as f64;
    let mut into = PointCloud::empty(meta);
    match points::read::read_filtered_into(path, &mut into, &mut |x, _| (x < mid).then_some(true)) {
        Err(e) => {
            let msg = named(path, "read_filtered_into", &e)?;
            return Err(format!(
                "read accepted the file but read_filtered_into refused it: {msg}"
            ));
        }
        Ok(()) => {
            consistent("read_filtered_into", &into)?;
            let west = cloud.x.iter().filter(|&&x| x < mid).count();
            if into.len() != west || into.is_buffer.iter().any(|&b| !b) {
                return Err(format!(
                    "read_filtered_into kept {} points where {west} lie west of {mid}",
                    into.len()
                ));
            }
        }
    }
    Ok(Verdict::Accepted(cloud.len() as u64))
}

// ---------------------------------------------------------------------------------------------
// The harness.

/// A case that broke a rule.
#[derive(Debug, Clone)]
pub struct Failure {
    pub seed: String,
    pub case: u64,
    /// `panic`, `allocation`, `slow`, `invariant`.
    pub kind: &'static str,
    pub detail: String,
    pub mutations: String,
    /// Where the mutated file was saved, if it was.
    pub saved: Option<PathBuf>,
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} case {}: {}: {} [mutations: {}]",
            self.seed, self.case, self.kind, self.detail, self.mutations
        )?;
        if let Some(p) = &self.saved {
            write!(f, " [reproducer: {}]", p.display())?;
        }
        Ok(())
    }
}

/// The outcome of one case.
#[derive(Debug, Clone)]
pub struct CaseReport {
    pub outcome: Result<Verdict, Failure>,
    pub alloc: AllocStats,
    pub elapsed: Duration,
}

static PANIC_MSG: Mutex<Option<String>> = Mutex::new(None);
static CASE_ACTIVE: AtomicBool = AtomicBool::new(false);
/// Milliseconds since the process's clock origin at which the running case started (0: none).
static CASE_STARTED_MS: AtomicU64 = AtomicU64::new(0);
static HARD_LIMIT_MS: AtomicU64 = AtomicU64::new(60_000);
/// One harness run at a time: the allocation figures and the panic slot are process-wide.
static RUN_LOCK: Mutex<()> = Mutex::new(());
/// The running case's description file, for the watchdog's message.
static CURRENT_TXT: Mutex<Option<PathBuf>> = Mutex::new(None);

fn clock_ms() -> u64 {
    static ORIGIN: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
    ORIGIN.get_or_init(Instant::now).elapsed().as_millis() as u64 + 1
}

fn install_hooks() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            // Panics inside a case are the harness's to report, quietly; others as usual.
            if CASE_ACTIVE.load(Ordering::SeqCst) {
                if let Ok(mut g) = PANIC_MSG.try_lock() {
                    if g.is_none() {
                        let mut msg = info.to_string().replace('\n', " ");
                        // FUZZ_BACKTRACE=1 (with --repro) says where a panic came from.
                        if std::env::var_os("FUZZ_BACKTRACE").is_some() {
                            let bt = std::backtrace::Backtrace::force_capture();
                            msg = format!("{msg}\n{bt}");
                        }
                        *g = Some(msg);
                    }
                }
            } else {
                previous(info);
            }
        }));
        // A hung case cannot be interrupted in-process: after the hard limit the watchdog
        // ends the process, and the reproducer is the one `current.txt` describes.
        std::thread::spawn(move || loop {
            std::thread::sleep(Duration::from_millis(250));
            let started = CASE_STARTED_MS.load(Ordering::SeqCst);
            let limit = HARD_LIMIT_MS.load(Ordering::SeqCst);
            if started > 0 && clock_ms().saturating_sub(started) > limit {
                let current = CURRENT_TXT
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .clone()
                    .unwrap_or_default();
                let what = std::fs::read_to_string(&current).unwrap_or_default();
                eprintln!(
                    "fuzz: a case ran past the hard limit of {limit} ms; reproducer {}: {what}",
                    current.display()
                );
                std::process::exit(124);
            }
        });
    });
}

/// Runs cases: writes each to `dir/current.<ext>` (described in `dir/current.txt`), runs the
/// target under `catch_unwind`, and judges it.
pub struct Harness {
    pub dir: PathBuf,
    /// A case slower than this fails (it is measured, not interrupted).
    pub slow_case: Duration,
    /// A case slower than this ends the process (the watchdog).
    pub hard_limit: Duration,
    /// Where failing cases are copied (`None`: not saved).
    pub save_failures: Option<PathBuf>,
}

impl Harness {
    pub fn new(dir: &Path) -> Harness {
        std::fs::create_dir_all(dir).expect("fuzz work folder");
        assert_counting_alloc_installed();
        Harness {
            dir: dir.to_path_buf(),
            slow_case: Duration::from_secs(10),
            hard_limit: Duration::from_secs(60),
            save_failures: None,
        }
    }

    pub fn current_file(&self, seed: &Seed) -> PathBuf {
        self.dir.join(format!("current.{}", seed.ext))
    }

    /// Runs case `case` of `seed` through `target`.
    pub fn run_case(&self, seed: &Seed, case: u64, target: &Target) -> CaseReport {
        let (bytes, mutations) = mutate(seed, case);
        self.run_bytes(seed, case, &bytes, &mutations, target)
    }

    /// Runs `bytes` (case `case` of `seed`, made by `mutations`) through `target`.
    pub fn run_bytes(
        &self,
        seed: &Seed,
        case: u64,
        bytes: &[u8],
        mutations: &str,
        target: &Target,
    ) -> CaseReport {
        let _one = RUN_LOCK.lock().unwrap_or_else(|e| e.into_inner());
        install_hooks();
        *CURRENT_TXT.lock().unwrap_or_else(|e| e.into_inner()) = Some(self.dir.join("current.txt"));
        HARD_LIMIT_MS.store(self.hard_limit.as_millis() as u64, Ordering::SeqCst);
        let path = self.current_file(seed);
        let describe = format!(
            "seed {} ({}) case {case}: {mutations}\n",
            seed.name,
            seed.path.display()
        );
        // Description first: a crash while writing the file still names the case.
        std::fs::write(self.dir.join("current.txt"), &describe).expect("write current.txt");
        std::fs::write(&path, bytes).expect("write the case file");
        *PANIC_MSG.lock().unwrap_or_else(|e| e.into_inner()) = None;
        reset_alloc_stats();
        CASE_ACTIVE.store(true, Ordering::SeqCst);
        CASE_STARTED_MS.store(clock_ms(), Ordering::SeqCst);
        let t = Instant::now();
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| target(&path, case)));
        let elapsed = t.elapsed();
        CASE_STARTED_MS.store(0, Ordering::SeqCst);
        CASE_ACTIVE.store(false, Ordering::SeqCst);
        let alloc = alloc_stats();
        let panic_msg = PANIC_MSG.lock().unwrap_or_else(|e| e.into_inner()).take();
        let fail = |kind: &'static str, detail: String| Failure {
            seed: seed.name.clone(),
            case,
            kind,
            detail,
            mutations: mutations.to_string(),
            saved: None,
        };
        let outcome = match result {
            _ if alloc.refused_bytes > 0 => Err(fail(
                "allocation",
                format!(
                    "asked for {} bytes in one allocation (limit {ALLOC_LIMIT_BYTES})",
                    alloc.refused_bytes
                ),
            )),
            Err(_) => Err(fail(
                "panic",
                panic_msg.unwrap_or_else(|| "panic without a message".into()),
            )),
            // A panic caught inside the library (e.g. a helper thread) is still a panic.
            Ok(_) if panic_msg.is_some() => Err(fail("panic", panic_msg.unwrap())),
            Ok(Err(detail)) => Err(fail("invariant", detail)),
            Ok(Ok(_)) if elapsed > self.slow_case => Err(fail(
                "slow",
                format!(
                    "took {:.1} s (bound {:.1} s)",
                    elapsed.as_secs_f64(),
                    self.slow_case.as_secs_f64()
                ),
            )),
            Ok(Ok(v)) => Ok(v),
        };
        let outcome = outcome.map_err(|mut f| {
            if let Some(dir) = &self.save_failures {
                let stem = format!("{}-case{case}", seed.name);
                let dst = dir.join(format!("{stem}.{}", seed.ext));
                if std::fs::create_dir_all(dir).is_ok()
                    && std::fs::write(&dst, bytes).is_ok()
                    && std::fs::write(dir.join(format!("{stem}.txt")), format!("{f}\n")).is_ok()
                {
                    f.saved = Some(dst);
                }
            }
            f
        });
        CaseReport {
            outcome,
            alloc,
            elapsed,
        }
    }
}

/// An error message with the file's path and the numbers taken out, so that messages that differ
/// only in them count once.
pub fn message_kind(msg: &str, path: &Path) -> String {
    let msg = msg.replace(&path.display().to_string(), "<file>");
    let mut out = String::with_capacity(msg.len());
    let mut in_num = false;
    for ch in msg.chars() {
        if ch.is_ascii_digit() {
            if !in_num {
                out.push('#');
            }
            in_num = true;
        } else {
            in_num = false;
            out.push(ch);
        }
    }
    out
}

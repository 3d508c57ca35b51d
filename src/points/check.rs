//! Defences against hostile or corrupt LAS/LAZ files: header fields that would make a reader
//! allocate without bound or decode garbage are refused with an error naming the file, and
//! decoded points are checked against the header's bounds.

use super::layout::{rd_i32, RecordLayout};
use crate::{Error, Result};
use std::collections::HashSet;
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;
use std::sync::Mutex;

/// Emits `msg` as a warning once per `key` per process (a file is opened several times in a
/// run: index, chunk, buffer strips).
pub(crate) fn warn_once(key: String, msg: impl FnOnce() -> String) {
    static SEEN: Mutex<Option<HashSet<String>>> = Mutex::new(None);
    let mut g = SEEN.lock().unwrap_or_else(|e| e.into_inner());
    if g.get_or_insert_with(HashSet::new).insert(key) {
        log::warn!("{}", msg());
    }
}

fn u16_at(b: &[u8], o: usize) -> u16 {
    u16::from_le_bytes([b[o], b[o + 1]])
}
fn u32_at(b: &[u8], o: usize) -> u32 {
    u32::from_le_bytes(b[o..o + 4].try_into().expect("4 bytes"))
}
fn u64_at(b: &[u8], o: usize) -> u64 {
    u64::from_le_bytes(b[o..o + 8].try_into().expect("8 bytes"))
}
fn f64_at(b: &[u8], o: usize) -> f64 {
    f64::from_le_bytes(b[o..o + 8].try_into().expect("8 bytes"))
}

/// What the raw header says about the size of the point data, once checked.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RawFacts {
    pub file_len: u64,
    /// Where the point records end: the first EVLR (1.4), waveform data (1.3) or the file end.
    pub data_end: u64,
    pub offset_to_points: u64,
    pub record_len: u64,
    pub compressed: bool,
    pub n_points: u64,
}

impl RawFacts {
    /// Whole records an uncompressed file holds between the point data offset and its end
    /// (or the first EVLR).
    pub fn records_on_disk(&self) -> Option<u64> {
        (!self.compressed && self.record_len > 0)
            .then(|| self.data_end.saturating_sub(self.offset_to_points) / self.record_len)
    }

    /// Points it is reasonable to reserve memory for up front: never more than the file can
    /// hold (uncompressed), than a quarter point per byte (LAZ stores 4+ bytes a point), or
    /// than 16 times the compressed bytes once decompressed (long records, e.g. many extra
    /// bytes, are reserved at their full length: a small LAZ with a corrupt record length
    /// asked for about a gigabyte). Past the hint the columns grow as points are decoded.
    pub fn reservable_points(&self) -> usize {
        let cap = match self.records_on_disk() {
            Some(r) => r,
            None => {
                let payload = self.file_len.saturating_sub(self.offset_to_points);
                (payload / 4).min(payload.saturating_mul(16) / self.record_len.max(1))
            }
        };
        self.n_points.min(cap).min(usize::MAX as u64) as usize
    }
}

/// Checks the raw header of `path` before any reader allocates from it: version, header size,
/// point data offset, VLRs inside the file, record length, transforms and bounds finite,
/// scales positive, LAZ chunk table size, and (uncompressed) a point count the file can hold.
pub(crate) fn check_raw_header(path: &Path, file_len: u64) -> Result<RawFacts> {
    let bad = |why: String| Error::las(path, why);
    let mut f = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let mut h = vec![0u8; 375.min(file_len as usize)];
    f.read_exact(&mut h).map_err(|e| Error::io(path, e))?;
    if h.len() < 227 || &h[..4] != b"LASF" {
        // Let the LAS reader word it (signature, short file).
        return Ok(RawFacts {
            file_len,
            data_end: file_len,
            offset_to_points: 0,
            record_len: 0,
            compressed: false,
            n_points: 0,
        });
    }
    let (major, minor) = (h[24], h[25]);
    if major != 1 || minor > 4 {
        return Err(bad(format!(
            "unsupported LAS version {major}.{minor} (1.0 to 1.4 are known): not a LAS file or a corrupt header"
        )));
    }
    let header_size = u16_at(&h, 94) as u64;
    let min_header = match minor {
        0..=2 => 227,
        3 => 235,
        _ => 375,
    };
    if header_size < min_header || header_size > file_len {
        return Err(bad(format!(
            "header size {header_size} is impossible for LAS 1.{minor} (at least {min_header} bytes, at most the file's {file_len})"
        )));
    }
    if minor >= 4 && h.len() < 375 {
        return Err(bad(
            "not a LAS/LAZ file: the file is shorter than a LAS 1.4 header".into(),
        ));
    }
    let offset_to_points = u32_at(&h, 96) as u64;
    if offset_to_points < header_size || offset_to_points > file_len {
        return Err(bad(format!(
            "the point data offset {offset_to_points} lies outside the file (header {header_size} bytes, file {file_len} bytes): truncated or corrupt header"
        )));
    }
    // VLRs: each a 54-byte header and its payload, all before the point data.
    let n_vlrs = u32_at(&h, 100) as u64;
    let mut at = header_size;
    let mut laszip = None;
    for i in 0..n_vlrs {
        if at + 54 > offset_to_points {
            return Err(bad(format!(
                "VLR {i} of the {n_vlrs} the header announces starts at byte {at}, past the point data at {offset_to_points}: corrupt header"
            )));
        }
        let mut vh = [0u8; 54];
        f.seek(SeekFrom::Start(at))
            .and_then(|_| f.read_exact(&mut vh))
            .map_err(|e| Error::io(path, e))?;
        let payload = at + 54;
        at = payload + u16_at(&vh, 20) as u64;
        if at > offset_to_points {
            return Err(bad(format!(
                "VLR {i} runs to byte {at}, past the start of the point data at {offset_to_points}: corrupt header"
            )));
        }
        // The LAS reader uses the first LASzip VLR (user id up to its first NUL).
        let user = vh[2..18].split(|&c| c == 0).next().unwrap_or_default();
        if laszip.is_none() && user == b"laszip encoded" && u16_at(&vh, 18) == 22204 {
            laszip = Some((payload, at - payload));
        }
    }
    let format = h[104];
    let compressed = format & 0xC0 != 0;
    let record_len = u16_at(&h, 105) as u64;
    let base_len = match format & 0x3F {
        0 => 20,
        1 => 28,
        2 => 26,
        3 => 34,
        4 => 57,
        5 => 63,
        6 => 30,
        7 => 36,
        8 => 38,
        9 => 59,
        10 => 67,
        other => return Err(bad(format!("invalid point format {other}"))),
    };
    if record_len < base_len {
        return Err(bad(format!(
            "the point record length {record_len} is too small for point format {} ({base_len} bytes at least)",
            format & 0x3F
        )));
    }
    let mut laz_vlr = None;
    if let (true, Some((at, len))) = (compressed, laszip) {
        let mut payload = vec![0u8; len as usize];
        f.seek(SeekFrom::Start(at))
            .and_then(|_| f.read_exact(&mut payload))
            .map_err(|e| Error::io(path, e))?;
        // An unreadable VLR is the LAZ reader's to report; a readable one must describe the
        // records, or the decompressor asserts (panics) on the first batch.
        if let Ok(vlr) = laz::LazVlr::from_buffer(&payload) {
            check_laszip_items(&vlr, record_len).map_err(bad)?;
            laz_vlr = Some(vlr);
        }
    }
    let legacy = u32_at(&h, 107) as u64;
    let n_points = if minor >= 4 && (legacy == 0 || format & 0x3F >= 6) {
        u64_at(&h, 247).max(legacy)
    } else {
        legacy
    };
    let names = ["x", "y", "z"];
    for (k, axis) in names.iter().enumerate() {
        let scale = f64_at(&h, 131 + 8 * k);
        let offset = f64_at(&h, 155 + 8 * k);
        if !(scale.is_finite() && scale > 0.0) {
            return Err(bad(format!(
                "the {axis} scale factor is {scale}: it must be a positive finite number (corrupt header)"
            )));
        }
        if !offset.is_finite() {
            return Err(bad(format!(
                "the {axis} offset is {offset}: it must be finite (corrupt header)"
            )));
        }
        // Every stored i32 must decode to a finite coordinate: bounds near f64::MAX widen to
        // infinity and would let infinite points through the bounds check.
        if !(offset.abs() + scale * 2_147_483_648.0).is_finite() {
            return Err(bad(format!(
                "the {axis} scale {scale} and offset {offset} decode coordinates beyond the range of a 64-bit float (corrupt header)"
            )));
        }
        let (max, min) = (f64_at(&h, 179 + 16 * k), f64_at(&h, 187 + 16 * k));
        if !(max.is_finite() && min.is_finite()) {
            return Err(bad(format!(
                "the header bounds of {axis} are [{min}, {max}]: they must be finite (corrupt header)"
            )));
        }
        if n_points > 0 && min > max {
            return Err(bad(format!(
                "the header bounds of {axis} are swapped or corrupt: min {min} > max {max}"
            )));
        }
    }
    let mut data_end = file_len;
    let extra_start = match minor {
        3 => u64_at(&h, 227),
        4 if u32_at(&h, 243) > 0 => u64_at(&h, 235),
        _ => 0,
    };
    if extra_start > offset_to_points && extra_start < file_len {
        data_end = extra_start;
    }
    if minor >= 4 {
        check_evlrs(&mut f, path, u64_at(&h, 235), u32_at(&h, 243), file_len)?;
    }
    let facts = RawFacts {
        file_len,
        data_end,
        offset_to_points,
        record_len,
        compressed,
        n_points,
    };
    if let Some(on_disk) = facts.records_on_disk() {
        if n_points > on_disk {
            return Err(Error::PointCount {
                path: path.to_path_buf(),
                expected: n_points,
                found: on_disk,
            });
        }
    }
    if compressed && offset_to_points + 8 <= file_len {
        // LAZ: the chunk table offset comes first; its entry count bounds what laz allocates.
        let mut b = [0u8; 8];
        f.seek(SeekFrom::Start(offset_to_points))
            .and_then(|_| f.read_exact(&mut b))
            .map_err(|e| Error::io(path, e))?;
        let table = i64::from_le_bytes(b);
        if table > 0 && (table as u64) + 8 <= file_len && table as u64 > offset_to_points {
            let mut t = [0u8; 8];
            f.seek(SeekFrom::Start(table as u64))
                .and_then(|_| f.read_exact(&mut t))
                .map_err(|e| Error::io(path, e))?;
            let chunks = u32_at(&t, 4) as u64;
            // Every chunk stores at least its first point raw: 20+ bytes.
            let room = (table as u64 - offset_to_points) / 20 + 1;
            if chunks > room {
                return Err(bad(format!(
                    "the LAZ chunk table announces {chunks} chunks but the file has room for at most {room}: corrupt LAZ file"
                )));
            }
            if let Some(vlr) = &laz_vlr {
                check_laz_chunks(
                    &mut f,
                    offset_to_points,
                    vlr,
                    record_len,
                    file_len,
                    n_points,
                )
                .map_err(bad)?;
            }
        } else if table != -1 && (table <= 0 || table as u64 >= file_len) {
            return Err(bad(format!(
                "the LAZ chunk table offset {table} lies outside the file ({file_len} bytes): truncated or corrupt LAZ file"
            )));
        }
    }
    Ok(facts)
}

/// Bytes one decompressed LAZ chunk may take: the decompressor allocates whole chunks (points
/// × record length) and reads each chunk's compressed bytes in one buffer, as the chunk table
/// and the LASzip VLR's chunk size say. 256 MiB is 4 M points of the longest standard record,
/// 80 times the usual 50 000-point chunk.
const MAX_LAZ_CHUNK_BYTES: u64 = 256 << 20;

/// The chunk table's point and byte counts must fit a chunk in memory, the chunks in the file,
/// and the header's points in the chunks; a corrupt chunk size or table made the decompressor
/// overflow a capacity (a wrapped subtraction) or abort.
fn check_laz_chunks(
    f: &mut std::fs::File,
    offset_to_points: u64,
    vlr: &laz::LazVlr,
    record_len: u64,
    file_len: u64,
    n_points: u64,
) -> std::result::Result<(), String> {
    if !vlr.uses_variable_size_chunks()
        && u64::from(vlr.chunk_size()) * record_len > MAX_LAZ_CHUNK_BYTES
    {
        return Err(format!(
            "the LASzip chunk size of {} points of {record_len} bytes is more than a reader can hold ({MAX_LAZ_CHUNK_BYTES} bytes a chunk): corrupt LAZ header",
            vlr.chunk_size()
        ));
    }
    if f.seek(SeekFrom::Start(offset_to_points)).is_err() {
        return Ok(());
    }
    let mut r = std::io::BufReader::new(f);
    // An unreadable table is the LAZ reader's to report.
    let Ok(table) = laz::laszip::ChunkTable::read_from(&mut r, vlr) else {
        return Ok(());
    };
    let (mut bytes, mut points) = (0u64, 0u64);
    for (i, e) in table.as_ref().iter().enumerate() {
        if e.point_count.saturating_mul(record_len) > MAX_LAZ_CHUNK_BYTES {
            return Err(format!(
                "LAZ chunk {i} announces {} points, more than a reader can hold ({MAX_LAZ_CHUNK_BYTES} bytes a chunk): corrupt LAZ chunk table",
                e.point_count
            ));
        }
        bytes = bytes.saturating_add(e.byte_count);
        points = points.saturating_add(e.point_count);
    }
    // With fixed-size chunks only the last may be short: the table holds at most this many.
    if n_points > points {
        return Err(format!(
            "the header announces {n_points} points but the LAZ chunk table holds at most {points}: corrupt header or chunk table"
        ));
    }
    if bytes > file_len {
        return Err(format!(
            "the LAZ chunks add up to {bytes} compressed bytes, more than the file's {file_len}: corrupt LAZ chunk table"
        ));
    }
    check_laz_layers(
        &mut r,
        offset_to_points + 8,
        vlr,
        record_len,
        table.as_ref(),
    )
}

/// Layered LAZ (point formats 6-10): each chunk starts with its first point raw, a point count
/// and one u32 size per layer, and the decompressor allocates each layer's size as read. The
/// layers must fit in the chunk's compressed bytes (a corrupt size asked for gigabytes).
fn check_laz_layers(
    r: &mut (impl Read + Seek),
    data_start: u64,
    vlr: &laz::LazVlr,
    record_len: u64,
    chunks: &[laz::laszip::ChunkTableEntry],
) -> std::result::Result<(), String> {
    use laz::LazItemType as T;
    let mut layers = 0u64;
    for item in vlr.items() {
        layers += match item.item_type() {
            T::Point14 => 9,
            T::RGB14 | T::WavePacket14 => 1,
            T::RGBNIR14 => 2,
            T::Byte14(n) => u64::from(n),
            // Not layered: the whole chunk is one arithmetic-coded stream.
            _ => return Ok(()),
        };
    }
    let head = record_len + 4;
    let mut sizes = vec![0u8; 4 * layers as usize];
    let mut start = data_start;
    for (i, c) in chunks.iter().enumerate() {
        if c.byte_count > 0 {
            // A chunk the file cannot give is the decompressor's to report (an I/O error).
            if r.seek(SeekFrom::Start(start + head)).is_err() || r.read_exact(&mut sizes).is_err() {
                return Ok(());
            }
            let total = sizes
                .chunks_exact(4)
                .map(|s| u64::from(u32_at(s, 0)))
                .sum::<u64>()
                + head
                + 4 * layers;
            if total > c.byte_count {
                return Err(format!(
                    "LAZ chunk {i} announces layers of {total} bytes in all but holds {} bytes: corrupt LAZ data",
                    c.byte_count
                ));
            }
        }
        start += c.byte_count;
    }
    Ok(())
}

/// The LASzip items must be of their type's size and add up to the point record length.
fn check_laszip_items(vlr: &laz::LazVlr, record_len: u64) -> std::result::Result<(), String> {
    use laz::LazItemType as T;
    let mut sum = 0u64;
    for (i, item) in vlr.items().iter().enumerate() {
        let size = u64::from(item.size());
        let want = match item.item_type() {
            T::Point10 => Some(20),
            T::GpsTime => Some(8),
            T::RGB12 | T::RGB14 => Some(6),
            T::RGBNIR14 => Some(8),
            T::WavePacket13 | T::WavePacket14 => Some(29),
            T::Point14 => Some(30),
            T::Byte(_) | T::Byte14(_) => None,
        };
        if want.is_some_and(|w| w != size) || size == 0 {
            return Err(format!(
                "LASzip item {i} ({:?}) is {size} bytes long{}: corrupt LAZ header",
                item.item_type(),
                want.map_or(String::new(), |w| format!(", not {w}"))
            ));
        }
        sum += size;
    }
    if sum != record_len {
        return Err(format!(
            "the LASzip items describe {sum}-byte point records but the header's record length is {record_len}: corrupt LAZ header"
        ));
    }
    Ok(())
}

/// EVLRs (LAS 1.4): a 60-byte header each, then a payload whose 64-bit length the LAS reader
/// allocates as it stands, so each must lie inside the file.
fn check_evlrs(
    f: &mut std::fs::File,
    path: &Path,
    start: u64,
    count: u32,
    file_len: u64,
) -> Result<()> {
    // The LAS reader reads none unless both are set.
    if start == 0 || count == 0 {
        return Ok(());
    }
    let bad = |why: String| Error::las(path, why);
    let mut at = start;
    // Each EVLR takes 60+ bytes: the loop ends within the file's length.
    for i in 0..count {
        if at.checked_add(60).is_none_or(|end| end > file_len) {
            return Err(bad(format!(
                "EVLR {i} of the {count} the header announces starts at byte {at}, past the end of the file ({file_len} bytes): truncated or corrupt file"
            )));
        }
        let mut eh = [0u8; 60];
        f.seek(SeekFrom::Start(at))
            .and_then(|_| f.read_exact(&mut eh))
            .map_err(|e| Error::io(path, e))?;
        let len = u64_at(&eh, 20);
        match (at + 60).checked_add(len) {
            Some(end) if end <= file_len => at = end,
            _ => {
                return Err(bad(format!(
                    "EVLR {i} at byte {at} announces {len} bytes of data, past the end of the file ({file_len} bytes): truncated or corrupt file"
                )))
            }
        }
    }
    Ok(())
}

/// Header bounds `[min, max]` per axis, widened by a few scale steps and a small relative
/// tolerance (writers round bounds).
pub(crate) struct BoundsCheck {
    lo: [f64; 3],
    hi: [f64; 3],
    scale: [f64; 3],
    offset: [f64; 3],
}

impl BoundsCheck {
    pub fn new(header: &las::Header) -> BoundsCheck {
        let b = header.bounds();
        let t = header.transforms();
        let (min, max) = ([b.min.x, b.min.y, b.min.z], [b.max.x, b.max.y, b.max.z]);
        let scale = [t.x.scale, t.y.scale, t.z.scale];
        let offset = [t.x.offset, t.y.offset, t.z.offset];
        let mut lo = [0.0; 3];
        let mut hi = [0.0; 3];
        for k in 0..3 {
            let tol = 4.0 * scale[k] + 1e-9 * min[k].abs().max(max[k].abs()) + 1e-6;
            lo[k] = min[k] - tol;
            hi[k] = max[k] + tol;
        }
        BoundsCheck {
            lo,
            hi,
            scale,
            offset,
        }
    }

    /// Fails when a record of `bytes` decodes outside the header bounds: the points of a
    /// corrupt LAZ chunk, or a header whose bounds (or scales) do not describe its data.
    pub fn check(&self, path: &Path, lay: &RecordLayout, bytes: &[u8], first: u64) -> Result<()> {
        if bytes.len() < lay.len {
            return Ok(());
        }
        // The extremes of the stored integers, then of the decoded values: `i · scale + offset`
        // is monotonic in `i` (increasing for a positive scale, decreasing for a negative one),
        // so the decoded extremes are those of the extreme integers, exactly, without
        // decoding every record.
        let mut imin = [i32::MAX; 3];
        let mut imax = [i32::MIN; 3];
        for r in bytes.chunks_exact(lay.len) {
            for k in 0..3 {
                let v = rd_i32(r, 4 * k);
                imin[k] = imin[k].min(v);
                imax[k] = imax[k].max(v);
            }
        }
        let mut min = [0.0; 3];
        let mut max = [0.0; 3];
        for k in 0..3 {
            let a = imin[k] as f64 * self.scale[k] + self.offset[k];
            let b = imax[k] as f64 * self.scale[k] + self.offset[k];
            (min[k], max[k]) = (a.min(b), a.max(b));
        }
        for (k, axis) in ["x", "y", "z"].iter().enumerate() {
            if min[k] < self.lo[k] || max[k] > self.hi[k] {
                return Err(Error::las(
                    path,
                    format!(
                        "points {first}..{} decode to {axis} in [{:.3}, {:.3}], outside the header bounds [{:.3}, {:.3}]: corrupt point data, or a header whose bounds or scale do not describe its points (fix the header, e.g. lasinfo -repair_bb)",
                        first + (bytes.len() / lay.len) as u64,
                        min[k],
                        max[k],
                        self.lo[k],
                        self.hi[k]
                    ),
                ));
            }
        }
        Ok(())
    }
}

/// Points a LAZ file holds according to its chunk table: exactly with variable-size chunks,
/// at least `(chunks − 1) · chunk_size + 1` with fixed-size ones (only the last chunk may be
/// short). `None` when the table cannot be read (the decoder then reports the file).
pub(crate) fn laz_points_at_least(
    path: &Path,
    header: &las::Header,
    offset_to_points: u64,
) -> Option<u64> {
    use std::io::{Seek, SeekFrom};
    let vlr = header.laz_vlr().ok()?;
    let mut f = std::io::BufReader::new(std::fs::File::open(path).ok()?);
    f.seek(SeekFrom::Start(offset_to_points)).ok()?;
    let table = laz::laszip::ChunkTable::read_from(&mut f, &vlr).ok()?;
    let n = table.len() as u64;
    if n == 0 {
        return None;
    }
    if vlr.uses_variable_size_chunks() {
        Some(table.as_ref().iter().map(|e| e.point_count).sum())
    } else {
        Some((n - 1) * u64::from(vlr.chunk_size()) + 1)
    }
}

#[cfg(test)]
mod tests {
    use super::RawFacts;

    fn laz(file_len: u64, record_len: u64, n_points: u64) -> RawFacts {
        RawFacts {
            file_len,
            data_end: file_len,
            offset_to_points: 2000,
            record_len,
            compressed: true,
            n_points,
        }
    }

    #[test]
    fn a_laz_reservation_is_bounded_by_the_compressed_bytes() {
        // Found by the fuzzer: a 105 kB LAZ whose record length was corrupted to 39866 bytes
        // reserved 982 MB of extra bytes for its 24665 points.
        let f = laz(105_401, 39_866, 24_665);
        assert!(f.reservable_points() as u64 * f.record_len <= 16 * f.file_len);
        // A real tile keeps its full reservation: 100 M points of 34 bytes in 1 GB of LAZ.
        let f = laz(1_000_000_000, 34, 100_000_000);
        assert_eq!(f.reservable_points(), 100_000_000);
    }
}

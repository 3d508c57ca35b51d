//! Reading LAS/LAZ into a [`PointCloud`], column-wise: records are decompressed in batches
//! (`las::Reader::fill_points`, parallel LAZ decoding) and each batch is decoded in one pass into
//! the columns. An optional filter drops points outside a rectangle while decoding, so that
//! reading only a buffer strip of a neighbouring tile costs no more memory than the strip.

use super::check::{check_raw_header, laz_points_at_least, warn_once, BoundsCheck, RawFacts};
use super::cloud::PointCloud;
use super::crs::Crs;
use super::layout::{rd_f64, rd_i32, rd_u16, RecordLayout};
use super::meta::LasMeta;
use crate::{Error, Result};
use std::path::Path;

/// Points decoded per batch: bounds the transient memory of a read (about 40 MB of records).
pub const READ_BATCH_POINTS: u64 = 1_000_000;

/// Bytes of records decompressed per batch, whatever the record length.
const READ_BATCH_BYTES: u64 = 64 << 20;

/// Opens `path` and reads its header (no points).
///
/// The raw header is checked first (version, sizes, offsets, VLRs, transforms, bounds, LAZ
/// chunk table, a point count the file can hold), so that no reader allocates from a corrupt
/// field; an error names the file and the fault.
pub fn open(path: &Path) -> Result<(las::Reader, LasMeta)> {
    open_checked(path).map(|(r, m, _)| (r, m))
}

pub(crate) fn open_checked(path: &Path) -> Result<(las::Reader, LasMeta, RawFacts)> {
    let meta_fs = std::fs::metadata(path).map_err(|e| Error::io(path, e))?;
    if meta_fs.is_dir() {
        return Err(Error::las(path, "is a folder, not a LAS/LAZ file"));
    }
    if meta_fs.len() == 0 {
        return Err(Error::las(path, "empty file (0 bytes), not a LAS/LAZ file"));
    }
    let facts = check_raw_header(path, meta_fs.len())?;
    let reader = las::Reader::from_path(path).map_err(|e| las_error(path, e))?;
    let header = super::evlr::with_all_evlrs(reader.header().clone(), path)?;
    // More data than the header announces: the readers stop at the header's count, so say
    // how much is left unread (exactly for LAS, at least for LAZ from its chunk table).
    let announced = header.number_of_points();
    let held = match facts.records_on_disk() {
        Some(n) => Some((n, "")),
        None if facts.compressed => {
            laz_points_at_least(path, &header, facts.offset_to_points).map(|n| (n, "at least "))
        }
        None => None,
    };
    if let Some((n, bound)) = held.filter(|(n, _)| *n > announced) {
        warn_once(format!("count:{}", path.display()), || {
            format!(
                "{}: the header announces {announced} points but the file holds {bound}{n} records ({bound}{} beyond the count); reading only the first {announced} (fix the header's point count)",
                path.display(),
                n - announced
            )
        });
    }
    let crs = Crs::from_header(&header, path)?;
    if crs.is_unknown() {
        warn_once(format!("crs:{}", path.display()), || {
            format!(
                "{}: no CRS in the header (no WKT or GeoTIFF keys); products will carry the catalog's CRS or none",
                path.display()
            )
        });
    }
    let meta = LasMeta {
        path: Some(path.to_path_buf()),
        format: *header.point_format(),
        header,
        crs,
    };
    Ok((reader, meta, facts))
}

/// Reads every point of `path`.
///
/// Decompression of the next batch overlaps with decoding of the current one (two rayon
/// tasks), so on two or more threads the column decoding costs almost nothing beyond the LAZ
/// decompression itself.
pub fn read(path: &Path) -> Result<PointCloud> {
    let (mut reader, meta, facts) = open_checked(path)?;
    let expected = meta.header.number_of_points();
    let mut cloud = PointCloud::empty(meta);
    // A hint bounded by what the file can hold; when even that fails, the columns grow with
    // the points actually decoded.
    let _ = cloud.try_reserve(facts.reservable_points());
    let builder = las::PointDataBuilder::new().for_header(reader.header());
    let (mut cur, mut next) = (builder.clone().build(), builder.build());
    let mut seen = fill(&mut reader, &mut cur, path, &cloud.meta, expected, 0)?;
    // Overlap only when the pool has a second thread to give (`--threads 1` stays serial).
    let overlap = rayon::current_num_threads() > 1;
    while !cur.is_empty() {
        let meta = cloud.meta.clone();
        let filled = if overlap {
            // The LAZ reader is not `Send`: it stays here, the decoding moves to a helper thread.
            std::thread::scope(|s| {
                let decoding = s.spawn(|| decode_all(&mut cloud, cur.raw_bytes()));
                let filled = fill(&mut reader, &mut next, path, &meta, expected, seen);
                decoding.join().expect("decoding thread panicked");
                filled
            })
        } else {
            decode_all(&mut cloud, cur.raw_bytes());
            fill(&mut reader, &mut next, path, &meta, expected, seen)
        };
        seen += filled?;
        std::mem::swap(&mut cur, &mut next);
    }
    check_count(path, expected, seen)?;
    Ok(cloud)
}

/// Reads the points of `path` for which `keep(x, y)` is `Some(is_buffer)`; others are skipped
/// during decoding. Checks that the file holds as many points as its header announces.
pub fn read_filtered(
    path: &Path,
    keep: &mut dyn FnMut(f64, f64) -> Option<bool>,
) -> Result<PointCloud> {
    let (mut reader, meta) = open(path)?;
    let expected = meta.header.number_of_points();
    let mut cloud = PointCloud::empty(meta);
    let mut slab = las::PointDataBuilder::new()
        .for_header(reader.header())
        .build();
    let mut seen = 0u64;
    while seen < expected {
        let got = fill(&mut reader, &mut slab, path, &cloud.meta, expected, seen)?;
        if got == 0 {
            break;
        }
        decode_into(&mut cloud, slab.raw_bytes(), keep);
        seen += got;
    }
    check_count(path, expected, seen)?;
    Ok(cloud)
}

/// Refuses a file whose point columns or extra bytes differ from those of `cloud`, which its
/// points are about to be appended to.
pub(crate) fn check_same_columns(path: &Path, meta: &LasMeta, cloud: &PointCloud) -> Result<()> {
    let same = meta.format.has_gps_time == cloud.gps_time.is_some()
        && meta.format.has_color == cloud.rgb.is_some()
        && meta.format.has_nir == cloud.nir.is_some()
        && meta.format.has_waveform == cloud.waveform.is_some()
        && meta.format.extra_bytes as usize == cloud.extra.record_len
        && meta.format.is_extended == cloud.meta.format.is_extended;
    if same {
        Ok(())
    } else {
        Err(Error::data(
            path.display(),
            "its point format or extra bytes differ from the other files of the chunk",
        ))
    }
}

/// Appends to `cloud` the points of `path` for which `keep(x, y)` is `Some(is_buffer)`, as
/// [`read_filtered`] reads them (decoded with `path`'s own scale and offset), without a second
/// cloud: a chunk read from several files grows one set of columns, reserved once by the
/// caller, instead of appending copies. The file must have `cloud`'s point columns and extra
/// bytes (an error naming it otherwise).
pub fn read_filtered_into(
    path: &Path,
    cloud: &mut PointCloud,
    keep: &mut dyn FnMut(f64, f64) -> Option<bool>,
) -> Result<()> {
    let (mut reader, meta) = open(path)?;
    check_same_columns(path, &meta, cloud)?;
    let expected = meta.header.number_of_points();
    let mut slab = las::PointDataBuilder::new()
        .for_header(reader.header())
        .build();
    // Decode with this file's header (transforms, layout), then give the cloud its own back.
    let own_meta = std::mem::replace(&mut cloud.meta, meta);
    let result = (|| -> Result<()> {
        let mut seen = 0u64;
        while seen < expected {
            let got = fill(&mut reader, &mut slab, path, &cloud.meta, expected, seen)?;
            if got == 0 {
                break;
            }
            decode_into(cloud, slab.raw_bytes(), keep);
            seen += got;
        }
        check_count(path, expected, seen)
    })();
    cloud.meta = own_meta;
    result
}

/// Bytes of records read per batch from a scratch file: small enough that the batch and the
/// columns it fills are still in the cache when decoded.
const SCRATCH_BATCH_BYTES: usize = 1 << 20;

/// Appends to `cloud` the points of `path`, an uncompressed LAS file written by
/// [`super::split_by_rects`] (a buffer strip, a part or a copy of a tile), opened as `meta`:
/// all of them as core points when `keep` is `None`, else those for which `keep(x, y)` is
/// `Some(is_buffer)`, as [`read_filtered_into`] reads them.
///
/// The records are read straight from the file in batches of [`SCRATCH_BATCH_BYTES`] into one
/// buffer and decoded there: no `las::Reader` batch of tens of MB zeroed and filled, and no
/// bounds check (the records were checked against their source's header when it was decoded
/// for the split, and the file's bounds are those of its records).
pub fn read_scratch_into<F: FnMut(f64, f64) -> Option<bool> + ?Sized>(
    path: &Path,
    meta: LasMeta,
    cloud: &mut PointCloud,
    mut keep: Option<&mut F>,
) -> Result<()> {
    use std::io::{Read, Seek, SeekFrom};
    if meta.format.is_compressed {
        return match keep {
            Some(k) => read_filtered_into(path, cloud, &mut |x, y| k(x, y)),
            None => read_filtered_into(path, cloud, &mut |_, _| Some(false)),
        };
    }
    check_same_columns(path, &meta, cloud)?;
    let lay = RecordLayout::of(&meta.format);
    let expected = meta.header.number_of_points();
    let io = |e: std::io::Error| Error::io(path, e);
    let mut file = std::fs::File::open(path).map_err(io)?;
    // Where the records start and their length, as the file's header says (LAS 1.4 §2.4).
    let mut head = [0u8; 107];
    file.read_exact(&mut head).map_err(io)?;
    let offset = u32::from_le_bytes([head[96], head[97], head[98], head[99]]);
    let record_len = usize::from(u16::from_le_bytes([head[105], head[106]]));
    if record_len != lay.len {
        return Err(Error::las(
            path,
            format!(
                "records of {record_len} bytes, not the {} of its point format",
                lay.len
            ),
        ));
    }
    file.seek(SeekFrom::Start(u64::from(offset))).map_err(io)?;
    let per_batch = (SCRATCH_BATCH_BYTES / lay.len).max(1);
    let first = usize::try_from(expected)
        .unwrap_or(usize::MAX)
        .min(per_batch);
    let mut buf = vec![0u8; first * lay.len];
    // Decode with this file's header (transforms, layout), then give the cloud its own back.
    let own_meta = std::mem::replace(&mut cloud.meta, meta);
    let result = (|| -> Result<()> {
        let mut seen = 0u64;
        while seen < expected {
            let n = (expected - seen).min(per_batch as u64) as usize;
            let bytes = &mut buf[..n * lay.len];
            file.read_exact(bytes)
                .map_err(|e| match records_on_disk(path, &cloud.meta) {
                    Some(found) if found < expected => Error::PointCount {
                        path: path.to_path_buf(),
                        expected,
                        found,
                    },
                    _ => Error::io(path, e),
                })?;
            match &mut keep {
                Some(k) => decode_into(cloud, bytes, &mut **k),
                None => decode_all(cloud, bytes),
            }
            seen += n as u64;
        }
        Ok(())
    })();
    cloud.meta = own_meta;
    result
}

/// Decompresses the next batch (up to [`READ_BATCH_POINTS`]) into `slab`.
pub(crate) fn fill(
    reader: &mut las::Reader,
    slab: &mut las::PointData,
    path: &Path,
    meta: &LasMeta,
    expected: u64,
    seen: u64,
) -> Result<u64> {
    fill_at_most(reader, slab, path, meta, expected, seen, u64::MAX)
}

/// [`fill`], with at most `batch` points (and still at most [`READ_BATCH_POINTS`]).
pub(crate) fn fill_at_most(
    reader: &mut las::Reader,
    slab: &mut las::PointData,
    path: &Path,
    meta: &LasMeta,
    expected: u64,
    seen: u64,
    batch: u64,
) -> Result<u64> {
    let lay = RecordLayout::of(&meta.format);
    let per_batch = (READ_BATCH_BYTES / lay.len.max(1) as u64)
        .min(batch)
        .clamp(1, READ_BATCH_POINTS);
    let want = expected.saturating_sub(seen).min(per_batch);
    if want == 0 {
        slab.resize_for(0);
        return Ok(0);
    }
    let got = reader.fill_points(want, slab).map_err(|e| {
        // An uncompressed file tells how many whole records it holds.
        match records_on_disk(path, meta) {
            Some(found) if found < expected => Error::PointCount {
                path: path.to_path_buf(),
                expected,
                found,
            },
            _ => truncated_or(path, expected, seen, e),
        }
    })?;
    BoundsCheck::new(&meta.header).check(path, &lay, slab.raw_bytes(), seen)?;
    Ok(got)
}

fn check_count(path: &Path, expected: u64, seen: u64) -> Result<()> {
    if seen < expected {
        return Err(Error::PointCount {
            path: path.to_path_buf(),
            expected,
            found: seen,
        });
    }
    Ok(())
}

/// Whole point records present in an uncompressed LAS file; `None` for LAZ.
fn records_on_disk(path: &Path, meta: &LasMeta) -> Option<u64> {
    if meta.format.is_compressed {
        return None;
    }
    let raw = meta.header.clone().into_raw().ok()?;
    let len = std::fs::metadata(path).ok()?.len();
    let rec = raw.point_data_record_length as u64;
    (rec > 0).then(|| len.saturating_sub(raw.offset_to_point_data as u64) / rec)
}

fn truncated_or(path: &Path, expected: u64, seen: u64, e: las::Error) -> Error {
    let msg = e.to_string();
    if msg.contains("failed to fill whole buffer") || msg.contains("UnexpectedEof") {
        Error::las(
            path,
            format!("truncated: decoding stopped after {seen} of the {expected} points the header announces ({msg})"),
        )
    } else {
        Error::las(
            path,
            format!("cannot decode points after point {seen}: {msg}"),
        )
    }
}

/// Maps a `las` error on opening to a message a user can act on.
pub(crate) fn las_error(path: &Path, e: las::Error) -> Error {
    match e {
        las::Error::Io(io) if io.kind() == std::io::ErrorKind::NotFound => Error::io(path, io),
        las::Error::Io(io) if io.kind() == std::io::ErrorKind::UnexpectedEof => Error::las(
            path,
            "not a LAS/LAZ file: the file is shorter than a LAS header",
        ),
        other => {
            let msg = other.to_string();
            if msg.contains("fill whole buffer") {
                Error::las(path, format!("truncated or corrupt: the file ends before its header and LAZ chunk table say it should ({msg})"))
            } else if msg.to_lowercase().contains("signature") {
                Error::las(path, format!("not a LAS/LAZ file ({msg})"))
            } else {
                Error::las(path, msg)
            }
        }
    }
}

/// Decodes every record of `bytes` and appends it as a core point.
pub fn decode_all(cloud: &mut PointCloud, bytes: &[u8]) {
    let lay = RecordLayout::of(&cloud.meta.format);
    let n = bytes.len() / lay.len;
    decode_records(cloud, bytes.chunks_exact(lay.len), n);
}

/// Appends the `n` records `recs` (the layout of `cloud.meta.format`) as core points.
///
/// The columns are grown once to their final length and filled in one pass over the records,
/// with the format's branches hoisted out of the loop and fixed-size reads (one bounds check per
/// record).
fn decode_records<'a, I>(cloud: &mut PointCloud, recs: I, n: usize)
where
    I: Iterator<Item = &'a [u8]> + Clone,
{
    let lay = RecordLayout::of(&cloud.meta.format);
    let t = *cloud.meta.header.transforms();
    let base = cloud.len();
    fn g<T: Default + Clone>(v: &mut Vec<T>, len: usize) {
        v.resize(len, T::default());
    }
    g(&mut cloud.x, base + n);
    g(&mut cloud.y, base + n);
    g(&mut cloud.z, base + n);
    g(&mut cloud.intensity, base + n);
    g(&mut cloud.return_number, base + n);
    g(&mut cloud.number_of_returns, base + n);
    g(&mut cloud.flags, base + n);
    g(&mut cloud.scanner_channel, base + n);
    g(&mut cloud.classification, base + n);
    g(&mut cloud.user_data, base + n);
    g(&mut cloud.scan_angle_deg, base + n);
    g(&mut cloud.point_source_id, base + n);
    g(&mut cloud.is_buffer, base + n);
    let x = &mut cloud.x[base..];
    let y = &mut cloud.y[base..];
    let z = &mut cloud.z[base..];
    let inten = &mut cloud.intensity[base..];
    let rn = &mut cloud.return_number[base..];
    let nr = &mut cloud.number_of_returns[base..];
    let fl = &mut cloud.flags[base..];
    let ch = &mut cloud.scanner_channel[base..];
    let cl = &mut cloud.classification[base..];
    let ud = &mut cloud.user_data[base..];
    let sa = &mut cloud.scan_angle_deg[base..];
    let ps = &mut cloud.point_source_id[base..];
    if lay.extended {
        for (i, r) in recs.clone().enumerate() {
            let h: &[u8; 22] = r[..22].try_into().expect("record of at least 22 bytes");
            x[i] = i32::from_le_bytes([h[0], h[1], h[2], h[3]]) as f64 * t.x.scale + t.x.offset;
            y[i] = i32::from_le_bytes([h[4], h[5], h[6], h[7]]) as f64 * t.y.scale + t.y.offset;
            z[i] = i32::from_le_bytes([h[8], h[9], h[10], h[11]]) as f64 * t.z.scale + t.z.offset;
            inten[i] = u16::from_le_bytes([h[12], h[13]]);
            rn[i] = h[14] & 0x0F;
            nr[i] = h[14] >> 4;
            fl[i] = (h[15] & 0x0F) | ((h[15] >> 6) & 1) << 4 | ((h[15] >> 7) & 1) << 5;
            ch[i] = (h[15] >> 4) & 0x03;
            cl[i] = h[16];
            ud[i] = h[17];
            sa[i] = i16::from_le_bytes([h[18], h[19]]) as f32 * 0.006;
            ps[i] = u16::from_le_bytes([h[20], h[21]]);
        }
    } else {
        for (i, r) in recs.clone().enumerate() {
            let h: &[u8; 20] = r[..20].try_into().expect("record of at least 20 bytes");
            x[i] = i32::from_le_bytes([h[0], h[1], h[2], h[3]]) as f64 * t.x.scale + t.x.offset;
            y[i] = i32::from_le_bytes([h[4], h[5], h[6], h[7]]) as f64 * t.y.scale + t.y.offset;
            z[i] = i32::from_le_bytes([h[8], h[9], h[10], h[11]]) as f64 * t.z.scale + t.z.offset;
            inten[i] = u16::from_le_bytes([h[12], h[13]]);
            rn[i] = h[14] & 0x07;
            nr[i] = (h[14] >> 3) & 0x07;
            fl[i] = (h[15] >> 5) | ((h[14] >> 6) & 1) << 4 | ((h[14] >> 7) & 1) << 5;
            ch[i] = 0;
            cl[i] = h[15] & 0x1F;
            sa[i] = h[16] as i8 as f32;
            ud[i] = h[17];
            ps[i] = u16::from_le_bytes([h[18], h[19]]);
        }
    }
    if let (Some(v), Some(o)) = (&mut cloud.gps_time, lay.gps) {
        v.extend(recs.clone().map(|r| rd_f64(r, o)));
    }
    if let (Some(v), Some(o)) = (&mut cloud.rgb, lay.rgb) {
        v.extend(
            recs.clone()
                .map(|r| [rd_u16(r, o), rd_u16(r, o + 2), rd_u16(r, o + 4)]),
        );
    }
    if let (Some(v), Some(o)) = (&mut cloud.nir, lay.nir) {
        v.extend(recs.clone().map(|r| rd_u16(r, o)));
    }
    if let (Some(v), Some(o)) = (&mut cloud.waveform, lay.waveform) {
        v.extend(
            recs.clone()
                .map(|r| -> super::WaveformPacket { r[o..o + 29].try_into().expect("29 bytes") }),
        );
    }
    let xl = cloud.extra.record_len;
    if xl > 0 {
        cloud.extra.data.reserve(n * xl);
        for r in recs {
            cloud
                .extra
                .data
                .extend_from_slice(&r[lay.extra..lay.extra + xl]);
        }
    }
}

/// Decodes raw records (the layout of `cloud.meta.format`) and appends those kept by `keep`.
///
/// Two passes: x and y of every record decide which are kept, then the kept records are
/// decoded column by column by [`decode_all`]'s loop (the columns grown once per batch rather
/// than checked for room at every point and column).
///
/// Generic over the filter, so that a caller passing a closure (not `dyn`) gets it inlined in
/// the loop (a call per point otherwise).
pub fn decode_into<F: FnMut(f64, f64) -> Option<bool> + ?Sized>(
    cloud: &mut PointCloud,
    bytes: &[u8],
    keep: &mut F,
) {
    let lay = RecordLayout::of(&cloud.meta.format);
    let t = *cloud.meta.header.transforms();
    let n = bytes.len() / lay.len;
    // Every record is written at the next free slot, which advances past a kept one: no
    // branch on the filter's answer (points in and out of a strip alternate unpredictably).
    let mut kept: Vec<usize> = vec![0; n];
    let mut is_buffer: Vec<bool> = vec![false; n];
    let mut m = 0;
    for (i, rec) in bytes.chunks_exact(lay.len).enumerate() {
        let x = rd_i32(rec, 0) as f64 * t.x.scale + t.x.offset;
        let y = rd_i32(rec, 4) as f64 * t.y.scale + t.y.offset;
        let k = keep(x, y);
        kept[m] = i;
        is_buffer[m] = k.unwrap_or(false);
        m += usize::from(k.is_some());
    }
    kept.truncate(m);
    is_buffer.truncate(m);
    let base = cloud.len();
    if kept.len() == n {
        decode_records(cloud, bytes.chunks_exact(lay.len), n);
    } else {
        let recs = kept.iter().map(|&i| &bytes[i * lay.len..(i + 1) * lay.len]);
        decode_records(cloud, recs, kept.len());
    }
    cloud.is_buffer[base..].copy_from_slice(&is_buffer);
}

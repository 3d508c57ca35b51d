//! Reading LAS/LAZ into a [`PointCloud`], column-wise: records are decompressed in batches
//! (`las::Reader::fill_points`, parallel LAZ decoding) and each batch is decoded in one pass into
//! the columns. An optional filter drops points outside a rectangle while decoding, so that
//! reading only a buffer strip of a neighbouring tile costs no more memory than the strip.

use super::cloud::PointCloud;
use super::crs::Crs;
use super::layout::{rd_f64, rd_i32, rd_u16, RecordLayout};
use super::meta::LasMeta;
use crate::{Error, Result};
use std::path::Path;

/// Points decoded per batch: bounds the transient memory of a read (about 40 MB of records).
pub const READ_BATCH_POINTS: u64 = 1_000_000;

/// Opens `path` and reads its header (no points).
pub fn open(path: &Path) -> Result<(las::Reader, LasMeta)> {
    let meta_fs = std::fs::metadata(path).map_err(|e| Error::io(path, e))?;
    if meta_fs.len() == 0 {
        return Err(Error::las(path, "empty file (0 bytes), not a LAS/LAZ file"));
    }
    let reader = las::Reader::from_path(path).map_err(|e| las_error(path, e))?;
    let header = reader.header().clone();
    let crs = Crs::from_header(&header, path)?;
    let meta = LasMeta {
        path: Some(path.to_path_buf()),
        format: *header.point_format(),
        header,
        crs,
    };
    Ok((reader, meta))
}

/// Reads every point of `path`.
pub fn read(path: &Path) -> Result<PointCloud> {
    read_filtered(path, &mut |_, _| Some(false))
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
        let want = (expected - seen).min(READ_BATCH_POINTS);
        let got = match reader.fill_points(want, &mut slab) {
            Ok(g) => g,
            Err(e) => {
                // An uncompressed file tells how many whole records it holds.
                if let Some(found) = records_on_disk(path, &cloud.meta) {
                    if found < expected {
                        return Err(Error::PointCount { path: path.to_path_buf(), expected, found });
                    }
                }
                return Err(truncated_or(path, expected, seen, e));
            }
        };
        if got == 0 {
            break;
        }
        decode_into(&mut cloud, slab.raw_bytes(), keep);
        seen += got;
    }
    if seen < expected {
        return Err(Error::PointCount {
            path: path.to_path_buf(),
            expected,
            found: seen,
        });
    }
    Ok(cloud)
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

/// Decodes raw records (the layout of `cloud.meta.format`) and appends those kept by `keep`.
pub fn decode_into(
    cloud: &mut PointCloud,
    bytes: &[u8],
    keep: &mut dyn FnMut(f64, f64) -> Option<bool>,
) {
    let lay = RecordLayout::of(&cloud.meta.format);
    let t = *cloud.meta.header.transforms();
    let n = bytes.len() / lay.len;
    cloud.reserve(n.min(1 << 20));
    let xlen = cloud.extra.record_len;
    for rec in bytes.chunks_exact(lay.len) {
        let x = rd_i32(rec, 0) as f64 * t.x.scale + t.x.offset;
        let y = rd_i32(rec, 4) as f64 * t.y.scale + t.y.offset;
        let Some(is_buffer) = keep(x, y) else {
            continue;
        };
        cloud.x.push(x);
        cloud.y.push(y);
        cloud.z.push(rd_i32(rec, 8) as f64 * t.z.scale + t.z.offset);
        cloud.intensity.push(rd_u16(rec, 12));
        let b14 = rec[14];
        let b15 = rec[15];
        if lay.extended {
            cloud.return_number.push(b14 & 0x0F);
            cloud.number_of_returns.push(b14 >> 4);
            // b15: bits 0-3 class flags, 4-5 scanner channel, 6 scan direction, 7 edge.
            cloud
                .flags
                .push((b15 & 0x0F) | ((b15 >> 6) & 1) << 4 | ((b15 >> 7) & 1) << 5);
            cloud.scanner_channel.push((b15 >> 4) & 0x03);
            cloud.classification.push(rec[16]);
            cloud.user_data.push(rec[17]);
            cloud
                .scan_angle_deg
                .push(i16::from_le_bytes([rec[18], rec[19]]) as f32 * 0.006);
            cloud.point_source_id.push(rd_u16(rec, 20));
        } else {
            cloud.return_number.push(b14 & 0x07);
            cloud.number_of_returns.push((b14 >> 3) & 0x07);
            // b15: bits 0-4 class, 5 synthetic, 6 key point, 7 withheld.
            cloud
                .flags
                .push((b15 >> 5) | ((b14 >> 6) & 1) << 4 | ((b14 >> 7) & 1) << 5);
            cloud.scanner_channel.push(0);
            cloud.classification.push(b15 & 0x1F);
            cloud.scan_angle_deg.push(rec[16] as i8 as f32);
            cloud.user_data.push(rec[17]);
            cloud.point_source_id.push(rd_u16(rec, 18));
        }
        cloud.is_buffer.push(is_buffer);
        if let (Some(v), Some(o)) = (&mut cloud.gps_time, lay.gps) {
            v.push(rd_f64(rec, o));
        }
        if let (Some(v), Some(o)) = (&mut cloud.rgb, lay.rgb) {
            v.push([rd_u16(rec, o), rd_u16(rec, o + 2), rd_u16(rec, o + 4)]);
        }
        if let (Some(v), Some(o)) = (&mut cloud.nir, lay.nir) {
            v.push(rd_u16(rec, o));
        }
        if let (Some(v), Some(o)) = (&mut cloud.waveform, lay.waveform) {
            v.push(rec[o..o + 29].try_into().expect("29 bytes"));
        }
        if xlen > 0 {
            cloud
                .extra
                .data
                .extend_from_slice(&rec[lay.extra..lay.extra + xlen]);
        }
    }
}

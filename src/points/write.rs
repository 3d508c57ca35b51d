//! Writing a [`PointCloud`] to LAS or LAZ (chosen by the file extension), keeping the source
//! header's version, scale/offset, VLRs, EVLRs and CRS. The file is written under a temporary
//! name in the same folder and renamed when complete, so an interrupted write never leaves a file
//! that looks finished.

use super::cloud::PointCloud;
use super::extra::is_extra_bytes_vlr;
use super::layout::RecordLayout;
use super::record_writer::RecordWriter;
use crate::{Error, Result};
use std::io::Write;
use std::path::{Path, PathBuf};

/// Writes `cloud` to `path` (`.laz` compressed, `.las` plain, `.copc.laz` COPC).
pub fn write(cloud: &PointCloud, path: &Path) -> Result<()> {
    if super::copc::is_copc_path(path) {
        return super::copc::write::write_copc(cloud, path).map(|s| {
            log::debug!(
                "{}: COPC, {} points in {} octree nodes (deepest level {})",
                path.display(),
                s.points,
                s.nodes,
                s.max_level
            );
        });
    }
    let header = header_for(cloud, path)?;
    let lay = RecordLayout::of(header.point_format());
    let bytes = encode(
        cloud,
        &lay,
        header.transforms(),
        header.point_format().is_extended,
    )
    .map_err(|reason| Error::las(path, reason))?;
    let tmp = temp_path(path);
    let result = (|| -> Result<()> {
        let file = std::fs::File::create(&tmp).map_err(|e| Error::io(&tmp, e))?;
        let mut w = RecordWriter::new(std::io::BufWriter::new(file), header, path)?;
        w.write(&bytes)?;
        w.close()?.flush().map_err(|e| Error::io(&tmp, e))
    })();
    match result {
        Ok(()) => commit_temp(&tmp, path),
        Err(e) => {
            let _ = std::fs::remove_file(&tmp);
            Err(e)
        }
    }
}

/// A temporary sibling of `path`: `.<name>.partial-<pid>`.
pub fn temp_path(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_else(|| "output".to_string());
    path.with_file_name(format!(".{name}.partial-{}", std::process::id()))
}

/// Renames a completed temporary file onto its final name.
pub fn commit_temp(tmp: &Path, path: &Path) -> Result<()> {
    std::fs::rename(tmp, path).map_err(|e| {
        let _ = std::fs::remove_file(tmp);
        Error::io(path, e)
    })
}

pub(crate) fn header_for(cloud: &PointCloud, path: &Path) -> Result<las::Header> {
    let ext = path
        .extension()
        .map(|e| e.to_string_lossy().to_lowercase())
        .unwrap_or_default();
    let compressed = match ext.as_str() {
        "laz" => true,
        "las" => false,
        other => {
            return Err(Error::Config(format!(
                "{}: unknown point-cloud extension '.{other}' (use .las or .laz)",
                path.display()
            )))
        }
    };
    let mut b = las::Builder::from(cloud.meta.header.clone());
    b.point_format = cloud.meta.format;
    b.point_format.is_compressed = compressed;
    b.point_format.extra_bytes = cloud.extra.record_len as u16;
    // LAS 1.0–1.3 count returns 1–5 only; files with returns 6 and 7 exist (lidR's Topography
    // sample) and the las writer refuses them, so those are written as LAS 1.4, which counts
    // up to 15 and keeps the same point format.
    let max_return = cloud.return_number.iter().copied().max().unwrap_or(0);
    if max_return > 5 && b.version < las::Version::new(1, 4) {
        log::warn!(
            "{}: returns numbered up to {max_return} do not fit LAS {}; writing LAS 1.4",
            path.display(),
            b.version
        );
        b.version = las::Version::new(1, 4);
    }
    // The LASzip VLR is made anew by the writer (a COPC source's says variable-size chunks);
    // COPC records describe the source's octree and chunks, not this file's.
    b.vlrs
        .retain(|v| !las::laz::is_laszip_vlr(v) && !super::copc::is_copc_record(v));
    b.evlrs.retain(|v| !super::copc::is_copc_record(v));
    if let Some(desc) = cloud.extra.descriptors_if_changed() {
        b.vlrs.retain(|v| !is_extra_bytes_vlr(v));
        b.evlrs.retain(|v| !is_extra_bytes_vlr(v));
        b.vlrs.push(las::Vlr {
            user_id: "LASF_Spec".to_string(),
            record_id: 4,
            description: "Extra bytes".to_string(),
            data: desc,
        });
    }
    b.into_header()
        .map_err(|e| Error::las(path, format!("cannot build header: {e}")))
}

pub(crate) fn encode(
    c: &PointCloud,
    lay: &RecordLayout,
    t: &las::Vector<las::Transform>,
    extended: bool,
) -> std::result::Result<Vec<u8>, String> {
    let n = c.len();
    let mut out = vec![0u8; n * lay.len];
    let q = |v: f64, tr: &las::Transform, axis: &str| -> std::result::Result<i32, String> {
        let r = ((v - tr.offset) / tr.scale).round();
        if r < i32::MIN as f64 || r > i32::MAX as f64 || !r.is_finite() {
            Err(format!(
                "{axis} = {v} does not fit the header's scale {} and offset {}",
                tr.scale, tr.offset
            ))
        } else {
            Ok(r as i32)
        }
    };
    let xl = c.extra.record_len;
    // Every column sliced to `n` once, so that the per-point reads below need no bounds check
    // (the columns of a cloud all hold `n` values).
    let (x, y, z) = (&c.x[..n], &c.y[..n], &c.z[..n]);
    let (intensity, flags, user_data) = (&c.intensity[..n], &c.flags[..n], &c.user_data[..n]);
    let (rn, nr, cls) = (
        &c.return_number[..n],
        &c.number_of_returns[..n],
        &c.classification[..n],
    );
    let (channel, angle, source) = (
        &c.scanner_channel[..n],
        &c.scan_angle_deg[..n],
        &c.point_source_id[..n],
    );
    for i in 0..n {
        let rec = &mut out[i * lay.len..(i + 1) * lay.len];
        // The 20 bytes every format starts with, as an array: constant offsets, no checks.
        let head: &mut [u8; 20] = (&mut rec[..20])
            .try_into()
            .expect("a LAS record holds at least 20 bytes");
        head[0..4].copy_from_slice(&q(x[i], &t.x, "x")?.to_le_bytes());
        head[4..8].copy_from_slice(&q(y[i], &t.y, "y")?.to_le_bytes());
        head[8..12].copy_from_slice(&q(z[i], &t.z, "z")?.to_le_bytes());
        head[12..14].copy_from_slice(&intensity[i].to_le_bytes());
        let f = flags[i];
        let sd = (f >> 4) & 1;
        let edge = (f >> 5) & 1;
        if extended {
            head[14] = (rn[i] & 0x0F) | (nr[i] & 0x0F) << 4;
            head[15] = (f & 0x0F) | (channel[i] & 0x03) << 4 | sd << 6 | edge << 7;
            head[16] = cls[i];
            head[17] = user_data[i];
            let sa = (angle[i] / 0.006).round() as i16;
            head[18..20].copy_from_slice(&sa.to_le_bytes());
            rec[20..22].copy_from_slice(&source[i].to_le_bytes());
        } else {
            if cls[i] > 31 {
                return Err(format!(
                    "point {i} has class {} which point formats 0-5 cannot store (max 31)",
                    cls[i]
                ));
            }
            head[14] = (rn[i] & 0x07) | (nr[i] & 0x07) << 3 | sd << 6 | edge << 7;
            head[15] = (cls[i] & 0x1F) | (f & 0x07) << 5;
            head[16] = angle[i].round().clamp(-128.0, 127.0) as i8 as u8;
            head[17] = user_data[i];
            head[18..20].copy_from_slice(&source[i].to_le_bytes());
        }
        if let (Some(o), Some(v)) = (lay.gps, &c.gps_time) {
            rec[o..o + 8].copy_from_slice(&v[i].to_le_bytes());
        }
        if let (Some(o), Some(v)) = (lay.rgb, &c.rgb) {
            for k in 0..3 {
                rec[o + 2 * k..o + 2 * k + 2].copy_from_slice(&v[i][k].to_le_bytes());
            }
        }
        if let (Some(o), Some(v)) = (lay.nir, &c.nir) {
            rec[o..o + 2].copy_from_slice(&v[i].to_le_bytes());
        }
        if let (Some(o), Some(v)) = (lay.waveform, &c.waveform) {
            rec[o..o + 29].copy_from_slice(&v[i]);
        }
        if xl > 0 {
            rec[lay.extra..lay.extra + xl].copy_from_slice(&c.extra.data[i * xl..(i + 1) * xl]);
        }
    }
    Ok(out)
}

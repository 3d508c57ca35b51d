//! Writing a [`PointCloud`] as COPC (`*.copc.laz`): LAS 1.4, point format 6, 7 or 8, the COPC
//! info VLR first, one variable-size LAZ chunk per octree node ([`super::octree`]), then the
//! hierarchy EVLR listing every node (key, offset, byte size, point count) in one page.
//!
//! Every offset is known before the first byte is written (chunks are compressed in memory, in
//! parallel), so the file is written once, front to back, under a temporary name.

use super::octree::{self, Cube};
use super::{is_copc_record, CopcInfo, Entry, VoxelKey, HIERARCHY_RECORD, INFO_RECORD, USER_ID};
use crate::points::cloud::PointCloud;
use crate::points::layout::{rd_i32, RecordLayout};
use crate::points::write::{commit_temp, encode, header_for, temp_path};
use crate::{Error, Result};
use rayon::prelude::*;
use std::io::Write;
use std::path::Path;

/// What a COPC write produced.
#[derive(Debug, Clone, PartialEq)]
pub struct CopcSummary {
    pub points: u64,
    pub nodes: usize,
    pub max_level: i32,
    pub root_points: u64,
    pub bytes: u64,
}

/// The COPC point format for a cloud's format: 6–8 kept, 0–3 widened to 6 (7 with colour);
/// formats with waveforms cannot be COPC.
fn copc_format_id(f: &las::point::Format) -> std::result::Result<u8, String> {
    if f.has_waveform {
        return Err(format!(
            "point format {} carries waveforms, which COPC (point formats 6-8) cannot hold; write .laz instead",
            f.to_u8().unwrap_or(255)
        ));
    }
    Ok(match (f.has_color, f.has_nir) {
        (true, true) => 8,
        (true, false) => 7,
        _ => 6,
    })
}

/// WKT of `crs` (COPC, like LAS 1.4 formats 6–10, takes WKT, not GeoTIFF keys): the file's
/// own text, else GDAL's for its EPSG code; `None` when unknown.
fn wkt_of(crs: &crate::points::Crs, path: &Path) -> Result<Option<String>> {
    if let Some(w) = &crs.wkt {
        return Ok(Some(w.clone()));
    }
    let Some(code) = crs.epsg else {
        return Ok(None);
    };
    gdal::spatial_ref::SpatialRef::from_epsg(code)
        .and_then(|s| s.to_wkt())
        .map(Some)
        .map_err(|e| {
            Error::las(
                path,
                format!("cannot write the CRS EPSG:{code} as WKT: {e}"),
            )
        })
}

/// Compresses the records `idx` of `records` as one LAZ chunk; returns its bytes.
fn compress_chunk(
    records: &[u8],
    len: usize,
    idx: &[u32],
    vlr: &laz::LazVlr,
) -> std::io::Result<Vec<u8>> {
    let mut pts = Vec::with_capacity(idx.len() * len);
    for &i in idx {
        pts.extend_from_slice(&records[i as usize * len..(i as usize + 1) * len]);
    }
    let mut c = laz::LasZipCompressor::new(std::io::Cursor::new(Vec::new()), vlr.clone())
        .map_err(std::io::Error::other)?;
    c.compress_many(&pts)?;
    c.done()?;
    let buf = c.into_inner().into_inner();
    // The stream is: the chunk table's offset (i64), the chunk, the chunk table.
    let table = i64::from_le_bytes(buf[..8].try_into().expect("8 bytes")) as usize;
    Ok(buf[8..table].to_vec())
}

/// Writes `cloud` to `path` as COPC.
pub fn write_copc(cloud: &PointCloud, path: &Path) -> Result<CopcSummary> {
    let id = copc_format_id(&cloud.meta.format).map_err(|why| Error::las(path, why))?;
    let mut format =
        las::point::Format::new(id).map_err(|e| Error::las(path, format!("point format: {e}")))?;
    format.extra_bytes = cloud.extra.record_len as u16;
    format.is_compressed = true;
    if cloud.meta.format.to_u8().ok() != Some(id) {
        log::info!(
            "{}: COPC takes point formats 6-8: point format {} written as {id}",
            path.display(),
            cloud.meta.format.to_u8().unwrap_or(255)
        );
    }
    let mut b = las::Builder::from(header_for(cloud, path)?);
    b.version = las::Version::new(1, 4);
    b.point_format = format;
    b.vlrs.retain(|v| !v.is_crs() && !is_copc_record(v));
    b.evlrs.retain(|v| !v.is_crs() && !is_copc_record(v));
    let lay = RecordLayout::of(&format);
    let t = b.transforms;
    let records = encode(cloud, &lay, &t, true).map_err(|why| Error::las(path, why))?;
    let n = cloud.len();
    // Coordinates as the file stores them, so that node membership and the header bounds
    // agree exactly with what a reader decodes.
    let (mut xs, mut ys, mut zs) = (vec![0.0; n], vec![0.0; n], vec![0.0; n]);
    for (i, r) in records.chunks_exact(lay.len).enumerate() {
        xs[i] = rd_i32(r, 0) as f64 * t.x.scale + t.x.offset;
        ys[i] = rd_i32(r, 4) as f64 * t.y.scale + t.y.offset;
        zs[i] = rd_i32(r, 8) as f64 * t.z.scale + t.z.offset;
    }
    let mut bounds = crate::points::NO_BOUNDS;
    for i in 0..n {
        crate::points::widen_bounds(&mut bounds, [xs[i], ys[i], zs[i]]);
    }
    if n == 0 {
        bounds = [0.0; 6];
    }
    let cube = Cube::around(bounds);
    let nodes = octree::build(&xs, &ys, &zs, cube);
    let laz_vlr = laz::LazVlrBuilder::default()
        .with_point_format(id, format.extra_bytes)
        .map_err(|e| Error::las(path, format!("LAZ items: {e}")))?
        .with_variable_chunk_size()
        .build();
    let chunks: Vec<Vec<u8>> = nodes
        .par_iter()
        .map(|(_, idx)| compress_chunk(&records, lay.len, idx, &laz_vlr))
        .collect::<std::io::Result<_>>()
        .map_err(|e| Error::las(path, format!("LAZ compression: {e}")))?;
    drop(records);

    // VLRs: the info VLR first (its offsets are patched below, its size is fixed), then the
    // LASzip VLR, the CRS and the source's others.
    let mut laz_data = Vec::new();
    laz_vlr
        .write_to(&mut laz_data)
        .map_err(|e| Error::las(path, e))?;
    let info_vlr = |info: &CopcInfo| las::Vlr {
        user_id: USER_ID.to_string(),
        record_id: INFO_RECORD,
        description: "copc info".to_string(),
        data: info.to_bytes(),
    };
    let mut info = CopcInfo {
        center: cube.center,
        halfsize: cube.halfsize,
        spacing: 2.0 * cube.halfsize / f64::from(octree::GRID),
        root_hier_offset: 0,
        root_hier_size: (nodes.len() * super::ENTRY_LEN) as u64,
        gpstime_min: 0.0,
        gpstime_max: 0.0,
    };
    if let Some(g) = &cloud.gps_time {
        if !g.is_empty() {
            info.gpstime_min = g.iter().copied().fold(f64::INFINITY, f64::min);
            info.gpstime_max = g.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        }
    }
    let mut vlrs = vec![
        info_vlr(&info),
        las::Vlr {
            user_id: laz::LazVlr::USER_ID.to_string(),
            record_id: laz::LazVlr::RECORD_ID,
            description: laz::LazVlr::DESCRIPTION.to_string(),
            data: laz_data,
        },
    ];
    if let Some(w) = wkt_of(&cloud.meta.crs, path)? {
        let mut data = w.into_bytes();
        data.push(0);
        vlrs.push(las::Vlr {
            user_id: "LASF_Projection".to_string(),
            record_id: 2112,
            description: "OGC WKT".to_string(),
            data,
        });
    }
    vlrs.extend(b.vlrs.drain(..).filter(|v| !las::laz::is_laszip_vlr(v)));
    let other_evlrs = std::mem::take(&mut b.evlrs);
    b.vlrs = vlrs;
    b.vlr_padding.clear();
    b.point_padding.clear();
    b.has_wkt_crs = true;
    let header = b
        .into_header()
        .map_err(|e| Error::las(path, format!("cannot build a COPC header: {e}")))?;

    // Offsets: point data = [i64 chunk table offset][chunks][chunk table], then the EVLRs.
    let mut raw = header
        .clone()
        .into_raw()
        .map_err(|e| Error::las(path, format!("cannot build a COPC header: {e}")))?;
    let data_start = u64::from(raw.offset_to_point_data);
    let mut at = data_start + 8;
    let mut entries = Vec::with_capacity(nodes.len());
    let mut table = laz::laszip::ChunkTable::with_capacity(nodes.len());
    for ((key, idx), chunk) in nodes.iter().zip(&chunks) {
        entries.push(Entry {
            key: *key,
            offset: at,
            byte_size: i32::try_from(chunk.len())
                .map_err(|_| Error::las(path, "an octree node exceeds 2 GiB compressed"))?,
            point_count: idx.len() as i32,
        });
        table.push(laz::laszip::ChunkTableEntry {
            point_count: idx.len() as u64,
            byte_count: chunk.len() as u64,
        });
        at += chunk.len() as u64;
    }
    let table_offset = at;
    let mut table_bytes = Vec::new();
    table
        .write_to(&mut table_bytes, &laz_vlr)
        .map_err(|e| Error::las(path, e))?;
    let evlr_start = table_offset + table_bytes.len() as u64;
    info.root_hier_offset = evlr_start + 60;
    let mut hierarchy = Vec::with_capacity(entries.len() * super::ENTRY_LEN);
    for e in &entries {
        e.write_to(&mut hierarchy);
    }
    let mut evlrs = vec![las::Vlr {
        user_id: USER_ID.to_string(),
        record_id: HIERARCHY_RECORD,
        description: "EPT hierarchy".to_string(),
        data: hierarchy,
    }];
    evlrs.extend(other_evlrs);
    raw.evlr = Some(las::raw::header::Evlr {
        start_of_first_evlr: evlr_start,
        number_of_evlrs: evlrs.len() as u32,
    });
    let mut by_return = [0u64; 15];
    for &r in &cloud.return_number {
        if (1..=15).contains(&r) {
            by_return[r as usize - 1] += 1;
        }
    }
    // LAS 1.4 with formats 6-10: the legacy counts are zero, the 64-bit ones count.
    raw.number_of_point_records = 0;
    raw.number_of_points_by_return = [0; 5];
    raw.large_file = Some(las::raw::header::LargeFile {
        number_of_point_records: n as u64,
        number_of_points_by_return: by_return,
    });
    (raw.min_x, raw.min_y, raw.min_z) = (bounds[0], bounds[1], bounds[2]);
    (raw.max_x, raw.max_y, raw.max_z) = (bounds[3], bounds[4], bounds[5]);

    let tmp = temp_path(path);
    let result = (|| -> Result<u64> {
        let file = std::fs::File::create(&tmp).map_err(|e| Error::io(&tmp, e))?;
        let mut w = std::io::BufWriter::new(file);
        let las_err = |e: las::Error| Error::las(path, e);
        let io_err = |e: std::io::Error| Error::io(path, e);
        raw.write_to(&mut w).map_err(las_err)?;
        let mut vlrs = header.vlrs().clone();
        vlrs[0] = info_vlr(&info);
        for v in vlrs {
            v.into_raw(false)
                .and_then(|r| r.write_to(&mut w))
                .map_err(las_err)?;
        }
        w.write_all(&(table_offset as i64).to_le_bytes())
            .map_err(io_err)?;
        for c in &chunks {
            w.write_all(c).map_err(io_err)?;
        }
        w.write_all(&table_bytes).map_err(io_err)?;
        for v in evlrs {
            v.into_raw(true)
                .and_then(|r| r.write_to(&mut w))
                .map_err(las_err)?;
        }
        let file = w
            .into_inner()
            .map_err(|e| Error::io(path, e.into_error()))?;
        file.sync_all().map_err(io_err)?;
        file.metadata().map(|m| m.len()).map_err(io_err)
    })();
    let bytes = match result {
        Ok(b) => b,
        Err(e) => {
            let _ = std::fs::remove_file(&tmp);
            return Err(e);
        }
    };
    commit_temp(&tmp, path)?;
    Ok(CopcSummary {
        points: n as u64,
        nodes: nodes.len(),
        max_level: nodes.iter().map(|(k, _)| k.level).max().unwrap_or(0),
        root_points: nodes
            .iter()
            .find(|(k, _)| *k == VoxelKey::ROOT)
            .map_or(0, |(_, i)| i.len() as u64),
        bytes,
    })
}

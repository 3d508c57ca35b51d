//! Spatial reads of a COPC file: only the octree nodes whose cubes meet the requested box are
//! read and decompressed (each node is one LAZ chunk, found through the hierarchy), then the
//! points are filtered exactly. Nodes are read in file order, so the points come in the order
//! a full read filtered to the box gives.

use super::{CopcInfo, Entry, HIERARCHY_RECORD, INFO_LEN, INFO_RECORD, USER_ID};
use crate::points::check::BoundsCheck;
use crate::points::cloud::PointCloud;
use crate::points::layout::RecordLayout;
use crate::points::read::{check_same_columns, decode_into, open};
use crate::{Error, Result};
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

/// Points decompressed per batch of nodes (bounds the transient memory of a read).
const BATCH_POINTS: u64 = 1_000_000;

/// `true` when `path` is a COPC file: LAS 1.4 whose first VLR is the COPC info VLR. Reads 429
/// bytes; any I/O error or a short file gives `false` (the LAS reader then reports it).
pub fn is_copc_file(path: &Path) -> bool {
    let mut h = [0u8; 375 + 54];
    let ok = std::fs::File::open(path).and_then(|mut f| f.read_exact(&mut h));
    ok.is_ok()
        && &h[..4] == b"LASF"
        && h[25] == 4
        && u32::from_le_bytes(h[100..104].try_into().expect("4 bytes")) > 0
        && h[377..393].starts_with(USER_ID.as_bytes())
        && h[377 + USER_ID.len()..393].iter().all(|&c| c == 0)
        && u16::from_le_bytes([h[393], h[394]]) == INFO_RECORD
}

/// The octree of a COPC file: its info and every node holding points.
#[derive(Debug, Clone)]
pub struct CopcIndex {
    pub info: CopcInfo,
    pub nodes: Vec<Entry>,
}

/// Reads the info VLR of `header` and walks the hierarchy pages of `path` (child pages
/// included). Errors name the file.
pub fn index(path: &Path, header: &las::Header) -> Result<CopcIndex> {
    let bad = |why: String| Error::las(path, format!("COPC: {why}"));
    let vlr = header
        .vlrs()
        .iter()
        .find(|v| v.user_id == USER_ID && v.record_id == INFO_RECORD)
        .ok_or_else(|| bad("no info VLR".into()))?;
    let info = CopcInfo::parse(&vlr.data).ok_or_else(|| {
        bad(format!(
            "the info VLR holds {} bytes, not {INFO_LEN}",
            vlr.data.len()
        ))
    })?;
    if !header
        .evlrs()
        .iter()
        .any(|v| v.user_id == USER_ID && v.record_id == HIERARCHY_RECORD)
    {
        return Err(bad("no hierarchy EVLR".into()));
    }
    if !(info.halfsize.is_finite() && info.halfsize > 0.0) {
        return Err(bad(format!(
            "root half size {} is not positive",
            info.halfsize
        )));
    }
    let mut f = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let file_len = f.metadata().map_err(|e| Error::io(path, e))?.len();
    let mut nodes = Vec::new();
    let mut pages = vec![(info.root_hier_offset, info.root_hier_size)];
    let mut seen_pages = 0usize;
    while let Some((offset, size)) = pages.pop() {
        seen_pages += 1;
        if offset.checked_add(size).is_none_or(|end| end > file_len) || seen_pages > 1 << 20 {
            return Err(bad(format!(
                "hierarchy page at byte {offset} of {size} bytes lies outside the file ({file_len} bytes)"
            )));
        }
        let mut page = vec![0u8; size as usize];
        f.seek(SeekFrom::Start(offset))
            .and_then(|_| f.read_exact(&mut page))
            .map_err(|e| Error::io(path, e))?;
        for e in Entry::parse_page(&page) {
            match e.point_count {
                -1 => pages.push((e.offset, e.byte_size.max(0) as u64)),
                c if c > 0 => {
                    if e.byte_size <= 0
                        || e.offset
                            .checked_add(e.byte_size as u64)
                            .is_none_or(|end| end > file_len)
                    {
                        return Err(bad(format!(
                            "node {:?}: chunk at byte {} of {} bytes lies outside the file",
                            e.key, e.offset, e.byte_size
                        )));
                    }
                    nodes.push(e);
                }
                _ => {}
            }
        }
    }
    // Every point sits in exactly one node: a hierarchy that counts otherwise is corrupt, and
    // its counts must not size any allocation.
    let counted: u64 = nodes.iter().map(|e| e.point_count as u64).sum();
    if counted != header.number_of_points() {
        return Err(bad(format!(
            "the hierarchy counts {counted} points in its nodes but the header announces {}: corrupt hierarchy",
            header.number_of_points()
        )));
    }
    nodes.sort_by_key(|e| e.offset);
    Ok(CopcIndex { info, nodes })
}

/// The nodes of `idx` whose cubes meet the rectangle `[xmin, ymin, xmax, ymax]` (widened by a
/// hair: a point on a cube face may sit in either neighbour).
pub fn nodes_in(idx: &CopcIndex, rect: [f64; 4]) -> Vec<Entry> {
    let tol = 1e-9 * idx.info.halfsize.max(1.0);
    idx.nodes
        .iter()
        .filter(|e| {
            let b = idx.info.node_bounds(&e.key);
            b[0] - tol <= rect[2]
                && b[3] + tol >= rect[0]
                && b[1] - tol <= rect[3]
                && b[4] + tol >= rect[1]
        })
        .copied()
        .collect()
}

/// Appends to `cloud` the points of the COPC file `path` inside `rect` for which `keep(x, y)`
/// is `Some(is_buffer)`, reading only the nodes that meet `rect`. The file must have `cloud`'s
/// point columns (as [`crate::points::read::read_filtered_into`]). Returns the points
/// decompressed (for reports and tests: a full read decompresses them all).
pub fn read_box_into(
    path: &Path,
    cloud: &mut PointCloud,
    rect: [f64; 4],
    keep: &mut dyn FnMut(f64, f64) -> Option<bool>,
) -> Result<u64> {
    let (_, meta) = open(path)?;
    check_same_columns(path, &meta, cloud)?;
    let idx = index(path, &meta.header)?;
    let laz_vlr = meta
        .header
        .laz_vlr()
        .map_err(|e| Error::las(path, format!("COPC: LAZ VLR: {e}")))?;
    let lay = RecordLayout::of(&meta.format);
    let check = BoundsCheck::new(&meta.header);
    let wanted = nodes_in(&idx, rect);
    let mut f = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let own_meta = std::mem::replace(&mut cloud.meta, meta);
    let mut inside = |x: f64, y: f64| {
        if x >= rect[0] && x <= rect[2] && y >= rect[1] && y <= rect[3] {
            keep(x, y)
        } else {
            None
        }
    };
    let result = (|| -> Result<u64> {
        let mut decoded = 0u64;
        let mut at = 0;
        while at < wanted.len() {
            // A batch of consecutive wanted nodes, up to BATCH_POINTS points (at least one).
            let mut end = at;
            let mut pts = 0u64;
            while end < wanted.len()
                && (end == at || pts + wanted[end].point_count as u64 <= BATCH_POINTS)
            {
                pts += wanted[end].point_count as u64;
                end += 1;
            }
            let batch = &wanted[at..end];
            let mut compressed = Vec::new();
            let mut table = Vec::with_capacity(batch.len());
            for e in batch {
                let start = compressed.len();
                compressed.resize(start + e.byte_size as usize, 0);
                f.seek(SeekFrom::Start(e.offset))
                    .and_then(|_| f.read_exact(&mut compressed[start..]))
                    .map_err(|err| Error::io(path, err))?;
                table.push(laz::laszip::ChunkTableEntry {
                    point_count: e.point_count as u64,
                    byte_count: e.byte_size as u64,
                });
            }
            let mut records = vec![0u8; pts as usize * lay.len];
            laz::par_decompress(&compressed, &mut records, &laz_vlr, &table).map_err(|e| {
                Error::las(
                    path,
                    format!(
                        "COPC: cannot decode the octree nodes {:?}..{:?}: {e}",
                        batch[0].key,
                        batch[batch.len() - 1].key
                    ),
                )
            })?;
            check.check(path, &lay, &records, decoded)?;
            decode_into(cloud, &records, &mut inside);
            decoded += pts;
            at = end;
        }
        Ok(decoded)
    })();
    cloud.meta = own_meta;
    result
}

//! COPC (Cloud Optimized Point Cloud, <https://copc.io>): a LAZ 1.4 file whose LAZ chunks are
//! the nodes of an octree, described by an info VLR (user "copc", record 1, first VLR) and a
//! hierarchy EVLR (user "copc", record 1000) giving each node's key, file offset, byte size and
//! point count.
//!
//! The records here are shared by the COPC reader and writer and by the plain LAS/LAZ writers,
//! which must drop them: a non-COPC file carrying them is corrupt for COPC readers.

pub mod octree;
pub mod read;
pub mod write;

/// The user id of every COPC record.
pub const USER_ID: &str = "copc";
/// Record id of the info VLR.
pub const INFO_RECORD: u16 = 1;
/// Record id of the hierarchy EVLR.
pub const HIERARCHY_RECORD: u16 = 1000;
/// Bytes of the info VLR's payload.
pub const INFO_LEN: usize = 160;
/// Bytes of one hierarchy entry.
pub const ENTRY_LEN: usize = 32;

/// `true` for any record a COPC writer made (info VLR, hierarchy EVLR, extents): they describe
/// the layout of the file they came from and are wrong in any other file.
pub fn is_copc_record(v: &las::Vlr) -> bool {
    v.user_id.trim_end_matches('\0') == USER_ID
}

/// The COPC info VLR's payload.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CopcInfo {
    /// Centre of the root cube (unscaled coordinates).
    pub center: [f64; 3],
    /// Half the side of the root cube.
    pub halfsize: f64,
    /// Distance between points at the root level (halved at each level).
    pub spacing: f64,
    /// File offset of the root hierarchy page.
    pub root_hier_offset: u64,
    /// Bytes of the root hierarchy page.
    pub root_hier_size: u64,
    pub gpstime_min: f64,
    pub gpstime_max: f64,
}

impl CopcInfo {
    /// Parses the 160-byte payload; `None` when it is shorter.
    pub fn parse(b: &[u8]) -> Option<CopcInfo> {
        if b.len() < INFO_LEN {
            return None;
        }
        let f = |i: usize| f64::from_le_bytes(b[8 * i..8 * i + 8].try_into().expect("8 bytes"));
        let u = |i: usize| u64::from_le_bytes(b[8 * i..8 * i + 8].try_into().expect("8 bytes"));
        Some(CopcInfo {
            center: [f(0), f(1), f(2)],
            halfsize: f(3),
            spacing: f(4),
            root_hier_offset: u(5),
            root_hier_size: u(6),
            gpstime_min: f(7),
            gpstime_max: f(8),
        })
    }

    /// The 160-byte payload (the 11 reserved words zero).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(INFO_LEN);
        for v in [self.center[0], self.center[1], self.center[2]] {
            out.extend_from_slice(&v.to_le_bytes());
        }
        out.extend_from_slice(&self.halfsize.to_le_bytes());
        out.extend_from_slice(&self.spacing.to_le_bytes());
        out.extend_from_slice(&self.root_hier_offset.to_le_bytes());
        out.extend_from_slice(&self.root_hier_size.to_le_bytes());
        out.extend_from_slice(&self.gpstime_min.to_le_bytes());
        out.extend_from_slice(&self.gpstime_max.to_le_bytes());
        out.resize(INFO_LEN, 0);
        out
    }

    /// `[xmin, ymin, zmin, xmax, ymax, zmax]` of the node `key`.
    pub fn node_bounds(&self, key: &VoxelKey) -> [f64; 6] {
        let side = 2.0 * self.halfsize / f64::from(1u32 << key.level.clamp(0, 31));
        let lo = [
            self.center[0] - self.halfsize + side * f64::from(key.x),
            self.center[1] - self.halfsize + side * f64::from(key.y),
            self.center[2] - self.halfsize + side * f64::from(key.z),
        ];
        [
            lo[0],
            lo[1],
            lo[2],
            lo[0] + side,
            lo[1] + side,
            lo[2] + side,
        ]
    }
}

/// An octree node's key: level `level`, integer position `x, y, z` at that level.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct VoxelKey {
    pub level: i32,
    pub x: i32,
    pub y: i32,
    pub z: i32,
}

impl VoxelKey {
    pub const ROOT: VoxelKey = VoxelKey {
        level: 0,
        x: 0,
        y: 0,
        z: 0,
    };

    /// The child in `octant` (bit 0: x, bit 1: y, bit 2: z).
    pub fn child(&self, octant: usize) -> VoxelKey {
        VoxelKey {
            level: self.level + 1,
            x: 2 * self.x + (octant & 1) as i32,
            y: 2 * self.y + ((octant >> 1) & 1) as i32,
            z: 2 * self.z + ((octant >> 2) & 1) as i32,
        }
    }
}

/// One hierarchy entry: a node with points (`point_count` > 0, its LAZ chunk at `offset`), an
/// empty node (0) or a child hierarchy page (-1, the page at `offset`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Entry {
    pub key: VoxelKey,
    pub offset: u64,
    pub byte_size: i32,
    pub point_count: i32,
}

impl Entry {
    /// Parses the entries of one hierarchy page.
    pub fn parse_page(b: &[u8]) -> Vec<Entry> {
        b.chunks_exact(ENTRY_LEN)
            .map(|e| {
                let i = |o: usize| i32::from_le_bytes(e[o..o + 4].try_into().expect("4 bytes"));
                Entry {
                    key: VoxelKey {
                        level: i(0),
                        x: i(4),
                        y: i(8),
                        z: i(12),
                    },
                    offset: u64::from_le_bytes(e[16..24].try_into().expect("8 bytes")),
                    byte_size: i(24),
                    point_count: i(28),
                }
            })
            .collect()
    }

    /// Appends the entry's 32 bytes to `out`.
    pub fn write_to(&self, out: &mut Vec<u8>) {
        for v in [self.key.level, self.key.x, self.key.y, self.key.z] {
            out.extend_from_slice(&v.to_le_bytes());
        }
        out.extend_from_slice(&self.offset.to_le_bytes());
        out.extend_from_slice(&self.byte_size.to_le_bytes());
        out.extend_from_slice(&self.point_count.to_le_bytes());
    }
}

/// `true` when `path` names a COPC output (`*.copc.laz`).
pub fn is_copc_path(path: &std::path::Path) -> bool {
    path.file_name()
        .map(|n| n.to_string_lossy().to_lowercase().ends_with(".copc.laz"))
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn info_round_trips_and_node_bounds_halve_per_level() {
        let info = CopcInfo {
            center: [10.0, 20.0, 30.0],
            halfsize: 8.0,
            spacing: 0.5,
            root_hier_offset: 1234,
            root_hier_size: 64,
            gpstime_min: 1.0,
            gpstime_max: 2.0,
        };
        let b = info.to_bytes();
        assert_eq!(b.len(), INFO_LEN);
        assert_eq!(CopcInfo::parse(&b), Some(info));
        assert_eq!(
            info.node_bounds(&VoxelKey::ROOT),
            [2.0, 12.0, 22.0, 18.0, 28.0, 38.0]
        );
        let c = VoxelKey::ROOT.child(0b101);
        assert_eq!((c.level, c.x, c.y, c.z), (1, 1, 0, 1));
        assert_eq!(info.node_bounds(&c), [10.0, 12.0, 30.0, 18.0, 20.0, 38.0]);
    }

    #[test]
    fn entries_round_trip() {
        let e = Entry {
            key: VoxelKey {
                level: 2,
                x: 3,
                y: 1,
                z: 0,
            },
            offset: 99,
            byte_size: 512,
            point_count: -1,
        };
        let mut b = Vec::new();
        e.write_to(&mut b);
        assert_eq!(b.len(), ENTRY_LEN);
        assert_eq!(Entry::parse_page(&b), vec![e]);
    }
}

//! [`PointCloud`]: points as a struct of arrays (one `Vec` per attribute), the form every
//! algorithm in the crate works on.
//!
//! Columns that a point format may lack (GPS time, RGB, NIR, waveform packets) are `Option`s.
//! Extra bytes are kept verbatim per point together with their descriptors, so that a read →
//! write round trip keeps every field of every point.

use super::extra::ExtraBytes;
use super::meta::LasMeta;

/// Bit flags of [`PointCloud::flags`]; the same meaning in every LAS point format.
pub mod flag {
    /// Created by a technique other than LiDAR collection.
    pub const SYNTHETIC: u8 = 1;
    /// Model key-point.
    pub const KEY_POINT: u8 = 2;
    /// Withheld (deleted) point.
    pub const WITHHELD: u8 = 4;
    /// Overlap point (point formats 6–10 only).
    pub const OVERLAP: u8 = 8;
    /// Scan direction flag (1 = positive scan direction).
    pub const SCAN_DIRECTION: u8 = 16;
    /// Edge of flight line.
    pub const EDGE_OF_FLIGHT_LINE: u8 = 32;
}

/// ASPRS classification codes used by the crate.
pub mod class {
    /// Created, never classified.
    pub const CREATED: u8 = 0;
    /// Unclassified.
    pub const UNCLASSIFIED: u8 = 1;
    /// Ground.
    pub const GROUND: u8 = 2;
    /// Low vegetation.
    pub const LOW_VEGETATION: u8 = 3;
    /// Medium vegetation.
    pub const MEDIUM_VEGETATION: u8 = 4;
    /// High vegetation.
    pub const HIGH_VEGETATION: u8 = 5;
    /// Building.
    pub const BUILDING: u8 = 6;
    /// Low point (noise).
    pub const NOISE: u8 = 7;
    /// Water.
    pub const WATER: u8 = 9;
    /// High noise (LAS 1.4).
    pub const HIGH_NOISE: u8 = 18;
}

/// Waveform packet bytes (29 bytes, point formats 4, 5, 9, 10), kept verbatim.
pub type WaveformPacket = [u8; 29];

/// A point cloud stored column by column.
///
/// All columns have the same length, [`PointCloud::len`]. Coordinates are in the CRS units of the
/// source file (metres for every projected CRS the crate is meant for).
#[derive(Debug, Clone, Default)]
pub struct PointCloud {
    pub x: Vec<f64>,
    pub y: Vec<f64>,
    pub z: Vec<f64>,
    pub intensity: Vec<u16>,
    pub return_number: Vec<u8>,
    pub number_of_returns: Vec<u8>,
    pub classification: Vec<u8>,
    /// Bits of [`flag`].
    pub flags: Vec<u8>,
    /// Scanner channel (0–3; formats 6–10).
    pub scanner_channel: Vec<u8>,
    /// Scan angle in degrees (legacy formats store whole degrees, formats 6–10 steps of 0.006°).
    pub scan_angle_deg: Vec<f32>,
    pub user_data: Vec<u8>,
    pub point_source_id: Vec<u16>,
    pub gps_time: Option<Vec<f64>>,
    pub rgb: Option<Vec<[u16; 3]>>,
    pub nir: Option<Vec<u16>>,
    pub waveform: Option<Vec<WaveformPacket>>,
    /// Extra bytes per point, with their descriptors.
    pub extra: ExtraBytes,
    /// `true` for points that lie in a chunk's buffer, not its core (see the catalog).
    pub is_buffer: Vec<bool>,
    /// Header, VLRs and CRS of the file these points came from; used to write them back.
    pub meta: LasMeta,
}

impl PointCloud {
    /// An empty cloud with the columns that `meta`'s point format carries.
    pub fn empty(meta: LasMeta) -> Self {
        let fmt = meta.format;
        let extra = ExtraBytes::from_meta(&meta);
        PointCloud {
            gps_time: fmt.has_gps_time.then(Vec::new),
            rgb: fmt.has_color.then(Vec::new),
            nir: fmt.has_nir.then(Vec::new),
            waveform: fmt.has_waveform.then(Vec::new),
            extra,
            meta,
            ..Default::default()
        }
    }

    /// Number of points.
    pub fn len(&self) -> usize {
        self.x.len()
    }

    /// `true` when the cloud holds no point.
    pub fn is_empty(&self) -> bool {
        self.x.is_empty()
    }

    /// Number of points not in the buffer.
    pub fn core_len(&self) -> usize {
        self.is_buffer.iter().filter(|b| !**b).count()
    }

    /// Reserves room for `n` more points in every column.
    pub fn reserve(&mut self, n: usize) {
        self.x.reserve(n);
        self.y.reserve(n);
        self.z.reserve(n);
        self.intensity.reserve(n);
        self.return_number.reserve(n);
        self.number_of_returns.reserve(n);
        self.classification.reserve(n);
        self.flags.reserve(n);
        self.scanner_channel.reserve(n);
        self.scan_angle_deg.reserve(n);
        self.user_data.reserve(n);
        self.point_source_id.reserve(n);
        self.is_buffer.reserve(n);
        if let Some(v) = &mut self.gps_time {
            v.reserve(n)
        }
        if let Some(v) = &mut self.rgb {
            v.reserve(n)
        }
        if let Some(v) = &mut self.nir {
            v.reserve(n)
        }
        if let Some(v) = &mut self.waveform {
            v.reserve(n)
        }
        self.extra.data.reserve(n * self.extra.record_len);
    }

    /// Like [`PointCloud::reserve`], but fails instead of aborting when memory runs out.
    pub fn try_reserve(&mut self, n: usize) -> Result<(), std::collections::TryReserveError> {
        self.x.try_reserve(n)?;
        self.y.try_reserve(n)?;
        self.z.try_reserve(n)?;
        self.intensity.try_reserve(n)?;
        self.return_number.try_reserve(n)?;
        self.number_of_returns.try_reserve(n)?;
        self.classification.try_reserve(n)?;
        self.flags.try_reserve(n)?;
        self.scanner_channel.try_reserve(n)?;
        self.scan_angle_deg.try_reserve(n)?;
        self.user_data.try_reserve(n)?;
        self.point_source_id.try_reserve(n)?;
        self.is_buffer.try_reserve(n)?;
        if let Some(v) = &mut self.gps_time {
            v.try_reserve(n)?
        }
        if let Some(v) = &mut self.rgb {
            v.try_reserve(n)?
        }
        if let Some(v) = &mut self.nir {
            v.try_reserve(n)?
        }
        if let Some(v) = &mut self.waveform {
            v.try_reserve(n)?
        }
        self.extra
            .data
            .try_reserve(n.saturating_mul(self.extra.record_len))?;
        Ok(())
    }

    /// Keeps the points for which `keep[i]` is true, in order.
    pub fn retain_mask(&mut self, keep: &[bool]) {
        assert_eq!(
            keep.len(),
            self.len(),
            "mask length must equal the point count"
        );
        fn filt<T: Copy>(v: &mut Vec<T>, keep: &[bool]) {
            let mut j = 0;
            for i in 0..v.len() {
                if keep[i] {
                    v[j] = v[i];
                    j += 1;
                }
            }
            v.truncate(j);
        }
        filt(&mut self.x, keep);
        filt(&mut self.y, keep);
        filt(&mut self.z, keep);
        filt(&mut self.intensity, keep);
        filt(&mut self.return_number, keep);
        filt(&mut self.number_of_returns, keep);
        filt(&mut self.classification, keep);
        filt(&mut self.flags, keep);
        filt(&mut self.scanner_channel, keep);
        filt(&mut self.scan_angle_deg, keep);
        filt(&mut self.user_data, keep);
        filt(&mut self.point_source_id, keep);
        filt(&mut self.is_buffer, keep);
        if let Some(v) = &mut self.gps_time {
            filt(v, keep)
        }
        if let Some(v) = &mut self.rgb {
            filt(v, keep)
        }
        if let Some(v) = &mut self.nir {
            filt(v, keep)
        }
        if let Some(v) = &mut self.waveform {
            filt(v, keep)
        }
        self.extra.retain_mask(keep);
    }

    /// A new cloud holding the points at `indices`, in that order, with the same metadata.
    pub fn select(&self, indices: &[usize]) -> PointCloud {
        fn pick<T: Copy>(v: &[T], idx: &[usize]) -> Vec<T> {
            idx.iter().map(|&i| v[i]).collect()
        }
        PointCloud {
            x: pick(&self.x, indices),
            y: pick(&self.y, indices),
            z: pick(&self.z, indices),
            intensity: pick(&self.intensity, indices),
            return_number: pick(&self.return_number, indices),
            number_of_returns: pick(&self.number_of_returns, indices),
            classification: pick(&self.classification, indices),
            flags: pick(&self.flags, indices),
            scanner_channel: pick(&self.scanner_channel, indices),
            scan_angle_deg: pick(&self.scan_angle_deg, indices),
            user_data: pick(&self.user_data, indices),
            point_source_id: pick(&self.point_source_id, indices),
            gps_time: self.gps_time.as_ref().map(|v| pick(v, indices)),
            rgb: self.rgb.as_ref().map(|v| pick(v, indices)),
            nir: self.nir.as_ref().map(|v| pick(v, indices)),
            waveform: self.waveform.as_ref().map(|v| pick(v, indices)),
            extra: self.extra.select(indices),
            is_buffer: pick(&self.is_buffer, indices),
            meta: self.meta.clone(),
        }
    }

    /// Appends all points of `other`. Both clouds must have the same columns and extra-byte
    /// layout (they do when they come from one catalog).
    pub fn append(&mut self, other: &PointCloud) -> crate::Result<()> {
        if self.extra.record_len != other.extra.record_len
            || self.gps_time.is_some() != other.gps_time.is_some()
            || self.rgb.is_some() != other.rgb.is_some()
            || self.nir.is_some() != other.nir.is_some()
            || self.waveform.is_some() != other.waveform.is_some()
        {
            return Err(crate::Error::data(
                "merging point clouds",
                format!(
                    "point formats differ ({} vs {}) or extra bytes differ ({} vs {} bytes per point)",
                    self.meta.format.to_u8().unwrap_or(255),
                    other.meta.format.to_u8().unwrap_or(255),
                    self.extra.record_len,
                    other.extra.record_len
                ),
            ));
        }
        self.x.extend_from_slice(&other.x);
        self.y.extend_from_slice(&other.y);
        self.z.extend_from_slice(&other.z);
        self.intensity.extend_from_slice(&other.intensity);
        self.return_number.extend_from_slice(&other.return_number);
        self.number_of_returns
            .extend_from_slice(&other.number_of_returns);
        self.classification.extend_from_slice(&other.classification);
        self.flags.extend_from_slice(&other.flags);
        self.scanner_channel
            .extend_from_slice(&other.scanner_channel);
        self.scan_angle_deg.extend_from_slice(&other.scan_angle_deg);
        self.user_data.extend_from_slice(&other.user_data);
        self.point_source_id
            .extend_from_slice(&other.point_source_id);
        self.is_buffer.extend_from_slice(&other.is_buffer);
        if let (Some(a), Some(b)) = (&mut self.gps_time, &other.gps_time) {
            a.extend_from_slice(b)
        }
        if let (Some(a), Some(b)) = (&mut self.rgb, &other.rgb) {
            a.extend_from_slice(b)
        }
        if let (Some(a), Some(b)) = (&mut self.nir, &other.nir) {
            a.extend_from_slice(b)
        }
        if let (Some(a), Some(b)) = (&mut self.waveform, &other.waveform) {
            a.extend_from_slice(b)
        }
        self.extra.data.extend_from_slice(&other.extra.data);
        Ok(())
    }

    /// `true` for a last or single return (the ground-candidate test of lidR's
    /// `last_returns = TRUE`). Points with a return number of 0 (invalid) count as last.
    pub fn is_last_return(&self, i: usize) -> bool {
        is_last(self.return_number[i], self.number_of_returns[i])
    }

    /// [`Self::is_last_return`] of every point, in order, read column-wise (no per-point
    /// bounds checks).
    pub fn last_returns(&self) -> impl Iterator<Item = bool> + '_ {
        self.return_number
            .iter()
            .zip(&self.number_of_returns)
            .map(|(&r, &nr)| is_last(r, nr))
    }

    /// `true` for a first or single return.
    pub fn is_first_return(&self, i: usize) -> bool {
        self.return_number[i] <= 1
    }

    /// Minimum and maximum of x, y and z: `[xmin, ymin, zmin, xmax, ymax, zmax]`, or `None`
    /// for an empty cloud.
    pub fn bounds(&self) -> Option<[f64; 6]> {
        if self.is_empty() {
            return None;
        }
        let mut b = NO_BOUNDS;
        for i in 0..self.len() {
            widen_bounds(&mut b, [self.x[i], self.y[i], self.z[i]]);
        }
        Some(b)
    }

    /// Histogram of classification codes: `counts[c]` points have class `c`.
    pub fn class_histogram(&self) -> [u64; 256] {
        let mut h = [0u64; 256];
        for &c in &self.classification {
            h[c as usize] += 1;
        }
        h
    }
}

/// 3-D bounds `[xmin, ymin, zmin, xmax, ymax, zmax]` that hold nothing yet: the first point
/// or box widened into them sets them.
pub const NO_BOUNDS: [f64; 6] = [
    f64::INFINITY,
    f64::INFINITY,
    f64::INFINITY,
    f64::NEG_INFINITY,
    f64::NEG_INFINITY,
    f64::NEG_INFINITY,
];

/// Widens the 3-D bounds `b` to hold the point `p`.
pub fn widen_bounds(b: &mut [f64; 6], p: [f64; 3]) {
    for k in 0..3 {
        b[k] = b[k].min(p[k]);
        b[k + 3] = b[k + 3].max(p[k]);
    }
}

/// A last or single return by its return number and number of returns; a return number of 0
/// (invalid) counts as last.
#[inline]
fn is_last(return_number: u8, number_of_returns: u8) -> bool {
    return_number == 0 || return_number >= number_of_returns
}

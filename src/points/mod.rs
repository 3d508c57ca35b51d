//! Points in and out: the column-wise [`PointCloud`], LAS/LAZ reading and writing, CRS and
//! extra bytes, and a 2-D k-d tree helper.

mod check;
mod cloud;
pub mod copc;
pub mod crs;
mod evlr;
pub mod extra;
mod index;
pub mod layout;
mod meta;
pub mod read;
mod record_writer;
pub mod sample;
pub mod split;
pub mod write;

pub use cloud::{class, flag, widen_bounds, PointCloud, WaveformPacket, NO_BOUNDS};
pub use crs::Crs;
pub use index::KdIndex2;
pub use meta::LasMeta;
pub use read::{open, read, read_filtered};
pub use split::split_by_rects;
pub use write::write;

//! [`LasMeta`]: what a point cloud keeps of its source file so that it can be written back:
//! the header (version, format, scale/offset, VLRs, EVLRs) and the CRS read from it.

use super::crs::Crs;
use las::point::Format;
use std::path::PathBuf;

/// Header-level metadata carried by a [`super::PointCloud`].
#[derive(Debug, Clone)]
pub struct LasMeta {
    /// File the points were read from, if any.
    pub path: Option<PathBuf>,
    /// The source header, VLRs and EVLRs included (the LASzip VLR is dropped on write).
    pub header: las::Header,
    /// Point format of the records (extra bytes included).
    pub format: Format,
    /// Coordinate reference system read from the header.
    pub crs: Crs,
}

impl Default for LasMeta {
    fn default() -> Self {
        LasMeta::synthetic(
            Format::new(1).expect("format 1 exists"),
            [0.01; 3],
            [0.0; 3],
            Crs::default(),
        )
    }
}

impl LasMeta {
    /// Metadata for points made in memory (synthetic data, tests): LAS 1.2 for formats 0–5,
    /// LAS 1.4 for 6–10, with the given scales and offsets.
    pub fn synthetic(format: Format, scale: [f64; 3], offset: [f64; 3], crs: Crs) -> Self {
        let mut b = las::Builder::default();
        b.point_format = format;
        b.version = if format.is_extended {
            las::Version::new(1, 4)
        } else {
            las::Version::new(1, 2)
        };
        b.transforms = las::Vector {
            x: las::Transform {
                scale: scale[0],
                offset: offset[0],
            },
            y: las::Transform {
                scale: scale[1],
                offset: offset[1],
            },
            z: las::Transform {
                scale: scale[2],
                offset: offset[2],
            },
        };
        b.generating_software = format!("landcarbon {}", env!("CARGO_PKG_VERSION"));
        if let Some(code) = crs.epsg {
            if let Some(vlr) = super::crs::geotiff_vlr_for_epsg(code) {
                b.vlrs.push(vlr);
            }
        }
        let header = b.into_header().expect("a synthetic header is always valid");
        LasMeta {
            path: None,
            header,
            format,
            crs,
        }
    }

    /// Version string such as `1.4`.
    pub fn version(&self) -> String {
        let v = self.header.version();
        format!("{}.{}", v.major, v.minor)
    }

    /// Point format number (0–10).
    pub fn format_id(&self) -> u8 {
        self.format.to_u8().unwrap_or(255)
    }
}

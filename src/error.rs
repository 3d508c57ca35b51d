//! The crate's error type. Every variant that concerns a file carries its path, so that a
//! message printed by the binary names the file and the fault on one line.

use std::path::PathBuf;

/// Result alias used throughout the library.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in landcarbon's library code.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An I/O error on a named file.
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The file is not a LAS/LAZ file, or its header or points cannot be decoded.
    #[error("{path}: {reason}")]
    Las { path: PathBuf, reason: String },
    /// The header announces a different number of points than the file holds.
    #[error("{path}: header announces {expected} points but the file holds only {found}")]
    PointCount {
        path: PathBuf,
        expected: u64,
        found: u64,
    },
    /// Tiles of one run carry different coordinate reference systems.
    #[error("CRS mismatch: {first_path} is {first} but {other_path} is {other}; reproject the tiles into one CRS before running")]
    CrsMismatch {
        first_path: PathBuf,
        first: String,
        other_path: PathBuf,
        other: String,
    },
    /// A glob, folder or list of inputs matched nothing usable.
    #[error("no input: {0}")]
    NoInput(String),
    /// A configuration value is out of range or inconsistent.
    #[error("invalid configuration: {0}")]
    Config(String),
    /// Input data that is readable but unusable for the requested operation.
    #[error("{context}: {reason}")]
    Data { context: String, reason: String },
    /// An error raised by GDAL while reading or writing a raster or vector file.
    #[error("{path}: GDAL: {reason}")]
    Gdal { path: PathBuf, reason: String },
    /// A chunk of the catalog failed; names the chunk and its tiles.
    #[error("chunk {chunk_id} (tiles: {tiles}): {source}")]
    Chunk {
        chunk_id: usize,
        tiles: String,
        #[source]
        source: Box<Error>,
    },
    /// The caller cancelled the work (see [`crate::job`]); nothing more was started and no
    /// output was put in place after the cancellation was seen.
    #[error("cancelled")]
    Cancelled,
}

impl Error {
    /// Builds an [`Error::Io`] for `path`.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }

    /// Builds an [`Error::Las`] for `path`.
    pub fn las(path: impl Into<PathBuf>, reason: impl std::fmt::Display) -> Self {
        Error::Las {
            path: path.into(),
            reason: reason.to_string(),
        }
    }

    /// Builds an [`Error::Data`].
    pub fn data(context: impl std::fmt::Display, reason: impl std::fmt::Display) -> Self {
        Error::Data {
            context: context.to_string(),
            reason: reason.to_string(),
        }
    }

    /// Builds an [`Error::Gdal`] for `path`.
    pub fn gdal(path: impl Into<PathBuf>, reason: impl std::fmt::Display) -> Self {
        Error::Gdal {
            path: path.into(),
            reason: reason.to_string(),
        }
    }
}

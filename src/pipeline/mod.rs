//! The configured run over a whole catalog: per-chunk stages in one pass over each chunk's
//! points, then the reducers; resumable through a chunk manifest and shardable for a cluster.

pub mod key;
pub mod lock;
pub mod manifest;
pub mod partial;
pub mod record;
pub mod shard;

pub use key::{ChunkKey, Stale};
pub use lock::{LockMode, OutputLock};
pub use manifest::{ChunkRecord, ChunkState, Manifest};
pub use record::{hash_inputs, peak_rss_mb, RunRecord};
pub use shard::{parse_shard, shards, Shard};
pub mod chunk;
pub mod config;
pub mod reduce;
pub mod survey;
pub mod validate;

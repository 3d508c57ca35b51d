//! The `--heights` flag shared by `classify-veg`, `chm` and `trees` (the `[heights]` section):
//! where heights above ground come from (see `landcarbon::algo::canopy::heights`); the ground
//! surface follows the `[normalize]` section.

use landcarbon::algo::canopy::heights::HeightSource;
use landcarbon::config::Config;

/// Height-source flag.
#[derive(Debug, Clone, clap::Args)]
pub struct HeightArgs {
    /// Heights above ground: auto (HeightAboveGround dimension, else the ground surface of the
    /// class-2 points as `landcarbon normalize` builds it, else Z), z (already normalized),
    /// ground, or dim:NAME.
    #[arg(long)]
    pub heights: Option<HeightSource>,
}

impl HeightArgs {
    /// Applies the flag to the configuration.
    pub fn apply(&self, cfg: &mut Config) {
        if let Some(h) = &self.heights {
            cfg.heights.source = h.clone();
        }
    }
}

//! The `--heights` flag shared by `classify-veg`, `chm` and `trees` (the `[heights]` section):
//! where heights above ground come from. Interim: the terrain module will provide the
//! project's normalization and this flag will gain its options.

use landcarbon::algo::trees::interim_hag::HeightSource;
use landcarbon::config::Config;

/// Height-source flag.
#[derive(Debug, Clone, clap::Args)]
pub struct HeightArgs {
    /// Heights above ground: auto (HeightAboveGround dimension, else a TIN of the class-2
    /// ground points, else Z), z (already normalized), ground-tin, or dim:NAME.
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

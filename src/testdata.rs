//! Locating test data: the project's own small `testdata/` and the larger shared set that
//! sits beside a developer's or CI's checkout (`../shared/testdata/real`), absent from a user's
//! clone. Code that needs the shared set must skip loudly when [`shared`] returns `None`.

use std::path::PathBuf;

/// The project's `testdata/` folder.
pub fn bundled(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("testdata")
        .join(rel)
}

/// A file of the shared real-data set, if present: `$LANDCARBON_SHARED/rel`, else
/// `<crate>/../shared/testdata/real/rel`.
pub fn shared(rel: &str) -> Option<PathBuf> {
    let base = match std::env::var_os("LANDCARBON_SHARED") {
        Some(b) => PathBuf::from(b),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/testdata/real"),
    };
    let p = base.join(rel);
    p.exists().then_some(p)
}

/// [`shared`], printing a loud SKIP line naming the file when it is absent.
pub fn shared_or_skip(rel: &str, test: &str) -> Option<PathBuf> {
    let p = shared(rel);
    if p.is_none() {
        eprintln!("SKIP {test}: shared test data '{rel}' not found (set LANDCARBON_SHARED or place ../shared beside the checkout)");
    }
    p
}

/// Uniform numbers in `[0, 1)` from a fixed seed (Knuth's MMIX linear congruential generator,
/// top 53 bits), for tests that need scattered values without a dependency.
pub fn uniform(seed: u64) -> impl FnMut() -> f64 {
    let mut k = seed;
    move || {
        k = k
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (k >> 11) as f64 / (1u64 << 53) as f64
    }
}

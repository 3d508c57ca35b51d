//! The `landcarbon` binary: parse the command line, set up logging, run, and map the outcome to
//! an exit code: 0 success, 1 some chunks or inputs failed, 2 fatal error.

mod cli;

/// mimalloc instead of glibc's malloc: a chunk allocates and frees its columns, grids and
/// triangulations (megabytes each) hundreds of times; glibc returns such blocks to the kernel
/// and takes fresh zeroed pages for the next, mimalloc keeps them in its per-thread heaps for a
/// while (below). Benchmark county, 2 threads, new code: 52.6 s / 794 MB never purging, 53.8 s /
/// 634 MB purging after 5 s, 56.6 s / 646 MB after mimalloc's default 1 s, 68.8 s / 450 MB
/// purging at once.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// mimalloc's `mi_option_purge_delay` (v3's option numbering): milliseconds before freed memory
/// is returned to the kernel. Purged sooner, a chunk's memory goes back between two of its stages
/// and costs page faults to get back; never purged, what one thread freed stays out of the other
/// threads' reach and the peak grows by a quarter. 5 s keeps the peak of glibc's malloc.
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;
const PURGE_DELAY_MS: std::ffi::c_long = 5000;

fn main() {
    // MIMALLOC_PURGE_DELAY in the environment, when set, wins (mimalloc reads it itself).
    if std::env::var_os("MIMALLOC_PURGE_DELAY").is_none() {
        // SAFETY: setting an option is a plain store into mimalloc's option table.
        unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, PURGE_DELAY_MS) };
    }
    let args = cli::parse();
    std::process::exit(cli::main(args));
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_purge_delay_option_is_the_one_set() {
        // mimalloc v3's default purge delay is 1,000 ms (its `options.c`): a wrong index
        // (another option) would read something else, and the main would set the wrong option.
        // SAFETY: reading an option is a plain load from mimalloc's option table.
        let v = unsafe { libmimalloc_sys::mi_option_get(super::MI_OPTION_PURGE_DELAY) };
        assert_eq!(v, 1000);
    }
}

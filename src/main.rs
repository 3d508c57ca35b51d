//! The `landcarbon` binary: parse the command line, set up logging, run, and map the outcome to
//! an exit code: 0 success, 1 some chunks or inputs failed, 2 fatal error.

mod cli;

/// mimalloc instead of glibc's malloc: a chunk allocates and frees its columns, grids and
/// triangulations (megabytes each) hundreds of times; glibc returns such blocks to the kernel
/// and takes fresh zeroed pages for the next, mimalloc keeps them in its per-thread heaps. On
/// the small benchmark county at 1 thread, with purging off (below): user time -7 %, system
/// time no higher, peak RSS 392-427 MB against glibc's 450-454 MB.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// mimalloc's `mi_option_purge_delay` (v3's option numbering): milliseconds before freed memory
/// is returned to the kernel. The default (1,000) returns a chunk's memory between two of its
/// stages and pays page faults to get it back (system time doubled on the benchmark county);
/// -1 never purges: memory freed by one chunk serves the next, and the peak stays the peak.
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

fn main() {
    // SAFETY: setting an option is a plain store into mimalloc's option table.
    unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, -1) };
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

//! The `landcarbon` binary: parse the command line, set up logging, run, and map the outcome to
//! an exit code: 0 success, 1 some chunks or inputs failed, 2 fatal error.

mod cli;

fn main() {
    let args = cli::parse();
    std::process::exit(cli::main(args));
}

//! Every option of every subcommand shows its default in `--help` ("[default: …]"), except
//! the options that truly have none (inputs, outputs, optional files and columns), listed here.

use std::process::Command;

fn bin() -> String {
    std::env::var("LANDCARBON_BIN").unwrap_or_else(|_| env!("CARGO_BIN_EXE_landcarbon").to_string())
}

const SUBCOMMANDS: &[&str] = &[
    "info",
    "tile",
    "ground",
    "dtm",
    "normalize",
    "classify-veg",
    "chm",
    "trees",
    "synth-demo",
    "run",
    "plan",
    "merge",
    "metrics",
    "calibrate",
    "carbon",
    "account",
    "synth-county",
    "eval ground",
    "eval dtm",
    "eval trees",
];

/// Options without a default: files and folders to read or write, optional columns and
/// layers, shard selection.
const NO_DEFAULT: &[&str] = &[
    "--config",
    "--output",
    "--out",
    "--output-dir",
    "--dtm",
    "--allometry",
    "--params",
    "--laz-out",
    "--shard",
    "--plan",
    "--plots",
    "--radius",
    "--id-col",
    "--strata",
    "--predictors",
    "--exclude",
    "--trees",
    "--metrics",
    "--model",
    "--strata-raster",
    "--grid-raster",
    "--patches-t1",
    "--patches-t2",
    "--layer-t1",
    "--layer-t2",
    "--year-t1",
    "--year-t2",
    "--density-t1",
    "--density-t2",
    "--plots-t1",
    "--plots-t2",
    "--soil-t1",
    "--soil-t2",
    "--reference",
    "--detected",
    "--classified",
];

/// The options of a help text that take a value, each with its whole help block.
fn options(help: &str) -> Vec<(String, String)> {
    let Some((_, opts)) = help.split_once("Options:") else {
        return Vec::new();
    };
    let mut blocks: Vec<(String, String)> = Vec::new();
    for line in opts.lines() {
        let t = line.trim_start();
        let indent = line.len() - t.len();
        let starts = (2..=6).contains(&indent) && (t.starts_with("--") || t.starts_with('-'));
        if starts {
            let flag = t
                .split([' ', ','])
                .find(|w| w.starts_with("--"))
                .unwrap_or("")
                .trim_end_matches("...")
                .to_string();
            blocks.push((flag, t.to_string()));
        } else if let Some(b) = blocks.last_mut() {
            b.1.push(' ');
            b.1.push_str(t);
        }
    }
    // Switches (no <VALUE>) are off unless given.
    blocks
        .into_iter()
        .filter(|(f, text)| {
            let after = text.trim_start_matches(|c: char| c != ' ').trim_start();
            !f.is_empty() && (after.starts_with('<') || after.starts_with("[<"))
                || text.contains(&format!("{f} <"))
                || text.contains(&format!("{f} [<"))
        })
        .collect()
}

#[test]
fn every_option_shows_its_default() {
    let mut missing = Vec::new();
    for sub in SUBCOMMANDS {
        let out = Command::new(bin())
            .args(sub.split(' '))
            .arg("--help")
            .output()
            .expect("run landcarbon");
        assert!(out.status.success(), "{sub} --help failed");
        let help = String::from_utf8_lossy(&out.stdout);
        let opts = options(&help);
        assert!(!opts.is_empty(), "{sub}: no option parsed from --help");
        for (flag, text) in opts {
            if NO_DEFAULT.contains(&flag.as_str()) {
                continue;
            }
            if !text.contains("[default:") {
                missing.push(format!("{sub} {flag}"));
            }
        }
    }
    assert!(
        missing.is_empty(),
        "options without [default: …] in --help: {missing:?}"
    );
}

#[test]
fn chm_help_shows_the_configured_defaults() {
    let out = Command::new(bin())
        .args(["chm", "--help"])
        .output()
        .unwrap();
    let help = String::from_utf8_lossy(&out.stdout);
    for want in [
        "[default: 0.5]",
        "[default: p2r]",
        "[default: none]",
        "[default: 30.0]",
    ] {
        assert!(help.contains(want), "chm --help lacks {want}:\n{help}");
    }
}

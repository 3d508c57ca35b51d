//! Builds large inputs for benchmarks by replicating real tiles side by side:
//! `replicate OUT.laz COPIES TILE...` writes COPIES shifted copies (x + k·shift) of the merged
//! tiles into one file, where shift is the merged extent's width plus 10 m;
//! `replicate --separate OUT_DIR COPIES TILE...` writes the same points as one file per tile and
//! copy (`OUT_DIR/c{k}_{tile name}`), so that both layouts hold identical points.

use std::path::{Path, PathBuf};

fn main() {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let separate = args.first().is_some_and(|a| a == "--separate");
    if separate {
        args.remove(0);
    }
    if args.len() < 3 {
        eprintln!("usage: replicate [--separate] OUT COPIES TILE...");
        std::process::exit(2);
    }
    let out = PathBuf::from(&args[0]);
    let copies: usize = args[1].parse().expect("COPIES must be a number");
    let tiles: Vec<landcarbon::points::PointCloud> = args[2..]
        .iter()
        .map(|t| landcarbon::points::read(Path::new(t)).expect("read"))
        .collect();
    let mut merged = tiles[0].clone();
    for t in &tiles[1..] {
        merged.append(t).expect("same format");
    }
    let b = merged.bounds().expect("points");
    let shift = (b[3] - b[0] + 10.0).ceil();
    let shifted = |c: &landcarbon::points::PointCloud, k: usize| {
        let mut c = c.clone();
        for x in &mut c.x {
            *x += k as f64 * shift;
        }
        c
    };
    if separate {
        std::fs::create_dir_all(&out).expect("create the output folder");
        let mut n = 0;
        for k in 0..copies {
            for (t, name) in tiles.iter().zip(&args[2..]) {
                let file = Path::new(name).file_name().expect("a file name");
                let path = out.join(format!("c{k}_{}", file.to_string_lossy()));
                let c = shifted(t, k);
                n += c.len();
                landcarbon::points::write(&c, &path).expect("write");
            }
        }
        println!(
            "{n} points in {} files -> {}",
            copies * tiles.len(),
            out.display()
        );
        return;
    }
    let base = merged.clone();
    for k in 1..copies {
        merged.append(&shifted(&base, k)).expect("append");
    }
    landcarbon::points::write(&merged, &out).expect("write");
    println!("{} points -> {}", merged.len(), out.display());
}

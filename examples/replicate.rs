//! Builds a large LAZ for benchmarks by replicating real tiles side by side:
//! `replicate OUT.laz COPIES TILE...` writes COPIES shifted copies (x + k·shift) of the merged
//! tiles, where shift is the merged extent's width plus 10 m.

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 4 {
        eprintln!("usage: replicate OUT.laz COPIES TILE...");
        std::process::exit(2);
    }
    let out = std::path::PathBuf::from(&args[1]);
    let copies: usize = args[2].parse().expect("COPIES must be a number");
    let mut merged = landcarbon::points::read(std::path::Path::new(&args[3])).expect("read");
    for t in &args[4..] {
        merged
            .append(&landcarbon::points::read(std::path::Path::new(t)).expect("read"))
            .expect("same format");
    }
    let b = merged.bounds().expect("points");
    let shift = (b[3] - b[0] + 10.0).ceil();
    let base = merged.clone();
    for k in 1..copies {
        let mut c = base.clone();
        for x in &mut c.x {
            *x += k as f64 * shift;
        }
        merged.append(&c).expect("append");
    }
    landcarbon::points::write(&merged, &out).expect("write");
    println!("{} points -> {}", merged.len(), out.display());
}

//! Writes the synthetic oak savanna of `landcarbon::synth_savanna` as a LAZ tile and its true
//! trees as a reference CSV (x, y, height_m), for `landcarbon trees` / `eval trees`.
//!
//! ```sh
//! cargo run --release --example savanna_scene -- OUT_DIR [SEED]
//! ```

use landcarbon::synth_savanna::{generate_savanna, SavannaParams};
use std::io::Write;
use std::path::PathBuf;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let dir = PathBuf::from(args.next().ok_or("usage: savanna_scene OUT_DIR [SEED]")?);
    let mut p = SavannaParams::default();
    if let Some(s) = args.next() {
        p.seed = s.parse()?;
    }
    std::fs::create_dir_all(&dir)?;
    let (cloud, trees) = generate_savanna(&p);
    let las = dir.join(format!("savanna_{}.laz", p.seed));
    landcarbon::points::write(&cloud, &las)?;
    let csv = dir.join(format!("savanna_{}_trees.csv", p.seed));
    let mut f = std::io::BufWriter::new(std::fs::File::create(&csv)?);
    writeln!(f, "x,y,height_m,crown_radius_m")?;
    for t in &trees {
        writeln!(
            f,
            "{:.3},{:.3},{:.3},{:.3}",
            t.x, t.y, t.height_m, t.crown_radius_m
        )?;
    }
    println!(
        "{}: {} points; {}: {} trees",
        las.display(),
        cloud.len(),
        csv.display(),
        trees.len()
    );
    Ok(())
}

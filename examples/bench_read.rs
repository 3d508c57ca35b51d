//! Whole-process read benchmark used by `scripts/bench-read.sh`.
//!
//! `bench_read columns FILE`  — landcarbon's reader: LAZ → struct-of-arrays columns.
//! `bench_read raw FILE`      — raw laz-rs decompression of the same file into record bytes
//!                              (the same 1 M-point batches, the same parallel decompressor), the
//!                              floor our reader is measured against.
//! `bench_read rawseq FILE`   — the same with laz-rs's sequential decompressor (under callgrind
//!                              on a county tile it ran 1.28 G instructions, the parallel one at
//!                              one thread 1.05 G: we keep the parallel one).
//! Threads follow RAYON_NUM_THREADS. Prints `points seconds points_per_s`.

use std::io::{BufReader, Seek, SeekFrom};
use std::time::Instant;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (mode, path) = match args.as_slice() {
        [_, m, p] => (m.as_str(), std::path::PathBuf::from(p)),
        _ => {
            eprintln!("usage: bench_read columns|raw|rawseq FILE.laz");
            std::process::exit(2);
        }
    };
    let t = Instant::now();
    let (n, check) = match mode {
        "columns" => {
            let c = landcarbon::points::read(&path).expect("read");
            let s: f64 =
                c.z.iter().sum::<f64>() + c.intensity.iter().map(|&v| v as f64).sum::<f64>();
            (c.len() as u64, s)
        }
        "raw" => raw(&path, true),
        "rawseq" => raw(&path, false),
        _ => {
            eprintln!("mode must be columns, raw or rawseq");
            std::process::exit(2);
        }
    };
    let dt = t.elapsed().as_secs_f64();
    println!("{n} {dt:.4} {:.0} (check {check:.1})", n as f64 / dt);
}

fn raw(path: &std::path::Path, par: bool) -> (u64, f64) {
    let reader = las::Reader::from_path(path).expect("header");
    let header = reader.header().clone();
    drop(reader);
    let raw_header = header.clone().into_raw().expect("raw header");
    let vlr = header
        .all_vlrs()
        .find(|v| las::laz::is_laszip_vlr(v))
        .expect("a LAZ file");
    let laz_vlr = laz::LazVlr::read_from(vlr.data.as_slice()).expect("laszip vlr");
    let mut f = BufReader::new(std::fs::File::open(path).expect("open"));
    f.seek(SeekFrom::Start(raw_header.offset_to_point_data as u64))
        .expect("seek");
    let rec = raw_header.point_data_record_length as usize;
    let n = header.number_of_points();
    let mut d: Box<dyn laz::LazDecompressor> = if par {
        Box::new(laz::ParLasZipDecompressor::new(f, laz_vlr).expect("decompressor"))
    } else {
        Box::new(laz::LasZipDecompressor::new(f, laz_vlr).expect("decompressor"))
    };
    let mut buf = Vec::new();
    let mut done = 0u64;
    let mut check = 0.0;
    while done < n {
        let k = (n - done).min(1_000_000) as usize;
        buf.resize(k * rec, 0);
        d.decompress_many(&mut buf).expect("decompress");
        check += buf[8] as f64;
        done += k as u64;
    }
    (done, check)
}

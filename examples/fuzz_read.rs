//! Long run of the read-path mutation fuzzer (tests/common/fuzz.rs), for issue #15: no crash
//! and no wrong answer on any input.
//!
//! `fuzz_read --seconds 600 --out DIR [--seed FILE]... [--first-case K]`
//!   Runs cases `K, K+1, …` until the time is up; case `c` mutates seed `c mod n`. A worker
//!   process runs the cases; when it dies (abort on an allocation failure, stack overflow,
//!   signal, the watchdog's hard limit), the case it was running is saved from
//!   `DIR/current.*` as a failure and a new worker resumes after it. Prints cases run, cases/s,
//!   distinct error messages (written to `DIR/messages.txt`), the largest allocation, and every
//!   failure with its reproducer under `DIR/failures/`; exits 1 on any failure.
//!   Seeds default to four files of testdata/ plus uncompressed copies of two LAZ seeds
//!   (written to `DIR/seeds/`), so that the raw LAS record decoder is fuzzed too.
//! `fuzz_read --repro SEED_FILE CASE --out DIR`
//!   Reruns one case, prints its mutations and outcome, and leaves the file in `DIR/`.

#[path = "../tests/common/fuzz.rs"]
mod fuzz;

use fuzz::{CountingAlloc, Harness, Seed, Verdict};
use std::collections::{BTreeMap, VecDeque};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

#[global_allocator]
static ALLOC: CountingAlloc = CountingAlloc;

struct Args {
    seconds: f64,
    out: PathBuf,
    seeds: Vec<PathBuf>,
    first_case: u64,
    repro: Option<(PathBuf, u64)>,
    worker_until_ms: Option<u64>,
}

fn usage(msg: &str) -> ! {
    eprintln!("fuzz_read: {msg}\nusage: fuzz_read [--seconds S] [--out DIR] [--seed FILE]... [--first-case K] | --repro SEED_FILE CASE [--out DIR]");
    std::process::exit(2)
}

fn parse() -> Args {
    let mut a = Args {
        seconds: 600.0,
        out: PathBuf::from("target/fuzz-read"),
        seeds: Vec::new(),
        first_case: 0,
        repro: None,
        worker_until_ms: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(k) = it.next() {
        let mut val = || {
            it.next()
                .unwrap_or_else(|| usage(&format!("{k} needs a value")))
        };
        let num = |v: String| -> f64 {
            v.parse()
                .unwrap_or_else(|_| usage(&format!("not a number: {v}")))
        };
        match k.as_str() {
            "--seconds" => a.seconds = num(val()),
            "--out" => a.out = PathBuf::from(val()),
            "--seed" => a.seeds.push(PathBuf::from(val())),
            "--first-case" => a.first_case = num(val()) as u64,
            "--repro" => {
                let s = PathBuf::from(val());
                let c = val()
                    .parse()
                    .unwrap_or_else(|_| usage("--repro SEED_FILE CASE"));
                a.repro = Some((s, c));
            }
            "--worker-until-ms" => a.worker_until_ms = Some(num(val()) as u64),
            other => usage(&format!("unknown argument {other}")),
        }
    }
    a
}

fn unix_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

fn load(paths: &[PathBuf]) -> Vec<Seed> {
    paths
        .iter()
        .map(|p| Seed::load(p).unwrap_or_else(|e| usage(&format!("seed {}: {e}", p.display()))))
        .collect()
}

fn main() {
    let a = parse();
    if let Some((seed, case)) = &a.repro {
        repro(&a.out, seed, *case);
    } else if let Some(until) = a.worker_until_ms {
        worker(&a, until);
    } else {
        supervise(a);
    }
}

fn repro(out: &Path, seed: &Path, case: u64) {
    let seed = &load(&[seed.to_path_buf()])[0];
    let h = Harness::new(out);
    let r = h.run_case(seed, case, &fuzz::read_paths);
    println!(
        "{} case {case}: {} (largest allocation {} bytes, {:.3} s)",
        seed.name,
        std::fs::read_to_string(out.join("current.txt"))
            .unwrap_or_default()
            .trim(),
        r.alloc.largest_bytes,
        r.elapsed.as_secs_f64()
    );
    match r.outcome {
        Ok(v) => println!("ok: {v:?}"),
        Err(f) => {
            println!("FAIL: {f}");
            std::process::exit(1)
        }
    }
}

/// Runs cases until `until_ms`, one line per case on stdout:
/// `C case largest_bytes peak_bytes micros A points | R message | F failure`.
fn worker(a: &Args, until_ms: u64) {
    let seeds = load(&a.seeds);
    let mut h = Harness::new(&a.out);
    h.save_failures = Some(a.out.join("failures"));
    let n = seeds.len() as u64;
    let mut case = a.first_case;
    while unix_ms() < until_ms {
        let seed = &seeds[(case % n) as usize];
        let r = h.run_case(seed, case, &fuzz::read_paths);
        let path = h.current_file(seed);
        let what = match r.outcome {
            Ok(Verdict::Accepted(p)) => format!("A {p}"),
            Ok(Verdict::Refused(m)) => {
                format!("R {}", fuzz::message_kind(&m, &path).replace('\n', " "))
            }
            Err(f) => format!("F {}", f.to_string().replace('\n', " ")),
        };
        println!(
            "C {case} {} {} {} {what}",
            r.alloc.largest_bytes,
            r.alloc.peak_live_bytes,
            r.elapsed.as_micros()
        );
        case += 1;
    }
}

#[derive(Default)]
struct Tally {
    cases: u64,
    accepted: u64,
    refused: u64,
    messages: BTreeMap<String, u64>,
    failures: Vec<String>,
    largest_bytes: u64,
    largest_case: u64,
    peak_bytes: u64,
    slowest_micros: u64,
    slowest_case: u64,
    last_case: Option<u64>,
}

impl Tally {
    fn line(&mut self, l: &str) {
        let mut f = l.splitn(6, ' ');
        let (Some("C"), Some(case), Some(big), Some(peak), Some(us), Some(what)) =
            (f.next(), f.next(), f.next(), f.next(), f.next(), f.next())
        else {
            return;
        };
        let num = |s: &str| s.parse::<u64>().unwrap_or(0);
        let case = num(case);
        self.cases += 1;
        self.last_case = Some(case);
        if num(big) > self.largest_bytes {
            self.largest_bytes = num(big);
            self.largest_case = case;
        }
        self.peak_bytes = self.peak_bytes.max(num(peak));
        if num(us) > self.slowest_micros {
            self.slowest_micros = num(us);
            self.slowest_case = case;
        }
        match what.split_at(what.len().min(2)) {
            ("A ", _) => self.accepted += 1,
            ("R ", m) => {
                self.refused += 1;
                *self.messages.entry(m.to_string()).or_default() += 1;
            }
            (_, m) => self.failures.push(m.to_string()),
        }
    }
}

fn supervise(a: Args) {
    let out = a.out.clone();
    std::fs::create_dir_all(&out).unwrap_or_else(|e| usage(&format!("{}: {e}", out.display())));
    let seeds = if a.seeds.is_empty() {
        let defaults = fuzz::default_seed_paths();
        let lazs = [defaults[1].clone(), defaults[2].clone()];
        let copies = fuzz::las_copies(&lazs, &out.join("seeds"))
            .unwrap_or_else(|e| usage(&format!("making LAS seeds: {e}")));
        defaults.into_iter().chain(copies).collect()
    } else {
        a.seeds.clone()
    };
    let loaded = load(&seeds);
    let exe = std::env::current_exe().expect("own path");
    let start = Instant::now();
    let until_ms = unix_ms() + (a.seconds * 1000.0) as u64;
    let mut tally = Tally::default();
    let mut next_case = a.first_case;
    let mut crashes = 0;
    println!(
        "fuzz_read: {} s over {} seeds: {}",
        a.seconds,
        seeds.len(),
        seeds
            .iter()
            .map(|p| p.display().to_string())
            .collect::<Vec<_>>()
            .join(", ")
    );
    while unix_ms() < until_ms {
        let mut cmd = Command::new(&exe);
        cmd.arg("--out")
            .arg(&out)
            .arg("--worker-until-ms")
            .arg(until_ms.to_string());
        cmd.arg("--first-case").arg(next_case.to_string());
        for s in &seeds {
            cmd.arg("--seed").arg(s);
        }
        let mut child = cmd
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start a worker");
        let stderr = child.stderr.take().unwrap();
        // The worker's last words (an abort message, the watchdog's) go with a crash report.
        let tail = std::thread::spawn(move || {
            let mut last = VecDeque::new();
            for l in BufReader::new(stderr).lines().map_while(Result::ok) {
                if last.len() == 8 {
                    last.pop_front();
                }
                last.push_back(l);
            }
            last.into_iter().collect::<Vec<_>>().join(" | ")
        });
        let mut last_report = Instant::now();
        for l in BufReader::new(child.stdout.take().unwrap())
            .lines()
            .map_while(Result::ok)
        {
            tally.line(&l);
            if l.contains(" F ") {
                println!("FAIL {}", l.split_once(" F ").unwrap().1);
            }
            if last_report.elapsed() > Duration::from_secs(60) {
                last_report = Instant::now();
                println!(
                    "  {:.0} s: {} cases, {} failures",
                    start.elapsed().as_secs_f64(),
                    tally.cases,
                    tally.failures.len()
                );
            }
        }
        let status = child.wait().expect("worker status");
        let last_words = tail.join().unwrap_or_default();
        next_case = tally.last_case.map_or(next_case, |c| c + 1);
        if !status.success() {
            crashes += 1;
            let crashed = next_case;
            let seed = &loaded[(crashed % loaded.len() as u64) as usize];
            let mut what = std::fs::read_to_string(out.join("current.txt")).unwrap_or_default();
            if !what.contains(&format!(" case {crashed}:")) {
                // It died between cases: a harness fault, or a case that crashed the writer.
                what = format!("before the case was written; the previous one was: {what}");
            }
            let dir = out.join("failures");
            let _ = std::fs::create_dir_all(&dir);
            let dst = dir.join(format!("{}-case{crashed}.{}", seed.name, seed.ext));
            let _ = std::fs::copy(out.join(format!("current.{}", seed.ext)), &dst);
            let msg = format!(
                "{} case {crashed}: crash ({status}): {last_words} [{}] [reproducer: {}]",
                seed.name,
                what.trim(),
                dst.display()
            );
            println!("FAIL {msg}");
            let _ = std::fs::write(dir.join(format!("{}-case{crashed}.txt", seed.name)), &msg);
            tally.failures.push(msg);
            tally.cases += 1;
            next_case = crashed + 1;
            if crashes >= 50 {
                println!("fuzz_read: 50 crashes, stopping");
                break;
            }
        }
    }
    let secs = start.elapsed().as_secs_f64();
    let mut messages: Vec<_> = tally.messages.iter().collect();
    messages.sort_by(|a, b| b.1.cmp(a.1));
    let listing: String = messages
        .iter()
        .map(|(m, n)| format!("{n}\t{m}\n"))
        .collect();
    let _ = std::fs::write(out.join("messages.txt"), listing);
    println!(
        "fuzz_read: {} cases (first {}, last {}) in {secs:.0} s = {:.1} cases/s: {} accepted, {} refused, {} distinct error messages ({}), {} failures",
        tally.cases,
        a.first_case,
        next_case.saturating_sub(1),
        tally.cases as f64 / secs,
        tally.accepted,
        tally.refused,
        tally.messages.len(),
        out.join("messages.txt").display(),
        tally.failures.len()
    );
    println!(
        "fuzz_read: largest single allocation {} bytes (case {}), peak live {} bytes, slowest case {:.3} s (case {})",
        tally.largest_bytes,
        tally.largest_case,
        tally.peak_bytes,
        tally.slowest_micros as f64 / 1e6,
        tally.slowest_case
    );
    for f in &tally.failures {
        println!("FAIL {f}");
    }
    if !tally.failures.is_empty() {
        std::process::exit(1);
    }
}

//! A short deterministic pass of the read-path fuzzer (tests/common/fuzz.rs) over the seed
//! corpus, and checks that its harness does report panics, oversized allocations, errors that
//! do not name the file and slow cases. The long run is `scripts/fuzz.sh`.

#[path = "common/fuzz.rs"]
mod fuzz;

use fuzz::{CountingAlloc, Harness, Seed, Verdict};
use std::path::Path;
use std::time::{Duration, Instant};

#[global_allocator]
static ALLOC: CountingAlloc = CountingAlloc;

/// Cases per seed: the whole pass stays well under a minute in release on two cores.
const CASES_PER_SEED: u64 = 300;

#[test]
fn the_seed_corpus_survives_a_deterministic_mutation_pass() {
    // A fixed folder, not a temporary one: after a crash (an abort skips the report),
    // target/tmp/fuzz_seed/work/current.txt names the case and current.* is its file.
    let dir = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("fuzz_seed");
    let _ = std::fs::remove_dir_all(&dir);
    let laz = fuzz::default_seed_paths();
    let mut paths = laz.clone();
    // The raw LAS record decoder, with the LAZ seeds' formats (0 and 8 with extra bytes).
    let lazs: Vec<_> = laz
        .iter()
        .filter(|p| p.extension().is_some_and(|e| e == "laz"))
        .skip(1)
        .cloned()
        .collect();
    paths.extend(fuzz::las_copies(&lazs, &dir.join("seeds")).unwrap());
    let seeds: Vec<Seed> = paths.iter().map(|p| Seed::load(p).unwrap()).collect();
    let mut h = Harness::new(&dir.join("work"));
    h.save_failures = Some(dir.join("failures"));
    let t = Instant::now();
    let (mut accepted, mut refused, mut failures) = (0, 0, Vec::new());
    for seed in &seeds {
        for case in 0..CASES_PER_SEED {
            match h.run_case(seed, case, &fuzz::read_paths).outcome {
                Ok(Verdict::Accepted(_)) => accepted += 1,
                Ok(Verdict::Refused(_)) => refused += 1,
                Err(f) => failures.push(f.to_string()),
            }
        }
    }
    eprintln!(
        "fuzz seed pass: {} cases in {:.1} s: {accepted} accepted, {refused} refused, {} failures",
        seeds.len() as u64 * CASES_PER_SEED,
        t.elapsed().as_secs_f64(),
        failures.len()
    );
    assert!(
        failures.is_empty(),
        "failing cases:\n{}",
        failures.join("\n")
    );
    // The mutations reach both sides: files the checks refuse and files that decode.
    assert!(
        accepted > 20 && refused > 100,
        "{accepted} accepted, {refused} refused"
    );
}

#[test]
fn the_harness_reports_panics_allocations_unnamed_errors_and_slow_cases() {
    let d = tempfile::tempdir().unwrap();
    let seed = Seed::load(&landcarbon::testdata::bundled("isprs/samp24-utm.laz")).unwrap();
    let mut h = Harness::new(&d.path().join("work"));
    h.slow_case = Duration::from_millis(200);
    let kind = |target: &fuzz::Target| match h.run_case(&seed, 7, target).outcome {
        Ok(_) => "ok",
        Err(f) => {
            assert!(f.seed == "samp24-utm.laz" && f.case == 7, "{f}");
            f.kind
        }
    };
    assert_eq!(kind(&|_: &Path, _| Ok(Verdict::Accepted(0))), "ok");
    assert_eq!(kind(&|_: &Path, _| panic!("deliberate")), "panic");
    // A panic on another thread, re-raised by the caller (as `read` joins its decoder).
    assert_eq!(
        kind(&|_: &Path, _| {
            std::thread::spawn(|| panic!("deliberate, in a helper"))
                .join()
                .map_err(|_| ())
                .expect("helper");
            Ok(Verdict::Accepted(0))
        }),
        "panic"
    );
    // A fallible request above the bound is refused by the allocator, and still reported.
    assert_eq!(
        kind(&|_: &Path, _| {
            let mut v: Vec<u8> = Vec::new();
            let ok = v.try_reserve(fuzz::ALLOC_LIMIT_BYTES + 1).is_ok();
            Ok(Verdict::Refused(format!("reserved: {ok}")))
        }),
        "allocation"
    );
    assert_eq!(
        kind(&|p: &Path, _| {
            let e = landcarbon::Error::data("somewhere", "an error that forgot its file");
            fuzz::named(p, "open", &e).map(Verdict::Refused)
        }),
        "invariant"
    );
    assert_eq!(
        kind(&|_: &Path, _| {
            std::thread::sleep(Duration::from_millis(400));
            Ok(Verdict::Accepted(0))
        }),
        "slow"
    );
    // The case is on disk and described before it runs: a crash leaves its reproducer.
    let described = std::fs::read_to_string(d.path().join("work/current.txt")).unwrap();
    assert!(
        described.contains("samp24-utm.laz") && described.contains("case 7"),
        "{described}"
    );
    assert!(d.path().join("work/current.laz").exists());
}

#[test]
fn cases_are_reproducible_from_seed_and_case_number() {
    let a = Seed::load(&landcarbon::testdata::bundled("isprs/samp24-utm.laz")).unwrap();
    let distinct: std::collections::HashSet<Vec<u8>> =
        (0..50).map(|case| fuzz::mutate(&a, case).0).collect();
    assert!(
        distinct.len() > 40,
        "{} distinct cases of 50",
        distinct.len()
    );
    for case in [0, 1, 999, u64::MAX] {
        assert_eq!(
            fuzz::mutate(&a, case),
            fuzz::mutate(&a, case),
            "case {case}"
        );
    }
}

//! Least-significant-digit radix sort of `(u64 key, payload)` pairs.
//!
//! Algorithm: LSD radix sort (Knuth, *TAOCP* vol. 3, §5.2.5) with 8-bit digits (or wider ones,
//! [`sort_by_digits`]: fewer passes): one counting pass builds the histograms of all the digits
//! (the key's low `BYTES` bytes), then each digit is a stable scatter into a second buffer. A
//! digit that is the same in every key (the exponent byte of distances of one magnitude) is
//! skipped. Each pass is stable, so pairs with equal keys keep their input order: sorting pairs
//! whose payloads are increasing indices gives the order of `sort_unstable` on `(key, index)`,
//! ties by index. Sequential; for the terrain's sorts of a few hundred thousand keys it makes at
//! most `BYTES` passes of sequential reads instead of a comparison sort's ~log2(n) partitioning
//! passes with unpredictable branches.

/// Sorts `items` by key, stably (equal keys keep their order). `items` and `scratch` are swapped
/// as the passes go; the result is in `items`, `scratch` is left with unspecified contents.
/// Only the low `BYTES` bytes of the keys are looked at: the higher ones must be zero (checked
/// in debug builds).
pub(crate) fn sort_by_key<const BYTES: usize, T: Copy>(
    items: &mut Vec<(u64, T)>,
    scratch: &mut Vec<(u64, T)>,
) {
    debug_assert!(BYTES >= 8 || items.iter().all(|&(k, _)| k >> (8 * BYTES) == 0));
    sort_by_low_bytes::<BYTES, _>(items, scratch, |&(k, _)| k);
}

/// Sorts `items` stably by the low `BYTES` bytes of `key(item)` (its higher bytes are
/// ignored: a payload can be packed there, e.g. an index above a 16-bit key, halving the
/// items of [`sort_by_key`]). `items` and `scratch` as in [`sort_by_key`].
pub(crate) fn sort_by_low_bytes<const BYTES: usize, T: Copy>(
    items: &mut Vec<T>,
    scratch: &mut Vec<T>,
    key: impl Fn(&T) -> u64,
) {
    sort_by_digits::<BYTES, 8, T>(items, scratch, key);
}

/// Sorts `items` stably by the low `PASSES * DIGIT` bits of `key(item)` (higher bits ignored),
/// `DIGIT` bits per pass: wider digits, fewer passes over the items (each a read and a
/// scattered write of all of them) for a larger histogram per pass (`2^DIGIT` counters, and as
/// many write streams: 10 or 11 bits keep them within the L2 cache). The same result as
/// [`sort_by_low_bytes`] over the same bits, whatever the digit. `items` and `scratch` as in
/// [`sort_by_key`].
pub(crate) fn sort_by_digits<const PASSES: usize, const DIGIT: u32, T: Copy>(
    items: &mut Vec<T>,
    scratch: &mut Vec<T>,
    key: impl Fn(&T) -> u64,
) {
    let n = items.len();
    if n < 2 {
        return;
    }
    let radix = 1usize << DIGIT;
    let mask = radix as u64 - 1;
    let mut counts = vec![0usize; PASSES * radix];
    for item in items.iter() {
        let k = key(item);
        for d in 0..PASSES {
            counts[d * radix + ((k >> (DIGIT as usize * d)) & mask) as usize] += 1;
        }
    }
    // Any values: each pass is a permutation, overwriting every slot.
    scratch.clear();
    scratch.resize(n, items[0]);
    for (d, c) in counts.chunks_exact_mut(radix).enumerate() {
        // Every key has the same digit here: this pass would not move anything.
        if c.contains(&n) {
            continue;
        }
        let mut sum = 0;
        for v in c.iter_mut() {
            let here = *v;
            *v = sum;
            sum += here;
        }
        let shift = DIGIT as usize * d;
        let dst = &mut scratch[..n];
        for item in items.iter() {
            let digit = ((key(item) >> shift) & mask) as usize;
            let slot = c[digit];
            dst[slot] = *item;
            c[digit] = slot + 1;
        }
        std::mem::swap(items, scratch);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};

    #[test]
    fn equals_sort_unstable_of_key_index_pairs() {
        let mut rng = rand_pcg::Pcg64::seed_from_u64(17);
        type KeyGen = Box<dyn Fn(&mut rand_pcg::Pcg64) -> u64>;
        let gens: Vec<KeyGen> = vec![
            // Full-width keys, small keys (high digits constant), many duplicates, and
            // distance-like keys (bits of positive doubles of a few magnitudes).
            Box::new(|r| r.random()),
            Box::new(|r| r.random_range(0..1u64 << 20)),
            Box::new(|r| r.random_range(0..7u64)),
            Box::new(|r| (r.random_range(0.0..1000.0f64).powi(2)).to_bits()),
            Box::new(|r| u64::MAX - r.random_range(0..3u64)),
        ];
        for n in [0, 1, 2, 3, 100, 5000] {
            for g in &gens {
                let keys: Vec<u64> = (0..n).map(|_| g(&mut rng)).collect();
                let mut want: Vec<(u64, u32)> = keys
                    .iter()
                    .enumerate()
                    .map(|(i, &k)| (k, i as u32))
                    .collect();
                let mut got = want.clone();
                want.sort_unstable();
                let mut scratch = Vec::new();
                sort_by_key::<8, u32>(&mut got, &mut scratch);
                assert_eq!(got, want);
                // Keys below 2^20: three bytes are enough.
                let mut small: Vec<(u64, u32)> = keys
                    .iter()
                    .enumerate()
                    .map(|(i, &k)| (k & 0xf_ffff, i as u32))
                    .collect();
                let mut got = small.clone();
                small.sort_unstable();
                sort_by_key::<3, u32>(&mut got, &mut scratch);
                assert_eq!(got, small);
            }
        }
        // A payload packed above a 16-bit key: the order of the (key, index) pairs.
        let keys: Vec<u64> = (0..5000).map(|_| rng.random_range(0..300u64)).collect();
        let mut want: Vec<(u64, u32)> = keys
            .iter()
            .enumerate()
            .map(|(i, &k)| (k, i as u32))
            .collect();
        want.sort_unstable();
        let mut packed: Vec<u64> = keys
            .iter()
            .enumerate()
            .map(|(i, &k)| (i as u64) << 32 | k)
            .collect();
        sort_by_low_bytes::<2, u64>(&mut packed, &mut Vec::new(), |&k| k);
        let got: Vec<(u64, u32)> = packed
            .iter()
            .map(|&k| (k & 0xffff, (k >> 32) as u32))
            .collect();
        assert_eq!(got, want);
        // Wider digits: the same order, bits above PASSES * DIGIT ignored (here 30 of 36).
        let mut want: Vec<(u64, u32)> = keys
            .iter()
            .enumerate()
            .map(|(i, &k)| (k * 0x1234_5678 % (1 << 36), i as u32))
            .collect();
        let mut got = want.clone();
        sort_by_digits::<3, 10, _>(&mut got, &mut Vec::new(), |&(k, _)| k);
        want.sort_unstable_by_key(|&(k, i)| (k & ((1 << 30) - 1), i));
        assert_eq!(got, want);
        // All keys equal: nothing moves.
        let mut same: Vec<(u64, u32)> = (0..50).map(|i| (42, i)).collect();
        let want = same.clone();
        sort_by_key::<8, u32>(&mut same, &mut Vec::new());
        assert_eq!(same, want);
    }
}

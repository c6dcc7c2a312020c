//! Tests of the mining module: every available kernel against plain `sha2` SHA-256d.
//!
//! Kernels this CPU lacks are skipped, and each test says which ones it skipped.

use proptest::prelude::*;
use proptest::test_runner::{Config as ProptestConfig, RngSeed};

use super::sha256::{K, Pre};
use super::*;

/// Deterministic proptest configuration: fixed seed, few cases (debug builds are slow).
fn config(cases: u32) -> ProptestConfig {
    ProptestConfig {
        cases,
        rng_seed: RngSeed::Fixed(0x6d69_6e65),
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

/// The kernels to test here; prints those skipped for lack of CPU features.
fn kernels() -> Vec<Kernel> {
    for kernel in Kernel::ALL {
        if !kernel.is_available() {
            eprintln!("skipping kernel {kernel}: CPU feature missing");
        }
    }
    Kernel::available()
}

/// Per-kernel H0 test hook.
fn h0s(kernel: Kernel, pre: &Pre, lo: u32, out: &mut [u32]) {
    match kernel {
        Kernel::Portable => portable::h0s(pre, lo, out),
        #[cfg(target_arch = "x86_64")]
        Kernel::ShaNi => sha_ni::h0s(pre, lo, out),
        #[cfg(target_arch = "x86_64")]
        Kernel::Avx2 => avx2::h0s(pre, lo, out),
        #[cfg(target_arch = "x86_64")]
        Kernel::Avx512 => avx512::h0s(pre, lo, out),
        #[cfg(not(target_arch = "x86_64"))]
        _ => unreachable!("kernel {kernel} is never available here"),
    }
}

/// The reference: first nonce of `[start, start + count)` (wrapping) meeting the target.
fn naive_scan(job: &Job, start: u64, count: u64) -> ScanResult {
    for i in 0..count {
        let nonce = start.wrapping_add(i);
        if meets_target(&sha256d(&job.header_with_nonce(nonce)), job.target()) {
            return ScanResult {
                found: Some(nonce),
                hashed: i + 1,
            };
        }
    }
    ScanResult {
        found: None,
        hashed: count,
    }
}

fn header_strategy() -> impl Strategy<Value = [u8; HEADER_LEN]> {
    proptest::collection::vec(any::<u8>(), HEADER_LEN).prop_map(|bytes| {
        let mut header = [0u8; HEADER_LEN];
        header.copy_from_slice(&bytes);
        header
    })
}

/// Start nonces anywhere, just below a multiple of 2^32, or just below `u64::MAX`.
fn start_strategy() -> impl Strategy<Value = u64> {
    prop_oneof![
        any::<u64>(),
        (any::<u32>(), 0u64..48).prop_map(|(hi, back)| (u64::from(hi) << 32).wrapping_sub(back)),
        (0u64..48).prop_map(|back| u64::MAX - back),
    ]
}

fn first_word(hash: &[u8; 32]) -> u32 {
    u32::from_be_bytes([hash[0], hash[1], hash[2], hash[3]])
}

/// The 256-bit big-endian number minus one (saturating at zero).
fn minus_one(mut value: [u8; 32]) -> [u8; 32] {
    for byte in value.iter_mut().rev() {
        if *byte > 0 {
            *byte -= 1;
            return value;
        }
        *byte = 0xff;
    }
    [0; 32]
}

#[test]
fn round_constants_are_cube_root_fractions() {
    let mut primes = Vec::new();
    let mut n = 2u32;
    while primes.len() < 64 {
        if (2..n)
            .take_while(|d| d * d <= n)
            .all(|d| !n.is_multiple_of(d))
        {
            primes.push(n);
        }
        n += 1;
    }
    for (k, p) in K.iter().zip(primes) {
        let root = f64::from(p).cbrt();
        assert_eq!(
            *k,
            ((root - root.floor()) * 4_294_967_296.0) as u32,
            "prime {p}"
        );
    }
}

#[test]
fn known_vector_all_zero_header() {
    let header = [0u8; HEADER_LEN];
    let job = Job::new(&header, &[0xff; 32]);
    let expected = sha256d(&header);
    assert_eq!(job.midstate().hash(0), expected);
    assert_eq!(job.check(0), Some(expected));
    for kernel in kernels() {
        let result = kernel.scan(&job, 0, 1);
        assert_eq!(
            result,
            ScanResult {
                found: Some(0),
                hashed: 1
            },
            "{kernel}"
        );
    }
}

#[test]
fn kernel_registry() {
    let available = Kernel::available();
    assert!(available.contains(&Kernel::Portable));
    assert!(available.contains(&Kernel::best()));
    for kernel in Kernel::ALL {
        assert_eq!(Kernel::from_name(kernel.name()), Some(kernel));
        assert_eq!(kernel.to_string(), kernel.name());
    }
    assert_eq!(Kernel::from_name("nope"), None);
}

proptest! {
    #![proptest_config(config(48))]

    #[test]
    fn midstate_hash_matches_sha256d(header in header_strategy(), nonce in any::<u64>()) {
        let job = Job::new(&header, &[0; 32]);
        prop_assert_eq!(job.midstate().hash(nonce), sha256d(&job.header_with_nonce(nonce)));
    }
}

proptest! {
    #![proptest_config(config(24))]

    /// Each kernel's first hash word, nonce by nonce, equals plain SHA-256d's; the odd length
    /// exercises partial vectors and the low word wraps within the high word.
    #[test]
    fn kernel_first_words_match_sha256d(
        header in header_strategy(),
        start in start_strategy(),
    ) {
        let job = Job::new(&header, &[0; 32]);
        let hi = (start >> 32) as u32;
        let lo = start as u32;
        let pre = Pre::new(job.midstate(), job.target(), hi);
        let expected: Vec<u32> = (0..37u32)
            .map(|i| {
                let nonce = (u64::from(hi) << 32) | u64::from(lo.wrapping_add(i));
                first_word(&sha256d(&job.header_with_nonce(nonce)))
            })
            .collect();
        for kernel in kernels() {
            let mut got = vec![0u32; expected.len()];
            h0s(kernel, &pre, lo, &mut got);
            prop_assert_eq!(&got, &expected, "kernel {}", kernel);
        }
    }

    /// Every kernel's scan agrees with the naive loop, including ranges that wrap around
    /// `u64::MAX` or cross a multiple of 2^32, targets met exactly, targets whose first word
    /// matches but whose full comparison fails, and targets never met.
    #[test]
    fn kernel_scan_matches_naive(
        header in header_strategy(),
        start in start_strategy(),
        count in 1u64..80,
        pick in any::<prop::sample::Index>(),
        mode in 0u8..3,
    ) {
        let hashes: Vec<[u8; 32]> = (0..count)
            .map(|i| {
                let mut h = header;
                set_nonce(&mut h, start.wrapping_add(i));
                sha256d(&h)
            })
            .collect();
        let chosen = hashes[pick.index(hashes.len())];
        let target = match mode {
            0 => chosen,
            1 => minus_one(chosen),
            _ => [0; 32],
        };
        let job = Job::new(&header, &target);
        let expected = naive_scan(&job, start, count);
        if mode == 0 {
            prop_assert!(expected.found.is_some());
        }
        for kernel in kernels() {
            prop_assert_eq!(kernel.scan(&job, start, count), expected, "kernel {}", kernel);
        }
    }
}

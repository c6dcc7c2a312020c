//! Mining through the public API: easy targets, every available kernel, one and two threads.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use chain_core::mining::{HEADER_LEN, Job, Kernel, ScanResult, meets_target, mine, sha256d};

/// The kernels to test here; prints those skipped for lack of CPU features.
fn kernels() -> Vec<Kernel> {
    for kernel in Kernel::ALL {
        if !kernel.is_available() {
            eprintln!("skipping kernel {kernel}: CPU feature missing");
        }
    }
    Kernel::available()
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

/// Target met by about one hash in 256.
fn easy_target() -> [u8; 32] {
    let mut target = [0xff; 32];
    target[0] = 0;
    target
}

#[test]
fn easy_target_every_kernel_finds_the_naive_first_nonce() {
    let mut header = [0u8; HEADER_LEN];
    for (i, byte) in header.iter_mut().enumerate() {
        *byte = (i as u8).wrapping_mul(37).wrapping_add(11);
    }
    let job = Job::new(&header, &easy_target());
    for start in [0, 0xffff_ff80, u64::MAX - 100, 0x1234_5678_9abc_def0] {
        let expected = naive_scan(&job, start, 4096);
        let nonce = expected
            .found
            .expect("an easy target is met within 4096 nonces");
        for kernel in kernels() {
            assert_eq!(kernel.scan(&job, start, 4096), expected, "kernel {kernel}");
        }
        // One thread takes the chunks in order, so it finds the same first nonce.
        for kernel in kernels() {
            let stop = AtomicBool::new(false);
            let counter = AtomicU64::new(0);
            let found = mine(&job, kernel, 1, start, &stop, &counter);
            assert_eq!(
                found,
                Some((nonce, sha256d(&job.header_with_nonce(nonce)))),
                "kernel {kernel}"
            );
            assert!(counter.load(Ordering::Relaxed) >= expected.hashed);
        }
    }
}

#[test]
fn mine_with_two_threads_finds_the_first_nonce() {
    let header = [7u8; HEADER_LEN];
    let mut target = easy_target();
    target[1] = 0x40;
    let job = Job::new(&header, &target);
    // Starts just below u64::MAX: chunks wrap around to nonce 0.
    let start = u64::MAX - 5000;
    let expected = naive_scan(&job, start, 1 << 16).found.expect("found");
    for kernel in kernels() {
        let stop = AtomicBool::new(false);
        let counter = AtomicU64::new(0);
        let (nonce, hash) = mine(&job, kernel, 2, start, &stop, &counter).expect("found");
        assert_eq!(nonce, expected, "kernel {kernel}");
        assert_eq!(
            hash,
            sha256d(&job.header_with_nonce(nonce)),
            "kernel {kernel}"
        );
        assert!(meets_target(&hash, &target), "kernel {kernel}");
        assert!(counter.load(Ordering::Relaxed) > 0);
    }
}

#[test]
fn mine_returns_none_at_once_when_stop_is_already_raised() {
    let job = Job::new(&[1u8; HEADER_LEN], &[0; 32]);
    let stop = AtomicBool::new(true);
    let counter = AtomicU64::new(0);
    assert_eq!(mine(&job, Kernel::best(), 2, 0, &stop, &counter), None);
    assert_eq!(counter.load(Ordering::Relaxed), 0);
}

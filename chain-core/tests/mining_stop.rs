//! Raising the stop flag halts every mining thread quickly.
//!
//! Kept alone in its own test binary so that no other test competes for the CPU while the
//! delay is measured.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use chain_core::mining::{HEADER_LEN, Job, Kernel, mine};

#[test]
fn raising_stop_halts_mining_threads_within_50ms() {
    // An all-zero target is never met: the threads run until stopped.
    let job = Job::new(&[3u8; HEADER_LEN], &[0; 32]);
    for kernel in Kernel::ALL {
        if !kernel.is_available() {
            eprintln!("skipping kernel {kernel}: CPU feature missing");
            continue;
        }
        let stop = AtomicBool::new(false);
        let counter = AtomicU64::new(0);
        let (elapsed, result) = std::thread::scope(|scope| {
            let miner = scope.spawn(|| mine(&job, kernel, 2, 0, &stop, &counter));
            // Let the threads get going.
            while counter.load(Ordering::Relaxed) == 0 {
                std::thread::sleep(Duration::from_millis(1));
            }
            std::thread::sleep(Duration::from_millis(20));
            stop.store(true, Ordering::Relaxed);
            let raised = Instant::now();
            let result = miner.join().expect("miner thread");
            (raised.elapsed(), result)
        });
        eprintln!("kernel {kernel}: threads stopped {elapsed:?} after the flag was raised");
        assert_eq!(result, None);
        assert!(
            elapsed < Duration::from_millis(50),
            "kernel {kernel}: threads took {elapsed:?} to stop"
        );
    }
}

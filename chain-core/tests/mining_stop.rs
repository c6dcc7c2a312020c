//! Raising the stop flag halts every mining thread quickly.
//!
//! Kept alone in its own test binary so that no other test competes for the CPU while the
//! delay is measured. Work outside this process can still delay a thread's wake-up on a busy
//! machine, so each kernel gets up to three attempts and must stop within 50 ms in one of them.

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
        let mut attempts = Vec::new();
        for _ in 0..3 {
            let elapsed = time_to_stop(&job, kernel);
            attempts.push(elapsed);
            if elapsed < Duration::from_millis(50) {
                break;
            }
        }
        eprintln!("kernel {kernel}: threads stopped {attempts:?} after the flag was raised");
        assert!(
            attempts.iter().any(|&t| t < Duration::from_millis(50)),
            "kernel {kernel}: threads took {attempts:?} to stop"
        );
    }
}

/// Mines on two threads, raises the stop flag once they are busy, and returns how long
/// `mine` then took to return.
fn time_to_stop(job: &Job, kernel: Kernel) -> Duration {
    let stop = AtomicBool::new(false);
    let counter = AtomicU64::new(0);
    std::thread::scope(|scope| {
        let miner = scope.spawn(|| mine(job, kernel, 2, 0, &stop, &counter));
        // Let the threads get going.
        while counter.load(Ordering::Relaxed) == 0 {
            std::thread::sleep(Duration::from_millis(1));
        }
        std::thread::sleep(Duration::from_millis(20));
        stop.store(true, Ordering::Relaxed);
        let raised = Instant::now();
        let result = miner.join().expect("miner thread");
        let elapsed = raised.elapsed();
        assert_eq!(result, None, "kernel {kernel}: an all-zero target was met");
        elapsed
    })
}

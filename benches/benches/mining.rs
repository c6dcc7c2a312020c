//! Criterion benchmarks of proof-of-work hashing: SHA-256d of a header whole versus from the
//! midstate, each available kernel's nonces per second, and the miner on 1 and 2 threads.
//!
//! `cargo bench -p benches --bench mining`

use std::hint::black_box;
use std::sync::atomic::{AtomicBool, AtomicU64};
use std::time::Duration;

use chain_core::mining::{HEADER_LEN, Job, Kernel, Midstate, mine, set_nonce, sha256d};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};

/// A fixed, non-trivial header.
fn header() -> [u8; HEADER_LEN] {
    let mut header = [0u8; HEADER_LEN];
    for (i, byte) in header.iter_mut().enumerate() {
        *byte = (i as u8).wrapping_mul(151).wrapping_add(7);
    }
    header
}

/// SHA-256d of one header: all 88 bytes through `sha2` (three compressions) versus resuming
/// from the midstate of the first 64 bytes (two compressions).
fn sha256d_header(c: &mut Criterion) {
    let mut group = c.benchmark_group("sha256d_header");
    group.throughput(Throughput::Elements(1));
    let header = header();
    let midstate = Midstate::new(&header);
    let mut nonce = 0u64;
    group.bench_function("whole", |b| {
        b.iter(|| {
            nonce = nonce.wrapping_add(1);
            let mut h = header;
            set_nonce(&mut h, nonce);
            sha256d(black_box(&h))
        })
    });
    group.bench_function("midstate", |b| {
        b.iter(|| {
            nonce = nonce.wrapping_add(1);
            black_box(&midstate).hash(black_box(nonce))
        })
    });
    group.finish();
}

/// Nonces per second of each available kernel on one thread, scanning for a target never met.
fn kernel_scan(c: &mut Criterion) {
    const NONCES: u64 = 1 << 16;
    let mut group = c.benchmark_group("kernel_scan");
    group.throughput(Throughput::Elements(NONCES));
    // The portable kernel takes ~25 ms per iteration: fewer, longer samples.
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(4));
    let job = Job::new(&header(), &[0; 32]);
    for kernel in Kernel::ALL {
        if !kernel.is_available() {
            eprintln!("kernel {kernel}: not available on this CPU, skipped");
            continue;
        }
        let mut start = 0u64;
        group.bench_function(kernel.name(), |b| {
            b.iter(|| {
                let result = kernel.scan(black_box(&job), start, NONCES);
                start = start.wrapping_add(NONCES);
                result
            })
        });
    }
    group.finish();
}

/// The miner with the best kernel on 1 and 2 threads, until it finds a nonce about 2^20
/// nonces from the start (the same nonce every time; the throughput counts the nonces up to it).
fn miner(c: &mut Criterion) {
    let kernel = Kernel::best();
    let mut target = [0xff; 32];
    target[..3].copy_from_slice(&[0, 0, 0x0f]);
    let job = Job::new(&header(), &target);
    let Some(first) = kernel.scan(&job, 0, 1 << 30).found else {
        eprintln!("no nonce below 2^30 meets the benchmark target; miner benchmark skipped");
        return;
    };
    let mut group = c.benchmark_group("mine");
    group.throughput(Throughput::Elements(first + 1));
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(4));
    for threads in [1usize, 2] {
        group.bench_with_input(
            BenchmarkId::new(kernel.name(), threads),
            &threads,
            |b, &threads| {
                b.iter(|| {
                    let stop = AtomicBool::new(false);
                    let counter = AtomicU64::new(0);
                    mine(&job, kernel, threads, 0, &stop, &counter)
                })
            },
        );
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .sample_size(20);
    targets = sha256d_header, kernel_scan, miner
}
criterion_main!(benches);

//! Proof-of-work mining: SHA-256d of the 88-byte block header and fast nonce scanning.
//!
//! Header layout: `version u32 LE | prev_hash [32] | merkle_root [32] | time u64 LE |
//! bits u32 LE | nonce u64 LE`. The block hash is SHA-256(SHA-256(header)); it meets a target
//! iff the hash read as a big-endian 256-bit number is `<=` the target (also big-endian).
//!
//! The first 64 header bytes do not change while the nonce runs, so they are compressed once
//! into a [`Midstate`]. Every [`Kernel`] then hashes only the second block and the outer block
//! per nonce, specialised to the header: constant message words and rounds are folded into a
//! per-job precomputation, and only the outer hash's first word (the most significant 32 bits)
//! is compared. Any candidate is confirmed with plain `sha2` SHA-256d before it is reported.
//!
//! [`mine`] runs a kernel on plain OS threads over disjoint nonce chunks until a nonce is found
//! or a stop flag is raised.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use sha2::{Digest, Sha256};

pub(crate) mod sha256;

mod portable;

#[cfg(target_arch = "x86_64")]
mod avx2;
#[cfg(target_arch = "x86_64")]
mod avx512;
#[cfg(target_arch = "x86_64")]
mod sha_ni;

use sha256::Pre;

/// Length of a block header in bytes.
pub const HEADER_LEN: usize = 88;

/// Offset of the little-endian `u64` nonce in the header.
pub const NONCE_OFFSET: usize = 80;

/// Nonces handed to a mining thread at a time: about 0.1 ms of work for an optimised kernel,
/// so a raised stop flag is seen within well under a millisecond, while the per-chunk overhead
/// (one precomputation and three atomic operations) stays below 1%. Unoptimised builds (tests)
/// hash a hundred times slower, so they take smaller chunks to stop as quickly.
pub const MINE_CHUNK: u64 = if cfg!(debug_assertions) {
    1 << 8
} else {
    1 << 12
};

/// Plain SHA-256(SHA-256(`data`)) with the `sha2` crate.
pub fn sha256d(data: &[u8]) -> [u8; 32] {
    let inner = Sha256::digest(data);
    Sha256::digest(inner).into()
}

/// Whether `hash`, read as a big-endian 256-bit number, is `<=` `target` (also big-endian).
pub fn meets_target(hash: &[u8; 32], target: &[u8; 32]) -> bool {
    hash <= target
}

/// Writes `nonce` (little-endian) into the header's nonce field.
pub fn set_nonce(header: &mut [u8; HEADER_LEN], nonce: u64) {
    header[NONCE_OFFSET..].copy_from_slice(&nonce.to_le_bytes());
}

/// SHA-256 state after the first 64 header bytes, plus the constant words of the second block.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Midstate {
    state: [u32; 8],
    /// Header bytes 64..80 (merkle tail, time, bits) as big-endian words.
    tail: [u32; 4],
    /// Header bytes 64..80, for the byte-level hash.
    tail_bytes: [u8; 16],
}

impl Midstate {
    /// Compresses header bytes 0..64 once. The nonce field is ignored.
    pub fn new(header: &[u8; HEADER_LEN]) -> Self {
        let mut state = sha256::IV;
        let mut first = [0u8; 64];
        first.copy_from_slice(&header[..64]);
        sha2::block_api::compress256(&mut state, &[first]);
        let mut tail_bytes = [0u8; 16];
        tail_bytes.copy_from_slice(&header[64..NONCE_OFFSET]);
        let mut tail = [0u32; 4];
        for (word, bytes) in tail.iter_mut().zip(tail_bytes.chunks_exact(4)) {
            *word = u32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]);
        }
        Midstate {
            state,
            tail,
            tail_bytes,
        }
    }

    /// The SHA-256 state words after the first block.
    pub fn state(&self) -> [u32; 8] {
        self.state
    }

    /// Words 0..4 of the second block (merkle tail, time, bits), read big-endian.
    pub fn tail(&self) -> [u32; 4] {
        self.tail
    }

    /// SHA-256d of the header with `nonce`, resuming from the midstate (two compressions).
    pub fn hash(&self, nonce: u64) -> [u8; 32] {
        let mut block = [0u8; 64];
        block[..16].copy_from_slice(&self.tail_bytes);
        block[16..24].copy_from_slice(&nonce.to_le_bytes());
        block[24] = 0x80;
        block[56..].copy_from_slice(&u64::from(sha256::INNER_BITS).to_be_bytes());
        let mut inner = self.state;
        sha2::block_api::compress256(&mut inner, &[block]);

        let mut outer_block = [0u8; 64];
        for (bytes, word) in outer_block.chunks_exact_mut(4).zip(inner) {
            bytes.copy_from_slice(&word.to_be_bytes());
        }
        outer_block[32] = 0x80;
        outer_block[56..].copy_from_slice(&u64::from(sha256::OUTER_BITS).to_be_bytes());
        let mut outer = sha256::IV;
        sha2::block_api::compress256(&mut outer, &[outer_block]);

        let mut hash = [0u8; 32];
        for (bytes, word) in hash.chunks_exact_mut(4).zip(outer) {
            bytes.copy_from_slice(&word.to_be_bytes());
        }
        hash
    }
}

/// A header to mine and the target its hash must meet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Job {
    header: [u8; HEADER_LEN],
    target: [u8; 32],
    midstate: Midstate,
}

impl Job {
    /// A job for `header` (its nonce field is ignored) and the big-endian `target`.
    pub fn new(header: &[u8; HEADER_LEN], target: &[u8; 32]) -> Self {
        Job {
            header: *header,
            target: *target,
            midstate: Midstate::new(header),
        }
    }

    /// The header as given.
    pub fn header(&self) -> &[u8; HEADER_LEN] {
        &self.header
    }

    /// The target, big-endian.
    pub fn target(&self) -> &[u8; 32] {
        &self.target
    }

    /// The midstate of the header's first 64 bytes.
    pub fn midstate(&self) -> &Midstate {
        &self.midstate
    }

    /// The header with `nonce` written into it.
    pub fn header_with_nonce(&self, nonce: u64) -> [u8; HEADER_LEN] {
        let mut header = self.header;
        set_nonce(&mut header, nonce);
        header
    }

    /// Plain `sha2` SHA-256d of the header with `nonce`, if it meets the target.
    pub fn check(&self, nonce: u64) -> Option<[u8; 32]> {
        let hash = sha256d(&self.header_with_nonce(nonce));
        meets_target(&hash, &self.target).then_some(hash)
    }
}

/// Outcome of [`Kernel::scan`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ScanResult {
    /// The first nonce of the range whose SHA-256d meets the target, confirmed with `sha2`.
    pub found: Option<u64>,
    /// Nonces hashed: the whole range, or up to and including `found`.
    pub hashed: u64,
}

/// A nonce-scanning implementation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Kernel {
    /// Plain Rust, one nonce at a time; runs everywhere.
    Portable,
    /// x86_64 SHA extensions (`sha`, `sse4.1`, `ssse3`), several nonces interleaved.
    ShaNi,
    /// x86_64 AVX2, 8 nonces per vector.
    Avx2,
    /// x86_64 AVX-512 (`avx512f`, `avx512vl`), 16 nonces per vector.
    Avx512,
}

impl Kernel {
    /// Every kernel, whether or not this CPU can run it.
    pub const ALL: [Kernel; 4] = [
        Kernel::Portable,
        Kernel::ShaNi,
        Kernel::Avx2,
        Kernel::Avx512,
    ];

    /// Kernels in order of preference (fastest first, as measured on AMD Zen 4).
    const PREFERENCE: [Kernel; 4] = [
        Kernel::Avx512,
        Kernel::ShaNi,
        Kernel::Avx2,
        Kernel::Portable,
    ];

    /// Short name: `portable`, `sha-ni`, `avx2` or `avx512`.
    pub fn name(self) -> &'static str {
        match self {
            Kernel::Portable => "portable",
            Kernel::ShaNi => "sha-ni",
            Kernel::Avx2 => "avx2",
            Kernel::Avx512 => "avx512",
        }
    }

    /// The kernel called `name` (see [`Kernel::name`]).
    pub fn from_name(name: &str) -> Option<Kernel> {
        Kernel::ALL.into_iter().find(|k| k.name() == name)
    }

    /// Whether this CPU has the features the kernel needs (detected at run time).
    pub fn is_available(self) -> bool {
        match self {
            Kernel::Portable => true,
            #[cfg(target_arch = "x86_64")]
            Kernel::ShaNi => sha_ni::detected(),
            #[cfg(target_arch = "x86_64")]
            Kernel::Avx2 => avx2::detected(),
            #[cfg(target_arch = "x86_64")]
            Kernel::Avx512 => avx512::detected(),
            #[cfg(not(target_arch = "x86_64"))]
            _ => false,
        }
    }

    /// The kernels this CPU can run, in [`Kernel::ALL`] order.
    pub fn available() -> Vec<Kernel> {
        Kernel::ALL
            .into_iter()
            .filter(|k| k.is_available())
            .collect()
    }

    /// The fastest kernel this CPU can run.
    pub fn best() -> Kernel {
        Kernel::PREFERENCE
            .into_iter()
            .find(|k| k.is_available())
            .unwrap_or(Kernel::Portable)
    }

    /// Scans the nonces `start, start + 1, …` (`count` of them, wrapping at `u64::MAX`) and
    /// returns the first whose SHA-256d meets the job's target.
    ///
    /// A kernel this CPU cannot run ([`Kernel::is_available`] is false) is never executed:
    /// the portable kernel does its work instead.
    pub fn scan(self, job: &Job, start: u64, count: u64) -> ScanResult {
        let mut pos = start;
        let mut left = count;
        let mut hashed = 0u64;
        while left > 0 {
            let hi = (pos >> 32) as u32;
            let mut lo = pos as u32;
            // Split at multiples of 2^32 so that the high nonce word is constant per segment.
            let segment = left.min((1u64 << 32) - u64::from(lo));
            let pre = Pre::new(&job.midstate, &job.target, hi);
            let mut seg_left = segment;
            while seg_left > 0 {
                match self.scan_segment(&pre, lo, seg_left) {
                    None => {
                        hashed += seg_left;
                        seg_left = 0;
                    }
                    Some(candidate) => {
                        let consumed = u64::from(candidate.wrapping_sub(lo)) + 1;
                        hashed += consumed;
                        seg_left -= consumed;
                        let nonce = (u64::from(hi) << 32) | u64::from(candidate);
                        if job.check(nonce).is_some() {
                            return ScanResult {
                                found: Some(nonce),
                                hashed,
                            };
                        }
                        lo = candidate.wrapping_add(1);
                    }
                }
            }
            pos = pos.wrapping_add(segment);
            left -= segment;
        }
        ScanResult {
            found: None,
            hashed,
        }
    }

    /// First low nonce word in `lo .. lo + n` (no wrap: `lo + n <= 2^32`, `n >= 1`) whose outer
    /// H0 is `<= pre.t0`.
    fn scan_segment(self, pre: &Pre, lo: u32, n: u64) -> Option<u32> {
        match self {
            Kernel::Portable => portable::scan(pre, lo, n),
            #[cfg(target_arch = "x86_64")]
            Kernel::ShaNi => sha_ni::scan(pre, lo, n),
            #[cfg(target_arch = "x86_64")]
            Kernel::Avx2 => avx2::scan(pre, lo, n),
            #[cfg(target_arch = "x86_64")]
            Kernel::Avx512 => avx512::scan(pre, lo, n),
            #[cfg(not(target_arch = "x86_64"))]
            _ => portable::scan(pre, lo, n),
        }
    }
}

impl std::fmt::Display for Kernel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Mines `job` with `kernel` on `threads` OS threads (at least one), from `start_nonce` on.
///
/// Threads take disjoint chunks of [`MINE_CHUNK`] nonces in order from a shared cursor
/// (`start_nonce`, `start_nonce + MINE_CHUNK`, …, wrapping at `u64::MAX`) and add the nonces
/// they hash to `counter`. Every thread checks `stop` (and whether another thread has found a
/// nonce) between chunks, so raising `stop` halts them all within a chunk's time.
///
/// Returns the nonce and its hash, confirmed with plain `sha2` SHA-256d, or `None` if `stop`
/// was raised or all 2^64 nonces were tried. Unless `stop` was raised, the nonce is the first
/// one from `start_nonce` on that meets the target, whatever the number of threads: chunks are
/// handed out in order and a chunk once started is finished, so every chunk before the one
/// with a find is searched completely, and the earliest chunk's find wins.
pub fn mine(
    job: &Job,
    kernel: Kernel,
    threads: usize,
    start_nonce: u64,
    stop: &AtomicBool,
    counter: &AtomicU64,
) -> Option<(u64, [u8; 32])> {
    const CHUNKS: u64 = u64::MAX / MINE_CHUNK + 1;
    let threads = threads.max(1);
    let next_chunk = AtomicU64::new(0);
    let done = AtomicBool::new(false);

    let worker = || -> Option<(u64, u64)> {
        while !stop.load(Ordering::Relaxed) && !done.load(Ordering::Relaxed) {
            let chunk = next_chunk.fetch_add(1, Ordering::Relaxed);
            if chunk >= CHUNKS {
                break;
            }
            let start = start_nonce.wrapping_add(chunk.wrapping_mul(MINE_CHUNK));
            let result = kernel.scan(job, start, MINE_CHUNK);
            counter.fetch_add(result.hashed, Ordering::Relaxed);
            if let Some(nonce) = result.found {
                done.store(true, Ordering::Relaxed);
                return Some((chunk, nonce));
            }
        }
        None
    };

    let best = std::thread::scope(|scope| {
        let handles: Vec<_> = (1..threads).map(|_| scope.spawn(worker)).collect();
        let mut found = worker();
        for handle in handles {
            // A worker only panics if a kernel does; re-raise it on the caller's thread.
            let other = match handle.join() {
                Ok(other) => other,
                Err(panic) => std::panic::resume_unwind(panic),
            };
            found = match (found, other) {
                (Some(a), Some(b)) => Some(if b.0 < a.0 { b } else { a }),
                (a, b) => a.or(b),
            };
        }
        found
    });
    let (_, nonce) = best?;
    job.check(nonce).map(|hash| (nonce, hash))
}

#[cfg(test)]
mod tests;

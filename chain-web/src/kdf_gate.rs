//! [`KdfGate`]: a bound on the Argon2id work the web server does at once.
//!
//! Registering (a password hash and the key's encryption), logging in (a password check) and
//! sending (the key's decryption) each run Argon2id at the password cost: 19 MiB and tens of
//! milliseconds of a core per run. The rate limits of `throttle.rs` bound them per client
//! address; many addresses together could still start hundreds at once. The gate lets
//! `at_once` runs proceed (on blocking threads, none holding the user database), queues up to
//! `waiting` more, and turns away the rest at once with "busy, retry in a second" (503) rather
//! than letting memory and latency grow without bound.

use std::sync::Arc;
use tokio::sync::Semaphore;

/// How much Argon2 work the server does at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KdfLimits {
    /// Runs at once (each holds the password cost's memory while it runs).
    pub at_once: usize,
    /// Requests that may wait for a run beyond those; later ones are answered 503.
    pub waiting: usize,
}

impl Default for KdfLimits {
    /// As many runs at once as the machine has cores, 32 waiting.
    fn default() -> Self {
        Self {
            at_once: std::thread::available_parallelism().map_or(1, usize::from),
            waiting: 32,
        }
    }
}

/// Too much Argon2 work is waiting already: try again in a moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Busy;

/// See the [module documentation](self).
#[derive(Debug, Clone)]
pub(crate) struct KdfGate {
    /// One permit per run at once.
    running: Arc<Semaphore>,
    /// One permit per request admitted (running or waiting).
    admitted: Arc<Semaphore>,
}

impl KdfGate {
    pub(crate) fn new(limits: KdfLimits) -> Self {
        let at_once = limits.at_once.max(1);
        Self {
            running: Arc::new(Semaphore::new(at_once)),
            admitted: Arc::new(Semaphore::new(at_once.saturating_add(limits.waiting))),
        }
    }

    /// Runs `work` on a blocking thread once a run is free; [`Busy`] at once when too many
    /// wait already (or the work's thread failed).
    pub(crate) async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, Busy> {
        let _admitted = self
            .admitted
            .clone()
            .try_acquire_owned()
            .map_err(|_| Busy)?;
        // The semaphore is never closed, so acquiring fails only if it were.
        let permit = self
            .running
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| Busy)?;
        tokio::task::spawn_blocking(move || {
            let result = work();
            drop(permit);
            result
        })
        .await
        .map_err(|_| Busy)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::mpsc;

    #[test]
    fn no_more_than_at_once_run_and_no_more_than_waiting_queue() {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .build()
            .unwrap();
        let gate = KdfGate::new(KdfLimits {
            at_once: 2,
            waiting: 2,
        });
        let running = Arc::new(AtomicUsize::new(0));
        let most = Arc::new(AtomicUsize::new(0));
        let (started_tx, started) = mpsc::channel::<()>();
        let (release, released) = mpsc::channel::<()>();
        let released = Arc::new(Mutex::new(released));
        let tasks: Vec<_> = (0..4)
            .map(|_| {
                let (gate, running, most) = (gate.clone(), running.clone(), most.clone());
                let (started_tx, released) = (started_tx.clone(), released.clone());
                runtime.spawn(async move {
                    gate.run(move || {
                        let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                        most.fetch_max(now, Ordering::SeqCst);
                        started_tx.send(()).unwrap();
                        released.lock().unwrap().recv().unwrap();
                        running.fetch_sub(1, Ordering::SeqCst);
                    })
                    .await
                })
            })
            .collect();
        // Two run; wait until the other two are admitted too (the gate is then full).
        started.recv().unwrap();
        started.recv().unwrap();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        while gate.admitted.available_permits() > 0 {
            assert!(std::time::Instant::now() < deadline, "never admitted");
            std::thread::yield_now();
        }
        let turned_away = runtime.block_on(gate.run(|| ()));
        assert_eq!(turned_away, Err(Busy));
        for _ in 0..4 {
            release.send(()).unwrap();
        }
        for task in tasks {
            assert_eq!(runtime.block_on(task).unwrap(), Ok(()));
        }
        assert_eq!(most.load(Ordering::SeqCst), 2);
        // Once the work is done the gate admits again.
        assert_eq!(runtime.block_on(gate.run(|| 7)), Ok(7));
    }
}

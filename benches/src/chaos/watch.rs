//! Reorganisations as the nodes report them: one thread per node reads its server-sent event
//! stream (`GET /api/v1/events`, `event: reorg` with the number of blocks disconnected), and
//! reconnects whenever the node is restarted.
//!
//! Why events and not polling: a reorg between two polls of the tip leaves no trace in the tips,
//! and the count of reorgs is what tells whether the run made forks at all. A node killed
//! mid-stream loses the events of its down time, so the count is a lower bound.

use std::io::{BufRead, BufReader};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

/// Reorgs seen so far, over all nodes.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Reorgs {
    /// Reorg events (one reorg seen by three nodes counts three times).
    pub events: u64,
    /// The most blocks one reorg disconnected.
    pub deepest: u64,
    /// Blocks disconnected, summed.
    pub disconnected: u64,
}

impl Reorgs {
    fn add(&mut self, depth: u64) {
        self.events += 1;
        self.deepest = self.deepest.max(depth);
        self.disconnected += depth;
    }
}

/// Reads server-sent event lines; yields the depth of each `reorg` event.
#[derive(Debug, Default)]
pub struct SseParser {
    event: Option<String>,
}

impl SseParser {
    /// Takes one line of the stream; returns the depth when it completes a `reorg` event.
    pub fn line(&mut self, line: &str) -> Option<u64> {
        if let Some(name) = line.strip_prefix("event:") {
            self.event = Some(name.trim().to_string());
        } else if let Some(data) = line.strip_prefix("data:") {
            if self.event.as_deref() == Some("reorg") {
                let value: serde_json::Value = serde_json::from_str(data.trim()).ok()?;
                return value["disconnected"].as_u64();
            }
        } else if line.is_empty() {
            self.event = None;
        }
        None
    }
}

/// The watcher threads of a run.
pub struct Watch {
    reorgs: Arc<Mutex<Reorgs>>,
    stop: Arc<AtomicBool>,
    threads: Vec<JoinHandle<()>>,
}

impl Watch {
    /// Starts one thread per API base address (`http://127.0.0.1:port`).
    pub fn start(bases: &[String]) -> Self {
        let reorgs = Arc::new(Mutex::new(Reorgs::default()));
        let stop = Arc::new(AtomicBool::new(false));
        let threads = bases
            .iter()
            .filter_map(|base| {
                let (reorgs, stop, url) = (
                    reorgs.clone(),
                    stop.clone(),
                    format!("{base}/api/v1/events"),
                );
                std::thread::Builder::new()
                    .name("chaos watch".into())
                    .spawn(move || follow(&url, &reorgs, &stop))
                    .ok()
            })
            .collect();
        Self {
            reorgs,
            stop,
            threads,
        }
    }

    /// The reorgs seen so far.
    pub fn reorgs(&self) -> Reorgs {
        self.reorgs.lock().map(|r| r.clone()).unwrap_or_default()
    }

    /// Stops the threads. Each ends when its stream does (the nodes must be stopped first).
    pub fn stop(self) {
        self.stop.store(true, Ordering::SeqCst);
        for thread in self.threads {
            let _ = thread.join();
        }
    }
}

fn follow(url: &str, reorgs: &Mutex<Reorgs>, stop: &AtomicBool) {
    // No overall timeout: the stream is meant to stay open. A dead node ends it (the kernel
    // closes the socket); a node that never answers is caught by the connect timeout.
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_connect(Some(Duration::from_secs(2)))
        .timeout_recv_response(Some(Duration::from_secs(3)))
        .build()
        .into();
    while !stop.load(Ordering::SeqCst) {
        if let Ok(response) = agent.get(url).call() {
            let mut parser = SseParser::default();
            let reader = BufReader::new(response.into_body().into_reader());
            for line in reader.lines() {
                let Ok(line) = line else { break };
                if let Some(depth) = parser.line(&line)
                    && let Ok(mut reorgs) = reorgs.lock()
                {
                    reorgs.add(depth);
                }
                if stop.load(Ordering::SeqCst) {
                    return;
                }
            }
        }
        std::thread::sleep(Duration::from_millis(300));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reorg_events_are_read_and_other_events_skipped() {
        let stream = "event: block\ndata: {\"height\":5,\"disconnected\":0}\n\n\
                      event: reorg\ndata: {\"height\":6,\"disconnected\":2,\"connected\":3}\n\n\
                      : keep-alive\n\n\
                      data: {\"disconnected\":9}\n\n\
                      event: reorg\ndata: {\"disconnected\":1}\n\n";
        let mut parser = SseParser::default();
        let mut reorgs = Reorgs::default();
        for line in stream.lines() {
            if let Some(depth) = parser.line(line) {
                reorgs.add(depth);
            }
        }
        assert_eq!(
            reorgs,
            Reorgs {
                events: 2,
                deepest: 2,
                disconnected: 3
            }
        );
    }
}

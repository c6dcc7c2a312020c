//! What a run reports: its figures, the failures found, and the text the harness prints.
//! (Writing to a `String` cannot fail, so the `writeln!` results are ignored.)

use super::book::Tally;
use super::watch::Reorgs;
use chain_core::units::Amount;
use std::collections::BTreeMap;
use std::fmt::Write;
use std::path::PathBuf;

/// The figures of a run.
#[derive(Debug, Clone, Default)]
pub struct Figures {
    /// Nodes SIGKILLed by the plan.
    pub killed: u32,
    /// Nodes started again by the plan.
    pub restarted: u32,
    /// Links (node pairs) cut, counting each pair of a partition.
    pub links_cut: u32,
    /// Of the cuts, partitions of the network in two groups.
    pub partitions: u32,
    /// Peer connections a cut dropped, connections refused or held while cut, and diallers the
    /// proxies hung up on because the link was not theirs.
    pub connections_dropped: u64,
    /// See `connections_dropped`.
    pub connections_blocked: u64,
    /// See `connections_dropped`.
    pub strangers: u64,
    /// Submissions of a transfer to a node (one transfer may be offered several times).
    pub submissions: u64,
    /// Submissions a node refused (balance, nonce gap, ...), by code.
    pub refused: BTreeMap<String, u64>,
    /// Submissions with no answer (node down or restarting).
    pub unanswered: u64,
    /// Sends given up because every wallet drawn waited on its window of unconfirmed transfers.
    pub sends_skipped: u64,
    /// Transfer lookups made.
    pub lookups: u64,
    /// Blocks of the nodes' best chains read to learn confirmations.
    pub blocks_read: usize,
    /// Seconds spent waiting for the answers to submissions, and reading
    /// blocks: the harness sends from one thread, so these bound the rate it reaches.
    pub submit_secs: f64,
    /// See `submit_secs`.
    pub follow_secs: f64,
    /// Transfers accepted in each whole minute of the chaos.
    pub accepted_each_minute: Vec<usize>,
    /// The transfer counts, from the book and the final chain.
    pub tally: Tally,
    /// Accepted transfers never seen confirmed during the chaos that the final chain holds.
    pub confirmed_after: usize,
    /// Accepted transfers the final chain does not hold (a failure: see the verdict).
    pub unconfirmed_at_end: usize,
    /// Reorgs the nodes reported during the chaos.
    pub reorgs: Reorgs,
    /// Tips seen during the chaos that the final chain does not have.
    pub stale_tips: usize,
    /// Tips seen during the chaos.
    pub tips_seen: usize,
    /// Height when the chaos began and when it ended (highest node), and the final height.
    pub start_height: u64,
    /// See `start_height`.
    pub chaos_end_height: u64,
    /// See `start_height`.
    pub final_height: u64,
    /// Seconds of chaos actually run.
    pub chaos_secs: f64,
    /// Seconds from the end of the chaos until the nodes agreed with every transfer in place.
    pub settle_secs: f64,
    /// Seconds in all.
    pub total_secs: f64,
    /// The one-minute load average at the start and at the end.
    pub load_start: String,
    /// See `load_start`.
    pub load_end: String,
    /// On a testbed: packets the switch delivered and lost.
    pub packets: Option<(u64, u64)>,
    /// Seconds from each heal (of the last cut standing) until every node reported one tip.
    pub converged_after_heal: Vec<f64>,
    /// The sum of the known balances and the coins issued, at the end.
    pub balance_sum: Amount,
    /// See `balance_sum`.
    pub issued: Amount,
}

/// The outcome of a run.
#[derive(Debug)]
pub struct Report {
    /// The figures.
    pub figures: Figures,
    /// Broken rules and crashes (empty: pass).
    pub failures: Vec<String>,
    /// The run's directory (data directories and logs), when kept: on failure.
    pub kept: Option<PathBuf>,
}

impl Report {
    /// Whether the run passed.
    pub fn passed(&self) -> bool {
        self.failures.is_empty()
    }
}

/// The report as the harness prints it: the figures, then PASS, or FAIL with every failure and
/// where the run's directory was kept.
pub fn render(report: &Report) -> String {
    let mut out = String::new();
    let f: &Figures = &report.figures;
    let t = &f.tally;
    let refused: Vec<String> = f.refused.iter().map(|(c, n)| format!("{c} {n}")).collect();
    out.push('\n');
    let _ = writeln!(out, "chaos figures");
    let _ = writeln!(
        out,
        "  nodes killed {} / restarted {}",
        f.killed, f.restarted
    );
    let _ = writeln!(
        out,
        "  links cut {} (in {} partitions); connections dropped {}, refused or held {}, strangers hung up on {}",
        f.links_cut, f.partitions, f.connections_dropped, f.connections_blocked, f.strangers
    );
    let _ = writeln!(
        out,
        "  transfers signed {}, accepted {}, submissions {} (refused {}: {}; unanswered {}), lookups {}, blocks read {}",
        t.signed,
        t.accepted,
        f.submissions,
        f.refused.values().sum::<u64>(),
        if refused.is_empty() {
            "none".into()
        } else {
            refused.join(", ")
        },
        f.unanswered,
        f.lookups,
        f.blocks_read
    );
    let _ = writeln!(
        out,
        "  harness time waiting for submissions {:.1} s ({:.1} ms each), reading blocks {:.1} s; sends given up (every wallet drawn waiting on its window) {}",
        f.submit_secs,
        f.submit_secs * 1000.0 / f.submissions.max(1) as f64,
        f.follow_secs,
        f.sends_skipped
    );
    if !f.accepted_each_minute.is_empty() {
        let rates: Vec<String> = f
            .accepted_each_minute
            .iter()
            .map(|n| format!("{:.1}", *n as f64 / 60.0))
            .collect();
        let _ = writeln!(
            out,
            "  transfers accepted per second, each minute: {}",
            rates.join(", ")
        );
    }
    let _ = writeln!(
        out,
        "  transfers reported confirmed {}: still in their block {}, reorganised and mined again {}, lost {} (seen in two blocks during the run: {})",
        t.ever_confirmed, t.confirmed, t.remined, t.lost, t.moved
    );
    let _ = writeln!(
        out,
        "  accepted but not seen confirmed during the chaos: {} mined afterwards, {} never mined",
        f.confirmed_after, f.unconfirmed_at_end
    );
    let _ = writeln!(
        out,
        "  reorgs reported {} (deepest {} blocks, {} blocks disconnected in all); tips seen {}, stale {}",
        f.reorgs.events, f.reorgs.deepest, f.reorgs.disconnected, f.tips_seen, f.stale_tips
    );
    let blocks = f.chaos_end_height.saturating_sub(f.start_height);
    let _ = writeln!(
        out,
        "  heights: {} at the start of the chaos, {} at its end ({} blocks in {:.0} s, {:.2} s a block), final {}",
        f.start_height,
        f.chaos_end_height,
        blocks,
        f.chaos_secs,
        f.chaos_secs / blocks.max(1) as f64,
        f.final_height
    );
    let _ = writeln!(
        out,
        "  balances sum {} = issued {}: {}",
        f.balance_sum,
        f.issued,
        f.balance_sum == f.issued
    );
    if !f.converged_after_heal.is_empty() {
        let times: Vec<String> = f
            .converged_after_heal
            .iter()
            .map(|s| format!("{s:.1} s"))
            .collect();
        let _ = writeln!(out, "  one tip again after each heal: {}", times.join(", "));
    }
    if let Some((delivered, lost)) = f.packets {
        let _ = writeln!(
            out,
            "  testbed switch: {delivered} packets delivered, {lost} lost ({:.2} %)",
            lost as f64 * 100.0 / (delivered + lost).max(1) as f64
        );
    }
    let _ = writeln!(
        out,
        "  settled in {:.1} s; total {:.0} s; load average {} at the start, {} at the end",
        f.settle_secs, f.total_secs, f.load_start, f.load_end
    );
    if report.passed() {
        let _ = writeln!(out, "PASS");
    } else {
        let _ = writeln!(out, "FAIL");
        for failure in &report.failures {
            let _ = writeln!(out, "  - {failure}");
        }
        if let Some(dir) = &report.kept {
            let _ = writeln!(
                out,
                "data directories and node logs kept in {}",
                dir.display()
            );
        }
    }
    out
}

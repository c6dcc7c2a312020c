//! When a mining node makes a new block template: at once when the tip changes, and otherwise
//! every [`TEMPLATE_REFRESH_SECS`] if the mempool changed, or every [`TEMPLATE_MAX_AGE_SECS`] to
//! keep the timestamp fresh. Each template is a new job; a block found on an older job (its tip
//! moved meanwhile) is dropped.

use crate::address::Address;
use crate::block::Block;

/// Seconds between template refreshes when only the mempool changed.
pub const TEMPLATE_REFRESH_SECS: u64 = 2;

/// Seconds a template lives at most when nothing changed.
pub const TEMPLATE_MAX_AGE_SECS: u64 = 10;

/// A template to mine on, and the job id found blocks carry back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MiningJob {
    /// Increases with each template.
    pub job: u64,
    /// The block to find a nonce for (its nonce is a starting point, distinct per job).
    pub template: Block,
}

#[derive(Debug, Default)]
pub(super) struct MiningSchedule {
    /// Who the coinbase pays; `None`: not mining.
    miner: Option<Address>,
    job: u64,
    /// The mempool changed since the template was made.
    dirty: bool,
    made_at: u64,
}

impl MiningSchedule {
    pub(super) fn set_miner(&mut self, miner: Option<Address>) {
        self.miner = miner;
        self.dirty = true;
    }

    pub(super) fn miner(&self) -> Option<Address> {
        self.miner
    }

    pub(super) fn mempool_changed(&mut self) {
        self.dirty = true;
    }

    /// Whether a block found on `job` is on the current template.
    pub(super) fn is_current(&self, job: u64) -> bool {
        self.miner.is_some() && job == self.job
    }

    /// Whether the template is due for a refresh at `now` (the tip did not change).
    pub(super) fn refresh_due(&self, now: u64) -> bool {
        self.miner.is_some()
            && now >= self.made_at.saturating_add(TEMPLATE_REFRESH_SECS)
            && (self.dirty || now >= self.made_at.saturating_add(TEMPLATE_MAX_AGE_SECS))
    }

    /// A job for a template just made at `now`.
    pub(super) fn new_job(&mut self, mut template: Block, now: u64) -> MiningJob {
        self.job += 1;
        // Miners of different nodes (and jobs) start at different nonces.
        template.header.nonce = self.job.wrapping_mul(0x9e37_79b9_7f4a_7c15);
        self.dirty = false;
        self.made_at = now;
        MiningJob {
            job: self.job,
            template,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::params::ChainParams;

    /// Any block will do: the schedule only numbers jobs and sets their starting nonce.
    fn template() -> Block {
        ChainParams::regtest().genesis_block()
    }

    fn schedule_mining() -> MiningSchedule {
        let mut schedule = MiningSchedule::default();
        schedule.set_miner(Some(Address([7; crate::address::ADDRESS_LEN])));
        schedule
    }

    #[test]
    fn a_template_is_refreshed_after_two_seconds_if_the_mempool_changed_and_after_ten_if_not() {
        let mut schedule = schedule_mining();
        let job = schedule.new_job(template(), 100);
        assert!(schedule.is_current(job.job));
        assert!(!schedule.refresh_due(101));
        assert!(!schedule.refresh_due(109), "nothing changed");
        assert!(
            schedule.refresh_due(110),
            "the timestamp is ten seconds old"
        );
        schedule.mempool_changed();
        assert!(
            !schedule.refresh_due(101),
            "too soon after the last template"
        );
        assert!(schedule.refresh_due(102));
    }

    #[test]
    fn a_block_found_on_an_older_job_or_after_mining_stopped_is_not_current() {
        let mut schedule = schedule_mining();
        let first = schedule.new_job(template(), 100);
        let second = schedule.new_job(template(), 101);
        assert_ne!(first.template.header.nonce, second.template.header.nonce);
        assert!(!schedule.is_current(first.job));
        assert!(schedule.is_current(second.job));
        schedule.set_miner(None);
        assert!(!schedule.is_current(second.job));
        assert!(!schedule.refresh_due(1_000));
    }
}

//! Latency summaries: every sample kept, sorted once, read at the percentiles a report quotes.
//! (A harness records at most a few million samples; keeping them all is exact and cheap.)

use std::time::Duration;

/// Percentiles of a set of durations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Summary {
    /// How many samples.
    pub count: usize,
    /// The median.
    pub p50: Duration,
    /// The 90th percentile.
    pub p90: Duration,
    /// The 99th percentile.
    pub p99: Duration,
    /// The 99.9th percentile.
    pub p999: Duration,
    /// The largest.
    pub max: Duration,
}

/// The `q`-quantile (0..=1) of sorted samples, by the nearest-rank method.
fn quantile(sorted: &[Duration], q: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    // Nearest rank: the smallest sample with at least q of all samples at or below it.
    let rank = (q * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// Summarises `samples` (sorted in place).
pub fn summarize(samples: &mut [Duration]) -> Summary {
    samples.sort_unstable();
    Summary {
        count: samples.len(),
        p50: quantile(samples, 0.50),
        p90: quantile(samples, 0.90),
        p99: quantile(samples, 0.99),
        p999: quantile(samples, 0.999),
        max: samples.last().copied().unwrap_or_default(),
    }
}

/// Milliseconds with three decimals, as the reports print them.
pub fn ms(duration: Duration) -> String {
    format!("{:.3} ms", duration.as_secs_f64() * 1_000.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let mut samples: Vec<Duration> = (1..=1000).rev().map(Duration::from_micros).collect();
        let summary = summarize(&mut samples);
        assert_eq!(summary.count, 1000);
        assert_eq!(summary.p50, Duration::from_micros(500));
        assert_eq!(summary.p99, Duration::from_micros(990));
        assert_eq!(summary.p999, Duration::from_micros(999));
        assert_eq!(summary.max, Duration::from_micros(1000));
        assert_eq!(summarize(&mut []).p99, Duration::ZERO);
    }
}

//! Charts of the last blocks as inline SVG, drawn on the server: no chart library, no script,
//! and nothing in them comes from users (only numbers), so they are safe to embed unescaped.

use chain_net::views::BlockSummary;
use std::fmt::Write;

const WIDTH: f64 = 600.0;
const HEIGHT: f64 = 160.0;
const PAD: f64 = 28.0;

/// Blocks averaged for one hash-rate point.
const WINDOW: usize = 10;

/// The explorer's charts.
#[derive(Debug, Clone)]
pub(crate) struct Charts {
    pub block_time: String,
    pub difficulty: String,
    pub hash_rate: String,
}

/// Estimated network hash rate (hashes per second) from blocks given newest first: the work of
/// the blocks over the time they took.
pub(crate) fn hash_rate(newest_first: &[BlockSummary]) -> f64 {
    let (Some(newest), Some(oldest)) = (newest_first.first(), newest_first.last()) else {
        return 0.0;
    };
    if newest_first.len() < 2 {
        return 0.0;
    }
    let work: f64 = newest_first[..newest_first.len() - 1]
        .iter()
        .map(|b| b.difficulty)
        .sum();
    let span = newest.time.saturating_sub(oldest.time).max(1) as f64;
    work / span
}

/// Formats a rate with a unit prefix, e.g. `1.25 MH/s`.
pub(crate) fn format_rate(rate: f64) -> String {
    let units = ["H/s", "kH/s", "MH/s", "GH/s", "TH/s", "PH/s"];
    let mut value = rate.max(0.0);
    let mut unit = 0;
    while value >= 1000.0 && unit + 1 < units.len() {
        value /= 1000.0;
        unit += 1;
    }
    format!("{value:.2} {}", units[unit])
}

/// Formats a large number compactly, e.g. `1.05M`.
pub(crate) fn format_number(value: f64) -> String {
    let units = ["", "k", "M", "G", "T", "P", "E"];
    let mut value = value.max(0.0);
    let mut unit = 0;
    while value >= 1000.0 && unit + 1 < units.len() {
        value /= 1000.0;
        unit += 1;
    }
    format!("{value:.2}{}", units[unit])
}

/// The charts of `newest_first` blocks.
pub(crate) fn charts(newest_first: &[BlockSummary]) -> Charts {
    let blocks: Vec<&BlockSummary> = newest_first.iter().rev().collect();
    let times: Vec<(u64, f64)> = blocks
        .windows(2)
        .map(|w| (w[1].height.0, w[1].time.saturating_sub(w[0].time) as f64))
        .collect();
    let difficulty: Vec<(u64, f64)> = blocks.iter().map(|b| (b.height.0, b.difficulty)).collect();
    let rates: Vec<(u64, f64)> = (WINDOW..=blocks.len())
        .map(|end| {
            let window: Vec<BlockSummary> = blocks[end - WINDOW..end]
                .iter()
                .rev()
                .map(|b| (*b).clone())
                .collect();
            (blocks[end - 1].height.0, hash_rate(&window))
        })
        .collect();
    Charts {
        block_time: line_chart("Block time (s)", &times, |v| format!("{v:.0} s")),
        difficulty: line_chart("Difficulty (expected hashes)", &difficulty, format_number),
        hash_rate: line_chart(
            &format!("Hash rate ({WINDOW}-block average)"),
            &rates,
            format_rate,
        ),
    }
}

fn line_chart(title: &str, points: &[(u64, f64)], label: impl Fn(f64) -> String) -> String {
    let mut svg = String::new();
    let _ = write!(
        svg,
        r#"<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="{title}"><title>{title}</title>"#
    );
    let _ = write!(
        svg,
        r#"<line class="axis" x1="{PAD}" y1="{b}" x2="{r}" y2="{b}"/><line class="axis" x1="{PAD}" y1="{PAD}" x2="{PAD}" y2="{b}"/>"#,
        b = HEIGHT - PAD,
        r = WIDTH - 8.0
    );
    if points.len() < 2 {
        let _ = write!(
            svg,
            r#"<text class="empty" x="{}" y="{}">not enough blocks yet</text></svg>"#,
            WIDTH / 2.0 - 70.0,
            HEIGHT / 2.0
        );
        return svg;
    }
    let max = points.iter().map(|p| p.1).fold(0.0f64, f64::max).max(1e-9);
    let (first, last) = (points[0].0, points[points.len() - 1].0);
    let span = last.saturating_sub(first).max(1) as f64;
    let x = |h: u64| PAD + (h.saturating_sub(first) as f64) / span * (WIDTH - PAD - 8.0);
    let y = |v: f64| HEIGHT - PAD - v / max * (HEIGHT - 2.0 * PAD);
    let line: Vec<String> = points
        .iter()
        .map(|&(h, v)| format!("{:.1},{:.1}", x(h), y(v)))
        .collect();
    let _ = write!(
        svg,
        r#"<polyline class="line" points="{}"/>"#,
        line.join(" ")
    );
    let _ = write!(
        svg,
        r#"<text class="label" x="{PAD}" y="{}">{}</text><text class="label" x="{PAD}" y="{}">height {first}</text><text class="label end" x="{}" y="{}">height {last}</text></svg>"#,
        PAD - 8.0,
        label(max),
        HEIGHT - 8.0,
        WIDTH - 8.0,
        HEIGHT - 8.0,
    );
    svg
}

#[cfg(test)]
mod tests {
    use super::*;
    use chain_core::hash::BlockHash;
    use chain_core::units::Height;

    fn block(height: u64, time: u64) -> BlockSummary {
        BlockSummary {
            hash: BlockHash([0; 32]),
            height: Height(height),
            time,
            tx_count: 1,
            size: 100,
            difficulty: 1000.0,
            miner: String::new(),
        }
    }

    #[test]
    fn hash_rate_is_work_over_time() {
        let blocks = vec![block(3, 30), block(2, 20), block(1, 10)];
        assert!((hash_rate(&blocks) - 100.0).abs() < 1e-9);
        assert_eq!(format_rate(1_250_000.0), "1.25 MH/s");
        let charts = charts(&blocks);
        assert!(charts.difficulty.contains("<polyline"));
        assert!(charts.hash_rate.contains("not enough blocks"));
    }
}

//! Chaos harness: five `chain node` processes on loopback, links cut and healed, nodes SIGKILLed
//! and restarted, transfers flowing; then checks that nothing confirmed was lost and that every
//! node agrees on the chain and on every coin. Exits 1 on FAIL, 2 when the run cannot be set up.
//!
//! ```text
//! cargo build --release -p chain-cli -p benches
//! cargo run --release -p benches --bin chaos -- [--seconds N] [--seed S] [--bits HEX] [--rate R] [--chain PATH]
//!     [--nodes 5] [--miners 3] [--wallets 8] [--plan chaos|partitions]
//!     [--testbed --delay 50ms..200ms --loss 1%]
//! ```
//!
//! `--testbed` runs each node on a host of its own (a network namespace, as root; see
//! `benches/src/testbed/`), links shaped as `--delay` and `--loss` say, cuts made by the
//! testbed's switch. `--plan partitions` is a load run: no kills, two partitions healed.
//!
//! What it does and why is in `benches/src/chaos/` and in docs/RELIABILITY.md, "Chaos".

use benches::chaos::report::render;
use benches::chaos::run::{Options, PlanKind, TestbedLinks, run};
use benches::testbed::settings::{delay_range, share};
use chain_core::pow::CompactTarget;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

fn options() -> Result<Options, String> {
    let mut options = Options::default();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || args.next().ok_or_else(|| format!("{arg} needs a value"));
        let number = |text: String| {
            text.parse::<u64>()
                .map_err(|e| format!("{arg} {text}: {e}"))
        };
        match arg.as_str() {
            "--seconds" => options.seconds = number(value()?)?.max(1),
            "--seed" => options.seed = number(value()?)?,
            "--rate" => options.rate = u32::try_from(number(value()?)?.clamp(1, 100)).unwrap_or(3),
            "--bits" => {
                let text = value()?;
                let digits = text.trim_start_matches("0x");
                options.bits = CompactTarget(
                    u32::from_str_radix(digits, 16).map_err(|e| format!("--bits {text}: {e}"))?,
                );
            }
            "--chain" => options.chain = Some(PathBuf::from(value()?)),
            "--nodes" => {
                options.nodes = usize::try_from(number(value()?)?.clamp(2, 60)).unwrap_or(5)
            }
            "--miners" => options.miners = usize::try_from(number(value()?)?).unwrap_or(3),
            "--wallets" => options.wallets = usize::try_from(number(value()?)?.max(2)).unwrap_or(8),
            "--plan" => {
                options.plan = match value()?.as_str() {
                    "chaos" => PlanKind::Chaos,
                    "partitions" => PlanKind::Partitions,
                    other => return Err(format!("--plan {other}: chaos or partitions")),
                }
            }
            "--testbed" => {
                options.testbed.get_or_insert(TestbedLinks {
                    delay: (Duration::ZERO, Duration::ZERO),
                    loss: 0.0,
                });
            }
            "--delay" => {
                let delay = delay_range(&value()?).map_err(|e| e.to_string())?;
                options
                    .testbed
                    .get_or_insert(TestbedLinks { delay, loss: 0.0 })
                    .delay = delay;
            }
            "--loss" => {
                let loss = share(&value()?).map_err(|e| e.to_string())?;
                options
                    .testbed
                    .get_or_insert(TestbedLinks {
                        delay: (Duration::ZERO, Duration::ZERO),
                        loss,
                    })
                    .loss = loss;
            }
            "--help" | "-h" => {
                return Err(
                    "usage: chaos [--seconds N (180)] [--seed S (1)] [--bits HEX (1e008000)] [--rate TRANSFERS/S (3)] [--chain PATH] [--nodes N (5)] [--miners N (3)] [--wallets N (8)] [--plan chaos|partitions] [--testbed] [--delay 50ms..200ms] [--loss 1%]"
                        .into(),
                );
            }
            other => return Err(format!("unknown argument `{other}` (try --help)")),
        }
    }
    Ok(options)
}

fn main() -> ExitCode {
    let options = match options() {
        Ok(options) => options,
        Err(message) => {
            eprintln!("{message}");
            return ExitCode::from(2);
        }
    };
    if options.testbed.is_some() {
        benches::testbed::remove_on_interrupt();
    }
    match run(&options) {
        Ok(report) => {
            print!("{}", render(&report));
            if report.passed() {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }
        Err(error) => {
            eprintln!("chaos: {error}");
            ExitCode::from(2)
        }
    }
}

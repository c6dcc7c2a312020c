//! Chaos harness: five `chain node` processes on loopback, links cut and healed, nodes SIGKILLed
//! and restarted, transfers flowing; then checks that nothing confirmed was lost and that every
//! node agrees on the chain and on every coin. Exits 1 on FAIL, 2 when the run cannot be set up.
//!
//! ```text
//! cargo build --release -p chain-cli -p benches
//! cargo run --release -p benches --bin chaos -- [--seconds N] [--seed S] [--bits HEX] [--rate R] [--chain PATH]
//! ```
//!
//! What it does and why is in `benches/src/chaos/` and in docs/RELIABILITY.md, "Chaos".

use benches::chaos::report::render;
use benches::chaos::run::{Options, run};
use chain_core::pow::CompactTarget;
use std::path::PathBuf;
use std::process::ExitCode;

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
            "--help" | "-h" => {
                return Err(
                    "usage: chaos [--seconds N (180)] [--seed S (1)] [--bits HEX (1e008000)] [--rate TRANSFERS/S (3)] [--chain PATH]"
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

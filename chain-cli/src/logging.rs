//! The `chain` binary's log: on standard error, at INFO unless told otherwise, as text (in
//! colour only on a terminal) or JSON.
//!
//! The filter is `CHAIN_LOG` if set, else `RUST_LOG` (the usual variable of Rust programs),
//! else `info`: a running node says what it does (blocks connected, peers joining and
//! leaving, sync progress, each HTTP request) without being asked. Both take `tracing`'s
//! filter syntax: `debug`, `warn,chain_web=info`, `chain_net=debug`.

use crate::error::CliError;
use tracing_subscriber::EnvFilter;

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum LogFormat {
    /// One readable line per event.
    #[default]
    Text,
    /// One JSON object per line (for a log collector).
    Json,
}

/// The filter to log with: `CHAIN_LOG`, else `RUST_LOG`, else `info` (empty values count as
/// unset).
pub fn filter_spec(chain_log: Option<&str>, rust_log: Option<&str>) -> String {
    [chain_log, rust_log]
        .into_iter()
        .flatten()
        .map(str::trim)
        .find(|spec| !spec.is_empty())
        .unwrap_or("info")
        .to_owned()
}

/// Starts logging to standard error in `format`, filtered as [`filter_spec`] says.
///
/// # Errors
///
/// [`CliError::Usage`] when the filter does not parse.
pub fn init(format: LogFormat) -> Result<(), CliError> {
    let chain_log = std::env::var("CHAIN_LOG").ok();
    let rust_log = std::env::var("RUST_LOG").ok();
    let spec = filter_spec(chain_log.as_deref(), rust_log.as_deref());
    let filter = EnvFilter::try_new(&spec)
        .map_err(|e| CliError::Usage(format!("the log filter `{spec}` does not parse: {e}")))?;
    // Colours only for a person at a terminal, not in a file or a journal.
    let terminal = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(terminal)
        .with_writer(std::io::stderr);
    // Already set (a test, an embedder): keep that one.
    let _ = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chain_log_comes_first_then_rust_log_then_info() {
        assert_eq!(filter_spec(Some("debug"), Some("warn")), "debug");
        assert_eq!(filter_spec(None, Some("warn")), "warn");
        assert_eq!(filter_spec(Some(" "), Some("warn")), "warn");
        assert_eq!(filter_spec(None, None), "info");
    }
}

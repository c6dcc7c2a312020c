//! The node's config file: `--config PATH`, else `chain.toml` in its data directory.
//! Precedence, highest first: command-line flags, `CHAIN_*` environment variables, this file,
//! built-in defaults. `data_dir` counts in a file given with `--config` only (the default
//! file is found in the data directory).
//!
//! ```toml
//! data_dir = "/var/lib/chain"
//! network = "devnet"
//! listen = "127.0.0.1:7410"
//! external_addr = "203.0.113.7:7410"
//! peers = ["127.0.0.1:7411", "node-b.example.org:7410"]
//! mine = true
//! miner_address = "dev1..."
//! threads = 2
//! api = "127.0.0.1:8080"
//! ```

use crate::error::CliError;
use chain_net::PeerName;
use serde::{Deserialize, Deserializer};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

/// The file's settings; every key is optional, unknown keys are errors.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct NodeFile {
    /// Data directory.
    pub data_dir: Option<PathBuf>,
    /// Network preset.
    pub network: Option<String>,
    /// Peer listen address.
    pub listen: Option<SocketAddr>,
    /// Where other nodes reach this one (behind NAT).
    pub external_addr: Option<SocketAddr>,
    /// Peers to dial (`host:port`, a name or an address).
    #[serde(default, deserialize_with = "peer_names")]
    pub peers: Option<Vec<PeerName>>,
    /// Whether to mine.
    pub mine: Option<bool>,
    /// Address to mine to.
    pub miner_address: Option<String>,
    /// Mining threads.
    pub threads: Option<usize>,
    /// API listen address.
    pub api: Option<SocketAddr>,
}

impl NodeFile {
    /// Reads `chain.toml` from `data_dir`; an absent file is an empty one.
    ///
    /// # Errors
    ///
    /// [`CliError::Usage`] naming the file and the problem, for a file that does not parse.
    pub fn load(data_dir: &Path) -> Result<Self, CliError> {
        let path = data_dir.join("chain.toml");
        match std::fs::read_to_string(&path) {
            Ok(text) => Self::parse(&path, &text),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Self::default()),
            Err(e) => Err(e.into()),
        }
    }

    /// Reads the file at `path`, which must exist.
    ///
    /// # Errors
    ///
    /// [`CliError::Usage`] naming the file, when it cannot be read or does not parse.
    pub fn load_from(path: &Path) -> Result<Self, CliError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| CliError::Usage(format!("cannot read {}: {e}", path.display())))?;
        Self::parse(path, &text)
    }

    fn parse(path: &Path, text: &str) -> Result<Self, CliError> {
        toml::from_str(text).map_err(|e| CliError::Usage(format!("{}: {e}", path.display())))
    }
}

/// `peers` as `host:port` texts, each checked as [`PeerName`] says.
fn peer_names<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<Vec<PeerName>>, D::Error> {
    let texts = Vec::<String>::deserialize(deserializer)?;
    texts
        .iter()
        .map(|text| text.parse().map_err(serde::de::Error::custom))
        .collect::<Result<_, _>>()
        .map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_parses_and_unknown_keys_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(NodeFile::load(dir.path()).unwrap(), NodeFile::default());
        std::fs::write(
            dir.path().join("chain.toml"),
            "network = \"regtest\"\nthreads = 2\npeers = [\"127.0.0.1:1\", \"node-b:7410\"]\n",
        )
        .unwrap();
        let file = NodeFile::load(dir.path()).unwrap();
        assert_eq!(file.network.as_deref(), Some("regtest"));
        assert_eq!(file.threads, Some(2));
        let peers: Vec<String> = file
            .peers
            .unwrap()
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(peers, ["127.0.0.1:1", "node-b:7410"]);
        std::fs::write(dir.path().join("chain.toml"), "peers = [\"node-b\"]\n").unwrap();
        assert!(
            matches!(NodeFile::load(dir.path()), Err(CliError::Usage(m)) if m.contains("host:port"))
        );
        std::fs::write(dir.path().join("chain.toml"), "netwrok = \"regtest\"\n").unwrap();
        assert!(
            matches!(NodeFile::load(dir.path()), Err(CliError::Usage(m)) if m.contains("netwrok"))
        );
    }
}

//! Where `chain node` keeps its data when not told: `$XDG_DATA_HOME/chain/<network>`, else
//! `~/.local/share/chain/<network>` (the XDG base directory specification's default), so that
//! a node started from any folder finds its chain again. Without a home directory (a bare
//! container), `data/node` under the current folder, as before. One folder per network: a
//! devnet and a regtest node never share a database.
//!
//! Written here rather than taken from the `dirs` crate: the rule is three lines on the
//! systems this project runs on, and that crate's dependencies bring a licence the project
//! does not otherwise need (`deny.toml`).

use std::ffi::OsString;
use std::path::PathBuf;

/// The folder of the user's data: `xdg_data_home` when it is an absolute path (the
/// specification ignores a relative one), else `home/.local/share`.
pub fn data_home(xdg_data_home: Option<OsString>, home: Option<OsString>) -> Option<PathBuf> {
    xdg_data_home
        .map(PathBuf::from)
        .filter(|path| path.is_absolute())
        .or_else(|| {
            home.map(PathBuf::from)
                .filter(|path| path.is_absolute())
                .map(|home| home.join(".local/share"))
        })
}

/// `chain node`'s data directory for `network` when none is given.
pub fn default_node_dir(network: &str) -> PathBuf {
    data_home(std::env::var_os("XDG_DATA_HOME"), std::env::var_os("HOME")).map_or_else(
        || PathBuf::from("data/node"),
        |home| home.join("chain").join(network),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xdg_data_home_first_then_the_home_folder() {
        let some = |s: &str| Some(OsString::from(s));
        assert_eq!(
            data_home(some("/x/data"), some("/home/a")),
            Some(PathBuf::from("/x/data"))
        );
        assert_eq!(
            data_home(some("relative"), some("/home/a")),
            Some(PathBuf::from("/home/a/.local/share"))
        );
        assert_eq!(
            data_home(None, some("/home/a")),
            Some(PathBuf::from("/home/a/.local/share"))
        );
        assert_eq!(data_home(None, None), None);
    }
}

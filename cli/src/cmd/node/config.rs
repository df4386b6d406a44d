//! The node configuration file (`guild node --config FILE`): everything
//! `guild node` needs to start, so a shop owner types one command.
//!
//! `guild join` writes it (`DIR/node.json`); an operator may write one by
//! hand. It is small JSON:
//!
//! ```json
//! {
//!   "data": "data",
//!   "genesis": "genesis.json",
//!   "key": "wallet.json",
//!   "listen": ["/ip4/0.0.0.0/tcp/4700"],
//!   "api": "127.0.0.1:8700",
//!   "peers": ["/ip4/192.168.1.20/tcp/4700"],
//!   "mdns": true
//! }
//! ```
//!
//! Relative paths are relative to the file's own directory, so the folder
//! can be moved as a whole. `peers` are dialled besides the genesis file's
//! own `peers`.

use anyhow::{Context, bail};
use guild_node::Multiaddr;
use serde::{Deserialize, Serialize};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

/// The largest configuration file read (it is a handful of lines).
const MAX_CONFIG_BYTES: u64 = 64 * 1024;

/// The file's name in a folder made by `guild join`.
pub const FILE_NAME: &str = "node.json";

/// A node's configuration, as stored.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodeFile {
    /// The data directory.
    pub data: PathBuf,
    /// The network's genesis file.
    pub genesis: PathBuf,
    /// The shop's wallet file holding its member key (absent: an observer).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<PathBuf>,
    /// Which key of the wallet file (when it holds several).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_name: Option<String>,
    /// A file holding the wallet's passphrase (absent: asked at start).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub passphrase_file: Option<PathBuf>,
    /// Addresses to listen on for peers.
    pub listen: Vec<Multiaddr>,
    /// Where the HTTP API listens.
    pub api: SocketAddr,
    /// Peers to dial besides the genesis file's.
    #[serde(default)]
    pub peers: Vec<Multiaddr>,
    /// Look for peers on the local network (mDNS).
    #[serde(default = "yes")]
    pub mdns: bool,
}

fn yes() -> bool {
    true
}

impl NodeFile {
    /// Reads a configuration file; relative paths in it are made relative
    /// to the file's directory.
    pub fn read(path: &Path) -> anyhow::Result<NodeFile> {
        let bytes = guild_os::durable::read_bounded(path, MAX_CONFIG_BYTES)
            .with_context(|| format!("cannot read the node configuration {}", path.display()))?;
        let Some(bytes) = bytes else {
            bail!(
                "there is no node configuration {} (`guild join` writes one; see `guild node --help`)",
                path.display()
            );
        };
        let mut file: NodeFile = serde_json::from_slice(&bytes).with_context(|| {
            format!(
                "the node configuration {} is not valid (expected JSON with data, genesis, listen, api)",
                path.display()
            )
        })?;
        let base = guild_os::durable::parent_dir(path);
        file.data = base.join(&file.data);
        file.genesis = base.join(&file.genesis);
        file.key = file.key.map(|k| base.join(k));
        file.passphrase_file = file.passphrase_file.map(|p| base.join(p));
        Ok(file)
    }

    /// The file's text (pretty JSON, ending in a newline).
    pub fn to_text(&self) -> String {
        let mut text = serde_json::to_string_pretty(self).unwrap_or_default();
        text.push('\n');
        text
    }

    /// Writes the file atomically (replacing an older one).
    pub fn write(&self, path: &Path) -> anyhow::Result<()> {
        guild_os::durable::write_atomically(
            path,
            self.to_text().as_bytes(),
            guild_os::durable::Existing::Replace,
        )
        .with_context(|| format!("cannot write the node configuration {}", path.display()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> NodeFile {
        NodeFile {
            data: "data".into(),
            genesis: "genesis.json".into(),
            key: Some("wallet.json".into()),
            key_name: None,
            passphrase_file: None,
            listen: vec!["/ip4/0.0.0.0/tcp/4700".parse().unwrap()],
            api: "127.0.0.1:8700".parse().unwrap(),
            peers: vec!["/ip4/10.0.0.2/tcp/4700".parse().unwrap()],
            mdns: false,
        }
    }

    #[test]
    fn relative_paths_are_read_relative_to_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(FILE_NAME);
        sample().write(&path).unwrap();
        let read = NodeFile::read(&path).unwrap();
        assert_eq!(read.data, dir.path().join("data"));
        assert_eq!(read.genesis, dir.path().join("genesis.json"));
        assert_eq!(read.key, Some(dir.path().join("wallet.json")));
        assert_eq!(read.peers, sample().peers);
        assert!(!read.mdns);
    }

    #[test]
    fn absolute_paths_stay_as_written() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(FILE_NAME);
        let mut file = sample();
        file.genesis = "/srv/guild/genesis.json".into();
        file.write(&path).unwrap();
        assert_eq!(
            NodeFile::read(&path).unwrap().genesis,
            PathBuf::from("/srv/guild/genesis.json")
        );
    }

    #[test]
    fn mistakes_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let missing = NodeFile::read(&dir.path().join("nope.json")).unwrap_err();
        assert!(
            format!("{missing:#}").contains("there is no node configuration"),
            "{missing:#}"
        );
        let path = dir.path().join(FILE_NAME);
        std::fs::write(
            &path,
            r#"{"data": "d", "genesis": "g", "listen": [], "api": "x"}"#,
        )
        .unwrap();
        let bad = NodeFile::read(&path).unwrap_err();
        assert!(format!("{bad:#}").contains("is not valid"), "{bad:#}");
        std::fs::write(
            &path,
            r#"{"data": "d", "genesis": "g", "listen": [], "api": "127.0.0.1:1", "typo": 1}"#,
        )
        .unwrap();
        let unknown = NodeFile::read(&path).unwrap_err();
        assert!(format!("{unknown:#}").contains("typo"), "{unknown:#}");
    }
}

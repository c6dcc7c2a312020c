//! Opening refuses what is not our database, a newer schema or another network, with a clear
//! error, and changes nothing on disk.

use chain_core::chain::Chain;
use chain_core::params::ChainParams;
use chain_core::testkit::Rng;
use chain_store::{APPLICATION_ID, Error, SCHEMA_VERSION, SqliteStore};
use std::collections::BTreeMap;
use std::path::Path;

/// Every file in `dir` with its bytes.
fn snapshot(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| {
            let entry = entry.unwrap();
            (
                entry.file_name().to_string_lossy().into_owned(),
                std::fs::read(entry.path()).unwrap(),
            )
        })
        .collect()
}

/// A closed chain database of `params` with its genesis block.
fn chain_db(path: &Path, params: &ChainParams) {
    let store = SqliteStore::open(path, params).unwrap();
    Chain::open(params.clone(), store).unwrap();
}

#[test]
fn garbage_is_not_a_database_and_is_left_alone() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("chain.db");
    let mut rng = Rng::new(1);
    let garbage: Vec<u8> = (0..8192).map(|_| rng.next_u64() as u8).collect();
    std::fs::write(&path, &garbage).unwrap();
    let before = snapshot(dir.path());
    let error = SqliteStore::open(&path, &ChainParams::regtest()).unwrap_err();
    assert!(matches!(error, Error::NotADatabase { .. }), "{error:?}");
    assert!(
        error.to_string().contains("not a chain database"),
        "{error}"
    );
    assert_eq!(snapshot(dir.path()), before);
}

#[test]
fn a_database_with_a_damaged_header_is_refused_and_left_alone() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("chain.db");
    chain_db(&path, &ChainParams::regtest());
    let mut bytes = std::fs::read(&path).unwrap();
    bytes[..16].copy_from_slice(b"SQLite format 2\0");
    std::fs::write(&path, &bytes).unwrap();
    let before = snapshot(dir.path());
    let error = SqliteStore::open(&path, &ChainParams::regtest()).unwrap_err();
    assert!(matches!(error, Error::NotADatabase { .. }), "{error:?}");
    assert_eq!(snapshot(dir.path()), before);
}

#[test]
fn another_networks_database_is_refused_and_left_alone() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("chain.db");
    let devnet = ChainParams::devnet();
    chain_db(&path, &devnet);
    let before = snapshot(dir.path());
    let error = SqliteStore::open(&path, &ChainParams::regtest()).unwrap_err();
    match &error {
        Error::WrongNetwork {
            expected, found, ..
        } => assert_eq!((expected.as_str(), found.as_str()), ("regtest", "devnet")),
        other => panic!("expected WrongNetwork, got {other:?}"),
    }
    assert!(
        error.to_string().contains("holds the devnet chain"),
        "{error}"
    );
    assert_eq!(snapshot(dir.path()), before);
    // Still the devnet chain it was.
    let chain = Chain::open(devnet.clone(), SqliteStore::open(&path, &devnet).unwrap()).unwrap();
    assert_eq!(chain.tip().hash, devnet.genesis_hash());
}

#[test]
fn a_newer_schema_is_refused_and_left_alone() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("chain.db");
    let params = ChainParams::regtest();
    chain_db(&path, &params);
    {
        let raw = rusqlite::Connection::open(&path).unwrap();
        raw.pragma_update(None, "user_version", SCHEMA_VERSION + 1)
            .unwrap();
    }
    let before = snapshot(dir.path());
    let error = SqliteStore::open(&path, &params).unwrap_err();
    assert!(
        matches!(error, Error::NewerSchema { found, supported, .. }
            if found == SCHEMA_VERSION + 1 && supported == SCHEMA_VERSION),
        "{error:?}"
    );
    assert!(error.to_string().contains("run a newer version"), "{error}");
    assert_eq!(snapshot(dir.path()), before);
}

#[test]
fn another_programs_sqlite_database_is_refused_and_left_alone() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("wallet.db");
    {
        let raw = rusqlite::Connection::open(&path).unwrap();
        raw.execute_batch("CREATE TABLE notes (text TEXT); INSERT INTO notes VALUES ('keep me');")
            .unwrap();
    }
    let before = snapshot(dir.path());
    let error = SqliteStore::open(&path, &ChainParams::regtest()).unwrap_err();
    assert!(
        matches!(
            error,
            Error::ForeignDatabase {
                application_id: 0,
                ..
            }
        ),
        "{error:?}"
    );
    assert_eq!(snapshot(dir.path()), before);
    assert_ne!(APPLICATION_ID, 0);
}

#[test]
fn an_empty_file_becomes_a_new_database() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("chain.db");
    std::fs::write(&path, b"").unwrap();
    let params = ChainParams::regtest();
    chain_db(&path, &params);
    let chain = Chain::open(params.clone(), SqliteStore::open(&path, &params).unwrap()).unwrap();
    assert_eq!(chain.tip().hash, params.genesis_hash());
}

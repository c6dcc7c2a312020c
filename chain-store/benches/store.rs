//! Criterion benchmarks of the SQLite store (`cargo bench -p chain-store`):
//!
//! - `connect_1000_transfers`: [`ChainWrite::connect`] of a block of 1,000 transfers (accounts,
//!   undo record, txid and history indexes, main-chain index, commit) over 100,000 existing
//!   accounts, with precomputed [`apply_block`] effects: signature checks and state rules are the
//!   core's cost, not the store's. Under both durability modes; the disconnect that restores the
//!   state between iterations is not timed.
//! - `balance`: one account read at 10,000 and at 1,000,000 accounts, at random addresses.
//! - `history_page`: a page of 20 entries, newest first, for a short history in a small store,
//!   and for short and long (1,000,000 entries) histories in a large store, from the newest
//!   entry and from a cursor in the middle.
//!
//! Large tables are filled directly (feature `bench-utils`) in one transaction each. Under
//! `cargo test` (which runs each benchmark once, unoptimised) the tables are kept small.

use chain_core::address::Address;
use chain_core::block::{Block, HEADER_VERSION, Header};
use chain_core::hash::{Txid, sha256};
use chain_core::merkle::merkle_root;
use chain_core::params::ChainParams;
use chain_core::pow::Work;
use chain_core::state::{Account, AccountEntry, AccountRead, apply_block};
use chain_core::store::{
    BlockMeta, BlockStatus, ChainWrite, ConnectBlock, DisconnectBlock, HistoryCursor, HistoryEntry,
    IndexRead,
};
use chain_core::testkit::{Rng, address, key, transfer};
use chain_core::tx::{Coinbase, Transaction};
use chain_core::units::{Amount, COIN, Height};
use chain_store::{Durability, SqliteStore, StoreOptions};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;
use std::path::Path;
use std::time::{Duration, Instant};

const TRANSFERS: u64 = 1_000;

/// `n`, or at most 20,000 when the benchmarks only run as tests (`cargo bench` passes `--bench`).
fn scaled(n: usize) -> usize {
    if std::env::args().any(|a| a == "--bench") {
        n
    } else {
        n.min(20_000)
    }
}
const PAGE: usize = 20;

fn open(path: &Path, durability: Durability) -> SqliteStore {
    let options = StoreOptions {
        durability,
        ..StoreOptions::default()
    };
    SqliteStore::open_with(path, &ChainParams::regtest(), options).expect("open store")
}

/// A pseudo-random address (not derived from a key: only its bytes matter to the store).
fn random_address(rng: &mut Rng) -> Address {
    let mut bytes = [0u8; 20];
    bytes.copy_from_slice(&rng.bytes32()[..20]);
    Address(bytes)
}

/// Writes `count` funded accounts at random addresses, sorted so the fill is quick.
fn fill_accounts(store: &mut SqliteStore, rng: &mut Rng, count: usize) -> Vec<Address> {
    let mut entries: Vec<AccountEntry> = (0..count)
        .map(|_| AccountEntry {
            address: random_address(rng),
            account: Account {
                balance: Amount(1 + rng.below(1_000 * COIN)),
                nonce: rng.below(100),
            },
        })
        .collect();
    entries.sort_by_key(|e| e.address);
    for chunk in entries.chunks(100_000) {
        store.bench_put_accounts(chunk).expect("fill accounts");
    }
    entries.into_iter().map(|e| e.address).collect()
}

/// Connects a block with its effects as the chain would (no proof of work needed here).
fn connect(store: &mut SqliteStore, meta: &BlockMeta, block: &Block) {
    let params = ChainParams::regtest();
    let effects = apply_block(&params, meta.height, block, &*store).expect("valid block");
    store.put_block(meta, block).expect("put block");
    store
        .connect(ConnectBlock {
            meta,
            block,
            accounts: &effects.accounts,
            undo: &effects.undo,
        })
        .expect("connect");
}

fn meta_of(block: &Block, height: u64) -> BlockMeta {
    BlockMeta {
        hash: block.hash(),
        header: block.header,
        height: Height(height),
        chain_work: Work::ZERO,
        status: BlockStatus::Stored,
        seq: height,
    }
}

fn bench_connect(c: &mut Criterion) {
    let params = ChainParams::regtest();
    let net = params.network_id;
    let senders: Vec<_> = (0..TRANSFERS).map(key).collect();
    let transfers: Vec<Transaction> = senders
        .iter()
        .enumerate()
        .map(|(i, k)| {
            Transaction::Transfer(transfer(
                k,
                address(1_000_000 + i as u64),
                COIN,
                1_000,
                0,
                net,
            ))
        })
        .collect();
    let mut group = c.benchmark_group("connect_1000_transfers");
    group.throughput(Throughput::Elements(TRANSFERS));
    group.sample_size(20);
    group.measurement_time(Duration::from_secs(8));
    for durability in [Durability::Full, Durability::Normal] {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut store = open(&dir.path().join("chain.db"), durability);
        let genesis = params.genesis_block();
        connect(&mut store, &meta_of(&genesis, 0), &genesis);
        let mut rng = Rng::new(1);
        fill_accounts(&mut store, &mut rng, scaled(100_000));
        let funded: Vec<AccountEntry> = senders
            .iter()
            .map(|k| AccountEntry {
                address: k.public_key().address(),
                account: Account {
                    balance: Amount(100 * COIN),
                    nonce: 0,
                },
            })
            .collect();
        store.bench_put_accounts(&funded).expect("fund senders");
        let mut txs = vec![Transaction::Coinbase(Coinbase {
            height: Height(1),
            to: address(7),
            amount: params.subsidy(Height(1)),
        })];
        txs.extend(transfers.iter().cloned());
        let txids: Vec<Txid> = txs.iter().map(Transaction::txid).collect();
        let block = Block {
            header: Header {
                version: HEADER_VERSION,
                prev_hash: genesis.hash(),
                merkle_root: merkle_root(&txids),
                time: params.genesis_time + 1,
                bits: params.pow_limit,
                nonce: 0,
            },
            txs,
        };
        let meta = meta_of(&block, 1);
        let effects = apply_block(&params, Height(1), &block, &store).expect("valid block");
        store.put_block(&meta, &block).expect("put block");
        let name = format!("{durability:?}").to_lowercase();
        group.bench_function(BenchmarkId::from_parameter(name), |b| {
            b.iter_custom(|iters| {
                let mut timed = Duration::ZERO;
                for _ in 0..iters {
                    let start = Instant::now();
                    store
                        .connect(ConnectBlock {
                            meta: &meta,
                            block: &block,
                            accounts: &effects.accounts,
                            undo: &effects.undo,
                        })
                        .expect("connect");
                    timed += start.elapsed();
                    store
                        .disconnect(DisconnectBlock {
                            meta: &meta,
                            block: &block,
                            undo: &effects.undo,
                        })
                        .expect("disconnect");
                }
                timed
            });
        });
    }
    group.finish();
}

fn bench_balance(c: &mut Criterion) {
    let mut group = c.benchmark_group("balance");
    group.sample_size(50);
    for count in [10_000, scaled(1_000_000)] {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut store = open(&dir.path().join("chain.db"), Durability::Normal);
        let mut rng = Rng::new(2);
        let addresses = fill_accounts(&mut store, &mut rng, count);
        let probes: Vec<Address> = (0..4096)
            .map(|_| addresses[rng.below(count as u64) as usize])
            .collect();
        let mut next = 0;
        group.bench_function(BenchmarkId::from_parameter(count), |b| {
            b.iter(|| {
                next = (next + 1) % probes.len();
                black_box(store.account(&probes[next]).expect("read"))
            });
        });
    }
    group.finish();
}

fn history_entries(address: &Address, count: u64) -> Vec<HistoryEntry> {
    (0..count)
        .map(|i| HistoryEntry {
            txid: Txid(sha256(&[&address.0, &i.to_le_bytes()])),
            height: Height(1 + i / 4),
            index: (i % 4) as u32,
        })
        .collect()
}

fn bench_history(c: &mut Criterion) {
    let mut group = c.benchmark_group("history_page");
    group.sample_size(50);
    let short = address(1);
    let long = address(2);
    let small_dir = tempfile::tempdir().expect("tempdir");
    let mut small = open(&small_dir.path().join("chain.db"), Durability::Normal);
    small
        .bench_put_history(&short, &history_entries(&short, 100))
        .expect("fill");
    let large_dir = tempfile::tempdir().expect("tempdir");
    let mut large = open(&large_dir.path().join("chain.db"), Durability::Normal);
    large
        .bench_put_history(&short, &history_entries(&short, 100))
        .expect("fill");
    let long_entries = history_entries(&long, scaled(1_000_000) as u64);
    for chunk in long_entries.chunks(100_000) {
        large.bench_put_history(&long, chunk).expect("fill");
    }
    let middle = long_entries[long_entries.len() / 2].cursor();
    let cases: [(&str, &SqliteStore, &Address, Option<HistoryCursor>); 4] = [
        ("short_in_small_store", &small, &short, None),
        ("short_in_large_store", &large, &short, None),
        ("long_newest", &large, &long, None),
        ("long_middle", &large, &long, Some(middle)),
    ];
    for (name, store, address, cursor) in cases {
        assert_eq!(
            store.history(address, cursor, PAGE).expect("page").len(),
            PAGE
        );
        group.bench_function(name, |b| {
            b.iter(|| black_box(store.history(address, cursor, PAGE).expect("page")));
        });
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().warm_up_time(Duration::from_secs(1));
    targets = bench_connect, bench_balance, bench_history
}
criterion_main!(benches);

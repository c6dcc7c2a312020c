//! Criterion benchmarks of the consensus core beside mining: merkle roots, ECDSA, and the
//! validation of a block of 1,000 transfers (signatures on one and two threads, then state).

use chain_core::block::Block;
use chain_core::chain::Chain;
use chain_core::hash::{Txid, sha256};
use chain_core::merkle::merkle_root;
use chain_core::params::ChainParams;
use chain_core::state::apply_block;
use chain_core::store::MemoryStore;
use chain_core::testkit::{address, key, next_block, transfer};
use chain_core::units::COIN;
use chain_core::validate::check_block;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;

fn merkle(c: &mut Criterion) {
    let mut group = c.benchmark_group("merkle_root");
    for n in [1_000usize, 10_000] {
        let txids: Vec<Txid> = (0..n as u64)
            .map(|i| Txid(sha256(&[&i.to_le_bytes()])))
            .collect();
        group.throughput(Throughput::Elements(n as u64));
        group.bench_function(format!("{n}_txids"), |b| {
            b.iter(|| merkle_root(black_box(&txids)))
        });
    }
    group.finish();
}

fn ecdsa(c: &mut Criterion) {
    let secret = key(1);
    let public = secret.public_key();
    let hash = sha256(&[b"message"]);
    let signature = secret.sign_hash(&hash);
    let mut group = c.benchmark_group("ecdsa");
    group.bench_function("sign", |b| b.iter(|| secret.sign_hash(black_box(&hash))));
    group.bench_function("verify", |b| {
        b.iter(|| public.verify(black_box(&hash), black_box(&signature)))
    });
    group.finish();
}

/// A regtest chain whose tip block carries 1,000 transfers from 1,000 funded senders, and the
/// chain before it (to apply the block against).
fn block_of_1000() -> (Chain<MemoryStore>, Block) {
    let params = ChainParams::regtest();
    let network = params.network_id;
    let mut chain = Chain::open(params, MemoryStore::new()).expect("open");
    let time = 1_800_000_000;
    // Fund 1,000 senders: a miner mines a few blocks, then pays them in batches.
    let miner = key(1_000_000);
    for i in 0..30 {
        let block = next_block(&chain, miner.public_key().address(), vec![], time + i);
        chain.accept_block(block, time + i).expect("funding block");
    }
    for batch in 0..4u64 {
        let payments = (0..250u64)
            .map(|i| {
                transfer(
                    &miner,
                    address(batch * 250 + i),
                    COIN,
                    1_000,
                    batch * 250 + i,
                    network,
                )
            })
            .collect();
        let block = next_block(&chain, address(7), payments, time + 100 + batch);
        chain
            .accept_block(block, time + 100 + batch)
            .expect("payments");
    }
    let transfers = (0..1_000u64)
        .map(|i| transfer(&key(i), address(2_000_000 + i), 1_000, 500, 0, network))
        .collect();
    let block = next_block(&chain, address(8), transfers, time + 200);
    (chain, block)
}

fn validation(c: &mut Criterion) {
    let (chain, block) = block_of_1000();
    let params = chain.params().clone();
    let mut group = c.benchmark_group("block_1000_transfers");
    group.sample_size(20);
    group.throughput(Throughput::Elements(1_000));
    for threads in [1usize, 2] {
        group.bench_function(format!("check_signatures_{threads}_threads"), |b| {
            b.iter(|| check_block(&params, black_box(&block), threads).expect("valid"))
        });
    }
    let height = chain.tip().height.next().expect("height");
    group.bench_function("apply_state", |b| {
        b.iter(|| apply_block(&params, height, black_box(&block), chain.store()).expect("valid"))
    });
    group.finish();
}

criterion_group!(benches, merkle, ecdsa, validation);
criterion_main!(benches);

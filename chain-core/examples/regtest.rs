//! Builds a regtest chain in memory, mines a few blocks, sends a transfer and prints balances.
//!
//! `cargo run -p chain-core --example regtest`

use chain_core::prelude::*;

fn main() -> Result<(), Error> {
    let params = ChainParams::regtest();
    let prefix = params.address_prefix;
    let network = params.network_id;
    // Clock and keys come from the caller: the core has neither of its own.
    let mut now = 1_800_000_000;
    let mut ledger = Ledger::open(params, MemoryStore::new(), MempoolPolicy::default(), now)?;
    let alice = SecretKey::from_bytes([0xa1; 32])?;
    let bob = SecretKey::from_bytes([0xb0; 32])?;
    let (alice_addr, bob_addr) = (alice.public_key().address(), bob.public_key().address());

    let mine = |ledger: &mut Ledger<MemoryStore>, now: u64| -> Result<(), Error> {
        let mut block = ledger.block_template(alice_addr, now)?;
        // Regtest's target is met by half of all hashes.
        assert!(
            mine_reference(&mut block.header, 1_000_000),
            "regtest blocks are easy"
        );
        let transfers = block.txs.len() - 1;
        ledger.accept_block(block, now)?;
        println!(
            "mined block {} with {transfers} transfer(s)",
            ledger.chain().tip().height
        );
        Ok(())
    };
    for _ in 0..3 {
        now += 10;
        mine(&mut ledger, now)?;
    }

    let nonce = ledger.chain().account(&alice_addr)?.nonce;
    let transfer = UnsignedTransfer {
        to: bob_addr,
        amount: Amount::parse_coins("12.5").expect("a valid amount"),
        fee: Amount(10_000),
        nonce,
        memo: b"first payment".to_vec(),
    }
    .sign(&alice, network);
    let admitted = ledger.submit_transfer(transfer, now)?;
    println!(
        "sent transfer {} ({} pending)",
        admitted.txid,
        ledger.mempool().len()
    );
    now += 10;
    mine(&mut ledger, now)?;

    for (name, address) in [("alice", alice_addr), ("bob", bob_addr)] {
        let account = ledger.chain().account(&address)?;
        println!(
            "{name} {} balance {} nonce {}",
            address.to_text(prefix),
            account.balance,
            account.nonce
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    /// `cargo test` runs the example, so it cannot rot.
    #[test]
    fn the_example_runs() {
        super::main().expect("the example succeeds");
    }
}

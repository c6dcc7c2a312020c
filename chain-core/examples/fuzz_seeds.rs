//! Writes the seed corpus of the fuzz targets in `fuzz/`: real encodings of testkit blocks,
//! transfers, peer messages and frames, address texts and API bodies.
//!
//! Seeds made by the encoders, rather than bytes typed by hand, start every target on inputs
//! that pass its checksums and length prefixes, so the fuzzer mutates from deep inside the
//! decoders instead of spending its time rediscovering the format. Every seed is deterministic
//! (numbered keys, RFC 6979 signatures, the reference miner), so rerunning this rewrites the
//! same files.
//!
//! `cargo run -p chain-core --features test-utils --example fuzz_seeds -- fuzz/corpus`

use chain_core::block::{Block, Header};
use chain_core::encode::Encode;
use chain_core::hash::{BlockHash, Txid, to_hex};
use chain_core::params::ChainParams;
use chain_core::pow::Work;
use chain_core::protocol::frame::encode_frame;
use chain_core::protocol::{Inventory, Message, PeerAddress, Version};
use chain_core::testkit::{address, key, seal, transfer};
use chain_core::tx::{Coinbase, Transaction, Transfer, UnsignedTransfer};
use chain_core::units::{Amount, Height};
use std::net::SocketAddr;
use std::path::PathBuf;

type Seeds = Vec<(&'static str, Vec<u8>)>;

fn main() -> std::io::Result<()> {
    let root = PathBuf::from(
        std::env::args()
            .nth(1)
            .unwrap_or_else(|| "fuzz/corpus".into()),
    );
    let devnet = ChainParams::devnet();
    let regtest = ChainParams::regtest();
    let transfers = transfers(&devnet);
    let blocks = blocks(&regtest, &transfers);
    let messages = messages(&devnet, &blocks, &transfers);

    let mut written = 0;
    let mut write = |target: &str, seeds: &Seeds| -> std::io::Result<()> {
        let dir = root.join(target);
        std::fs::create_dir_all(&dir)?;
        for (name, bytes) in seeds {
            std::fs::write(dir.join(name), bytes)?;
            written += 1;
        }
        Ok(())
    };

    write(
        "block",
        &vec![
            ("genesis-devnet", devnet.genesis_block().to_bytes()),
            ("genesis-regtest", regtest.genesis_block().to_bytes()),
            ("coinbase-only", blocks[0].to_bytes()),
            ("with-transfers", blocks[1].to_bytes()),
        ],
    )?;

    let coinbase = Transaction::Coinbase(Coinbase {
        height: Height(7),
        to: address(1),
        amount: Amount(5_000_000_000),
    });
    write(
        "transfer",
        &vec![
            ("plain", transfers[0].to_bytes()),
            ("memo", transfers[1].to_bytes()),
            ("coinbase", coinbase.to_bytes()),
        ],
    )?;

    write("message", &named_messages(&messages, Message::to_bytes))?;
    write(
        "frame",
        &named_messages(&messages, |m| encode_frame(m, devnet.network_id)),
    )?;

    let dev_text = address(1).to_text(devnet.address_prefix);
    let reg_text = address(2).to_text(regtest.address_prefix);
    write(
        "address",
        &vec![
            ("devnet", dev_text.clone().into_bytes()),
            ("regtest", reg_text.clone().into_bytes()),
            ("upper", dev_text.to_uppercase().into_bytes()),
            ("padded", format!("  {dev_text}\n").into_bytes()),
        ],
    )?;

    let hex = to_hex(&transfers[1].to_bytes());
    write(
        "api_transfer_body",
        &vec![
            ("memo", format!(r#"{{"transfer":"{hex}"}}"#).into_bytes()),
            (
                "padded-upper",
                format!(r#"{{ "transfer": " {} " }}"#, hex.to_uppercase()).into_bytes(),
            ),
        ],
    )?;
    write(
        "api_mining_body",
        &vec![
            (
                "start",
                format!(r#"{{"enabled":true,"address":"{dev_text}","threads":4}}"#).into_bytes(),
            ),
            (
                "start-default-threads",
                format!(r#"{{"enabled":true,"address":"{dev_text}"}}"#).into_bytes(),
            ),
            ("stop", br#"{"enabled":false}"#.to_vec()),
        ],
    )?;

    println!("wrote {written} seeds under {}", root.display());
    Ok(())
}

/// Two signed devnet transfers: a plain one and one with a memo.
fn transfers(params: &ChainParams) -> Vec<Transfer> {
    let plain = transfer(&key(1), address(2), 1_000, 10, 0, params.network_id);
    let memo = UnsignedTransfer {
        to: address(3),
        amount: Amount(250_000),
        fee: Amount(1_000),
        nonce: 1,
        memo: b"rent, march".to_vec(),
    }
    .sign(&key(1), params.network_id);
    vec![plain, memo]
}

/// Two mined regtest blocks on genesis: a coinbase alone, and a coinbase with transfers.
fn blocks(params: &ChainParams, transfers: &[Transfer]) -> Vec<Block> {
    let genesis = params.genesis_block();
    let block = |txs: Vec<Transaction>| {
        let fees: u64 = txs
            .iter()
            .filter_map(Transaction::as_transfer)
            .map(|t| t.fee.0)
            .sum();
        let mut all = vec![Transaction::Coinbase(Coinbase {
            height: Height(1),
            to: address(9),
            amount: Amount(params.initial_subsidy.0 + fees),
        })];
        all.extend(txs);
        let mut block = Block {
            header: Header {
                prev_hash: genesis.hash(),
                time: params.genesis_time + 10,
                ..genesis.header
            },
            txs: all,
        };
        seal(&mut block);
        block
    };
    vec![
        block(Vec::new()),
        block(
            transfers
                .iter()
                .cloned()
                .map(Transaction::Transfer)
                .collect(),
        ),
    ]
}

/// One message of every kind.
fn messages(
    params: &ChainParams,
    blocks: &[Block],
    transfers: &[Transfer],
) -> Vec<(&'static str, Message)> {
    let block_hash = blocks[1].hash();
    let txid = transfers[0].txid();
    let peer = |text: &str, last_seen| PeerAddress {
        addr: text
            .parse::<SocketAddr>()
            .unwrap_or_else(|_| unreachable!()),
        last_seen,
    };
    vec![
        (
            "version",
            Message::Version(Version {
                version: 1,
                network: params.network_id,
                genesis: params.genesis_hash(),
                best_height: Height(42),
                best_work: Work::from_be_bytes([0x01; 32]),
                listen_port: params.default_port,
                nonce: 0x0123_4567_89ab_cdef,
                agent: "chain/0.1.0".into(),
            }),
        ),
        ("verack", Message::Verack),
        ("ping", Message::Ping(7)),
        ("pong", Message::Pong(7)),
        ("getaddr", Message::GetAddr),
        (
            "addr",
            Message::Addr(vec![
                peer("192.0.2.1:7410", 1_800_000_000),
                peer("[2001:db8::1]:7410", 1_800_000_100),
            ]),
        ),
        (
            "inv",
            Message::Inv(vec![
                Inventory::Block(block_hash),
                Inventory::Transfer(txid),
            ]),
        ),
        (
            "getdata",
            Message::GetData(vec![Inventory::Block(block_hash)]),
        ),
        (
            "notfound",
            Message::NotFound(vec![Inventory::Transfer(Txid([0x11; 32]))]),
        ),
        (
            "getheaders",
            Message::GetHeaders {
                locator: vec![block_hash, params.genesis_hash()],
                stop: BlockHash::ZERO,
            },
        ),
        (
            "headers",
            Message::Headers(blocks.iter().map(|b| b.header).collect()),
        ),
        ("block", Message::Block(blocks[1].clone())),
        ("transfer", Message::Transfer(transfers[1].clone())),
    ]
}

fn named_messages(
    messages: &[(&'static str, Message)],
    encode: impl Fn(&Message) -> Vec<u8>,
) -> Seeds {
    messages
        .iter()
        .map(|(name, message)| (*name, encode(message)))
        .collect()
}

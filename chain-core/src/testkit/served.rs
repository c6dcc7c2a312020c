//! A chain for scripted peers to serve: built in memory on regtest (or given), it answers a
//! node's `getheaders`, `getdata` and `ping` as a peer holding it would, so that a sync test can
//! drive a node (the protocol or the whole node machine) without a network, and a harness can
//! put a peer that withholds blocks on a real socket.

use super::conformance::TIME;
use super::{key, next_block};
use crate::block::Block;
use crate::chain::Chain;
use crate::hash::BlockHash;
use crate::params::ChainParams;
use crate::pow::Work;
use crate::protocol::message::MAX_HEADERS;
use crate::protocol::{Inventory, Message, PROTOCOL_VERSION, Version};
use crate::store::MemoryStore;
use crate::units::Height;
use std::collections::HashMap;

/// How a scripted peer answers requests for blocks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Serves {
    /// Headers and blocks.
    Blocks,
    /// Headers only: a peer that announces a chain and holds its blocks back.
    HeadersOnly,
}

/// A chain to serve: by default regtest's, of empty blocks (times from [`TIME`], one second
/// apart).
#[derive(Debug)]
pub struct ServedChain {
    params: ChainParams,
    /// The blocks above genesis, lowest first.
    pub blocks: Vec<Block>,
    index: HashMap<BlockHash, usize>,
    /// The chain work at the tip.
    pub best_work: Work,
}

impl ServedChain {
    /// A chain of `count` blocks above genesis.
    pub fn new(count: u64) -> Self {
        let mut chain = Chain::open(ChainParams::regtest(), MemoryStore::new()).unwrap();
        let miner = key(100).public_key().address();
        let blocks: Vec<Block> = (0..count)
            .map(|i| {
                let block = next_block(&chain, miner, vec![], TIME + i);
                chain.accept_block(block.clone(), TIME + i).unwrap();
                block
            })
            .collect();
        let best_work = chain.tip().chain_work;
        Self::from_blocks(ChainParams::regtest(), blocks, best_work)
    }

    /// The chain of `params` made of `blocks` above genesis (lowest first), whose tip has
    /// `best_work`.
    pub fn from_blocks(params: ChainParams, blocks: Vec<Block>, best_work: Work) -> Self {
        let index = blocks
            .iter()
            .enumerate()
            .map(|(i, b)| (b.hash(), i))
            .collect();
        Self {
            params,
            blocks,
            index,
            best_work,
        }
    }

    /// The tip's hash.
    pub fn tip(&self) -> BlockHash {
        self.blocks
            .last()
            .map(Block::hash)
            .unwrap_or_else(|| self.params.genesis_hash())
    }

    /// The `version` a peer holding this chain sends.
    pub fn version(&self, nonce: u64) -> Version {
        let params = &self.params;
        Version {
            version: PROTOCOL_VERSION,
            network: params.network_id,
            genesis: params.genesis_hash(),
            best_height: Height(self.blocks.len() as u64),
            best_work: self.best_work,
            listen_port: 0,
            nonce,
            agent: "scripted".into(),
        }
    }

    /// What a peer that `serves` this chain answers to `message`.
    pub fn answer(&self, message: &Message, serves: Serves) -> Vec<Message> {
        match message {
            Message::GetHeaders { locator, .. } => {
                let start = locator
                    .iter()
                    .find_map(|hash| self.index.get(hash).map(|i| i + 1))
                    .unwrap_or(0);
                let headers = self.blocks[start.min(self.blocks.len())..]
                    .iter()
                    .take(MAX_HEADERS)
                    .map(|b| b.header)
                    .collect();
                vec![Message::Headers(headers)]
            }
            Message::GetData(items) if serves == Serves::Blocks => items
                .iter()
                .filter_map(|item| match item {
                    Inventory::Block(hash) => self.index.get(hash),
                    Inventory::Transfer(_) => None,
                })
                .map(|&i| Message::Block(self.blocks[i].clone()))
                .collect(),
            Message::Ping(nonce) => vec![Message::Pong(*nonce)],
            _ => vec![],
        }
    }
}

//! The harness's keys (the miners' and the wallets'), drawn from the seed, and the rule by which
//! it signs transfers: one transfer per sender and nonce, ever.
//!
//! Why that rule: a transfer reported confirmed may be reorganised back into a mempool, and the
//! harness then expects it to be mined again. If the harness had signed a second, different
//! transfer with the same nonce (say, after a submission whose answer was lost), the two would
//! conflict and either could win: a "lost" transfer would then be the harness's doing, not the
//! node's. So a transfer whose fate is unknown is offered again, byte for byte, until some node
//! accepts it; only then does the sender's nonce move on.

use chain_core::address::Address;
use chain_core::keys::SecretKey;
use chain_core::params::NetworkId;
use chain_core::testkit::Rng;
use chain_core::tx::{Transfer, UnsignedTransfer};
use chain_core::units::Amount;

/// One key the harness sends from.
#[derive(Debug)]
pub struct Sender {
    /// The harness's name for it (`m0`, `w3`, ...).
    pub name: String,
    /// The key.
    pub key: SecretKey,
    /// Its address.
    pub address: Address,
    /// The nonce of the next new transfer.
    pub next_nonce: u64,
    /// A signed transfer no node has accepted yet.
    pub unaccepted: Option<Transfer>,
}

impl Sender {
    /// A sender named `name` with a key from `rng`.
    pub fn new(name: String, rng: &mut Rng) -> Self {
        let key = loop {
            // A random 32-byte string is a valid key except with probability 2^-128.
            if let Ok(key) = SecretKey::from_bytes(rng.bytes32()) {
                break key;
            }
        };
        let address = key.public_key().address();
        Self {
            name,
            key,
            address,
            next_nonce: 0,
            unaccepted: None,
        }
    }

    /// The transfer to offer next: the unaccepted one again if there is one, else a new one
    /// with the next nonce (`to`, `amount` and `fee` only apply to a new one).
    pub fn transfer(
        &mut self,
        network: NetworkId,
        to: Address,
        amount: Amount,
        fee: Amount,
    ) -> Transfer {
        if let Some(transfer) = &self.unaccepted {
            return transfer.clone();
        }
        let transfer = UnsignedTransfer {
            to,
            amount,
            fee,
            nonce: self.next_nonce,
            memo: Vec::new(),
        }
        .sign(&self.key, network);
        self.unaccepted = Some(transfer.clone());
        transfer
    }

    /// A node accepted the unaccepted transfer (or showed it already had it): the nonce moves on.
    pub fn accepted(&mut self) {
        if self.unaccepted.take().is_some() {
            self.next_nonce += 1;
        }
    }
}

/// The miners' keys and the wallets' keys of a run.
#[derive(Debug)]
pub struct Keys {
    /// One per mining node (`m0`, `m1`, ...): coinbases go there.
    pub miners: Vec<Sender>,
    /// The wallets transfers flow between (`w0`, `w1`, ...).
    pub wallets: Vec<Sender>,
    /// Keys that pass the funding on from the miners to the wallets (`h0`, `h1`, ...), one per
    /// [`HUB_FANOUT`] wallets when the miners alone would take many blocks (none otherwise).
    pub hubs: Vec<Sender>,
}

/// Wallets funded by one hub: within a sender's nonce window (16), so in one block.
pub const HUB_FANOUT: usize = 12;

impl Keys {
    /// `miners` miner keys and `wallets` wallet keys, from `seed` (hubs drawn last, so that
    /// they move no other key).
    pub fn new(seed: u64, miners: usize, wallets: usize) -> Self {
        let mut rng = Rng::new(seed);
        let miners: Vec<Sender> = (0..miners)
            .map(|i| Sender::new(format!("m{i}"), &mut rng))
            .collect();
        let wallets: Vec<Sender> = (0..wallets)
            .map(|i| Sender::new(format!("w{i}"), &mut rng))
            .collect();
        // The miners fund `HUB_FANOUT` wallets each a block: beyond two blocks' worth, hubs.
        let hubs = if wallets.len() > 2 * HUB_FANOUT * miners.len().max(1) {
            wallets.len().div_ceil(HUB_FANOUT)
        } else {
            0
        };
        Self {
            hubs: (0..hubs)
                .map(|i| Sender::new(format!("h{i}"), &mut rng))
                .collect(),
            miners,
            wallets,
        }
    }

    /// Every address with its name: miners first, hubs last.
    pub fn addresses(&self) -> Vec<(String, Address)> {
        self.miners
            .iter()
            .chain(&self.wallets)
            .chain(&self.hubs)
            .map(|s| (s.name.clone(), s.address))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chain_core::params::ChainParams;

    #[test]
    fn keys_come_from_the_seed() {
        let a = Keys::new(5, 3, 8);
        let b = Keys::new(5, 3, 8);
        let c = Keys::new(6, 3, 8);
        assert_eq!(a.addresses(), b.addresses());
        assert_ne!(a.addresses(), c.addresses());
        let mut all: Vec<Address> = a.addresses().into_iter().map(|(_, a)| a).collect();
        all.sort();
        all.dedup();
        assert_eq!(all.len(), 11);
        assert_eq!(a.addresses()[3].0, "w0");
        // Many wallets: hubs pass the funding on, drawn after every other key.
        let many = Keys::new(5, 3, 100);
        assert_eq!(many.hubs.len(), 9);
        assert_eq!(many.addresses()[..11], a.addresses()[..11]);
        assert!(a.hubs.is_empty());
    }

    #[test]
    fn an_unaccepted_transfer_is_offered_again_byte_for_byte_and_nonces_never_repeat() {
        let network = ChainParams::regtest().network_id;
        let mut keys = Keys::new(1, 1, 2);
        let to = keys.wallets[1].address;
        let sender = &mut keys.wallets[0];
        let first = sender.transfer(network, to, Amount(5), Amount(1_000));
        // Refused or unanswered: the same transfer comes back, whatever is asked this time.
        let again = sender.transfer(network, to, Amount(7), Amount(2_000));
        assert_eq!(first, again);
        assert_eq!(first.nonce, 0);
        sender.accepted();
        let second = sender.transfer(network, to, Amount(7), Amount(2_000));
        assert_eq!((second.nonce, second.amount), (1, Amount(7)));
        assert_eq!(second.sender(), sender.address);
        sender.accepted();
        // A second acceptance of nothing does not skip a nonce.
        sender.accepted();
        assert_eq!(sender.next_nonce, 2);
    }
}

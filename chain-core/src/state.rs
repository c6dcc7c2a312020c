//! Account state and how a block changes it.
//!
//! Each address has a balance and a nonce (the number of transfers it has sent). Applying a block
//! reads only the accounts it touches, through [`AccountRead`], and yields the new values of those
//! accounts plus the undo record (their values before), so that connecting and disconnecting a
//! block cost time in proportion to the block, never to the chain. An account equal to
//! [`Account::default`] is the same as an absent one: stores delete it, so disconnecting back to
//! genesis leaves exactly the genesis state.

use crate::address::Address;
use crate::block::Block;
use crate::encode::{Decode, DecodeError, Encode, Reader, write_list};
use crate::error::{BlockError, StoreError, TxError};
use crate::params::ChainParams;
use crate::tx::Transaction;
use crate::units::{Amount, Height};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// The state of one address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Account {
    /// Spendable coins.
    pub balance: Amount,
    /// Transfers sent so far; the next transfer must carry this nonce.
    pub nonce: u64,
}

impl Account {
    /// Whether this is the state of an address that never appeared.
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }
}

impl Encode for Account {
    fn encode_to(&self, out: &mut Vec<u8>) {
        self.balance.encode_to(out);
        self.nonce.encode_to(out);
    }
}

impl Decode for Account {
    fn decode(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Self {
            balance: Amount::decode(reader)?,
            nonce: u64::decode(reader)?,
        })
    }
}

/// Reads account state (a store, or a store plus changes not yet written).
pub trait AccountRead {
    /// The state of `address`; the empty account when it has none.
    ///
    /// # Errors
    ///
    /// Returns a [`StoreError`] when the backing storage fails.
    fn account(&self, address: &Address) -> Result<Account, StoreError>;
}

/// One address and its state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AccountEntry {
    /// The address.
    pub address: Address,
    /// Its state.
    pub account: Account,
}

impl Encode for AccountEntry {
    fn encode_to(&self, out: &mut Vec<u8>) {
        self.address.encode_to(out);
        self.account.encode_to(out);
    }
}

impl Decode for AccountEntry {
    fn decode(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Self {
            address: Address::decode(reader)?,
            account: Account::decode(reader)?,
        })
    }
}

/// The state of every account a block touched, as it was before the block.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct BlockUndo {
    /// Previous states, in the order the block first touched each address.
    pub accounts: Vec<AccountEntry>,
}

impl Encode for BlockUndo {
    fn encode_to(&self, out: &mut Vec<u8>) {
        write_list(out, &self.accounts);
    }
}

impl Decode for BlockUndo {
    fn decode(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Self {
            accounts: reader.list("undo accounts", usize::MAX, 20 + 16)?,
        })
    }
}

/// What connecting a block does to the state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlockEffects {
    /// New states of the touched accounts, in first-touch order.
    pub accounts: Vec<AccountEntry>,
    /// Their previous states.
    pub undo: BlockUndo,
    /// The fees the block's transfers paid (the coinbase may claim them).
    pub fees: Amount,
}

/// Accounts read once from the store and then changed in memory.
struct Overlay<'a, R: AccountRead + ?Sized> {
    base: &'a R,
    order: Vec<Address>,
    before: HashMap<Address, Account>,
    after: HashMap<Address, Account>,
}

impl<'a, R: AccountRead + ?Sized> Overlay<'a, R> {
    fn new(base: &'a R) -> Self {
        Self {
            base,
            order: Vec::new(),
            before: HashMap::new(),
            after: HashMap::new(),
        }
    }

    fn get(&mut self, address: &Address) -> Result<Account, StoreError> {
        if let Some(account) = self.after.get(address) {
            return Ok(*account);
        }
        let account = self.base.account(address)?;
        self.order.push(*address);
        self.before.insert(*address, account);
        self.after.insert(*address, account);
        Ok(account)
    }

    fn set(&mut self, address: Address, account: Account) {
        self.after.insert(address, account);
    }

    fn finish(self) -> (Vec<AccountEntry>, BlockUndo) {
        let entry = |map: &HashMap<Address, Account>, address: &Address| AccountEntry {
            address: *address,
            account: map.get(address).copied().unwrap_or_default(),
        };
        let accounts = self.order.iter().map(|a| entry(&self.after, a)).collect();
        let undo = BlockUndo {
            accounts: self.order.iter().map(|a| entry(&self.before, a)).collect(),
        };
        (accounts, undo)
    }
}

/// Applies a block's transactions to the state `base`, in order, checking every rule that needs
/// state: nonces, balances, overflow, and the coinbase's amount bound. Signatures and structure
/// are checked beforehand by [`crate::validate::check_block`].
///
/// Transfers apply first, in block order; the coinbase is credited last, so that a block's new
/// coins cannot be spent inside the same block.
///
/// # Errors
///
/// Returns the first rule the block breaks, or a store failure.
pub fn apply_block<R: AccountRead + ?Sized>(
    params: &ChainParams,
    height: Height,
    block: &Block,
    base: &R,
) -> Result<BlockEffects, crate::Error> {
    let mut overlay = Overlay::new(base);
    let mut fees = Amount::ZERO;
    let mut coinbase = None;
    for (index, tx) in block.txs.iter().enumerate() {
        let transfer = match tx {
            Transaction::Coinbase(c) => {
                coinbase = Some(c);
                continue;
            }
            Transaction::Transfer(t) => t,
        };
        let fail = |source: TxError| BlockError::InvalidTransfer { index, source };
        let sender = transfer.sender();
        let account = overlay.get(&sender)?;
        let cost = transfer
            .total_cost()
            .ok_or_else(|| fail(TxError::AmountOverflow))?;
        if transfer.nonce != account.nonce {
            return Err(fail(TxError::BadNonce {
                expected: account.nonce,
                got: transfer.nonce,
            })
            .into());
        }
        let balance = account.balance.checked_sub(cost).ok_or_else(|| {
            fail(TxError::InsufficientBalance {
                available: account.balance,
                needed: cost,
            })
        })?;
        overlay.set(
            sender,
            Account {
                balance,
                nonce: account.nonce + 1,
            },
        );
        let receiver = overlay.get(&transfer.to)?;
        let credited = receiver
            .balance
            .checked_add(transfer.amount)
            .ok_or_else(|| fail(TxError::BalanceOverflow))?;
        overlay.set(
            transfer.to,
            Account {
                balance: credited,
                nonce: receiver.nonce,
            },
        );
        fees = fees
            .checked_add(transfer.fee)
            .ok_or(BlockError::FeeOverflow)?;
    }
    let coinbase = coinbase.ok_or(BlockError::FirstNotCoinbase)?;
    let max = params
        .subsidy(height)
        .checked_add(fees)
        .ok_or(BlockError::FeeOverflow)?;
    if coinbase.amount > max {
        return Err(BlockError::CoinbaseTooLarge {
            max,
            got: coinbase.amount,
        }
        .into());
    }
    let miner = overlay.get(&coinbase.to)?;
    let paid = miner
        .balance
        .checked_add(coinbase.amount)
        .ok_or(BlockError::FeeOverflow)?;
    overlay.set(
        coinbase.to,
        Account {
            balance: paid,
            nonce: miner.nonce,
        },
    );
    let (accounts, undo) = overlay.finish();
    Ok(BlockEffects {
        accounts,
        undo,
        fees,
    })
}

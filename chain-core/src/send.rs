//! What a wallet checks before it signs a send, in one pure function that the CLI and the web
//! wallet both call: an amount above zero, a memo that fits, a fee the sender meant (or
//! confirmed), a balance that pays once pending transfers are counted, and the nonce after the
//! sender's pending ones. The node checks all of it again (a wallet is not trusted); these
//! checks are there so that a person learns what is wrong before anything is signed.

use crate::address::Address;
use crate::error::SendError;
use crate::fees::fee_concern;
use crate::tx::{MAX_MEMO_BYTES, UnsignedTransfer};
use crate::units::Amount;

/// The sender's account as its node reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SenderAccount {
    /// Confirmed balance.
    pub balance: Amount,
    /// What its pending transfers take (amounts and fees).
    pub pending_out: Amount,
    /// The nonce its next transfer uses (after its pending ones).
    pub next_nonce: u64,
}

/// A send as a person asks for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendRequest {
    /// The receiver.
    pub to: Address,
    /// Coins to move.
    pub amount: Amount,
    /// The fee.
    pub fee: Amount,
    /// Free text or data.
    pub memo: Vec<u8>,
    /// The largest fee sent without asking (`crate::fees::DEFAULT_MAX_FEE` by default).
    pub max_fee: Amount,
    /// The sender was asked about the fee and confirmed it.
    pub fee_confirmed: bool,
}

/// The transfer to sign for `request` from `account`.
///
/// # Errors
///
/// [`SendError`]: a zero amount, a memo too long, a fee concern not confirmed, an amount plus
/// fee that overflows or that the available balance cannot pay. The checks run in that order.
pub fn prepare_transfer(
    account: &SenderAccount,
    request: SendRequest,
) -> Result<UnsignedTransfer, SendError> {
    if request.amount == Amount::ZERO {
        return Err(SendError::ZeroAmount);
    }
    if request.memo.len() > MAX_MEMO_BYTES {
        return Err(SendError::MemoTooLong {
            len: request.memo.len(),
            max: MAX_MEMO_BYTES,
        });
    }
    if let Some(concern) = fee_concern(request.amount, request.fee, request.max_fee)
        && !request.fee_confirmed
    {
        return Err(SendError::Fee(concern));
    }
    let needed = request
        .amount
        .checked_add(request.fee)
        .ok_or(SendError::TooLarge)?;
    let available = Amount(account.balance.0.saturating_sub(account.pending_out.0));
    if available < needed {
        return Err(SendError::Insufficient {
            available,
            balance: account.balance,
            pending_out: account.pending_out,
            needed,
        });
    }
    Ok(UnsignedTransfer {
        to: request.to,
        amount: request.amount,
        fee: request.fee,
        nonce: account.next_nonce,
        memo: request.memo,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fees::{DEFAULT_MAX_FEE, FeeConcern};
    use crate::units::COIN;

    fn account(balance: u64, pending_out: u64) -> SenderAccount {
        SenderAccount {
            balance: Amount(balance),
            pending_out: Amount(pending_out),
            next_nonce: 7,
        }
    }

    fn request(amount: u64, fee: u64) -> SendRequest {
        SendRequest {
            to: Address([3; 20]),
            amount: Amount(amount),
            fee: Amount(fee),
            memo: b"rent".to_vec(),
            max_fee: DEFAULT_MAX_FEE,
            fee_confirmed: false,
        }
    }

    #[test]
    fn a_send_the_balance_pays_is_the_transfer_after_the_pending_ones() {
        let transfer = prepare_transfer(&account(COIN, COIN / 2), request(COIN / 4, 1_000));
        assert_eq!(
            transfer,
            Ok(UnsignedTransfer {
                to: Address([3; 20]),
                amount: Amount(COIN / 4),
                fee: Amount(1_000),
                nonce: 7,
                memo: b"rent".to_vec(),
            })
        );
        // Exactly what is available.
        assert!(prepare_transfer(&account(COIN, 0), request(COIN - 1_000, 1_000)).is_ok());
    }

    #[test]
    fn what_pending_transfers_take_is_not_available() {
        assert_eq!(
            prepare_transfer(&account(COIN, COIN / 2), request(COIN / 2, 1)),
            Err(SendError::Insufficient {
                available: Amount(COIN / 2),
                balance: Amount(COIN),
                pending_out: Amount(COIN / 2),
                needed: Amount(COIN / 2 + 1),
            })
        );
        // Pending out above the balance (a reorg took coins back): nothing is available.
        assert!(matches!(
            prepare_transfer(&account(10, 20), request(1, 0)),
            Err(SendError::Insufficient {
                available: Amount(0),
                ..
            })
        ));
    }

    #[test]
    fn a_zero_amount_a_long_memo_and_an_overflow_are_refused() {
        assert_eq!(
            prepare_transfer(&account(COIN, 0), request(0, 1)),
            Err(SendError::ZeroAmount)
        );
        let mut long = request(1, 1);
        long.memo = vec![b'x'; MAX_MEMO_BYTES + 1];
        assert_eq!(
            prepare_transfer(&account(COIN, 0), long),
            Err(SendError::MemoTooLong {
                len: MAX_MEMO_BYTES + 1,
                max: MAX_MEMO_BYTES
            })
        );
        let mut huge = request(u64::MAX, 1);
        huge.fee_confirmed = true;
        assert_eq!(
            prepare_transfer(&account(u64::MAX, 0), huge),
            Err(SendError::TooLarge)
        );
    }

    #[test]
    fn a_fee_concern_stops_the_send_until_it_is_confirmed() {
        let mut big_fee = request(COIN / 100, COIN / 50);
        assert_eq!(
            prepare_transfer(&account(COIN, 0), big_fee.clone()),
            Err(SendError::Fee(FeeConcern::AboveAmount {
                fee: Amount(COIN / 50),
                amount: Amount(COIN / 100)
            }))
        );
        big_fee.fee_confirmed = true;
        assert!(prepare_transfer(&account(COIN, 0), big_fee).is_ok());
    }
}

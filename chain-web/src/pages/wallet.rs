//! The wallet: a user's balance, address (with its QR code) and history, and the send form,
//! which checks a transfer, signs it with the key the password unlocks and hands it to the node.
//! Kept apart because it is the only place that unlocks a user's key and spends their coins.

use super::history::{HISTORY_PAGE, HistoryQuery};
use super::{Form, PageError, html, layout, parse_address, redirect, respond, tx_row};
use crate::app::App;
use crate::session::Ctx;
use crate::templates::*;
use chain_core::error::SendError;
use chain_core::hash::Txid;
use chain_core::keystore::{self, KeystoreError};
use chain_core::send::{SendRequest, prepare_transfer};
use chain_core::store::HistoryCursor;
use chain_core::units::Amount;
use chain_store::users::User;
use std::convert::Infallible;
use warp::Reply;
use warp::http::StatusCode;
use warp::reply::Response;

/// A fee to show as an example of the format.
const DEFAULT_FEE: &str = "0.00001";

async fn wallet_page(
    ctx: &Ctx,
    app: &App,
    status: StatusCode,
    error: Option<String>,
    form: SendForm,
    before: Option<HistoryCursor>,
) -> Result<Response, PageError> {
    let Some(session) = &ctx.session else {
        return Ok(redirect("/login"));
    };
    let user = &session.user;
    let node = &app.api.node;
    let address = parse_address(app, &user.address)
        .map_err(|e| PageError::new(StatusCode::INTERNAL_SERVER_ERROR, "Damaged account", e))?;
    let account = node.account(address).await?;
    let history = node.history(address, before, HISTORY_PAGE).await?;
    // The form offers the fee that gets a transfer into the next block, as the mempool stands.
    let fees = node.fees().await?;
    let fee_hint = format!(
        "Suggested for a transfer without a memo: {} to be in the next block, {} within 3 \
         blocks, {} within 6 ({} pending transfers now).",
        fees.next_block_fee,
        fees.within_3_blocks_fee,
        fees.within_6_blocks_fee,
        fees.mempool_transfers
    );
    // Pending transfers lead the first page only.
    let mut rows: Vec<TxRow> = if before.is_none() {
        node.mempool()
            .await?
            .iter()
            .filter(|p| p.tx.to == user.address || p.tx.from.as_deref() == Some(&user.address))
            .map(|p| tx_row(&p.tx, "pending".into(), Some(&user.address)))
            .collect()
    } else {
        Vec::new()
    };
    rows.extend(history.items.iter().map(|item| {
        tx_row(
            &item.tx,
            format!("block {} · {} conf.", item.height, item.confirmations),
            Some(&user.address),
        )
    }));
    let available = Amount(account.balance.0.saturating_sub(account.pending_out.0));
    let qr = qrcode::QrCode::new(user.address.as_bytes())
        .map(|code| {
            let svg = code
                .render::<qrcode::render::svg::Color<'_>>()
                .min_dimensions(168, 168)
                .quiet_zone(true)
                .build();
            match svg.find("<svg") {
                Some(start) => svg[start..].to_string(),
                None => svg,
            }
        })
        .unwrap_or_default();
    let empty = account.balance == Amount::ZERO
        && account.pending_in == Amount::ZERO
        && rows.is_empty()
        && before.is_none();
    let page = WalletPage {
        empty,
        layout: layout(ctx, app, "Wallet", "wallet"),
        username: user.username.clone(),
        address: user.address.clone(),
        qr,
        balance: account.balance.to_string(),
        pending_in: account.pending_in.to_string(),
        pending_out: account.pending_out.to_string(),
        available: available.to_string(),
        error,
        fee_hint,
        form: SendForm {
            fee: if form.fee.is_empty() {
                fees.next_block_fee.to_string()
            } else {
                form.fee
            },
            ..form
        },
        history: rows,
        paging: Paging::of(&history, before),
        miner_running: app.miners.is_running(user.id).await,
    };
    Ok(html(ctx, status, &page))
}

pub(super) async fn wallet(
    query: HistoryQuery,
    ctx: Ctx,
    app: App,
) -> Result<Response, Infallible> {
    let result = async {
        let before = query.cursor()?;
        wallet_page(
            &ctx,
            &app,
            StatusCode::OK,
            None,
            SendForm::default(),
            before,
        )
        .await
    };
    respond(&ctx, &app, result.await)
}

/// The status of a send form answered with a question about its fee (and only of that): the
/// form is shown again with a box to confirm the fee.
const FEE_QUESTION: StatusCode = StatusCode::CONFLICT;

/// Checks and sends a transfer; `Err` is the message shown with the form.
async fn send_transfer(
    app: &App,
    user: &User,
    form: &Form,
) -> Result<Result<Txid, (StatusCode, String)>, PageError> {
    let field = |name: &str| {
        form.get(name)
            .map(|v| v.trim().to_string())
            .unwrap_or_default()
    };
    let bad = |message: String| Ok(Err((StatusCode::BAD_REQUEST, message)));
    let to_text = field("to");
    let to = match parse_address(app, &to_text) {
        Ok(to) => to,
        Err(message) => return bad(message),
    };
    let Some(amount) = Amount::parse_coins(&field("amount")) else {
        return bad(format!(
            "“{}” is not an amount of coins (for example 1.5, at most 8 decimals).",
            field("amount")
        ));
    };
    let Some(fee) = Amount::parse_coins(&field("fee")) else {
        return bad(format!(
            "“{}” is not a fee in coins (for example {DEFAULT_FEE}).",
            field("fee")
        ));
    };
    let own = parse_address(app, &user.address)
        .map_err(|e| PageError::new(StatusCode::INTERNAL_SERVER_ERROR, "Damaged account", e))?;
    let account = app.api.node.account(own).await?;
    let request = SendRequest {
        to,
        amount,
        fee,
        memo: Vec::new(),
        max_fee: app.options.max_fee,
        fee_confirmed: form.get("confirm_fee").map(String::as_str) == Some("yes"),
    };
    let transfer = match prepare_transfer(&account.sender(), request) {
        Ok(transfer) => transfer,
        Err(SendError::Fee(concern)) => {
            return Ok(Err((
                FEE_QUESTION,
                format!(
                    "Check the fee: {concern}. Nothing was sent; to send it anyway, tick “Send \
                     with this fee anyway” and send again."
                ),
            )));
        }
        Err(refusal @ SendError::Insufficient { .. }) => {
            return Ok(Err((
                StatusCode::UNPROCESSABLE_ENTITY,
                format!("Too little balance: {refusal} (amount plus fee). Nothing was sent."),
            )));
        }
        Err(refusal) => return bad(format!("{}. Nothing was sent.", capitalised(&refusal))),
    };
    let password = form.get("password").cloned().unwrap_or_default();
    let record = user.secret_key.clone();
    // An Argon2 run, gated.
    let key = app
        .kdf
        .run(move || keystore::decrypt(&record, password.as_bytes()))
        .await?;
    let key = match key {
        Ok(key) => key,
        Err(KeystoreError::WrongPassword) => {
            return Ok(Err((
                StatusCode::UNAUTHORIZED,
                "Wrong password: nothing was sent.".into(),
            )));
        }
        Err(e) => {
            return Err(PageError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Damaged key",
                e.to_string(),
            ));
        }
    };
    let transfer = transfer.sign(&key, app.api.node.params().network_id);
    match app.api.node.submit_transfer(transfer).await? {
        Ok(txid) => Ok(Ok(txid)),
        Err(refused) => Ok(Err((
            StatusCode::UNPROCESSABLE_ENTITY,
            format!("The node refused the transfer: {refused}. Nothing was sent."),
        ))),
    }
}

/// Entries read per call while a whole history is gathered for a download.
const DOWNLOAD_PAGE: usize = 500;
/// The most entries a download holds (the newest).
const DOWNLOAD_MAX: usize = 100_000;

/// `GET /wallet/history.csv`: the signed-in user's whole history (newest first, at most
/// [`DOWNLOAD_MAX`] entries) as a CSV file ([`crate::csv`]).
pub(super) async fn history_csv(ctx: Ctx, app: App) -> Result<Response, Infallible> {
    let Some(session) = ctx.session.clone() else {
        return Ok(redirect("/login"));
    };
    let result = async {
        let user = &session.user;
        let address = parse_address(&app, &user.address)
            .map_err(|e| PageError::new(StatusCode::INTERNAL_SERVER_ERROR, "Damaged account", e))?;
        let mut text = format!("{}\n", crate::csv::HEADER);
        let mut before = None;
        let mut count = 0;
        loop {
            let page = app.api.node.history(address, before, DOWNLOAD_PAGE).await?;
            count += page.items.len();
            text.push_str(&crate::csv::rows(&page.items, &user.address));
            before = page
                .next
                .as_deref()
                .and_then(chain_net::views::parse_cursor);
            if before.is_none() || count >= DOWNLOAD_MAX {
                break;
            }
        }
        let mut response = warp::reply::with_status(text, StatusCode::OK).into_response();
        let headers = response.headers_mut();
        headers.insert(
            warp::http::header::CONTENT_TYPE,
            warp::http::HeaderValue::from_static("text/csv; charset=utf-8"),
        );
        // The address is bech32 (letters and digits): a valid header value.
        if let Ok(value) = warp::http::HeaderValue::from_str(&format!(
            "attachment; filename=\"history-{}.csv\"",
            user.address
        )) {
            headers.insert(warp::http::header::CONTENT_DISPOSITION, value);
        }
        Ok(response)
    };
    respond(&ctx, &app, result.await)
}

/// `text` with its first letter upper case, to begin a sentence.
fn capitalised(text: &impl std::fmt::Display) -> String {
    let text = text.to_string();
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => text,
    }
}

pub(super) async fn send(ctx: Ctx, form: Form, app: App) -> Result<Response, Infallible> {
    let Some(session) = ctx.session.clone() else {
        return Ok(redirect("/login"));
    };
    if !ctx.csrf_ok(&form) {
        return respond(&ctx, &app, Err(PageError::csrf()));
    }
    let result = async {
        match send_transfer(&app, &session.user, &form).await? {
            Ok(txid) => Ok(redirect(&format!("/receipt/{txid}"))),
            Err((status, message)) => {
                let kept = SendForm {
                    to: form.get("to").cloned().unwrap_or_default(),
                    amount: form.get("amount").cloned().unwrap_or_default(),
                    fee: form.get("fee").cloned().unwrap_or_default(),
                    confirm_fee: status == FEE_QUESTION,
                };
                wallet_page(&ctx, &app, status, Some(message), kept, None).await
            }
        }
    };
    respond(&ctx, &app, result.await)
}

//! The HTML pages: home, register, log in/out, wallet and send, receipt, explorer (block,
//! transfer, address, charts), search and network. Handlers ask the node through its handle and
//! the user database on a blocking thread; they hold no chain logic.
//!
//! Every failure a person can cause or meet gets a page that says what happened and what to do:
//! a wrong password, an unknown address or one with a typo (its bech32m checksum), too little
//! balance, a form without its token, a node that cannot be reached.

use crate::app::App;
use crate::charts;
use crate::session::{self, Ctx, clear_session_cookie, now, session_cookie};
use crate::templates::*;
use askama::Template;
use chain_core::address::{Address, AddressError};
use chain_core::hash::{BlockHash, Txid};
use chain_core::keys::SecretKey;
use chain_core::keystore::{self, KeystoreError};
use chain_core::store::HistoryCursor;
use chain_core::tx::UnsignedTransfer;
use chain_core::units::{Amount, Height};
use chain_net::NetError;
use chain_net::views::{HistoryPage, TxLookup, TxStatus, TxView};
use chain_store::UserError;
use chain_store::users::{NewUser, User};
use std::collections::HashMap;
use std::convert::Infallible;
use warp::filters::BoxedFilter;
use warp::http::{StatusCode, header};
use warp::reply::Response;
use warp::{Filter, Rejection, Reply};

/// The stylesheet.
const CSS: &str = include_str!("../static/app.css");
/// The live-update script (a file, not inline: the CSP allows no inline script).
const JS: &str = include_str!("../static/app.js");

/// The default fee offered by the send form.
const DEFAULT_FEE: &str = "0.00001";

type Form = HashMap<String, String>;

/// A page that could not be shown, as a message page.
#[derive(Debug)]
pub(crate) struct PageError {
    status: StatusCode,
    heading: String,
    message: String,
}

impl PageError {
    fn new(status: StatusCode, heading: &str, message: impl Into<String>) -> Self {
        Self {
            status,
            heading: heading.to_string(),
            message: message.into(),
        }
    }

    fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "Not found", message)
    }

    fn csrf() -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "Form refused",
            "This form did not carry its security token (it may be old, or sent from another \
             site). Nothing was changed. Go back, reload the page and try again.",
        )
    }
}

impl From<NetError> for PageError {
    fn from(error: NetError) -> Self {
        match error {
            NetError::Stopped => Self::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "Node unreachable",
                "The node cannot be reached: it has stopped or is restarting. Try again in a \
                 moment.",
            ),
            other => {
                tracing::error!(error = %other, "node failure");
                Self::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "Node error",
                    "The node failed to answer; its log says why.",
                )
            }
        }
    }
}

impl From<UserError> for PageError {
    fn from(error: UserError) -> Self {
        tracing::error!(error = %error, "user database failure");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Server error",
            "The user database failed; the server log says why.",
        )
    }
}

fn layout(ctx: &Ctx, app: &App, title: &str, page: &'static str) -> Layout {
    Layout {
        title: title.to_string(),
        page,
        user: ctx.username(),
        csrf: ctx.csrf().to_string(),
        network: app.api.node.params().name.to_string(),
    }
}

fn html(ctx: &Ctx, status: StatusCode, template: &impl Template) -> Response {
    let body = match template.render() {
        Ok(body) => body,
        Err(e) => {
            tracing::error!(error = %e, "template failed");
            return warp::reply::with_status(
                "page failed to render",
                StatusCode::INTERNAL_SERVER_ERROR,
            )
            .into_response();
        }
    };
    let mut response = warp::reply::with_status(warp::reply::html(body), status).into_response();
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("no-store"),
    );
    ctx.finish(response)
}

fn error_page(ctx: &Ctx, app: &App, error: PageError) -> Response {
    let page = MessagePage {
        layout: layout(ctx, app, &error.heading, "message"),
        heading: error.heading,
        message: error.message,
        link_href: "/".into(),
        link_text: "Home".into(),
    };
    html(ctx, error.status, &page)
}

fn redirect(to: &str) -> Response {
    let mut response =
        warp::reply::with_status(warp::reply(), StatusCode::SEE_OTHER).into_response();
    if let Ok(value) = header::HeaderValue::from_str(to) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    response
}

fn with_cookie(mut response: Response, cookie: &str) -> Response {
    if let Ok(value) = header::HeaderValue::from_str(cookie) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    response
}

fn respond(
    ctx: &Ctx,
    app: &App,
    result: Result<Response, PageError>,
) -> Result<Response, Infallible> {
    Ok(match result {
        Ok(response) => response,
        Err(error) => error_page(ctx, app, error),
    })
}

fn age(time: u64) -> String {
    let seconds = now().saturating_sub(time);
    match seconds {
        0..=59 => format!("{seconds} s ago"),
        60..=3599 => format!("{} min ago", seconds / 60),
        3600..=86_399 => format!("{} h ago", seconds / 3600),
        _ => format!("{} days ago", seconds / 86_400),
    }
}

fn status_text(status: &TxStatus) -> String {
    match status {
        TxStatus::Pending => "pending".into(),
        TxStatus::Confirmed {
            height,
            confirmations,
            ..
        } => format!(
            "confirmed in block {height} ({confirmations} confirmation{})",
            if *confirmations == 1 { "" } else { "s" }
        ),
    }
}

fn tx_row(tx: &TxView, status: String, own: Option<&str>) -> TxRow {
    let from = tx.from.clone().unwrap_or_default();
    let direction = match own {
        Some(own) if from == own && tx.to != own => "out",
        Some(own) if tx.to == own => "in",
        _ => "",
    };
    TxRow {
        txid: tx.txid.to_string(),
        kind: tx.kind.to_string(),
        from,
        to: tx.to.clone(),
        amount: tx.amount.to_string(),
        fee: tx.fee.to_string(),
        status,
        direction,
    }
}

fn block_rows(blocks: &[chain_net::views::BlockSummary]) -> Vec<BlockRow> {
    blocks
        .iter()
        .map(|b| BlockRow {
            height: b.height.0,
            hash: b.hash.to_string(),
            age: age(b.time),
            txs: b.tx_count,
            miner: b.miner.clone(),
        })
        .collect()
}

/// A person-readable reason why an address text is refused.
fn address_problem(text: &str, error: &AddressError) -> String {
    match error {
        AddressError::BadChecksum => format!(
            "“{text}” is not a valid address: its checksum does not match, so it most likely \
             has a typo. Copy it again from its owner."
        ),
        AddressError::WrongNetwork { expected, got } => format!(
            "“{text}” is an address of another network (prefix `{got}`); this network's \
             addresses start with `{expected}`."
        ),
        other => format!("“{text}” is not a valid address: {other}."),
    }
}

fn parse_address(app: &App, text: &str) -> Result<Address, String> {
    Address::parse(text, app.api.node.params().address_prefix)
        .map_err(|e| address_problem(text, &e))
}

async fn home(ctx: Ctx, app: App) -> Result<Response, Infallible> {
    let result = async {
        let node = &app.api.node;
        let status = node.status().await?;
        let blocks = node.blocks(None, 30).await?;
        let mempool = node.mempool().await?;
        let page = HomePage {
            layout: layout(&ctx, &app, "Home", "home"),
            height: status.height.0,
            tip: status.tip.to_string(),
            difficulty: charts::format_number(status.difficulty),
            hash_rate: charts::format_rate(charts::hash_rate(&blocks)),
            peers: status.peers,
            mempool: status.mempool_transfers,
            blocks: block_rows(&blocks[..blocks.len().min(10)]),
            pending: mempool
                .iter()
                .take(10)
                .map(|p| tx_row(&p.tx, "pending".into(), None))
                .collect(),
        };
        Ok(html(&ctx, StatusCode::OK, &page))
    };
    respond(&ctx, &app, result.await)
}

fn register_page(
    ctx: &Ctx,
    app: &App,
    status: StatusCode,
    error: Option<String>,
    username: &str,
    miner: bool,
) -> Response {
    html(
        ctx,
        status,
        &RegisterPage {
            layout: layout(ctx, app, "Register", "register"),
            error,
            username: username.to_string(),
            miner,
        },
    )
}

fn login_page(
    ctx: &Ctx,
    app: &App,
    status: StatusCode,
    error: Option<String>,
    username: &str,
) -> Response {
    html(
        ctx,
        status,
        &LoginPage {
            layout: layout(ctx, app, "Log in", "login"),
            error,
            username: username.to_string(),
        },
    )
}

fn random<const N: usize>() -> Result<[u8; N], PageError> {
    let mut bytes = [0u8; N];
    getrandom::fill(&mut bytes).map_err(|e| {
        tracing::error!(error = %e, "no randomness");
        PageError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Server error",
            "The server has no randomness to make a key with.",
        )
    })?;
    Ok(bytes)
}

async fn start_miner(app: &App, user: &User) {
    let Ok(address) = Address::parse(&user.address, app.api.node.params().address_prefix) else {
        return;
    };
    match app
        .miners
        .start(user.id, &user.username, address, user.miner_port)
        .await
    {
        Ok(port) => {
            let id = user.id;
            if let Err(e) = app
                .with_users(move |u| u.set_miner(id, true, Some(port)))
                .await
            {
                tracing::error!(error = %e, "miner setting not saved");
            }
        }
        Err(e) => tracing::error!(error = %e, "user miner did not start"),
    }
}

async fn register(ctx: Ctx, form: Form, app: App) -> Result<Response, Infallible> {
    let username = form.get("username").cloned().unwrap_or_default();
    let password = form.get("password").cloned().unwrap_or_default();
    let miner = form.get("miner").is_some_and(|v| !v.is_empty());
    if !ctx.csrf_ok(&form) {
        return respond(&ctx, &app, Err(PageError::csrf()));
    }
    let result = async {
        let key = loop {
            if let Ok(key) = SecretKey::from_bytes(random()?) {
                break key;
            }
        };
        let address = key
            .public_key()
            .address()
            .to_text(app.api.node.params().address_prefix);
        let (salt, nonce) = (random::<16>()?, random::<12>()?);
        let cost = app.options.password_cost;
        let name = username.clone();
        let registered = app
            .with_users(move |users| {
                if password.chars().count() < chain_store::users::MIN_PASSWORD_CHARS {
                    return Err(UserError::WeakPassword);
                }
                let record = keystore::encrypt(&key, password.as_bytes(), salt, nonce, cost)
                    .map_err(|e| UserError::Store(chain_store::Error::Corrupt(e.to_string())))?;
                users.register(
                    &NewUser {
                        username: &name,
                        password: &password,
                        address: &address,
                        secret_key: &record,
                        wants_miner: miner,
                    },
                    now(),
                )
            })
            .await;
        let user = match registered {
            Ok(user) => user,
            Err(
                e
                @ (UserError::UsernameTaken(_) | UserError::BadUsername | UserError::WeakPassword),
            ) => {
                let status = if matches!(e, UserError::UsernameTaken(_)) {
                    StatusCode::CONFLICT
                } else {
                    StatusCode::BAD_REQUEST
                };
                return Ok(register_page(
                    &ctx,
                    &app,
                    status,
                    Some(format!("{e}.")),
                    &username,
                    miner,
                ));
            }
            Err(e) => return Err(e.into()),
        };
        if miner {
            start_miner(&app, &user).await;
        }
        let ttl = app.options.session_ttl;
        let id = user.id;
        let session = app
            .with_users(move |u| u.create_session(id, now(), ttl))
            .await?;
        Ok(with_cookie(
            redirect("/wallet"),
            &session_cookie(&session.token, ttl),
        ))
    };
    respond(&ctx, &app, result.await)
}

async fn login(ctx: Ctx, form: Form, app: App) -> Result<Response, Infallible> {
    let username = form.get("username").cloned().unwrap_or_default();
    let password = form.get("password").cloned().unwrap_or_default();
    if !ctx.csrf_ok(&form) {
        return respond(&ctx, &app, Err(PageError::csrf()));
    }
    let result = async {
        let ttl = app.options.session_ttl;
        let name = username.clone();
        let logged_in = app
            .with_users(move |users| {
                let user = users.login(&name, &password, now())?;
                users.create_session(user.id, now(), ttl)
            })
            .await;
        match logged_in {
            Ok(session) => Ok(with_cookie(
                redirect("/wallet"),
                &session_cookie(&session.token, ttl),
            )),
            Err(UserError::WrongPassword) => Ok(login_page(
                &ctx,
                &app,
                StatusCode::UNAUTHORIZED,
                Some("Wrong username or password.".into()),
                &username,
            )),
            Err(e @ UserError::Throttled { .. }) => Ok(login_page(
                &ctx,
                &app,
                StatusCode::TOO_MANY_REQUESTS,
                Some(format!("{}.", capitalise(&e.to_string()))),
                &username,
            )),
            Err(e) => Err(e.into()),
        }
    };
    respond(&ctx, &app, result.await)
}

fn capitalise(text: &str) -> String {
    let mut chars = text.chars();
    chars
        .next()
        .map(|c| c.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

async fn logout(ctx: Ctx, form: Form, app: App) -> Result<Response, Infallible> {
    if !ctx.csrf_ok(&form) {
        return respond(&ctx, &app, Err(PageError::csrf()));
    }
    if let Some(token) = ctx.session_token.clone() {
        let _ = app.with_users(move |u| u.delete_session(&token)).await;
    }
    Ok(with_cookie(redirect("/"), &clear_session_cookie()))
}

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
    let page = WalletPage {
        layout: layout(ctx, app, "Wallet", "wallet"),
        username: user.username.clone(),
        address: user.address.clone(),
        qr,
        balance: account.balance.to_string(),
        pending_in: account.pending_in.to_string(),
        pending_out: account.pending_out.to_string(),
        available: available.to_string(),
        error,
        form: SendForm {
            fee: if form.fee.is_empty() {
                DEFAULT_FEE.into()
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

async fn wallet(query: HistoryQuery, ctx: Ctx, app: App) -> Result<Response, Infallible> {
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
    if amount == Amount::ZERO {
        return bad("The amount must be more than zero.".into());
    }
    let Some(fee) = Amount::parse_coins(&field("fee")) else {
        return bad(format!(
            "“{}” is not a fee in coins (for example {DEFAULT_FEE}).",
            field("fee")
        ));
    };
    let own = parse_address(app, &user.address)
        .map_err(|e| PageError::new(StatusCode::INTERNAL_SERVER_ERROR, "Damaged account", e))?;
    let account = app.api.node.account(own).await?;
    let available = Amount(account.balance.0.saturating_sub(account.pending_out.0));
    let Some(needed) = amount.checked_add(fee) else {
        return bad("The amount plus the fee is too large.".into());
    };
    if available < needed {
        return Ok(Err((
            StatusCode::UNPROCESSABLE_ENTITY,
            format!(
                "Too little balance: {available} available ({} confirmed, {} pending out), \
                 {needed} needed (amount plus fee). Nothing was sent.",
                account.balance, account.pending_out
            ),
        )));
    }
    let password = form.get("password").cloned().unwrap_or_default();
    let record = user.secret_key.clone();
    let key = tokio::task::spawn_blocking(move || keystore::decrypt(&record, password.as_bytes()))
        .await
        .map_err(|e| {
            PageError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Server error",
                e.to_string(),
            )
        })?;
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
    let transfer = UnsignedTransfer {
        to,
        amount,
        fee,
        nonce: account.next_nonce,
        memo: Vec::new(),
    }
    .sign(&key, app.api.node.params().network_id);
    match app.api.node.submit_transfer(transfer).await? {
        Ok(txid) => Ok(Ok(txid)),
        Err(refused) => Ok(Err((
            StatusCode::UNPROCESSABLE_ENTITY,
            format!("The node refused the transfer: {refused}. Nothing was sent."),
        ))),
    }
}

async fn send(ctx: Ctx, form: Form, app: App) -> Result<Response, Infallible> {
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
                };
                wallet_page(&ctx, &app, status, Some(message), kept, None).await
            }
        }
    };
    respond(&ctx, &app, result.await)
}

async fn tx_page(ctx: &Ctx, app: &App, id: &str, receipt: bool) -> Result<Response, PageError> {
    let txid: Txid = id.parse().map_err(|_| {
        PageError::new(
            StatusCode::BAD_REQUEST,
            "Not a txid",
            "A txid is 64 hex digits.",
        )
    })?;
    let Some(TxLookup { tx, status }) = app.api.node.transfer(txid).await? else {
        return Err(PageError::not_found(format!(
            "No transfer {txid} is known to this node (neither pending nor in a block)."
        )));
    };
    let (confirmed, block_height, block_hash) = match &status {
        TxStatus::Confirmed { block, height, .. } => (true, height.0, block.to_string()),
        TxStatus::Pending => (false, 0, String::new()),
    };
    let page = TxPage {
        layout: layout(ctx, app, if receipt { "Receipt" } else { "Transfer" }, "tx"),
        receipt,
        tx: tx_row(&tx, status_text(&status), None),
        confirmed,
        block_height,
        block_hash,
        memo: tx.memo.clone(),
    };
    Ok(html(ctx, StatusCode::OK, &page))
}

async fn receipt(id: String, ctx: Ctx, app: App) -> Result<Response, Infallible> {
    let result = tx_page(&ctx, &app, &id, true).await;
    respond(&ctx, &app, result)
}

async fn transfer(id: String, ctx: Ctx, app: App) -> Result<Response, Infallible> {
    let result = tx_page(&ctx, &app, &id, false).await;
    respond(&ctx, &app, result)
}

async fn block(id: String, ctx: Ctx, app: App) -> Result<Response, Infallible> {
    let result = async {
        let node = &app.api.node;
        let found = if let Ok(height) = id.parse::<u64>() {
            node.block_at(Height(height)).await?
        } else if let Ok(hash) = id.parse::<BlockHash>() {
            node.block_by_hash(hash).await?
        } else {
            return Err(PageError::new(
                StatusCode::BAD_REQUEST,
                "Not a block",
                "A block is named by its height or its 64-digit hash.",
            ));
        };
        let block = found
            .ok_or_else(|| PageError::not_found(format!("No block {id} on this node's chain.")))?;
        let s = &block.summary;
        let page = BlockPage {
            layout: layout(&ctx, &app, &format!("Block {}", s.height), "block"),
            height: s.height.0,
            hash: s.hash.to_string(),
            prev_hash: block.prev_hash.to_string(),
            age: age(s.time),
            time: s.time,
            difficulty: charts::format_number(s.difficulty),
            bits: block.bits.clone(),
            nonce: block.nonce,
            size: s.size,
            merkle_root: block.merkle_root.clone(),
            confirmations: block.confirmations,
            in_best_chain: block.in_best_chain,
            txs: block
                .txs
                .iter()
                .map(|tx| tx_row(tx, format!("block {}", s.height), None))
                .collect(),
        };
        Ok(html(&ctx, StatusCode::OK, &page))
    };
    respond(&ctx, &app, result.await)
}

async fn address(
    id: String,
    query: HistoryQuery,
    ctx: Ctx,
    app: App,
) -> Result<Response, Infallible> {
    let result = async {
        let address = parse_address(&app, &id).map_err(|message| {
            PageError::new(StatusCode::BAD_REQUEST, "Not an address", message)
        })?;
        let before = query.cursor()?;
        let node = &app.api.node;
        let account = node.account(address).await?;
        let history = node.history(address, before, HISTORY_PAGE).await?;
        let text = address.to_text(node.params().address_prefix);
        let page = AddressPage {
            layout: layout(&ctx, &app, "Address", "address"),
            balance: account.balance.to_string(),
            pending_in: account.pending_in.to_string(),
            pending_out: account.pending_out.to_string(),
            nonce: account.nonce,
            history: history
                .items
                .iter()
                .map(|item| {
                    tx_row(
                        &item.tx,
                        format!("block {} · {} conf.", item.height, item.confirmations),
                        Some(&text),
                    )
                })
                .collect(),
            paging: Paging::of(&history, before),
            address: text,
        };
        Ok(html(&ctx, StatusCode::OK, &page))
    };
    respond(&ctx, &app, result.await)
}

async fn explorer(ctx: Ctx, app: App) -> Result<Response, Infallible> {
    let result = async {
        let blocks = app.api.node.blocks(None, 100).await?;
        let charts = charts::charts(&blocks);
        let page = ExplorerPage {
            layout: layout(&ctx, &app, "Explorer", "explorer"),
            block_time_chart: charts.block_time,
            difficulty_chart: charts.difficulty,
            hash_rate_chart: charts.hash_rate,
            hash_rate: charts::format_rate(charts::hash_rate(&blocks)),
            blocks: block_rows(&blocks[..blocks.len().min(20)]),
        };
        Ok(html(&ctx, StatusCode::OK, &page))
    };
    respond(&ctx, &app, result.await)
}

/// History rows a wallet or address page shows at once.
const HISTORY_PAGE: usize = 25;

/// `?before=<cursor>`: a history page below the cursor the previous page gave.
#[derive(Debug, serde::Deserialize)]
struct HistoryQuery {
    before: Option<String>,
}

impl HistoryQuery {
    fn cursor(&self) -> Result<Option<HistoryCursor>, PageError> {
        match &self.before {
            None => Ok(None),
            Some(text) => chain_net::views::parse_cursor(text)
                .map(Some)
                .ok_or_else(|| {
                    PageError::new(
                        StatusCode::BAD_REQUEST,
                        "Not a history position",
                        "This link does not point into a history; go back to its first page.",
                    )
                }),
        }
    }
}

impl Paging {
    fn of(page: &HistoryPage, before: Option<HistoryCursor>) -> Self {
        Self {
            older: page.next.clone(),
            first: before.is_none(),
        }
    }
}

#[derive(Debug, serde::Deserialize)]
struct SearchQuery {
    q: Option<String>,
}

async fn search(query: SearchQuery, ctx: Ctx, app: App) -> Result<Response, Infallible> {
    let result = async {
        let q = query.q.unwrap_or_default().trim().to_string();
        if q.is_empty() {
            return Ok(redirect("/"));
        }
        if q.bytes().all(|b| b.is_ascii_digit()) {
            return Ok(redirect(&format!("/block/{q}")));
        }
        if q.len() == 64 && q.bytes().all(|b| b.is_ascii_hexdigit()) {
            let node = &app.api.node;
            if let Ok(hash) = q.parse::<BlockHash>()
                && node.block_by_hash(hash).await?.is_some()
            {
                return Ok(redirect(&format!("/block/{hash}")));
            }
            if let Ok(txid) = q.parse::<Txid>()
                && node.transfer(txid).await?.is_some()
            {
                return Ok(redirect(&format!("/tx/{txid}")));
            }
            return Err(PageError::not_found(format!(
                "No block or transfer has the hash {q}."
            )));
        }
        match parse_address(&app, &q) {
            Ok(address) => Ok(redirect(&format!(
                "/address/{}",
                address.to_text(app.api.node.params().address_prefix)
            ))),
            Err(problem) => Err(PageError::new(
                StatusCode::BAD_REQUEST,
                "Nothing found",
                format!("Search takes a height, a block hash, a txid or an address. {problem}"),
            )),
        }
    };
    respond(&ctx, &app, result.await)
}

async fn network(ctx: Ctx, app: App) -> Result<Response, Infallible> {
    let result = async {
        let node = &app.api.node;
        let status = node.status().await?;
        let peers = node.peers().await?;
        let own_id = ctx.session.as_ref().map(|s| s.user.id);
        let miners = app.miners.list().await;
        let own_miner = match own_id {
            Some(id) => Some(app.miners.is_running(id).await),
            None => None,
        };
        let page = NetworkPage {
            layout: layout(&ctx, &app, "Network", "network"),
            height: status.height.0,
            listen: status.listen.clone().unwrap_or_else(|| "nowhere".into()),
            node_mining: if status.mining.enabled {
                format!("yes, {}", charts::format_rate(status.mining.hash_rate))
            } else {
                "no".into()
            },
            peers: peers
                .iter()
                .map(|p| PeerRow {
                    addr: p.addr.clone(),
                    direction: p.direction.to_string(),
                    height: p.best_height.0,
                    agent: p.agent.clone(),
                    ready: p.ready,
                })
                .collect(),
            miners: miners
                .into_iter()
                .map(|m| MinerRow {
                    own: Some(m.user_id) == own_id,
                    username: m.username,
                    address: m.address,
                    listen: m.listen.map(|a| a.to_string()).unwrap_or_default(),
                    height: m
                        .status
                        .as_ref()
                        .map(|s| s.height.to_string())
                        .unwrap_or_else(|| "–".into()),
                    hash_rate: m
                        .status
                        .as_ref()
                        .map(|s| charts::format_rate(s.mining.hash_rate))
                        .unwrap_or_else(|| "–".into()),
                    blocks_found: m
                        .status
                        .as_ref()
                        .map(|s| s.mining.blocks_found.to_string())
                        .unwrap_or_else(|| "–".into()),
                    state: match &m.status {
                        None => "not answering".into(),
                        Some(s) if s.syncing => "syncing".into(),
                        Some(s) if s.mining.enabled => "mining".into(),
                        Some(_) => "idle".into(),
                    },
                })
                .collect(),
            own_miner,
        };
        Ok(html(&ctx, StatusCode::OK, &page))
    };
    respond(&ctx, &app, result.await)
}

async fn toggle_miner(ctx: Ctx, form: Form, app: App) -> Result<Response, Infallible> {
    let Some(session) = ctx.session.clone() else {
        return Ok(redirect("/login"));
    };
    if !ctx.csrf_ok(&form) {
        return respond(&ctx, &app, Err(PageError::csrf()));
    }
    let user = session.user;
    match form.get("action").map(String::as_str) {
        Some("start") => start_miner(&app, &user).await,
        Some("stop") => {
            app.miners.stop(user.id).await;
            let id = user.id;
            if let Err(e) = app.with_users(move |u| u.set_miner(id, false, None)).await {
                return respond(&ctx, &app, Err(e.into()));
            }
        }
        _ => {
            return respond(
                &ctx,
                &app,
                Err(PageError::new(
                    StatusCode::BAD_REQUEST,
                    "Unknown action",
                    "The miner can be started or stopped.",
                )),
            );
        }
    }
    Ok(redirect("/network"))
}

/// Turns rejections of page routes into message pages.
pub(crate) async fn recover(rejection: Rejection) -> Result<Response, Infallible> {
    // warp reports "method not allowed" when any route of another method matched the path
    // prefix, also for paths that exist nowhere: both are "no such page" to a person.
    let (status, heading, message) = if rejection.is_not_found()
        || rejection.find::<warp::reject::MethodNotAllowed>().is_some()
    {
        (
            StatusCode::NOT_FOUND,
            "Not found",
            "There is no page at this address.",
        )
    } else if rejection.find::<warp::reject::PayloadTooLarge>().is_some() {
        (
            StatusCode::PAYLOAD_TOO_LARGE,
            "Too large",
            "The form sent is too large.",
        )
    } else {
        (
            StatusCode::BAD_REQUEST,
            "Bad request",
            "The request could not be understood.",
        )
    };
    let body = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{heading}</title>\
         <link rel=\"stylesheet\" href=\"/static/app.css\"></head><body><main><section class=\"panel narrow\">\
         <h1>{heading}</h1><p>{message}</p><p><a class=\"button\" href=\"/\">Home</a></p></section></main></body></html>"
    );
    let response = warp::reply::with_status(warp::reply::html(body), status).into_response();
    if crate::error::body_left_unread(&rejection) {
        return Ok(crate::error::closing_connection(response));
    }
    Ok(response)
}

fn static_file(body: &'static str, content_type: &'static str) -> Response {
    let mut response = Response::new(body.into());
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static(content_type),
    );
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("max-age=300"),
    );
    response
}

/// Every page route.
pub(crate) fn routes(app: App) -> BoxedFilter<(Response,)> {
    let with = {
        let app = app.clone();
        move || {
            let app = app.clone();
            warp::any().map(move || app.clone())
        }
    };
    let ctx = session::context(app.clone());
    let form = warp::body::content_length_limit(16 * 1024).and(warp::body::form::<Form>());
    let get = warp::get();
    let post = warp::post();

    let css = get
        .and(warp::path!("static" / "app.css"))
        .map(|| static_file(CSS, "text/css; charset=utf-8"))
        .boxed();
    let js = get
        .and(warp::path!("static" / "app.js"))
        .map(|| static_file(JS, "text/javascript; charset=utf-8"))
        .boxed();
    let home = get
        .and(warp::path::end())
        .and(ctx.clone())
        .and(with())
        .and_then(home)
        .boxed();
    let register_form = get
        .and(warp::path!("register"))
        .and(ctx.clone())
        .and(with())
        .map(|ctx: Ctx, app: App| register_page(&ctx, &app, StatusCode::OK, None, "", false))
        .boxed();
    let register = post
        .and(warp::path!("register"))
        .and(ctx.clone())
        .and(form)
        .and(with())
        .and_then(register)
        .boxed();
    let login_form = get
        .and(warp::path!("login"))
        .and(ctx.clone())
        .and(with())
        .map(|ctx: Ctx, app: App| login_page(&ctx, &app, StatusCode::OK, None, ""))
        .boxed();
    let login = post
        .and(warp::path!("login"))
        .and(ctx.clone())
        .and(form)
        .and(with())
        .and_then(login)
        .boxed();
    let logout = post
        .and(warp::path!("logout"))
        .and(ctx.clone())
        .and(form)
        .and(with())
        .and_then(logout)
        .boxed();
    let wallet = get
        .and(warp::path!("wallet"))
        .and(warp::query::<HistoryQuery>())
        .and(ctx.clone())
        .and(with())
        .and_then(wallet)
        .boxed();
    let send = post
        .and(warp::path!("wallet" / "send"))
        .and(ctx.clone())
        .and(form)
        .and(with())
        .and_then(send)
        .boxed();
    let receipt = get
        .and(warp::path!("receipt" / String))
        .and(ctx.clone())
        .and(with())
        .and_then(receipt)
        .boxed();
    let transfer = get
        .and(warp::path!("tx" / String))
        .and(ctx.clone())
        .and(with())
        .and_then(transfer)
        .boxed();
    let block = get
        .and(warp::path!("block" / String))
        .and(ctx.clone())
        .and(with())
        .and_then(block)
        .boxed();
    let address = get
        .and(warp::path!("address" / String))
        .and(warp::query::<HistoryQuery>())
        .and(ctx.clone())
        .and(with())
        .and_then(address)
        .boxed();
    let explorer = get
        .and(warp::path!("explorer"))
        .and(ctx.clone())
        .and(with())
        .and_then(explorer)
        .boxed();
    let search = get
        .and(warp::path!("search"))
        .and(warp::query::<SearchQuery>())
        .and(ctx.clone())
        .and(with())
        .and_then(search)
        .boxed();
    let network = get
        .and(warp::path!("network"))
        .and(ctx.clone())
        .and(with())
        .and_then(network)
        .boxed();
    let toggle = post
        .and(warp::path!("network" / "miner"))
        .and(ctx)
        .and(form)
        .and(with())
        .and_then(toggle_miner)
        .boxed();

    css.or(js)
        .unify()
        .or(home)
        .unify()
        .or(register_form)
        .unify()
        .or(register)
        .unify()
        .or(login_form)
        .unify()
        .or(login)
        .unify()
        .or(logout)
        .unify()
        .or(wallet)
        .unify()
        .or(send)
        .unify()
        .or(receipt)
        .unify()
        .or(transfer)
        .unify()
        .or(block)
        .unify()
        .or(address)
        .unify()
        .or(explorer)
        .unify()
        .or(search)
        .unify()
        .or(network)
        .unify()
        .or(toggle)
        .unify()
        .boxed()
}

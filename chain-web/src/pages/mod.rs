//! The HTML pages: home, register, log in/out, wallet and send, receipt, explorer (block,
//! transfer, address, charts), search and network. Handlers ask the node through its handle and
//! the user database on a blocking thread; they hold no chain logic.
//!
//! Every failure a person can cause or meet gets a page that says what happened and what to do:
//! a wrong password, an unknown address or one with a typo (its bech32m checksum), too little
//! balance, a form without its token, a node that cannot be reached.
//!
//! The pages live in one submodule a group, so each file reads as one idea: `account` (register,
//! log in, log out), `wallet` (the wallet and its send form), `explorer` (home, blocks,
//! transfers and receipts, addresses, charts, search), `network` (peers and miners, a user's own
//! miner) and `history` (the paging both the wallet and the address pages use). This module
//! holds what they share: the page layout, the error page and [`PageError`], responses
//! (redirects, cookies, static files), transfer rows and address parsing, and the route table,
//! kept in one place so every path the app answers can be read at once.

mod account;
mod explorer;
mod history;
mod network;
mod wallet;

use crate::app::App;
use crate::session::{self, Ctx};
use crate::templates::*;
use account::{login, login_page, logout, register, register_page};
use askama::Template;
use chain_core::address::{Address, AddressError};
use chain_net::NetError;
use chain_net::views::TxView;
use chain_store::UserError;
use explorer::{SearchQuery, address, block, explorer, home, receipt, search, transfer};
use history::HistoryQuery;
use network::{network, toggle_miner};
use std::collections::HashMap;
use std::convert::Infallible;
use wallet::{history_csv, send, wallet};
use warp::filters::BoxedFilter;
use warp::http::{StatusCode, header};
use warp::reply::Response;
use warp::{Filter, Rejection, Reply};

/// The stylesheet.
const CSS: &str = include_str!("../../static/app.css");
/// The live-update script (a file, not inline: the CSP allows no inline script).
const JS: &str = include_str!("../../static/app.js");

type Form = HashMap<String, String>;

/// A page that could not be shown, as a message page.
#[derive(Debug)]
pub(crate) struct PageError {
    status: StatusCode,
    heading: String,
    message: String,
    /// Seconds after which to try again (`Retry-After`).
    retry_after: Option<u64>,
}

impl PageError {
    fn new(status: StatusCode, heading: &str, message: impl Into<String>) -> Self {
        Self {
            status,
            heading: heading.to_string(),
            message: message.into(),
            retry_after: None,
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

impl From<crate::kdf_gate::Busy> for PageError {
    fn from(_: crate::kdf_gate::Busy) -> Self {
        Self {
            retry_after: Some(1),
            ..Self::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "Busy",
                "The server is checking many passwords at the moment. Nothing was changed; try \
                 again in a second.",
            )
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
    let mut response = html(ctx, error.status, &page);
    if let Some(seconds) = error.retry_after {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, header::HeaderValue::from(seconds));
    }
    response
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

/// Turns rejections of page routes into message pages.
pub(crate) async fn recover(rejection: Rejection) -> Result<Response, Infallible> {
    let too_many = rejection.find::<crate::throttle::TooManyRequests>();
    // A rejection combines the reasons of every route tried: the body's own fault, found only
    // by the route whose path and method matched, comes first. warp reports "method not
    // allowed" when any route of another method matched the path prefix, also for paths that
    // exist nowhere: both are "no such page" to a person.
    let (status, heading, message) = if let Some(too_many) = too_many {
        (
            StatusCode::TOO_MANY_REQUESTS,
            "Too many requests",
            format!(
                "Too many requests from your address; try again in {} seconds.",
                too_many.retry_after
            ),
        )
    } else if rejection.find::<warp::reject::PayloadTooLarge>().is_some() {
        (
            StatusCode::PAYLOAD_TOO_LARGE,
            "Too large",
            "The form sent is too large.".into(),
        )
    } else if rejection.find::<NotAForm>().is_some() {
        (
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "Not a form",
            "This address takes an HTML form (application/x-www-form-urlencoded): send it from \
             the page."
                .into(),
        )
    } else if rejection
        .find::<warp::filters::body::BodyDeserializeError>()
        .is_some()
        || rejection
            .find::<warp::reject::UnsupportedMediaType>()
            .is_some()
        || rejection.find::<warp::reject::LengthRequired>().is_some()
    {
        (
            StatusCode::BAD_REQUEST,
            "Bad request",
            "The form could not be read: send it from the page.".into(),
        )
    } else if rejection.is_not_found()
        || rejection.find::<warp::reject::MethodNotAllowed>().is_some()
    {
        (
            StatusCode::NOT_FOUND,
            "Not found",
            "There is no page at this address.".into(),
        )
    } else {
        (
            StatusCode::BAD_REQUEST,
            "Bad request",
            "The request could not be understood.".into(),
        )
    };
    let body = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{heading}</title>\
         <link rel=\"stylesheet\" href=\"/static/app.css\"></head><body><main><section class=\"panel narrow\">\
         <h1>{heading}</h1><p>{message}</p><p><a class=\"button\" href=\"/\">Home</a></p></section></main></body></html>"
    );
    let mut response = warp::reply::with_status(warp::reply::html(body), status).into_response();
    if let Some(too_many) = too_many
        && let Ok(value) = header::HeaderValue::from_str(&too_many.retry_after.to_string())
    {
        response.headers_mut().insert(header::RETRY_AFTER, value);
    }
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

/// A body that is not an HTML form (`application/x-www-form-urlencoded`, as every page's form
/// sends it): 415, before the body is read.
#[derive(Debug)]
struct NotAForm;

impl warp::reject::Reject for NotAForm {}

/// A page form's fields: a urlencoded body of at most 16 KiB.
fn form_body() -> impl Filter<Extract = (Form,), Error = Rejection> + Copy {
    warp::header::optional::<String>("content-type")
        .and_then(|content_type: Option<String>| async move {
            let essence = content_type.as_deref().unwrap_or_default();
            let essence = essence.split(';').next().unwrap_or_default().trim();
            if essence.eq_ignore_ascii_case("application/x-www-form-urlencoded") {
                Ok(())
            } else {
                Err(warp::reject::custom(NotAForm))
            }
        })
        .untuple_one()
        .and(warp::body::content_length_limit(16 * 1024))
        .and(warp::body::form::<Form>())
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
    let form = form_body();
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
        .and(app.limits.register.filter())
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
        .and(app.limits.login.filter())
        .and(ctx.clone())
        .and(form)
        .and(with())
        .and(warp::ext::optional::<crate::ClientAddr>())
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
    let wallet_csv = get
        .and(warp::path!("wallet" / "history.csv"))
        .and(ctx.clone())
        .and(with())
        .and_then(history_csv)
        .boxed();
    let send = post
        .and(warp::path!("wallet" / "send"))
        .and(app.limits.send.filter())
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
        .or(wallet_csv)
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

//! The JSON API under `/api/v1`, described by `openapi.json` (served at `/api/v1/openapi.json`).
//!
//! Reads are open, and so is `POST /transfers`: a signed transfer carries its own authority, so
//! any wallet may broadcast through any node. The operator's routes (mining, peers) need
//! `Authorization: Bearer <token>` when the server has a token (the node writes it to
//! `api-token` in its data directory). Every state-changing request without the token, refused
//! or not, counts against its client address's quota ([`ApiState::with_write_quota`]): the
//! mempool is still the node's to protect, and guessing the token is slowed too. The operator
//! is not limited.

use crate::ClientAddr;
pub use crate::contract::{AddPeerBody, MiningBody, PageQuery, SubmitBody};
use crate::contract::{PeerAdded, Submitted};
use crate::error::ApiError;
use crate::throttle::{Limit, TooManyRequests};
use chain_core::address::Address;
use chain_core::encode::Decode;
use chain_core::hash::{BlockHash, Txid};
use chain_core::tx::Transfer;
use chain_core::units::Height;
use chain_net::{MiningConfig, NodeHandle};
use serde::Serialize;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;
use warp::http::StatusCode;
use warp::reply::Response;
use warp::{Filter, Rejection, Reply};

/// The OpenAPI document of this API.
pub const OPENAPI: &str = include_str!("openapi.json");

/// What the API serves.
#[derive(Clone)]
pub struct ApiState {
    /// The node.
    pub node: NodeHandle,
    /// The bearer token state-changing routes need (`None`: no token needed).
    pub token: Option<Arc<str>>,
    /// State-changing requests without the token, per client address (`None`: unlimited).
    writes: Option<Limit>,
    /// What `GET /metrics` shows.
    pub metrics: Arc<crate::metrics::Metrics>,
}

/// State-changing API requests a client address may make a minute without the token, by
/// default.
pub const DEFAULT_WRITES_PER_MINUTE: u32 = 60;

impl ApiState {
    /// The API of `node`, its state-changing routes behind `token` (`None`: open) and limited
    /// to [`DEFAULT_WRITES_PER_MINUTE`] per client address for requests without the token.
    pub fn new(node: NodeHandle, token: Option<Arc<str>>) -> Self {
        Self {
            node,
            token,
            writes: None,
            metrics: Arc::default(),
        }
        .with_write_quota(Some(DEFAULT_WRITES_PER_MINUTE))
    }

    /// Sets how many state-changing requests a minute a client address may make without the
    /// token (`None`: no limit, for a load harness that posts from one address).
    #[must_use]
    pub fn with_write_quota(mut self, per_minute: Option<u32>) -> Self {
        self.writes = per_minute.map(|count| Limit::new(count, Duration::from_secs(60)));
        self
    }
}

fn ok<T: Serialize>(value: &T) -> Response {
    warp::reply::json(value).into_response()
}

fn respond<T: Serialize>(result: Result<T, ApiError>) -> Result<Response, Infallible> {
    Ok(match result {
        Ok(value) => ok(&value),
        Err(error) => error.reply().into_response(),
    })
}

fn parse_address(text: &str, node: &NodeHandle) -> Result<Address, ApiError> {
    parse_address_for(text, node.params().address_prefix)
}

fn parse_address_for(text: &str, prefix: &str) -> Result<Address, ApiError> {
    Address::parse(text, prefix).map_err(|e| ApiError::bad_request("bad_address", e.to_string()))
}

fn parse_txid(text: &str) -> Result<Txid, ApiError> {
    text.parse()
        .map_err(|_| ApiError::bad_request("bad_txid", "a txid is 64 hex digits"))
}

/// How long `POST /peers` waits for a host name to resolve.
const PEER_LOOKUP_TIMEOUT: Duration = Duration::from_secs(5);

/// The transfer a `POST /transfers` body carries: hex (either case, surrounding whitespace
/// allowed) of its canonical encoding. Pure, so that the route and the fuzz target
/// `api_transfer_body` run the same code on the same bytes.
///
/// # Errors
///
/// `malformed_transfer` when the text is not hex or the bytes are not a transfer.
pub fn parse_submit_body(body: &SubmitBody) -> Result<Transfer, ApiError> {
    let bytes = chain_core::hash::from_hex(body.transfer.trim())
        .ok_or_else(|| ApiError::bad_request("malformed_transfer", "`transfer` must be hex"))?;
    Transfer::from_bytes(&bytes)
        .map_err(|e| ApiError::bad_request("malformed_transfer", e.to_string()))
}

/// What a `POST /mining` body asks for on a network whose addresses carry `prefix`: `None` to
/// stop, else the paid address and the thread count (clamped to `1..=64`, default 1). Pure, so
/// that the route and the fuzz target `api_mining_body` run the same code.
///
/// # Errors
///
/// `missing_address` when mining is enabled without an address, `bad_address` when the address
/// is not one of this network.
pub fn parse_mining_body(body: MiningBody, prefix: &str) -> Result<Option<MiningConfig>, ApiError> {
    if !body.enabled {
        return Ok(None);
    }
    let text = body
        .address
        .ok_or_else(|| ApiError::bad_request("missing_address", "mining needs an address"))?;
    Ok(Some(MiningConfig {
        address: parse_address_for(&text, prefix)?,
        threads: body.threads.unwrap_or(1).clamp(1, 64),
    }))
}

async fn status(state: ApiState) -> Result<Response, Infallible> {
    respond(state.node.status().await.map_err(ApiError::from))
}

async fn blocks(query: PageQuery, state: ApiState) -> Result<Response, Infallible> {
    let result = async {
        let before = match &query.before {
            Some(text) => Some(Height(text.parse().map_err(|_| {
                ApiError::bad_request("bad_height", "`before` is a block height")
            })?)),
            None => None,
        };
        Ok(state.node.blocks(before, query.limit.unwrap_or(20)).await?)
    };
    respond(result.await)
}

async fn block(id: String, state: ApiState) -> Result<Response, Infallible> {
    let result = async {
        let found = if let Ok(height) = id.parse::<u64>() {
            state.node.block_at(Height(height)).await?
        } else if let Ok(hash) = id.parse::<BlockHash>() {
            state.node.block_by_hash(hash).await?
        } else {
            return Err(ApiError::bad_request(
                "bad_block_id",
                "a block is a height or a 64-digit hash",
            ));
        };
        found.ok_or_else(|| ApiError::not_found(format!("block {id}")))
    };
    respond(result.await)
}

async fn transfer(id: String, state: ApiState) -> Result<Response, Infallible> {
    let result = async {
        let txid = parse_txid(&id)?;
        match state.node.transfer(txid).await? {
            Some(found) => Ok(found),
            None => Err(unindexed_or_not_found(&state.node, format!("transfer {id}")).await),
        }
    };
    respond(result.await)
}

async fn proof(id: String, state: ApiState) -> Result<Response, Infallible> {
    let result = async {
        let txid = parse_txid(&id)?;
        match state.node.proof(txid).await? {
            Some(proof) => Ok(proof),
            None => {
                let what = format!("confirmed transfer {id}");
                Err(unindexed_or_not_found(&state.node, what).await)
            }
        }
    };
    respond(result.await)
}

/// 404 for a transfer the node cannot find. Lookups by txid go through the node's txid index,
/// which lags the tip for a moment after a sync (`indexed_height` in the status); meanwhile the
/// answer says so, since the transfer may be in a block not indexed yet.
async fn unindexed_or_not_found(node: &NodeHandle, what: String) -> ApiError {
    not_found_at(what, index_lag(node).await)
}

/// While the node's lookup indexes catch up after a sync: the height they reach, and the tip.
pub(crate) async fn index_lag(node: &NodeHandle) -> Option<(Height, Height)> {
    let status = node.status().await.ok()?;
    (status.indexed_height < status.height).then_some((status.indexed_height, status.height))
}

fn not_found_at(what: String, index_lag: Option<(Height, Height)>) -> ApiError {
    match index_lag {
        Some((indexed, tip)) => ApiError::new(
            404,
            "not_found",
            format!(
                "{what} not found up to height {indexed}; this node has not indexed blocks {} \
                 to {tip} yet (it indexes them once a sync is over): ask again later",
                indexed.0 + 1
            ),
        ),
        _ => ApiError::not_found(what),
    }
}

async fn account(id: String, state: ApiState) -> Result<Response, Infallible> {
    let result = async {
        let address = parse_address(&id, &state.node)?;
        Ok(state.node.account(address).await?)
    };
    respond(result.await)
}

async fn history(id: String, query: PageQuery, state: ApiState) -> Result<Response, Infallible> {
    let result = async {
        let address = parse_address(&id, &state.node)?;
        let before = match &query.before {
            Some(text) => Some(chain_net::views::parse_cursor(text).ok_or_else(|| {
                ApiError::bad_request(
                    "bad_cursor",
                    "`before` is the `next` value of the previous page",
                )
            })?),
            None => None,
        };
        Ok(state
            .node
            .history(address, before, query.limit.unwrap_or(20))
            .await?)
    };
    respond(result.await)
}

async fn mempool(state: ApiState) -> Result<Response, Infallible> {
    respond(state.node.mempool().await.map_err(ApiError::from))
}

async fn fees(state: ApiState) -> Result<Response, Infallible> {
    respond(state.node.fees().await.map_err(ApiError::from))
}

async fn peers(state: ApiState) -> Result<Response, Infallible> {
    respond(state.node.peers().await.map_err(ApiError::from))
}

async fn submit(body: SubmitBody, state: ApiState) -> Result<Response, Infallible> {
    let result = async {
        let transfer = parse_submit_body(&body)?;
        match state.node.submit_transfer(transfer).await? {
            Ok(txid) => Ok(Submitted { txid }),
            Err(refused) => Err(ApiError::from(refused)),
        }
    };
    Ok(match result.await {
        Ok(submitted) => {
            warp::reply::with_status(warp::reply::json(&submitted), StatusCode::ACCEPTED)
                .into_response()
        }
        Err(error) => error.reply().into_response(),
    })
}

async fn set_mining(body: MiningBody, state: ApiState) -> Result<Response, Infallible> {
    let result = async {
        let config = parse_mining_body(body, state.node.params().address_prefix)?;
        state.node.set_mining(config).await?;
        Ok(state.node.status().await?.mining)
    };
    respond(result.await)
}

async fn add_peer(body: AddPeerBody, state: ApiState) -> Result<Response, Infallible> {
    let result = async {
        let name: chain_net::PeerName = body
            .peer
            .parse()
            .map_err(|e: chain_net::BadPeer| ApiError::bad_request("bad_peer", e.to_string()))?;
        let addresses = name.resolve(PEER_LOOKUP_TIMEOUT).await.map_err(|error| {
            let message = if error.kind() == std::io::ErrorKind::TimedOut {
                error.to_string()
            } else {
                format!("{name} does not resolve: {error}")
            };
            ApiError::new(422, "peer_not_found", message)
        })?;
        for addr in &addresses {
            state.node.add_peer(*addr).await?;
        }
        Ok::<_, ApiError>(PeerAdded {
            peer: name.to_string(),
            addresses: addresses.iter().map(ToString::to_string).collect(),
        })
    };
    Ok(match result.await {
        Ok(added) => warp::reply::with_status(warp::reply::json(&added), StatusCode::ACCEPTED)
            .into_response(),
        Err(error) => error.reply().into_response(),
    })
}

/// Who may call a state-changing route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Caller {
    /// The operator: the token is needed (when the server has one).
    Operator,
    /// Anyone: the request itself proves its right (a signed transfer).
    Anyone,
}

/// Passes a request with the operator's token; any other request counts against its client's
/// quota first, then passes if `caller` is [`Caller::Anyone`] or the server has no token.
fn guarded(
    state: ApiState,
    caller: Caller,
) -> impl Filter<Extract = (), Error = Rejection> + Clone {
    warp::header::optional::<String>("authorization")
        .and(warp::ext::optional::<ClientAddr>())
        .and(warp::any().map(move || state.clone()))
        .and_then(
            move |header: Option<String>, client: Option<ClientAddr>, state: ApiState| async move {
                let bearer = header.as_deref().and_then(|h| h.strip_prefix("Bearer "));
                let has_token = match (&state.token, bearer) {
                    (Some(token), Some(given)) => crate::session::same(token, given),
                    _ => false,
                };
                if has_token {
                    return Ok(());
                }
                if let (Some(limit), Some(client)) = (&state.writes, client) {
                    limit.check(client.0.ip()).map_err(warp::reject::custom)?;
                }
                match (caller, &state.token) {
                    (Caller::Anyone, _) | (Caller::Operator, None) => Ok(()),
                    (Caller::Operator, Some(_)) => Err(warp::reject::custom(Unauthorized)),
                }
            },
        )
        .untuple_one()
}

#[derive(Debug)]
struct Unauthorized;
impl warp::reject::Reject for Unauthorized {}

/// Turns rejections (unknown route, bad body, missing token) into JSON errors.
pub async fn recover(rejection: Rejection) -> Result<Response, Infallible> {
    // A rejection may combine the reasons of several routes: the most specific one answers.
    if let Some(too_many) = rejection.find::<TooManyRequests>() {
        let error = ApiError::new(
            429,
            "too_many_requests",
            format!(
                "too many requests from your address without the API token; try again in {} \
                 seconds",
                too_many.retry_after
            ),
        );
        let mut response = crate::error::closing_connection(error.reply().into_response());
        response.headers_mut().insert(
            warp::http::header::RETRY_AFTER,
            warp::http::HeaderValue::from(too_many.retry_after),
        );
        return Ok(response);
    }
    let error = if rejection.find::<Unauthorized>().is_some() {
        ApiError::new(
            401,
            "unauthorized",
            "this route needs `Authorization: Bearer <api token>`",
        )
    } else if let Some(e) = rejection.find::<warp::filters::body::BodyDeserializeError>() {
        ApiError::bad_request("bad_body", e.to_string())
    } else if rejection.find::<warp::reject::PayloadTooLarge>().is_some() {
        ApiError::new(413, "payload_too_large", "the body is too large")
    } else if rejection.find::<warp::reject::InvalidQuery>().is_some() {
        ApiError::bad_request("bad_query", "the query string is not valid")
    } else if rejection
        .find::<warp::reject::UnsupportedMediaType>()
        .is_some()
    {
        ApiError::new(
            415,
            "unsupported_media_type",
            "the body must be `application/json`",
        )
    } else if rejection.find::<warp::reject::LengthRequired>().is_some() {
        ApiError::new(411, "length_required", "the body needs a content length")
    } else if rejection.find::<warp::reject::MethodNotAllowed>().is_some() {
        ApiError::new(
            405,
            "method_not_allowed",
            "method not allowed on this route",
        )
    } else if rejection.is_not_found() {
        ApiError::not_found("route")
    } else {
        ApiError::bad_request("bad_request", "the request is not valid")
    };
    let response = error.reply().into_response();
    if crate::error::body_left_unread(&rejection) {
        return Ok(crate::error::closing_connection(response));
    }
    Ok(response)
}

/// Every API route under `/api/v1`.
pub fn routes(state: ApiState) -> impl Filter<Extract = (Response,), Error = Rejection> + Clone {
    let with = {
        let state = state.clone();
        move || {
            let state = state.clone();
            warp::any().map(move || state.clone())
        }
    };
    let api = warp::path("api").and(warp::path("v1"));
    // The path comes before the method in every route: warp keeps the most specific rejection of
    // all the routes tried, and a method checked first would answer 405 for every unknown path
    // and hide a route's own 400 or 413.
    let get = warp::get();
    let json_body = warp::body::content_length_limit(64 * 1024).and(warp::body::json());

    let status = warp::path!("status").and(get).and(with()).and_then(status);
    let blocks = warp::path!("blocks")
        .and(get)
        .and(warp::query::<PageQuery>())
        .and(with())
        .and_then(blocks);
    let block = warp::path!("blocks" / String)
        .and(get)
        .and(with())
        .and_then(block);
    let transfer = warp::path!("transfers" / String)
        .and(get)
        .and(with())
        .and_then(transfer);
    let proof = warp::path!("transfers" / String / "proof")
        .and(get)
        .and(with())
        .and_then(proof);
    let account = warp::path!("addresses" / String)
        .and(get)
        .and(with())
        .and_then(account);
    let history = warp::path!("addresses" / String / "history")
        .and(get)
        .and(warp::query::<PageQuery>())
        .and(with())
        .and_then(history);
    let fees = warp::path!("fees").and(get).and(with()).and_then(fees);
    let mempool = warp::path!("mempool")
        .and(get)
        .and(with())
        .and_then(mempool);
    let peers = warp::path!("peers").and(get).and(with()).and_then(peers);
    let add_peer = warp::path!("peers")
        .and(warp::post())
        .and(guarded(state.clone(), Caller::Operator))
        .and(warp::body::content_length_limit(4 * 1024).and(warp::body::json()))
        .and(with())
        .and_then(add_peer);
    let openapi = warp::path!("openapi.json").and(get).map(|| {
        warp::reply::with_header(OPENAPI, "content-type", "application/json").into_response()
    });
    let events = warp::path!("events")
        .and(get)
        .and(with())
        .map(|state: ApiState| crate::events::stream(state.node).into_response());
    let submit = warp::path!("transfers")
        .and(warp::post())
        .and(guarded(state.clone(), Caller::Anyone))
        .and(json_body)
        .and(with())
        .and_then(submit);
    let mining = warp::path!("mining")
        .and(warp::post())
        .and(guarded(state.clone(), Caller::Operator))
        .and(warp::body::content_length_limit(4 * 1024).and(warp::body::json()))
        .and(with())
        .and_then(set_mining);

    api.and(
        status
            .or(blocks)
            .unify()
            .or(block)
            .unify()
            .or(proof)
            .unify()
            .or(transfer)
            .unify()
            .or(history)
            .unify()
            .or(account)
            .unify()
            .or(mempool)
            .unify()
            .or(fees)
            .unify()
            .or(peers)
            .unify()
            .or(openapi)
            .unify()
            .or(events)
            .unify()
            .or(submit)
            .unify()
            .or(mining)
            .unify()
            .or(add_peer)
            .unify(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use chain_core::encode::Encode;
    use chain_core::hash::to_hex;
    use chain_core::params::ChainParams;
    use chain_core::testkit::{address, key, transfer};

    #[test]
    fn a_transfer_body_is_hex_of_the_transfer_in_either_case_with_spaces_around() {
        let sent = transfer(
            &key(1),
            address(2),
            5,
            1,
            0,
            ChainParams::devnet().network_id,
        );
        let hex = to_hex(&sent.to_bytes());
        for text in [hex.clone(), format!(" {}\n", hex.to_uppercase())] {
            let body = SubmitBody { transfer: text };
            assert_eq!(parse_submit_body(&body), Ok(sent.clone()));
        }
        for text in ["", "zz", &hex[2..], &hex.replacen('0', "+", 1)] {
            let body = SubmitBody {
                transfer: text.to_owned(),
            };
            let error = parse_submit_body(&body).unwrap_err();
            assert_eq!((error.status, error.code), (400, "malformed_transfer"));
        }
    }

    #[test]
    fn a_transfer_not_found_while_indexes_catch_up_says_so() {
        let what = || "transfer 00ff".to_string();
        let behind = not_found_at(what(), Some((Height(90), Height(100))));
        assert_eq!((behind.status, behind.code), (404, "not_found"));
        assert_eq!(
            behind.message,
            "transfer 00ff not found up to height 90; this node has not indexed blocks 91 to \
             100 yet (it indexes them once a sync is over): ask again later"
        );
        let error = not_found_at(what(), None);
        assert_eq!(error.message, "transfer 00ff not found");
    }

    #[test]
    fn a_mining_body_starts_with_an_address_of_this_network_or_stops() {
        let text = address(1).to_text("dev");
        let body = |enabled, address: Option<&str>, threads| MiningBody {
            enabled,
            address: address.map(str::to_owned),
            threads,
        };
        assert_eq!(
            parse_mining_body(body(false, Some("junk"), None), "dev"),
            Ok(None)
        );
        let config = parse_mining_body(body(true, Some(&text), Some(500)), "dev")
            .unwrap()
            .unwrap();
        assert_eq!((config.address, config.threads), (address(1), 64));
        let config = parse_mining_body(body(true, Some(&text), None), "dev")
            .unwrap()
            .unwrap();
        assert_eq!(config.threads, 1);
        let code = |b| parse_mining_body(b, "dev").unwrap_err().code;
        assert_eq!(code(body(true, None, None)), "missing_address");
        assert_eq!(
            code(body(true, Some(&address(1).to_text("reg")), None)),
            "bad_address"
        );
    }
}

//! The network page: the node's peers and the users' miners, and the form that starts or stops
//! a user's own miner. Starting a miner lives here too, as registration with a miner asks for
//! the same thing.

use super::{Form, PageError, html, layout, redirect, respond};
use crate::app::App;
use crate::charts;
use crate::session::Ctx;
use crate::templates::*;
use chain_core::address::Address;
use chain_store::users::User;
use std::convert::Infallible;
use warp::http::StatusCode;
use warp::reply::Response;

/// Starts `user`'s miner and saves the setting; the reason if it did not start.
pub(super) async fn start_miner(app: &App, user: &User) -> Result<(), String> {
    let Ok(address) = Address::parse(&user.address, app.api.node.params().address_prefix) else {
        return Err("the account's address is damaged".into());
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
            Ok(())
        }
        Err(e) => {
            tracing::warn!(error = %e, "user miner did not start");
            Err(e.message)
        }
    }
}

pub(super) async fn network(ctx: Ctx, app: App) -> Result<Response, Infallible> {
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

pub(super) async fn toggle_miner(ctx: Ctx, form: Form, app: App) -> Result<Response, Infallible> {
    let Some(session) = ctx.session.clone() else {
        return Ok(redirect("/login"));
    };
    if !ctx.csrf_ok(&form) {
        return respond(&ctx, &app, Err(PageError::csrf()));
    }
    let user = session.user;
    match form.get("action").map(String::as_str) {
        Some("start") => {
            if let Err(reason) = start_miner(&app, &user).await {
                let message = format!("Your miner did not start: {reason}.");
                let error = PageError::new(StatusCode::SERVICE_UNAVAILABLE, "No miner", message);
                return respond(&ctx, &app, Err(error));
            }
        }
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

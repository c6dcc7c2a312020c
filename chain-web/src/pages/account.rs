//! Accounts: the register and log-in forms, registering (a new key, sealed with the password,
//! and the user's miner started when asked for), logging in and logging out. Kept apart because
//! it is the only place that creates users and sessions.

use super::network::start_miner;
use super::{Form, PageError, html, layout, redirect, respond, with_cookie};
use crate::app::App;
use crate::session::{Ctx, now};
use crate::templates::*;
use chain_core::keys::SecretKey;
use chain_core::keystore;
use chain_store::UserError;
use chain_store::users::NewUser;
use std::convert::Infallible;
use warp::http::StatusCode;
use warp::reply::Response;

pub(super) fn register_page(
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

pub(super) fn login_page(
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

pub(super) async fn register(ctx: Ctx, form: Form, app: App) -> Result<Response, Infallible> {
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
        let registered = async {
            // A name that cannot be registered costs no Argon2 run.
            let name = chain_store::usernames::normalise(&username)?;
            let passwords = app.passwords.clone();
            // The password's hash and the key's encryption: two Argon2 runs, gated.
            let (hash, record) = app
                .kdf
                .run(move || {
                    let hash = passwords.hash(&password)?;
                    let record = keystore::encrypt(&key, password.as_bytes(), salt, nonce, cost)
                        .map_err(|e| {
                            UserError::Store(chain_store::Error::Corrupt(e.to_string()))
                        })?;
                    Ok::<_, UserError>((hash, record))
                })
                .await
                .map_err(Stop::Busy)??;
            app.with_users(move |users| {
                users.register(
                    &NewUser {
                        username: &name,
                        password: &hash,
                        address: &address,
                        secret_key: &record,
                        wants_miner: miner,
                    },
                    now(),
                )
            })
            .await
            .map_err(Stop::from)
        }
        .await;
        let user = match registered {
            Ok(user) => user,
            Err(Stop::User(
                e
                @ (UserError::UsernameTaken(_) | UserError::BadUsername | UserError::WeakPassword),
            )) => {
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
            Err(stop) => return Err(stop.into()),
        };
        if miner {
            // The account is made either way; the network page says why a miner did not start
            // and can start it later.
            let _ = start_miner(&app, &user).await;
        }
        let ttl = app.options.session_ttl;
        let id = user.id;
        let session = app
            .with_users(move |u| u.create_session(id, now(), ttl))
            .await?;
        Ok(with_cookie(
            redirect("/wallet"),
            &ctx.session_cookie(&session.token, ttl),
        ))
    };
    respond(&ctx, &app, result.await)
}

pub(super) async fn login(
    ctx: Ctx,
    form: Form,
    app: App,
    client: Option<crate::ClientAddr>,
) -> Result<Response, Infallible> {
    // Failures lock a name for the address that made them only (`throttle.rs`).
    let client = client.map(|c| c.0.ip().to_string()).unwrap_or_default();
    let username = form.get("username").cloned().unwrap_or_default();
    let password = form.get("password").cloned().unwrap_or_default();
    if !ctx.csrf_ok(&form) {
        return respond(&ctx, &app, Err(PageError::csrf()));
    }
    let result = async {
        let ttl = app.options.session_ttl;
        let name = username.clone();
        let logged_in = async {
            let attempt = app
                .with_users(move |users| users.begin_login(&name, &client, now()))
                .await?;
            let passwords = app.passwords.clone();
            // The password check runs gated, without the user database's lock; turned away as
            // busy, the attempt stays counted as a failure.
            let checked = app
                .kdf
                .run(move || attempt.check(&passwords, &password))
                .await
                .map_err(Stop::Busy)?;
            app.with_users(move |users| {
                let user = users.finish_login(checked)?;
                users.create_session(user.id, now(), ttl)
            })
            .await
            .map_err(Stop::from)
        };
        match logged_in.await {
            Ok(session) => Ok(with_cookie(
                redirect("/wallet"),
                &ctx.session_cookie(&session.token, ttl),
            )),
            Err(Stop::User(UserError::WrongPassword)) => Ok(login_page(
                &ctx,
                &app,
                StatusCode::UNAUTHORIZED,
                Some("Wrong username or password.".into()),
                &username,
            )),
            Err(Stop::User(e @ UserError::Throttled { .. })) => Ok(login_page(
                &ctx,
                &app,
                StatusCode::TOO_MANY_REQUESTS,
                Some(format!("{}.", capitalise(&e.to_string()))),
                &username,
            )),
            Err(stop) => Err(stop.into()),
        }
    };
    respond(&ctx, &app, result.await)
}

/// Why a registration or login stopped short.
enum Stop {
    User(UserError),
    Busy(crate::kdf_gate::Busy),
}

impl From<UserError> for Stop {
    fn from(error: UserError) -> Self {
        Self::User(error)
    }
}

impl From<Stop> for PageError {
    fn from(stop: Stop) -> Self {
        match stop {
            Stop::User(error) => error.into(),
            Stop::Busy(busy) => busy.into(),
        }
    }
}

fn capitalise(text: &str) -> String {
    let mut chars = text.chars();
    chars
        .next()
        .map(|c| c.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

pub(super) async fn logout(ctx: Ctx, form: Form, app: App) -> Result<Response, Infallible> {
    if !ctx.csrf_ok(&form) {
        return respond(&ctx, &app, Err(PageError::csrf()));
    }
    if let Some(token) = ctx.session_token.clone() {
        let _ = app.with_users(move |u| u.delete_session(&token)).await;
    }
    Ok(with_cookie(redirect("/"), &ctx.clear_session_cookie()))
}

//! Sessions and form tokens.
//!
//! - The session cookie holds a random token (the database keeps only its SHA-256). It is
//!   `HttpOnly` (no script reads it), `SameSite=Strict` (no other site's request carries it) and
//!   expires with the session.
//! - Every form carries a CSRF token. A logged-in user's forms carry the session's token; forms
//!   shown before login (log in, register) carry a random token that is also set as a cookie
//!   of its own, and the POST must bring both, equal ("double submit"). A POST without the
//!   token is refused with a page saying so.
//! - Over HTTPS (a trusted proxy says so, `proxy.rs`) both cookies are `Secure` and named with
//!   the `__Host-` prefix: a browser then takes them only from a secure origin, with `Path=/`
//!   and no `Domain`, so neither a plain-HTTP page nor a sibling domain can set or replace them.

use crate::app::App;
use chain_store::users::{Session, random_hex};
use std::collections::HashMap;
use warp::Filter;
use warp::http::HeaderValue;
use warp::reply::Response;

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "chain_session";
/// The cookie of the form token used before login.
pub const FORM_COOKIE: &str = "chain_form";
/// The prefix of both cookies' names over HTTPS.
pub const SECURE_COOKIE_PREFIX: &str = "__Host-";
/// How long the pre-login form token lives, in seconds.
const FORM_TOKEN_TTL: u64 = 2 * 60 * 60;

/// What a request brings: its session (if logged in) and its form token.
#[derive(Debug, Clone)]
pub(crate) struct Ctx {
    pub session: Option<Session>,
    pub session_token: Option<String>,
    form_token: String,
    new_form_token: bool,
    /// The browser spoke HTTPS: cookies are `Secure` and `__Host-` named.
    secure: bool,
}

/// The value of cookie `name` in a `Cookie` header.
pub(crate) fn cookie(header: Option<&str>, name: &str) -> Option<String> {
    header?
        .split(';')
        .filter_map(|part| part.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value.to_string())
}

pub(crate) fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// Compares without stopping at the first difference.
pub(crate) fn same(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// The name of cookie `base` on a request over HTTPS (`secure`) or not.
fn cookie_name(base: &str, secure: bool) -> String {
    if secure {
        format!("{SECURE_COOKIE_PREFIX}{base}")
    } else {
        base.to_owned()
    }
}

/// A `Set-Cookie` value: no script reads it, no other site's request carries it.
fn set_cookie(base: &str, value: &str, max_age: u64, secure: bool) -> String {
    let name = cookie_name(base, secure);
    let secure = if secure { "; Secure" } else { "" };
    format!("{name}={value}; HttpOnly; SameSite=Strict; Path=/; Max-Age={max_age}{secure}")
}

impl Ctx {
    /// The token this request's forms must carry.
    pub fn csrf(&self) -> &str {
        match &self.session {
            Some(session) => &session.csrf,
            None => &self.form_token,
        }
    }

    /// `Set-Cookie` value of a new session.
    pub fn session_cookie(&self, token: &str, ttl: u64) -> String {
        set_cookie(SESSION_COOKIE, token, ttl, self.secure)
    }

    /// `Set-Cookie` value that removes the session cookie.
    pub fn clear_session_cookie(&self) -> String {
        set_cookie(SESSION_COOKIE, "", 0, self.secure)
    }

    /// The logged-in user's name.
    pub fn username(&self) -> Option<String> {
        self.session.as_ref().map(|s| s.user.username.clone())
    }

    /// Whether `form` carries this request's token.
    pub fn csrf_ok(&self, form: &HashMap<String, String>) -> bool {
        let has_token = self.session.is_some() || !self.new_form_token;
        has_token
            && !self.csrf().is_empty()
            && form
                .get("csrf")
                .is_some_and(|token| same(token, self.csrf()))
    }

    /// Adds the form-token cookie to a page if this request got a new token.
    pub fn finish(&self, mut response: Response) -> Response {
        if self.new_form_token
            && self.session.is_none()
            && let Ok(value) = HeaderValue::from_str(&set_cookie(
                FORM_COOKIE,
                &self.form_token,
                FORM_TOKEN_TTL,
                self.secure,
            ))
        {
            response.headers_mut().append("set-cookie", value);
        }
        response
    }
}

/// The request's [`Ctx`], from its cookies.
pub(crate) fn context(app: App) -> impl Filter<Extract = (Ctx,), Error = warp::Rejection> + Clone {
    let over_https = warp::ext::optional::<crate::proxy::OverHttps>();
    warp::header::optional::<String>("cookie")
        .and(over_https)
        .then(
            move |header: Option<String>, over_https: Option<crate::proxy::OverHttps>| {
                let app = app.clone();
                let secure = over_https.is_some();
                async move {
                    let session_token =
                        cookie(header.as_deref(), &cookie_name(SESSION_COOKIE, secure))
                            .filter(|t| t.len() == 64 && t.bytes().all(|b| b.is_ascii_hexdigit()));
                    let session = match session_token.clone() {
                        Some(token) => app
                            .with_users(move |users| users.session(&token, now()))
                            .await
                            .unwrap_or_else(|e| {
                                tracing::error!(error = %e, "session lookup failed");
                                None
                            }),
                        None => None,
                    };
                    let existing = cookie(header.as_deref(), &cookie_name(FORM_COOKIE, secure))
                        .filter(|t| t.len() == 64 && t.bytes().all(|b| b.is_ascii_hexdigit()));
                    let (form_token, new_form_token) = match existing {
                        Some(token) => (token, false),
                        None => (random_hex::<32>().unwrap_or_default(), true),
                    };
                    Ctx {
                        session,
                        session_token,
                        form_token,
                        new_form_token,
                        secure,
                    }
                }
            },
        )
}

//! The client side of the node's JSON API (blocking; the CLI has nothing else to do meanwhile).

use crate::error::CliError;
use serde_json::Value;
use std::time::Duration;

/// A connection to a node's API.
pub struct Client {
    base: String,
    token: Option<String>,
    agent: ureq::Agent,
}

impl Client {
    /// A client for the API at `base` (e.g. `http://127.0.0.1:8080`).
    pub fn new(base: &str, token: Option<String>) -> Self {
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(30)))
            .build()
            .into();
        Self {
            base: base.trim_end_matches('/').to_string(),
            token,
            agent,
        }
    }

    fn unreachable(&self, error: ureq::Error) -> CliError {
        CliError::Unreachable {
            url: self.base.clone(),
            reason: error.to_string(),
        }
    }

    fn answer(
        &self,
        response: Result<ureq::http::Response<ureq::Body>, ureq::Error>,
    ) -> Result<Value, CliError> {
        let mut response = response.map_err(|e| self.unreachable(e))?;
        let status = response.status().as_u16();
        let body: Value = response.body_mut().read_json().map_err(|e| {
            CliError::Other(format!("the node answered something that is not JSON: {e}"))
        })?;
        if status < 400 {
            return Ok(body);
        }
        let code = body["code"].as_str().unwrap_or("error").to_string();
        let message = body["message"].as_str().unwrap_or("").to_string();
        Err(match code.as_str() {
            "not_found" => CliError::NotFound(message),
            "bad_address" => CliError::BadAddress(message),
            "insufficient_balance" => CliError::InsufficientBalance(message),
            _ => CliError::Refused { code, message },
        })
    }

    /// `GET /api/v1/{path}`.
    ///
    /// # Errors
    ///
    /// [`CliError::Unreachable`] or the API's error mapped to a [`CliError`].
    pub fn get(&self, path: &str) -> Result<Value, CliError> {
        let url = format!("{}/api/v1/{}", self.base, path);
        self.answer(self.agent.get(&url).call())
    }

    /// `POST /api/v1/{path}` with a JSON body.
    ///
    /// # Errors
    ///
    /// As [`Client::get`].
    pub fn post(&self, path: &str, body: &Value) -> Result<Value, CliError> {
        let url = format!("{}/api/v1/{}", self.base, path);
        let mut request = self.agent.post(&url);
        if let Some(token) = &self.token {
            request = request.header("authorization", &format!("Bearer {token}"));
        }
        self.answer(request.send_json(body))
    }
}

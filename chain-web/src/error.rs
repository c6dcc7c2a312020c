//! API errors: every failure is JSON `{code, message}` with a status code that says whose fault
//! it is (4xx: the request; 5xx: the node).

use crate::contract::ErrorBody;
use chain_core::error::MempoolError;
use warp::http::StatusCode;

/// An error answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ApiError {
    /// HTTP status.
    pub status: u16,
    /// Stable machine-readable code.
    pub code: &'static str,
    /// What a person should read.
    pub message: String,
}

impl ApiError {
    /// An error with a status, code and message.
    pub fn new(status: u16, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
        }
    }

    /// 404 for something that does not exist.
    pub fn not_found(what: impl std::fmt::Display) -> Self {
        Self::new(404, "not_found", format!("{what} not found"))
    }

    /// 400 for a request that cannot be understood.
    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(400, code, message)
    }

    /// 503 when the node is not there.
    pub fn unavailable() -> Self {
        Self::new(503, "node_unavailable", "the node is not running")
    }

    /// The JSON reply.
    pub fn reply(&self) -> warp::reply::WithStatus<warp::reply::Json> {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        warp::reply::with_status(
            warp::reply::json(&ErrorBody {
                code: self.code.to_string(),
                message: self.message.clone(),
            }),
            status,
        )
    }
}

/// Marks a refusal whose request body was never read: the unread bytes are still on the
/// connection, so the server closes it after answering and says so, and a client does not send
/// its next request into a socket that is about to close.
pub(crate) fn closing_connection(mut response: warp::reply::Response) -> warp::reply::Response {
    response.headers_mut().insert(
        warp::http::header::CONNECTION,
        warp::http::HeaderValue::from_static("close"),
    );
    response
}

/// Whether a rejection may have left a request body unread: every rejection but a body that was
/// read and failed to parse (an unknown route, a wrong method or a missing token is refused
/// before the body is read, an oversized one is never read).
pub(crate) fn body_left_unread(rejection: &warp::Rejection) -> bool {
    rejection
        .find::<warp::filters::body::BodyDeserializeError>()
        .is_none()
}

impl From<chain_net::NetError> for ApiError {
    fn from(error: chain_net::NetError) -> Self {
        match error {
            chain_net::NetError::Stopped => Self::unavailable(),
            other => {
                tracing::error!(error = %other, "node failure");
                Self::new(500, "internal", "the node failed to answer; see its log")
            }
        }
    }
}

impl From<MempoolError> for ApiError {
    fn from(error: MempoolError) -> Self {
        let code = error.code();
        let status = if matches!(error, MempoolError::Duplicate { .. }) {
            409
        } else {
            422
        };
        Self::new(status, code, error.to_string())
    }
}

//! History paging: the `?before=` query and the links to older and newer rows. Shared by the
//! wallet and the address pages, which both list an address's transfers a page at a time.

use super::PageError;
use crate::templates::Paging;
use chain_core::store::HistoryCursor;
use chain_net::views::HistoryPage;
use warp::http::StatusCode;

/// History rows a wallet or address page shows at once.
pub(super) const HISTORY_PAGE: usize = 25;

/// `?before=<cursor>`: a history page below the cursor the previous page gave.
#[derive(Debug, serde::Deserialize)]
pub(super) struct HistoryQuery {
    before: Option<String>,
}

impl HistoryQuery {
    pub(super) fn cursor(&self) -> Result<Option<HistoryCursor>, PageError> {
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
    pub(super) fn of(page: &HistoryPage, before: Option<HistoryCursor>) -> Self {
        Self {
            older: page.next.clone(),
            first: before.is_none(),
        }
    }
}

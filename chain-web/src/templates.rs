//! The pages' templates (files under `templates/`), checked at compile time by askama. Every
//! value is HTML-escaped unless a template marks it `|safe`, which only the server-drawn SVG
//! (charts, QR code: numbers and fixed markup, nothing from users) is.

use askama::Template;

/// What every page's frame needs.
#[derive(Debug, Clone)]
pub(crate) struct Layout {
    pub title: String,
    pub page: &'static str,
    pub user: Option<String>,
    pub csrf: String,
    pub network: String,
}

/// A block row of a list.
#[derive(Debug, Clone)]
pub(crate) struct BlockRow {
    pub height: u64,
    pub hash: String,
    pub age: String,
    pub txs: usize,
    pub miner: String,
}

/// A transaction row of a list.
#[derive(Debug, Clone)]
pub(crate) struct TxRow {
    pub txid: String,
    pub kind: String,
    pub from: String,
    pub to: String,
    pub amount: String,
    pub fee: String,
    pub status: String,
    /// `in`, `out` or empty, seen from the page's address.
    pub direction: &'static str,
}

#[derive(Template)]
#[template(path = "home.html")]
pub(crate) struct HomePage {
    pub layout: Layout,
    pub height: u64,
    pub tip: String,
    pub difficulty: String,
    pub hash_rate: String,
    pub peers: usize,
    pub mempool: usize,
    pub blocks: Vec<BlockRow>,
    pub pending: Vec<TxRow>,
}

#[derive(Template)]
#[template(path = "register.html")]
pub(crate) struct RegisterPage {
    pub layout: Layout,
    pub error: Option<String>,
    pub username: String,
    pub miner: bool,
}

#[derive(Template)]
#[template(path = "login.html")]
pub(crate) struct LoginPage {
    pub layout: Layout,
    pub error: Option<String>,
    pub username: String,
}

/// The send form's fields, kept when it is shown again with an error.
#[derive(Debug, Clone, Default)]
pub(crate) struct SendForm {
    pub to: String,
    pub amount: String,
    pub fee: String,
    /// The fee looked like a mistake: the form asks to confirm it.
    pub confirm_fee: bool,
}

#[derive(Template)]
#[template(path = "wallet.html")]
pub(crate) struct WalletPage {
    pub layout: Layout,
    pub username: String,
    pub address: String,
    pub qr: String,
    pub balance: String,
    pub pending_in: String,
    pub pending_out: String,
    pub available: String,
    pub error: Option<String>,
    pub form: SendForm,
    /// What the node suggests paying (`GET /api/v1/fees`), in words.
    pub fee_hint: String,
    pub history: Vec<TxRow>,
    pub paging: Paging,
    pub miner_running: bool,
    /// No coins, none coming and no history: the page says how to get some.
    pub empty: bool,
}

/// Links between the pages of a history.
#[derive(Debug, Clone)]
pub(crate) struct Paging {
    /// The cursor of the next, older page, if there is one.
    pub older: Option<String>,
    /// Whether this is the first (newest) page.
    pub first: bool,
}

#[derive(Template)]
#[template(path = "tx.html")]
pub(crate) struct TxPage {
    pub layout: Layout,
    pub receipt: bool,
    pub tx: TxRow,
    pub confirmed: bool,
    pub block_height: u64,
    pub block_hash: String,
    pub memo: String,
    /// Its block's time once confirmed, else when the node received it (unix seconds).
    pub time: Option<u64>,
    /// `time` as an age.
    pub age: String,
}

#[derive(Template)]
#[template(path = "block.html")]
pub(crate) struct BlockPage {
    pub layout: Layout,
    pub height: u64,
    pub hash: String,
    pub prev_hash: String,
    pub age: String,
    pub time: u64,
    pub difficulty: String,
    pub bits: String,
    pub nonce: u64,
    pub size: usize,
    pub merkle_root: String,
    pub confirmations: u64,
    pub in_best_chain: bool,
    pub txs: Vec<TxRow>,
}

#[derive(Template)]
#[template(path = "address.html")]
pub(crate) struct AddressPage {
    pub layout: Layout,
    pub address: String,
    pub balance: String,
    pub pending_in: String,
    pub pending_out: String,
    pub nonce: u64,
    pub history: Vec<TxRow>,
    pub paging: Paging,
}

#[derive(Template)]
#[template(path = "explorer.html")]
pub(crate) struct ExplorerPage {
    pub layout: Layout,
    pub block_time_chart: String,
    pub difficulty_chart: String,
    pub hash_rate_chart: String,
    pub hash_rate: String,
    pub blocks: Vec<BlockRow>,
}

/// A peer row.
#[derive(Debug, Clone)]
pub(crate) struct PeerRow {
    pub addr: String,
    pub direction: String,
    pub height: u64,
    pub agent: String,
    pub ready: bool,
}

/// A local miner row.
#[derive(Debug, Clone)]
pub(crate) struct MinerRow {
    pub username: String,
    pub address: String,
    pub listen: String,
    pub height: String,
    pub hash_rate: String,
    pub state: String,
    pub blocks_found: String,
    pub own: bool,
}

#[derive(Template)]
#[template(path = "network.html")]
pub(crate) struct NetworkPage {
    pub layout: Layout,
    pub height: u64,
    pub listen: String,
    pub node_mining: String,
    pub peers: Vec<PeerRow>,
    pub miners: Vec<MinerRow>,
    /// For a logged-in user: whether their miner runs.
    pub own_miner: Option<bool>,
}

#[derive(Template)]
#[template(path = "message.html")]
pub(crate) struct MessagePage {
    pub layout: Layout,
    pub heading: String,
    pub message: String,
    pub link_href: String,
    pub link_text: String,
}

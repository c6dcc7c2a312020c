//! The `chain` binary: parses arguments, calls the library, prints, and picks an exit code.

use chain_cli::client::Client;
use chain_cli::error::CliError;
use chain_cli::logging::LogFormat;
use chain_cli::wallet::Wallet;
use chain_cli::{NodeOptions, start_node};
use chain_core::address::Address;
use chain_core::encode::Encode;
use chain_core::keystore::KdfParams;
use chain_core::params::ChainParams;
use chain_core::pow::CompactTarget;
use chain_core::tx::UnsignedTransfer;
use chain_core::units::Amount;
use chain_net::MiningConfig;
use clap::parser::ValueSource;
use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};
use serde_json::{Value, json};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

/// A small proof-of-work blockchain: local networks of miners, nodes, wallets and queries.
#[derive(Parser)]
#[command(name = "chain", version, about)]
struct Cli {
    /// The node API to talk to.
    #[arg(
        long,
        global = true,
        env = "CHAIN_NODE",
        default_value = "http://127.0.0.1:8080"
    )]
    node: String,
    /// API token for commands that change state.
    #[arg(long, global = true, env = "CHAIN_API_TOKEN")]
    token: Option<String>,
    /// File holding the API token (a node writes `api-token` in its data directory). Default:
    /// the default devnet node's (`~/.local/share/chain/devnet/api-token`), else
    /// `data/node/api-token`, else `data/devnet/node-0/api-token`, whichever exists first.
    #[arg(long, global = true, env = "CHAIN_API_TOKEN_FILE")]
    token_file: Option<PathBuf>,
    /// Print JSON instead of text.
    #[arg(long, global = true)]
    json: bool,
    /// How a running node (`node`, `devnet`) logs to standard error: one text line, or one JSON
    /// object, per event. What it logs: `CHAIN_LOG`, else `RUST_LOG`, else `info` (tracing's
    /// filter syntax, e.g. `debug` or `warn,chain_web=info`).
    #[arg(
        long,
        global = true,
        value_enum,
        env = "CHAIN_LOG_FORMAT",
        default_value_t
    )]
    log_format: LogFormat,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum PeersCommand {
    /// Dial a peer now and keep its address (`host:port`: a name or an address).
    Add {
        /// The peer.
        peer: chain_net::PeerName,
    },
}

#[derive(Subcommand)]
enum Command {
    /// Start a local network of miners on 127.0.0.1, each with its own data, port and wallet.
    Devnet {
        /// Miner nodes.
        #[arg(long, default_value_t = chain_cli::seeds::DEVNET_NODES.into())]
        nodes: usize,
        /// Where the network keeps its data (one folder per node).
        #[arg(long, env = "CHAIN_DATA_DIR", default_value = "data/devnet")]
        data_dir: PathBuf,
        /// First peer port (node i listens on port + i).
        #[arg(long, default_value_t = chain_cli::seeds::DEVNET_P2P_PORT)]
        p2p_port: u16,
        /// First API port (node i serves on port + i).
        #[arg(long, default_value_t = 8080)]
        api_port: u16,
        /// Mining threads per node.
        #[arg(long, default_value_t = 1)]
        threads: usize,
        /// Network preset.
        #[arg(long, default_value = "devnet")]
        network: String,
        /// A reverse proxy in front of the web UI and APIs (an IP address): on its
        /// connections only, `X-Forwarded-For` names the client (for rate limits and logs) and
        /// `X-Forwarded-Proto: https` makes cookies `Secure` with the `__Host-` prefix.
        #[arg(long, env = "CHAIN_TRUSTED_PROXY")]
        trusted_proxy: Option<std::net::IpAddr>,
    },
    /// Run one node.
    Node {
        /// Network preset (`devnet`, `regtest`).
        #[arg(long, env = "CHAIN_NETWORK", default_value = "devnet")]
        network: String,
        /// Data directory [default: $XDG_DATA_HOME/chain/<network>, else
        /// ~/.local/share/chain/<network>].
        #[arg(long, env = "CHAIN_DATA_DIR")]
        data_dir: Option<PathBuf>,
        /// Settings file (TOML: `data_dir`, `network`, `listen`, `external_addr`, `peers`, `mine`,
        /// `miner_address`, `threads`, `api`) [default: `chain.toml` in the data directory, if
        /// there].
        #[arg(long, env = "CHAIN_CONFIG")]
        config: Option<PathBuf>,
        /// Peer listen address.
        #[arg(long, env = "CHAIN_LISTEN", default_value = "127.0.0.1:7410")]
        listen: SocketAddr,
        /// Where other nodes reach this one, when not at the address its connections come from
        /// (behind NAT, with the peer port forwarded): told to its peers, who pass it on.
        #[arg(long, env = "CHAIN_EXTERNAL_ADDR")]
        external_addr: Option<SocketAddr>,
        /// A peer to connect to, `host:port` (a name or an address; a name is looked up at
        /// start and again every 30 s). Repeat for more. Without any (here or in the settings
        /// file), the network's seed peers: on `devnet` the ports of a local `chain devnet`
        /// (localhost:7410-7412), on `regtest` none.
        #[arg(long = "peer")]
        peers: Vec<chain_net::PeerName>,
        /// Do not fall back on the network's seed peers when no peer is given.
        #[arg(long)]
        no_seeds: bool,
        /// Mine.
        #[arg(long)]
        mine: bool,
        /// Address to mine to.
        #[arg(long, env = "CHAIN_MINER_ADDRESS")]
        miner_address: Option<String>,
        /// Mining threads.
        #[arg(long, default_value_t = 1)]
        threads: usize,
        /// API listen address.
        #[arg(long, env = "CHAIN_API", default_value = "127.0.0.1:8080")]
        api: SocketAddr,
        /// Serve the web wallet and explorer too, on the API's address (their users and miners
        /// in `<data dir>/web`), as `chain devnet` does on its first node.
        #[arg(long, env = "CHAIN_WEB")]
        web: bool,
        /// A reverse proxy in front of the API (an IP address): on its connections only,
        /// `X-Forwarded-For` names the client (for rate limits and logs) and
        /// `X-Forwarded-Proto: https` makes the web's cookies `Secure` with the `__Host-` prefix.
        #[arg(long, env = "CHAIN_TRUSTED_PROXY")]
        trusted_proxy: Option<std::net::IpAddr>,
        /// Only with `--network regtest`: every block at this fixed, harder target (compact
        /// bits, hex, e.g. 0x1e00ffff) instead of regtest's couple of hashes, so that mining
        /// nodes find blocks in real time. Another network: its genesis block is mined at start,
        /// and only nodes given the same bits talk to each other.
        #[arg(long, env = "CHAIN_REGTEST_BITS", value_parser = parse_bits)]
        regtest_bits: Option<CompactTarget>,
    },
    /// Keys, balances and payments.
    Wallet {
        /// The wallet file.
        #[arg(long, env = "CHAIN_WALLET", default_value = "data/wallet.json")]
        wallet: PathBuf,
        /// Read the password from this file (else $CHAIN_PASSWORD, else a prompt).
        #[arg(long, global = true)]
        password_file: Option<PathBuf>,
        #[command(subcommand)]
        command: WalletCommand,
    },
    /// The node's status.
    Status,
    /// A block by height or hash.
    Block {
        /// Height or hash.
        id: String,
    },
    /// A transaction and its status.
    Tx {
        /// Txid.
        txid: String,
    },
    /// An address's balance and nonce.
    Address {
        /// Address.
        address: String,
    },
    /// Connected peers; `peers add HOST:PORT` dials one more now (needs the API token).
    Peers {
        #[command(subcommand)]
        command: Option<PeersCommand>,
    },
    /// Pending transfers.
    Mempool,
    /// The fee to pay now, from the node's mempool: per byte and for a transfer without a memo.
    Fees,
}

#[derive(Subcommand)]
enum WalletCommand {
    /// Create a key.
    New {
        /// Its name.
        #[arg(long, default_value = "default")]
        name: String,
        /// Its network.
        #[arg(long, default_value = "devnet")]
        network: String,
    },
    /// List keys.
    List,
    /// Print a key's address.
    Address {
        /// Key name (default: the first).
        name: Option<String>,
    },
    /// A key's balance.
    Balance {
        /// Key name (default: the first).
        name: Option<String>,
    },
    /// Send coins.
    Send {
        /// Receiver address.
        to: String,
        /// Amount in coins (e.g. 1.5).
        amount: String,
        /// Fee in coins.
        #[arg(long, default_value = "0.00001")]
        fee: String,
        /// A memo.
        #[arg(long, default_value = "")]
        memo: String,
        /// Key to send from (default: the first).
        #[arg(long)]
        from: Option<String>,
        /// The largest fee sent without `--yes`, in coins.
        #[arg(long, default_value = "0.1")]
        max_fee: String,
        /// Send even when the fee is above the amount or `--max-fee`.
        #[arg(long)]
        yes: bool,
    },
    /// A key's history.
    History {
        /// Key name (default: the first).
        name: Option<String>,
        /// Entries to show.
        #[arg(long, default_value_t = 20)]
        limit: usize,
        /// Continue after this cursor (the `next` of the previous page, printed with --json).
        #[arg(long)]
        before: Option<String>,
    },
}

fn main() -> ExitCode {
    let matches = Cli::command().get_matches();
    let cli = match Cli::from_arg_matches(&matches).map(|cli| apply_config_file(cli, &matches)) {
        Ok(Ok(cli)) => cli,
        Ok(Err(error)) => {
            eprintln!("error: {error}");
            return ExitCode::from(error.exit_code());
        }
        Err(error) => error.exit(),
    };
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::from(error.exit_code())
        }
    }
}

/// Fills the `node` settings not given as flags or environment variables from its settings
/// file (`--config`, else the data directory's `chain.toml`), and the data directory from the
/// default when neither names it.
fn apply_config_file(mut cli: Cli, matches: &clap::ArgMatches) -> Result<Cli, CliError> {
    let Command::Node {
        network,
        data_dir,
        config,
        listen,
        external_addr,
        peers,
        mine,
        miner_address,
        threads,
        api,
        ..
    } = &mut cli.command
    else {
        return Ok(cli);
    };
    let Some(("node", node)) = matches.subcommand() else {
        return Ok(cli);
    };
    let defaulted = |id: &str| {
        !matches!(
            node.value_source(id),
            Some(ValueSource::CommandLine | ValueSource::EnvVariable)
        )
    };
    // Without a data directory named, the default one of the network the flags give holds the
    // file (and stays the directory, whatever network the file names).
    let default_dir = chain_cli::paths::default_node_dir(network);
    let file = match (&config, &data_dir) {
        (Some(path), _) => chain_cli::config::NodeFile::load_from(path)?,
        (None, Some(dir)) => chain_cli::config::NodeFile::load(dir)?,
        (None, None) => chain_cli::config::NodeFile::load(&default_dir)?,
    };
    if defaulted("network")
        && let Some(value) = file.network
    {
        *network = value;
    }
    if data_dir.is_none() {
        *data_dir = Some(match config {
            Some(_) => file
                .data_dir
                .unwrap_or_else(|| chain_cli::paths::default_node_dir(network)),
            None => default_dir,
        });
    }
    if defaulted("listen")
        && let Some(value) = file.listen
    {
        *listen = value;
    }
    if external_addr.is_none() {
        *external_addr = file.external_addr;
    }
    if peers.is_empty()
        && let Some(value) = file.peers
    {
        *peers = value;
    }
    if !*mine && let Some(value) = file.mine {
        *mine = value;
    }
    if miner_address.is_none() {
        *miner_address = file.miner_address;
    }
    if defaulted("threads")
        && let Some(value) = file.threads
    {
        *threads = value;
    }
    if defaulted("api")
        && let Some(value) = file.api
    {
        *api = value;
    }
    Ok(cli)
}

fn params(name: &str) -> Result<ChainParams, CliError> {
    ChainParams::by_name(name)
        .ok_or_else(|| CliError::Usage(format!("unknown network `{name}` (devnet, regtest)")))
}

/// Compact bits in hex, with or without `0x`.
fn parse_bits(text: &str) -> Result<CompactTarget, String> {
    let digits = text.trim_start_matches("0x").trim_start_matches("0X");
    u32::from_str_radix(digits, 16)
        .map(CompactTarget)
        .map_err(|e| format!("compact bits are 8 hex digits such as 0x1e00ffff: {e}"))
}

/// Regtest at the harder fixed target `bits` (its genesis block mined now).
fn regtest_params(network: &str, bits: CompactTarget) -> Result<ChainParams, CliError> {
    if network != "regtest" {
        return Err(CliError::Usage(format!(
            "--regtest-bits needs --network regtest, not `{network}`"
        )));
    }
    ChainParams::regtest_with_pow_limit(bits).ok_or_else(|| {
        CliError::Usage(format!(
            "--regtest-bits {bits}: not a target between regtest's ({}) and 2^{} hashes a block",
            ChainParams::regtest().pow_limit,
            chain_core::params::MAX_REGTEST_WORK_BITS
        ))
    })
}

/// `GET /fees` as the CLI reads it.
#[derive(serde::Deserialize)]
struct FeesAnswer {
    minimum_per_byte: u64,
    next_block_per_byte: u64,
    within_3_blocks_per_byte: u64,
    within_6_blocks_per_byte: u64,
    transfer_bytes: usize,
    next_block_fee: Amount,
    within_3_blocks_fee: Amount,
    within_6_blocks_fee: Amount,
    mempool_transfers: usize,
    mempool_bytes: usize,
}

fn coins(value: &Value) -> String {
    Amount(value.as_u64().unwrap_or(0)).to_string()
}

/// " indexing, at N" while the lookup indexes catch up after a sync, else nothing.
fn indexing_note(indexed: u64, height: u64) -> String {
    if indexed < height {
        format!(" indexing, at {indexed}")
    } else {
        String::new()
    }
}

/// [`indexing_note`] of a status read over the API.
fn indexing(status: &Value) -> String {
    match (status["indexed_height"].as_u64(), status["height"].as_u64()) {
        (Some(indexed), Some(height)) => indexing_note(indexed, height),
        _ => String::new(),
    }
}

fn print(json_mode: bool, value: &Value, text: impl FnOnce(&Value) -> String) {
    if json_mode {
        println!(
            "{}",
            serde_json::to_string_pretty(value).unwrap_or_default()
        );
    } else {
        println!("{}", text(value));
    }
}

fn password(file: &Option<PathBuf>, confirm: bool) -> Result<String, CliError> {
    if let Some(file) = file {
        return Ok(std::fs::read_to_string(file)?
            .trim_end_matches(['\n', '\r'])
            .to_string());
    }
    if let Ok(password) = std::env::var("CHAIN_PASSWORD") {
        return Ok(password);
    }
    let first = rpassword::prompt_password("password: ")?;
    if confirm && rpassword::prompt_password("again: ")? != first {
        return Err(CliError::Usage("the passwords differ".into()));
    }
    Ok(first)
}

/// The API token: given, or read from the token file (given or the first default that exists).
fn token(cli: &Cli) -> Result<Option<String>, CliError> {
    if let Some(token) = &cli.token {
        return Ok(Some(token.clone()));
    }
    let candidates = match &cli.token_file {
        Some(file) => vec![file.clone()],
        None => vec![
            chain_cli::paths::default_node_dir("devnet").join("api-token"),
            PathBuf::from("data/node/api-token"),
            PathBuf::from("data/devnet/node-0/api-token"),
        ],
    };
    for file in candidates {
        match std::fs::read_to_string(&file) {
            Ok(token) => return Ok(Some(token.trim().to_string())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && cli.token_file.is_none() => {}
            Err(e) => {
                return Err(CliError::Usage(format!(
                    "cannot read the API token from {}: {e}",
                    file.display()
                )));
            }
        }
    }
    Ok(None)
}

fn run(cli: Cli) -> Result<(), CliError> {
    if matches!(cli.command, Command::Node { .. } | Command::Devnet { .. }) {
        chain_cli::logging::init(cli.log_format)?;
    }
    let token = token(&cli)?;
    let client = || Client::new(&cli.node, token.clone());
    match cli.command {
        Command::Devnet {
            nodes,
            data_dir,
            p2p_port,
            api_port,
            threads,
            network,
            trusted_proxy,
        } => devnet(
            nodes,
            data_dir,
            p2p_port,
            api_port,
            threads,
            params(&network)?,
            trusted_proxy,
        ),
        Command::Node {
            network,
            data_dir,
            listen,
            external_addr,
            mut peers,
            no_seeds,
            mine,
            miner_address,
            threads,
            api,
            web,
            trusted_proxy,
            regtest_bits,
            ..
        } => {
            if peers.is_empty() && !no_seeds {
                peers = chain_cli::seeds::seeds(&network);
                if !peers.is_empty() {
                    let list: Vec<String> = peers.iter().map(ToString::to_string).collect();
                    println!(
                        "no peer given: dialling the {network} seed peers {} (--no-seeds: none)",
                        list.join(" ")
                    );
                }
            }
            // `apply_config_file` has chosen it already; the default again for a caller that
            // did not go through it.
            let data_dir = data_dir.unwrap_or_else(|| chain_cli::paths::default_node_dir(&network));
            let params = match regtest_bits {
                None => params(&network)?,
                Some(bits) => regtest_params(&network, bits)?,
            };
            let mining = match (mine, miner_address) {
                (false, _) => None,
                (true, None) => return Err(CliError::Usage("--mine needs --miner-address".into())),
                (true, Some(text)) => Some(MiningConfig {
                    address: Address::parse(&text, params.address_prefix)
                        .map_err(|e| CliError::BadAddress(e.to_string()))?,
                    threads,
                }),
            };
            run_nodes(vec![NodeOptions {
                params,
                web: web.then(|| data_dir.join("web")),
                data_dir,
                listen,
                external_addr,
                peers,
                mining,
                api,
                trusted_proxy,
            }])
        }
        Command::Wallet {
            wallet,
            password_file,
            command,
        } => wallet_command(
            &cli.node,
            token.clone(),
            cli.json,
            wallet,
            password_file,
            command,
        ),
        Command::Status => {
            let status = client().get("status")?;
            print(cli.json, &status, |s| {
                format!(
                    "network {}\nheight {} tip {}\npeers {} mempool {} syncing {}{}\nmining {} ({:.0} H/s, {})",
                    s["network"].as_str().unwrap_or(""),
                    s["height"],
                    s["tip"].as_str().unwrap_or(""),
                    s["peers"],
                    s["mempool_transfers"],
                    s["syncing"],
                    indexing(s),
                    s["mining"]["enabled"],
                    s["mining"]["hash_rate"].as_f64().unwrap_or(0.0),
                    s["mining"]["kernel"].as_str().unwrap_or("-"),
                )
            });
            Ok(())
        }
        Command::Block { id } => {
            let block = client().get(&format!("blocks/{id}"))?;
            print(cli.json, &block, |b| {
                let mut out = format!(
                    "block {} height {} time {} txs {} confirmations {}",
                    b["hash"].as_str().unwrap_or(""),
                    b["height"],
                    b["time"],
                    b["tx_count"],
                    b["confirmations"]
                );
                for tx in b["txs"].as_array().into_iter().flatten() {
                    out.push_str(&format!(
                        "\n  {} {} -> {} {}",
                        tx["txid"].as_str().unwrap_or(""),
                        tx["kind"].as_str().unwrap_or(""),
                        tx["to"].as_str().unwrap_or(""),
                        coins(&tx["amount"])
                    ));
                }
                out
            });
            Ok(())
        }
        Command::Tx { txid } => {
            let tx = client().get(&format!("transfers/{txid}"))?;
            print(cli.json, &tx, |t| {
                let status = match t["status"]["state"].as_str() {
                    Some("confirmed") => format!(
                        "confirmed in block {} ({} confirmations)",
                        t["status"]["height"], t["status"]["confirmations"]
                    ),
                    _ => "pending".to_string(),
                };
                format!(
                    "transfer {}\nfrom {}\nto {}\namount {} fee {}\nstatus {status}",
                    t["tx"]["txid"].as_str().unwrap_or(""),
                    t["tx"]["from"].as_str().unwrap_or("(coinbase)"),
                    t["tx"]["to"].as_str().unwrap_or(""),
                    coins(&t["tx"]["amount"]),
                    coins(&t["tx"]["fee"]),
                )
            });
            Ok(())
        }
        Command::Address { address } => {
            let account = client().get(&format!("addresses/{address}"))?;
            print(cli.json, &account, account_text);
            Ok(())
        }
        Command::Peers {
            command: Some(PeersCommand::Add { peer }),
        } => {
            let added = client().post("peers", &json!({ "peer": peer.to_string() }))?;
            print(cli.json, &added, |a| {
                let addresses: Vec<&str> = a["addresses"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(Value::as_str)
                    .collect();
                format!("dialling {} ({})", peer, addresses.join(", "))
            });
            Ok(())
        }
        Command::Peers { command: None } => {
            let peers = client().get("peers")?;
            print(cli.json, &peers, |p| {
                p.as_array()
                    .into_iter()
                    .flatten()
                    .map(|p| {
                        format!(
                            "{} {} height {} score {}",
                            p["addr"].as_str().unwrap_or(""),
                            p["direction"].as_str().unwrap_or(""),
                            p["best_height"],
                            p["score"]
                        )
                    })
                    .collect::<Vec<_>>()
                    .join("\n")
            });
            Ok(())
        }
        Command::Fees => {
            let answer = client().get("fees")?;
            let fees: FeesAnswer = serde_json::from_value(answer.clone()).map_err(|e| {
                CliError::Other(format!("the node's fee suggestion is not understood: {e}"))
            })?;
            print(cli.json, &answer, |_| {
                format!(
                    "next block {} ({}/byte)\nwithin 3 blocks {} ({}/byte)\nwithin 6 blocks {} ({}/byte)\nminimum {}/byte; {} pending transfers, {} bytes; a transfer without a memo is {} bytes",
                    fees.next_block_fee,
                    fees.next_block_per_byte,
                    fees.within_3_blocks_fee,
                    fees.within_3_blocks_per_byte,
                    fees.within_6_blocks_fee,
                    fees.within_6_blocks_per_byte,
                    fees.minimum_per_byte,
                    fees.mempool_transfers,
                    fees.mempool_bytes,
                    fees.transfer_bytes
                )
            });
            Ok(())
        }
        Command::Mempool => {
            let pending = client().get("mempool")?;
            print(cli.json, &pending, |m| {
                m.as_array()
                    .into_iter()
                    .flatten()
                    .map(|e| {
                        format!(
                            "{} {} -> {} {} fee {}",
                            e["tx"]["txid"].as_str().unwrap_or(""),
                            e["tx"]["from"].as_str().unwrap_or(""),
                            e["tx"]["to"].as_str().unwrap_or(""),
                            coins(&e["tx"]["amount"]),
                            coins(&e["tx"]["fee"])
                        )
                    })
                    .collect::<Vec<_>>()
                    .join("\n")
            });
            Ok(())
        }
    }
}

fn account_text(a: &Value) -> String {
    format!(
        "address {}\nbalance {} (pending out {}, in {})\nnonce {}",
        a["address"].as_str().unwrap_or(""),
        coins(&a["balance"]),
        coins(&a["pending_out"]),
        coins(&a["pending_in"]),
        a["nonce"]
    )
}

fn wallet_command(
    node: &str,
    token: Option<String>,
    json_mode: bool,
    path: PathBuf,
    password_file: Option<PathBuf>,
    command: WalletCommand,
) -> Result<(), CliError> {
    let mut wallet = Wallet::open(&path)?;
    let client = || Client::new(node, token.clone());
    match command {
        WalletCommand::New { name, network } => {
            let params = params(&network)?;
            let password = password(&password_file, true)?;
            let kdf = if std::env::var("CHAIN_INSECURE_FAST_KDF").is_ok() {
                KdfParams::insecure_for_tests()
            } else {
                KdfParams::default()
            };
            let entry = wallet.create(&name, &params, password.as_bytes(), kdf)?;
            print(
                json_mode,
                &json!({"name": entry.name, "address": entry.address, "network": entry.network}),
                |e| {
                    format!(
                        "created `{}`: {}",
                        e["name"].as_str().unwrap_or(""),
                        e["address"].as_str().unwrap_or("")
                    )
                },
            );
        }
        WalletCommand::List => {
            let list: Vec<Value> = wallet
                .entries
                .iter()
                .map(|e| json!({"name": e.name, "address": e.address, "network": e.network}))
                .collect();
            print(json_mode, &Value::Array(list), |l| {
                l.as_array()
                    .into_iter()
                    .flatten()
                    .map(|e| {
                        format!(
                            "{} {} ({})",
                            e["name"].as_str().unwrap_or(""),
                            e["address"].as_str().unwrap_or(""),
                            e["network"].as_str().unwrap_or("")
                        )
                    })
                    .collect::<Vec<_>>()
                    .join("\n")
            });
        }
        WalletCommand::Address { name } => {
            let entry = wallet.entry(name.as_deref())?;
            print(
                json_mode,
                &json!({"name": entry.name, "address": entry.address}),
                |e| e["address"].as_str().unwrap_or("").to_string(),
            );
        }
        WalletCommand::Balance { name } => {
            let entry = wallet.entry(name.as_deref())?;
            let account = client().get(&format!("addresses/{}", entry.address))?;
            print(json_mode, &account, account_text);
        }
        WalletCommand::History {
            name,
            limit,
            before,
        } => {
            let entry = wallet.entry(name.as_deref())?;
            let after = before
                .map(|cursor| format!("&before={cursor}"))
                .unwrap_or_default();
            let page = client().get(&format!(
                "addresses/{}/history?limit={limit}{after}",
                entry.address
            ))?;
            let me = entry.address.clone();
            print(json_mode, &page, |p| {
                p["items"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|item| {
                        let tx = &item["tx"];
                        let outgoing = tx["from"].as_str() == Some(me.as_str());
                        let (sign, other) = if outgoing {
                            ("-", tx["to"].as_str())
                        } else {
                            ("+", tx["from"].as_str().or(Some("(mined)")))
                        };
                        format!(
                            "height {} {sign}{} {} {}",
                            item["height"],
                            coins(&tx["amount"]),
                            other.unwrap_or(""),
                            tx["txid"].as_str().unwrap_or("")
                        )
                    })
                    .collect::<Vec<_>>()
                    .join("\n")
            });
        }
        WalletCommand::Send {
            to,
            amount,
            fee,
            memo,
            from,
            max_fee,
            yes,
        } => {
            let entry = wallet.entry(from.as_deref())?.clone();
            let status = client().get("status")?;
            let network = status["network"].as_str().unwrap_or("");
            let params = params(network)?;
            if entry.network != params.name {
                return Err(CliError::Usage(format!(
                    "key `{}` is for {}, the node runs {}",
                    entry.name, entry.network, params.name
                )));
            }
            let receiver = Address::parse(&to, params.address_prefix)
                .map_err(|e| CliError::BadAddress(e.to_string()))?;
            let amount = Amount::parse_coins(&amount)
                .filter(|a| a.0 > 0)
                .ok_or_else(|| {
                    CliError::Usage(format!("`{amount}` is not an amount of coins above zero"))
                })?;
            let fee = Amount::parse_coins(&fee)
                .ok_or_else(|| CliError::Usage(format!("`{fee}` is not an amount of coins")))?;
            let max_fee = Amount::parse_coins(&max_fee)
                .ok_or_else(|| CliError::Usage(format!("`{max_fee}` is not an amount of coins")))?;
            if let Some(concern) = chain_core::fees::fee_concern(amount, fee, max_fee)
                && !yes
            {
                return Err(CliError::Usage(format!(
                    "{concern}; nothing was sent (pass --yes to send it anyway)"
                )));
            }
            let account = client().get(&format!("addresses/{}", entry.address))?;
            let balance = account["balance"].as_u64().unwrap_or(0);
            let pending_out = account["pending_out"].as_u64().unwrap_or(0);
            let needed = amount
                .checked_add(fee)
                .ok_or_else(|| CliError::Usage("amount plus fee is too large".into()))?;
            if balance.saturating_sub(pending_out) < needed.0 {
                return Err(CliError::InsufficientBalance(format!(
                    "{} available ({} confirmed, {} pending out), {} needed",
                    Amount(balance.saturating_sub(pending_out)),
                    Amount(balance),
                    Amount(pending_out),
                    needed
                )));
            }
            let password = password(&password_file, false)?;
            let key = Wallet::unlock(&entry, password.as_bytes())?;
            let nonce = account["next_nonce"].as_u64().unwrap_or(0);
            let transfer = UnsignedTransfer {
                to: receiver,
                amount,
                fee,
                nonce,
                memo: memo.into_bytes(),
            }
            .sign(&key, params.network_id);
            let encoded = chain_core::hash::to_hex(&transfer.to_bytes());
            let answer = client().post("transfers", &json!({ "transfer": encoded }))?;
            print(json_mode, &answer, |a| {
                format!(
                    "sent {} to {to}: txid {}",
                    amount,
                    a["txid"].as_str().unwrap_or("")
                )
            });
        }
    }
    Ok(())
}

/// A channel that yields once Ctrl-C or SIGTERM arrives; the handlers are installed now.
fn stop_signal() -> Result<tokio::sync::mpsc::Receiver<()>, CliError> {
    let (sender, receiver) = tokio::sync::mpsc::channel(1);
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut interrupt = signal(SignalKind::interrupt())?;
        let mut terminate = signal(SignalKind::terminate())?;
        tokio::spawn(async move {
            tokio::select! {
                _ = interrupt.recv() => {}
                _ = terminate.recv() => {}
            }
            let _ = sender.send(()).await;
        });
    }
    #[cfg(not(unix))]
    tokio::spawn(async move {
        let _ = tokio::signal::ctrl_c().await;
        let _ = sender.send(()).await;
    });
    Ok(receiver)
}

fn runtime() -> Result<tokio::runtime::Runtime, CliError> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(CliError::from)
}

fn devnet(
    nodes: usize,
    data_dir: PathBuf,
    p2p_port: u16,
    api_port: u16,
    threads: usize,
    params: ChainParams,
    trusted_proxy: Option<std::net::IpAddr>,
) -> Result<(), CliError> {
    if nodes == 0 {
        return Err(CliError::Usage("a devnet needs at least one node".into()));
    }
    let password = std::env::var("CHAIN_DEVNET_PASSWORD").unwrap_or_else(|_| "devnet".into());
    let mut options = Vec::new();
    for i in 0..nodes {
        let dir = data_dir.join(format!("node-{i}"));
        let mut wallet = Wallet::open(&dir.join("wallet.json"))?;
        let entry = match wallet.entry(Some("miner")) {
            Ok(entry) => entry.clone(),
            Err(_) => wallet.create("miner", &params, password.as_bytes(), KdfParams::default())?,
        };
        let address = Wallet::address(&entry, params.address_prefix)?;
        let port = |base: u16| {
            base.checked_add(i as u16)
                .ok_or_else(|| CliError::Usage("port out of range".into()))
        };
        let listen: SocketAddr = SocketAddr::from(([127, 0, 0, 1], port(p2p_port)?));
        let peers = (0..i)
            .map(|j| SocketAddr::from(([127, 0, 0, 1], p2p_port + j as u16)).into())
            .collect();
        options.push(NodeOptions {
            params: params.clone(),
            data_dir: dir,
            listen,
            external_addr: None,
            peers,
            mining: Some(MiningConfig { address, threads }),
            api: SocketAddr::from(([127, 0, 0, 1], port(api_port)?)),
            // Node 0 serves the web app (pages and API); its users and their miners live in
            // `<devnet data dir>/web`.
            web: (i == 0).then(|| data_dir.join("web")),
            trusted_proxy,
        });
    }
    run_nodes(options)
}

/// Seconds between status lines when standard error is not a terminal.
const PLAIN_STATUS_EVERY: u64 = 30;

/// Runs nodes until Ctrl-C, printing where they are and a live status line.
fn run_nodes(options: Vec<NodeOptions>) -> Result<(), CliError> {
    let runtime = runtime()?;
    runtime.block_on(async move {
        // Listen for Ctrl-C (and SIGTERM) before anything starts, so a stop request during start-up
        // is a clean stop too.
        let mut stop = stop_signal()?;
        let mut running = Vec::new();
        for (i, option) in options.iter().enumerate() {
            let node = match start_node(option.clone()).await {
                Ok(node) => node,
                Err(error) => {
                    for node in running {
                        chain_cli::RunningNode::shutdown(node).await;
                    }
                    return Err(error);
                }
            };
            let mining = option
                .mining
                .as_ref()
                .map(|m| m.address.to_text(option.params.address_prefix))
                .unwrap_or_else(|| "not mining".into());
            println!(
                "node {i}: {} p2p {} api http://{} data {} miner {mining}",
                option.params.name,
                option.listen,
                node.api,
                option.data_dir.display()
            );
            if node.web.is_some() {
                println!("web wallet and explorer: http://{}/", node.api);
            }
            running.push(node);
        }
        println!("api token of each node: <data>/api-token; stop with Ctrl-C");
        // On a terminal, a live status line; elsewhere (a service, a log file) the same line
        // logged every `PLAIN_STATUS_EVERY` seconds.
        let terminal = std::io::IsTerminal::is_terminal(&std::io::stderr());
        let bar = indicatif::ProgressBar::new_spinner();
        if terminal {
            bar.enable_steady_tick(Duration::from_millis(250));
        }
        let mut ticks: u64 = 0;
        let mut last_heights: Vec<Option<(u64, std::time::Instant)>> = vec![None; running.len()];
        loop {
            let mut parts = Vec::new();
            for (i, node) in running.iter().enumerate() {
                let Ok(status) = node.node.status().await else {
                    continue;
                };
                let height = status.height.0;
                let now = std::time::Instant::now();
                // Blocks per second since the previous line: the sync rate while syncing.
                let rate = match last_heights[i] {
                    Some((before, at)) if now > at => {
                        (height.saturating_sub(before)) as f64 / (now - at).as_secs_f64()
                    }
                    _ => 0.0,
                };
                last_heights[i] = Some((height, now));
                let sync = if status.syncing || status.best_header_height.0 > height {
                    format!(
                        " syncing to {} at {rate:.0} blocks/s",
                        status.best_header_height
                    )
                } else {
                    indexing_note(status.indexed_height.0, height)
                };
                let mining = if status.mining.enabled {
                    format!(
                        " mining {:.1} MH/s, found {}",
                        status.mining.hash_rate / 1e6,
                        status.mining.blocks_found
                    )
                } else {
                    String::new()
                };
                parts.push(format!(
                    "node {i}: height {height}, {} peers{mining}{sync}",
                    status.peers
                ));
            }
            if terminal {
                bar.set_message(parts.join(" | "));
            } else if ticks.is_multiple_of(PLAIN_STATUS_EVERY) {
                tracing::info!(target: "chain", "{}", parts.join(" | "));
            }
            ticks += 1;
            tokio::select! {
                _ = stop.recv() => break,
                _ = tokio::time::sleep(Duration::from_secs(1)) => {}
            }
        }
        bar.finish_with_message("stopping");
        for node in running {
            node.shutdown().await;
        }
        println!("stopped");
        Ok(())
    })
}

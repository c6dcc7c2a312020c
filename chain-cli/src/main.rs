//! The `chain` binary: parses arguments, calls the library, prints, and picks an exit code.

use chain_cli::NodeOptions;
use chain_cli::error::CliError;
use chain_cli::foreground;
use chain_cli::logging::LogFormat;
use chain_cli::show::{self, print};
use chain_cli::wallet::Wallet;
use chain_core::address::Address;
use chain_core::error::SendError;
use chain_core::hash::Txid;
use chain_core::keystore::KdfParams;
use chain_core::params::ChainParams;
use chain_core::pow::CompactTarget;
use chain_core::send::{SendRequest, prepare_transfer};
use chain_core::units::Amount;
use chain_net::MiningConfig;
use chain_web::client::{Client, DEFAULT_TIMEOUT};
use chain_web::contract::PageQuery;
use clap::parser::ValueSource;
use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

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
        /// The whole history (from `--before` on, every page) as CSV: a header, then one row
        /// per transaction, amounts signed from this key's side.
        #[arg(long, conflicts_with = "limit")]
        csv: bool,
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
    let client = || Client::new(&cli.node, token.clone(), DEFAULT_TIMEOUT);
    match cli.command {
        Command::Devnet {
            nodes,
            data_dir,
            p2p_port,
            api_port,
            threads,
            network,
            trusted_proxy,
        } => foreground::devnet(
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
            foreground::run_nodes(vec![NodeOptions {
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
        } => wallet_command(&client(), cli.json, wallet, password_file, command),
        Command::Status => {
            print(cli.json, &client().status()?, show::status);
            Ok(())
        }
        Command::Block { id } => {
            print(cli.json, &client().block(&id)?, show::block);
            Ok(())
        }
        Command::Tx { txid } => {
            let txid: Txid = txid
                .parse()
                .map_err(|_| CliError::Usage(format!("`{txid}` is not a txid (64 hex digits)")))?;
            print(cli.json, &client().transfer(&txid)?, show::transfer);
            Ok(())
        }
        Command::Address { address } => {
            print(cli.json, &client().account(&address)?, show::account);
            Ok(())
        }
        Command::Peers {
            command: Some(PeersCommand::Add { peer }),
        } => {
            let added = client().add_peer(&peer.to_string())?;
            print(cli.json, &added, |a| {
                format!("dialling {} ({})", a.peer, a.addresses.join(", "))
            });
            Ok(())
        }
        Command::Peers { command: None } => {
            print(cli.json, &client().peers()?, |p| show::peers(p));
            Ok(())
        }
        Command::Fees => {
            print(cli.json, &client().fees()?, show::fees);
            Ok(())
        }
        Command::Mempool => {
            print(cli.json, &client().mempool()?, |m| show::mempool(m));
            Ok(())
        }
    }
}

/// History entries asked for per call by `wallet history --csv`.
const CSV_PAGE: usize = 500;

/// A wallet key as `wallet new`, `list` and `address` print it.
#[derive(serde::Serialize)]
struct KeyView<'a> {
    name: &'a str,
    address: &'a str,
    network: &'a str,
}

impl<'a> KeyView<'a> {
    fn of(entry: &'a chain_cli::wallet::Entry) -> Self {
        Self {
            name: &entry.name,
            address: &entry.address,
            network: &entry.network,
        }
    }
}

fn wallet_command(
    client: &Client,
    json_mode: bool,
    path: PathBuf,
    password_file: Option<PathBuf>,
    command: WalletCommand,
) -> Result<(), CliError> {
    let mut wallet = Wallet::open(&path)?;
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
            print(json_mode, &KeyView::of(&entry), |e| {
                format!("created `{}`: {}", e.name, e.address)
            });
        }
        WalletCommand::List => {
            let list: Vec<KeyView> = wallet.entries.iter().map(KeyView::of).collect();
            print(json_mode, &list, |l| {
                l.iter()
                    .map(|e| format!("{} {} ({})", e.name, e.address, e.network))
                    .collect::<Vec<_>>()
                    .join("\n")
            });
        }
        WalletCommand::Address { name } => {
            let entry = wallet.entry(name.as_deref())?;
            print(json_mode, &KeyView::of(entry), |e| e.address.to_string());
        }
        WalletCommand::Balance { name } => {
            let entry = wallet.entry(name.as_deref())?;
            print(json_mode, &client.account(&entry.address)?, show::account);
        }
        WalletCommand::History {
            name,
            before,
            csv: true,
            ..
        } => {
            let entry = wallet.entry(name.as_deref())?;
            println!("{}", chain_web::csv::HEADER);
            let mut before = before;
            loop {
                let page = client.history(
                    &entry.address,
                    &PageQuery {
                        before,
                        limit: Some(CSV_PAGE),
                    },
                )?;
                print!("{}", chain_web::csv::rows(&page.items, &entry.address));
                before = page.next;
                if before.is_none() {
                    break;
                }
            }
        }
        WalletCommand::History {
            name,
            limit,
            before,
            csv: false,
        } => {
            let entry = wallet.entry(name.as_deref())?;
            let page = client.history(
                &entry.address,
                &PageQuery {
                    before,
                    limit: Some(limit),
                },
            )?;
            print(json_mode, &page, |p| show::history(p, &entry.address));
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
            let params = params(&client.status()?.network)?;
            if entry.network != params.name {
                return Err(CliError::Usage(format!(
                    "key `{}` is for {}, the node runs {}",
                    entry.name, entry.network, params.name
                )));
            }
            let receiver = Address::parse(&to, params.address_prefix)
                .map_err(|e| CliError::BadAddress(e.to_string()))?;
            let coins = |text: &str, what: &str| {
                Amount::parse_coins(text)
                    .ok_or_else(|| CliError::Usage(format!("`{text}` is not {what}")))
            };
            let request = SendRequest {
                to: receiver,
                amount: coins(&amount, "an amount of coins above zero")?,
                fee: coins(&fee, "an amount of coins")?,
                memo: memo.into_bytes(),
                max_fee: coins(&max_fee, "an amount of coins")?,
                fee_confirmed: yes,
            };
            let amount = request.amount;
            let sender = client.account(&entry.address)?.sender();
            let unsigned = prepare_transfer(&sender, request).map_err(|refusal| match refusal {
                SendError::Insufficient { .. } => {
                    CliError::InsufficientBalance(refusal.to_string())
                }
                SendError::Fee(concern) => CliError::Usage(format!(
                    "{concern}; nothing was sent (pass --yes to send it anyway)"
                )),
                other => CliError::Usage(format!("{other}; nothing was sent")),
            })?;
            let password = password(&password_file, false)?;
            let key = Wallet::unlock(&entry, password.as_bytes())?;
            let transfer = unsigned.sign(&key, params.network_id);
            let sent = client.submit(&transfer)?;
            print(json_mode, &sent, |a| {
                format!("sent {amount} to {to}: txid {}", a.txid)
            });
        }
    }
    Ok(())
}

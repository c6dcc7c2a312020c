//! A network of `chain node` hosts on this machine, each in its own network namespace, with
//! shaped links between them; commands on standard input cut and heal links and partitions.
//!
//! ```text
//! scripts/testbed [--hosts 3] [--delay 100ms | --delay 50ms..200ms] [--jitter 0ms]
//!     [--loss 1%] [--rate 10mbit] [--miners 2] [--dials 2] [--seed 1] [--subnet 10.213.0]
//!     [--bits 0x1e00ffff] [--chain target/release/chain] [--data-dir DIR]
//! ```
//!
//! Host `i` is `node<i>` at `<subnet>.<i>`: its peers at `:7410`, its API and web wallet at
//! `http://<subnet>.<i>:8080` (reachable from this machine). Node `i` dials the `--dials`
//! nodes before it by name; the first `--miners` mine. Commands, one per line:
//!
//! ```text
//! status                 heights, tips and peers of every node, and the switch's counts
//! cut 1 2                cut the link between node1 and node2
//! heal 1 2               restore it
//! partition 1-8 9-16     cut every link between the groups (lists like 1,3,5 or ranges)
//! heal                   restore every link
//! quit                   stop the nodes and remove everything (also on end of input, Ctrl-C)
//! ```

use benches::args::Args;
use benches::chaos::api::Api;
use benches::testbed::nodes::{self, Setup};
use benches::testbed::{Config, Testbed, clean_stale, unavailable};
use std::error::Error;
use std::io::BufRead;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

type Result<T> = std::result::Result<T, Box<dyn Error>>;

/// `100ms`, `1.5s` or `250us`.
fn duration(text: &str) -> Result<Duration> {
    let text = text.trim();
    let (number, unit) = text.split_at(
        text.find(|c: char| c.is_ascii_alphabetic())
            .unwrap_or(text.len()),
    );
    let value: f64 = number
        .parse()
        .map_err(|_| format!("`{text}` is not a duration like 100ms"))?;
    let seconds = match unit {
        "s" => value,
        "ms" => value / 1e3,
        "us" => value / 1e6,
        _ => return Err(format!("`{text}`: write s, ms or us").into()),
    };
    Duration::try_from_secs_f64(seconds).map_err(|_| format!("`{text}` is not a duration").into())
}

/// `100ms` (both ends alike) or `50ms..200ms`.
fn delay_range(text: &str) -> Result<(Duration, Duration)> {
    match text.split_once("..") {
        Some((low, high)) => {
            let (low, high) = (duration(low)?, duration(high)?);
            if low > high {
                return Err(format!("--delay {text}: the first is larger").into());
            }
            Ok((low, high))
        }
        None => duration(text).map(|d| (d, d)),
    }
}

/// `1%` or `0.01`.
fn share(text: &str) -> Result<f64> {
    let value: f64 = match text.strip_suffix('%') {
        Some(percent) => percent.parse::<f64>().map(|p| p / 100.0),
        None => text.parse(),
    }
    .map_err(|_| format!("`{text}` is not a share like 1%"))?;
    if (0.0..=1.0).contains(&value) {
        Ok(value)
    } else {
        Err(format!("`{text}` is not between 0 and 100%").into())
    }
}

/// `10mbit`, `512kbit`, `1gbit` or bits per second.
fn rate(text: &str) -> Result<u64> {
    let lower = text.to_ascii_lowercase();
    let (number, scale) = [("gbit", 1e9), ("mbit", 1e6), ("kbit", 1e3), ("bit", 1.0)]
        .iter()
        .find_map(|(unit, scale)| lower.strip_suffix(unit).map(|n| (n.to_owned(), *scale)))
        .unwrap_or((lower.clone(), 1.0));
    let value: f64 = number
        .parse()
        .map_err(|_| format!("`{text}` is not a rate like 10mbit"))?;
    Ok((value * scale) as u64)
}

/// `1-8`, `1,3,5` or `2`: host numbers from 1, as indexes from 0.
fn hosts_list(text: &str, hosts: usize) -> Result<Vec<usize>> {
    let mut list = Vec::new();
    for part in text.split(',') {
        let (low, high) = part.split_once('-').unwrap_or((part, part));
        let (low, high): (usize, usize) = (low.parse()?, high.parse()?);
        if low == 0 || high > hosts || low > high {
            return Err(format!("`{part}`: hosts are 1 to {hosts}").into());
        }
        list.extend(low - 1..high);
    }
    Ok(list)
}

fn status(apis: &[Api], testbed: &Testbed) {
    for (i, api) in apis.iter().enumerate() {
        match api.status() {
            Ok(s) => println!(
                "{:<7} height {:>6}  tip {}  peers {}  mempool {}",
                Testbed::host_name(i),
                s.height,
                &s.tip.to_string()[..16],
                s.peers,
                s.mempool_transfers
            ),
            Err(e) => println!("{:<7} {e}", Testbed::host_name(i)),
        }
    }
    let c = testbed.switch().counts();
    println!(
        "switch: {} delivered, {} lost, {} cut, {} overflowed; cut now: {:?}",
        c.delivered,
        c.lost,
        c.cut,
        c.overflowed,
        testbed
            .switch()
            .cuts()
            .iter()
            .map(|(a, b)| format!("{}-{}", a + 1, b + 1))
            .collect::<Vec<_>>()
    );
}

/// Runs one command line; `false` to stop.
fn command(line: &str, apis: &[Api], testbed: &Testbed) -> Result<bool> {
    let words: Vec<&str> = line.split_whitespace().collect();
    let host = |text: &str| -> Result<usize> {
        Ok(hosts_list(text, testbed.hosts())?
            .first()
            .copied()
            .ok_or("no host")?)
    };
    match words.as_slice() {
        [] => {}
        ["status"] => status(apis, testbed),
        ["cut", a, b] => testbed.switch().cut(host(a)?, host(b)?),
        ["heal", a, b] => testbed.switch().heal(host(a)?, host(b)?),
        ["heal"] => testbed.switch().heal_all(),
        ["partition", groups @ ..] if groups.len() >= 2 => {
            let groups = groups
                .iter()
                .map(|g| hosts_list(g, testbed.hosts()))
                .collect::<Result<Vec<_>>>()?;
            testbed.switch().partition(&groups);
        }
        ["quit" | "exit"] => return Ok(false),
        _ => println!("commands: status, cut A B, heal A B, partition 1-8 9-16, heal, quit"),
    }
    Ok(true)
}

fn main() -> Result<()> {
    let args = Args::from_env(&[
        "hosts", "delay", "jitter", "loss", "rate", "miners", "dials", "seed", "subnet", "bits",
        "chain", "data-dir",
    ])?;
    if let Some(why) = unavailable() {
        return Err(format!("no testbed on this machine: {why}").into());
    }
    clean_stale();
    let subnet: String = args.get("subnet", "10.213.0".to_owned())?;
    let subnet: Vec<u8> = subnet
        .split('.')
        .map(str::parse)
        .collect::<std::result::Result<_, _>>()
        .map_err(|_| "--subnet takes three numbers like 10.213.0")?;
    let config = Config {
        hosts: args.get("hosts", 3)?,
        subnet: subnet
            .try_into()
            .map_err(|_| "--subnet takes three numbers like 10.213.0")?,
        delay: delay_range(&args.get("delay", "0ms".to_owned())?)?,
        jitter: duration(&args.get("jitter", "0ms".to_owned())?)?,
        loss: share(&args.get("loss", "0%".to_owned())?)?,
        rate: match args.get("rate", String::new())?.as_str() {
            "" => None,
            text => Some(rate(text)?),
        },
        seed: args.get("seed", 1)?,
    };
    let data_dir: PathBuf = match args.get("data-dir", String::new())?.as_str() {
        "" => std::env::temp_dir().join(format!("chain-testbed-{}", std::process::id())),
        dir => PathBuf::from(dir),
    };
    std::fs::create_dir_all(&data_dir)?;
    let setup = Setup {
        chain: PathBuf::from(args.get("chain", "target/release/chain".to_owned())?),
        data_dir: data_dir.clone(),
        miners: args.get("miners", 2)?,
        bits: args.get("bits", "0x1e00ffff".to_owned())?,
        dials: args.get("dials", 2)?,
    };
    if !setup.chain.is_file() {
        return Err(format!("no `chain` binary at {}", setup.chain.display()).into());
    }

    let testbed = Arc::new(Mutex::new(Some(Testbed::start(config.clone())?)));
    // Ctrl-C or SIGTERM: everything made is removed before the process ends.
    {
        let testbed = testbed.clone();
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build();
            if let Ok(runtime) = runtime {
                runtime.block_on(async {
                    let mut term =
                        tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
                            .ok();
                    let terminated = async {
                        match term.as_mut() {
                            Some(term) => term.recv().await,
                            None => std::future::pending().await,
                        }
                    };
                    tokio::select! {
                        _ = tokio::signal::ctrl_c() => {}
                        _ = terminated => {}
                    }
                });
            }
            eprintln!("stopping: removing the testbed");
            drop(
                testbed
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .take(),
            );
            std::process::exit(130);
        });
    }
    let outcome = serve(&testbed, &setup, &config);
    // On an error too: what was made is removed before the process ends.
    drop(
        testbed
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take(),
    );
    outcome
}

/// Starts the nodes, says where they are, and runs commands until `quit` or end of input.
fn serve(testbed: &Mutex<Option<Testbed>>, setup: &Setup, config: &Config) -> Result<()> {
    let apis = {
        let mut guard = testbed.lock().unwrap_or_else(PoisonError::into_inner);
        let Some(bed) = guard.as_mut() else {
            return Ok(());
        };
        nodes::start(bed, setup)?
    };
    {
        let guard = testbed.lock().unwrap_or_else(PoisonError::into_inner);
        let Some(bed) = guard.as_ref() else {
            return Ok(());
        };
        println!(
            "{} hosts, one-way delay {:?}..{:?} (jitter {:?}), loss {:.2} %, rate {}; data and logs in {}",
            bed.hosts(),
            config.delay.0,
            config.delay.1,
            config.jitter,
            config.loss * 100.0,
            config
                .rate
                .map_or("unlimited".to_owned(), |r| format!("{r} bit/s")),
            setup.data_dir.display()
        );
        for (i, api) in apis.iter().enumerate() {
            println!(
                "{:<7} {:<15} web {}",
                Testbed::host_name(i),
                bed.address(i),
                api.base()
            );
        }
        println!("commands: status, cut A B, heal A B, partition 1-8 9-16, heal, quit");
    }
    for line in std::io::stdin().lock().lines() {
        let line = line?;
        let guard = testbed.lock().unwrap_or_else(PoisonError::into_inner);
        let Some(bed) = guard.as_ref() else { break };
        match command(&line, &apis, bed) {
            Ok(true) => {}
            Ok(false) => break,
            Err(e) => println!("error: {e}"),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn link_settings_read_as_a_person_writes_them() {
        assert_eq!(duration("100ms").unwrap(), Duration::from_millis(100));
        assert_eq!(duration("1.5s").unwrap(), Duration::from_millis(1500));
        assert!(duration("100").is_err() && duration("fast").is_err());
        assert_eq!(
            delay_range("50ms..200ms").unwrap(),
            (Duration::from_millis(50), Duration::from_millis(200))
        );
        assert!(delay_range("200ms..50ms").is_err());
        assert_eq!(share("1%").unwrap(), 0.01);
        assert!(share("101%").is_err());
        assert_eq!(rate("10mbit").unwrap(), 10_000_000);
        assert_eq!(hosts_list("1-3,5", 8).unwrap(), vec![0, 1, 2, 4]);
        assert!(hosts_list("0-2", 8).is_err() && hosts_list("7-9", 8).is_err());
    }
}

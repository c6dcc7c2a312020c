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
use benches::testbed::settings::{delay_range, duration, hosts_list, rate, share};
use benches::testbed::{Config, Testbed, clean_stale, unavailable};
use std::error::Error;
use std::io::BufRead;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};

type Result<T> = std::result::Result<T, Box<dyn Error>>;

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
            benches::testbed::wait_for_interrupt();
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

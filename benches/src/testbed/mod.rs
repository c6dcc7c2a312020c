//! A network of real hosts on one machine: each host a Linux network namespace with its own
//! address and TCP/IP stack, its interface a TUN device of the [`switch`], which shapes every
//! link (delay, jitter, loss, rate) and cuts and heals links and partitions. Host `i` is
//! `node{i+1}` at `<subnet>.{i+1}` in every host's `/etc/hosts` (`ip netns exec` reads
//! `/etc/netns/<namespace>/hosts` as `/etc/hosts`); the controller (this process, outside the
//! namespaces) is `<subnet>.254`, over an unshaped link, so that a harness can reach every
//! host's API.
//!
//! Everything the testbed makes carries its tag (`chaintb-<pid>`): it refuses a subnet that an
//! interface it did not make already uses, touches only what it made, and removes it all when
//! dropped (on an error or a panic too). What a killed run leaves, [`clean_stale`] removes.

pub mod nodes;
pub mod settings;
pub mod switch;
pub mod tun;

use std::error::Error;
use std::net::Ipv4Addr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;
use switch::{Shape, Switch};
use tun::Tun;

type Result<T> = std::result::Result<T, Box<dyn Error>>;

/// Prefix of every namespace a testbed makes (then its process id and the host number).
const TAG: &str = "chaintb";

/// How a testbed is built.
#[derive(Debug, Clone)]
pub struct Config {
    /// Hosts.
    pub hosts: usize,
    /// The first three bytes of the hosts' addresses.
    pub subnet: [u8; 3],
    /// Each link's one-way delay, drawn once per pair of hosts from this range (both ends
    /// included; both directions alike).
    pub delay: (Duration, Duration),
    /// Plus or minus this on each packet.
    pub jitter: Duration,
    /// Share of packets dropped on each link, 0 to 1.
    pub loss: f64,
    /// Each link's rate in bits per second (`None`: unlimited).
    pub rate: Option<u64>,
    /// Seed of the delays drawn and of every loss and jitter.
    pub seed: u64,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            hosts: 3,
            subnet: [10, 213, 0],
            delay: (Duration::ZERO, Duration::ZERO),
            jitter: Duration::ZERO,
            loss: 0.0,
            rate: None,
            seed: 1,
        }
    }
}

/// Runs `ip` with `args`; its error output on failure.
fn ip(args: &[&str]) -> Result<()> {
    let output = Command::new("ip")
        .args(args)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run `ip` (is iproute2 installed?): {e}"))?;
    if output.status.success() {
        Ok(())
    } else {
        Err(format!(
            "ip {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&output.stderr).trim()
        )
        .into())
    }
}

/// Why no testbed can be made on this machine (`None`: one can): no `ip`, no permission to
/// make namespaces, no TUN devices.
pub fn unavailable() -> Option<String> {
    let probe = format!("{TAG}-probe-{}", std::process::id());
    if let Err(e) = ip(&["netns", "add", &probe]) {
        return Some(format!("network namespaces cannot be made here: {e}"));
    }
    let _ = ip(&["netns", "del", &probe]);
    if let Err(e) = Tun::create(&format!("ctbp{}", std::process::id() % 100_000)) {
        return Some(format!("TUN devices cannot be made here: {e}"));
    }
    None
}

/// Removes the namespaces (and their hosts files) of testbeds whose process is gone.
pub fn clean_stale() {
    let Ok(output) = Command::new("ip").args(["netns", "list"]).output() else {
        return;
    };
    for line in String::from_utf8_lossy(&output.stdout).lines() {
        let Some(name) = line.split_whitespace().next() else {
            continue;
        };
        let Some(rest) = name.strip_prefix(&format!("{TAG}-")) else {
            continue;
        };
        let Some(pid) = rest.split('-').next() else {
            continue;
        };
        let alive = pid
            .parse::<u32>()
            .is_ok_and(|pid| std::path::Path::new(&format!("/proc/{pid}")).exists());
        if !alive {
            let _ = ip(&["netns", "del", name]);
            let _ = std::fs::remove_dir_all(hosts_dir(name));
        }
    }
}

/// Blocks the calling thread until the process gets Ctrl-C (SIGINT) or SIGTERM (for good,
/// where signals cannot be listened for).
pub fn wait_for_interrupt() {
    let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    else {
        loop {
            std::thread::park();
        }
    };
    runtime.block_on(async {
        use tokio::signal::unix::{SignalKind, signal};
        let mut term = signal(SignalKind::terminate()).ok();
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

/// Removes this process's namespaces (and their hosts files) when it is interrupted (Ctrl-C,
/// SIGTERM), then ends it with status 130: for a harness whose testbed is owned deep inside
/// its run. The processes in the namespaces are killed (from a terminal they got its Ctrl-C
/// too; a signal sent to this process alone reaches only it); the TUN devices go with this
/// process.
pub fn remove_on_interrupt() {
    std::thread::spawn(|| {
        wait_for_interrupt();
        let own = format!("{TAG}-{}-", std::process::id());
        if let Ok(output) = Command::new("ip").args(["netns", "list"]).output() {
            for line in String::from_utf8_lossy(&output.stdout).lines() {
                if let Some(name) = line
                    .split_whitespace()
                    .next()
                    .filter(|n| n.starts_with(&own))
                {
                    // Without a terminal (a signal sent to this process alone) the processes in
                    // the namespace did not get it: they are stopped here.
                    kill_processes_in(name);
                    let _ = ip(&["netns", "del", name]);
                    let _ = std::fs::remove_dir_all(hosts_dir(name));
                }
            }
        }
        eprintln!("interrupted: the testbed's processes are stopped, its namespaces removed");
        std::process::exit(130);
    });
}

/// Sends SIGKILL to every process in the namespace `name` (`ip netns pids`).
fn kill_processes_in(name: &str) {
    let Ok(output) = Command::new("ip").args(["netns", "pids", name]).output() else {
        return;
    };
    for pid in String::from_utf8_lossy(&output.stdout)
        .split_whitespace()
        .filter_map(|pid| pid.parse::<libc::pid_t>().ok())
    {
        // SAFETY: `kill` with a pid and a valid signal number has no memory effects.
        unsafe { libc::kill(pid, libc::SIGKILL) };
    }
}

/// Where `ip netns exec` finds a namespace's own `/etc` files.
fn hosts_dir(namespace: &str) -> PathBuf {
    PathBuf::from("/etc/netns").join(namespace)
}

/// A running testbed; dropping it stops its processes and removes all it made.
pub struct Testbed {
    config: Config,
    namespaces: Vec<String>,
    children: Vec<Child>,
    switch: Option<Switch>,
}

impl Testbed {
    /// Makes `config.hosts` hosts and the switch between them.
    ///
    /// # Errors
    ///
    /// When the subnet is in use already, or a namespace or device cannot be made (what was
    /// made is removed again).
    pub fn start(config: Config) -> Result<Self> {
        if config.hosts == 0 || config.hosts > 250 {
            return Err("a testbed has 1 to 250 hosts".into());
        }
        let [a, b, c] = config.subnet;
        let prefix = format!("{a}.{b}.{c}.");
        let routes = Command::new("ip").args(["-4", "-o", "addr"]).output()?;
        if String::from_utf8_lossy(&routes.stdout).contains(&format!(" {prefix}")) {
            return Err(format!(
                "an interface of this machine already has an address in {prefix}0/24: \
                 choose another subnet"
            )
            .into());
        }
        let pid = std::process::id();
        let mut testbed = Self {
            namespaces: Vec::new(),
            children: Vec::new(),
            switch: None,
            config: config.clone(),
        };
        let hosts_file = (0..config.hosts).fold(
            String::from("127.0.0.1 localhost\n::1 localhost\n"),
            |mut text, i| {
                text.push_str(&format!("{prefix}{} {}\n", i + 1, Self::host_name(i)));
                text
            },
        );
        let mut ports = Vec::new();
        for i in 0..config.hosts {
            let namespace = format!("{TAG}-{pid}-{}", i + 1);
            ip(&["netns", "add", &namespace])?;
            testbed.namespaces.push(namespace.clone());
            std::fs::create_dir_all(hosts_dir(&namespace))?;
            std::fs::write(hosts_dir(&namespace).join("hosts"), &hosts_file)?;
            // Made here, then moved into its namespace and renamed there.
            let device = format!("ctb{}n{}", pid % 100_000, i + 1);
            let port = Tun::create(&device)?;
            ip(&["link", "set", &device, "netns", &namespace])?;
            let address = format!("{prefix}{}/24", i + 1);
            let inside = |args: &[&str]| {
                let mut all = vec!["-n", namespace.as_str()];
                all.extend_from_slice(args);
                ip(&all)
            };
            inside(&["link", "set", &device, "name", "eth0"])?;
            inside(&["addr", "add", &address, "dev", "eth0"])?;
            inside(&["link", "set", "eth0", "up"])?;
            inside(&["link", "set", "lo", "up"])?;
            ports.push(port);
        }
        let controller = format!("ctb{}c", pid % 100_000);
        ports.push(Tun::create(&controller)?);
        ip(&[
            "addr",
            "add",
            &format!("{prefix}254/24"),
            "dev",
            &controller,
        ])?;
        ip(&["link", "set", &controller, "up"])?;

        let delays = Self::draw_delays(&config);
        let hosts = config.hosts;
        let shape = move |from: usize, to: usize| {
            if from == hosts || to == hosts {
                return Shape::IDEAL;
            }
            Shape {
                delay: delays[from.min(to) * hosts + from.max(to)],
                jitter: config.jitter,
                loss: config.loss,
                rate: config.rate,
            }
        };
        testbed.switch = Some(Switch::start(
            ports,
            hosts,
            config.subnet,
            shape,
            config.seed,
        )?);
        Ok(testbed)
    }

    /// One delay per pair of hosts (index `lower * hosts + higher`), drawn from the seed.
    fn draw_delays(config: &Config) -> Vec<Duration> {
        let mut rng = chain_core::testkit::Rng::new(config.seed ^ 0x07e5_7bed);
        let (low, high) = config.delay;
        let span = high.saturating_sub(low).as_micros() as u64;
        (0..config.hosts * config.hosts)
            .map(|_| low + Duration::from_micros(rng.below(span + 1)))
            .collect()
    }

    /// The name of host `i` in every host's `/etc/hosts`.
    #[must_use]
    pub fn host_name(i: usize) -> String {
        format!("node{}", i + 1)
    }

    /// Host `i`'s address.
    #[must_use]
    pub fn address(&self, i: usize) -> Ipv4Addr {
        let [a, b, c] = self.config.subnet;
        // Hosts are at most 250: `i + 1` fits.
        Ipv4Addr::new(a, b, c, u8::try_from(i + 1).unwrap_or(u8::MAX))
    }

    /// Hosts.
    #[must_use]
    pub fn hosts(&self) -> usize {
        self.config.hosts
    }

    /// The words that run a program inside host `i` (`ip netns exec <namespace>`).
    #[must_use]
    pub fn launcher(&self, i: usize) -> Vec<String> {
        vec![
            "ip".into(),
            "netns".into(),
            "exec".into(),
            self.namespaces[i].clone(),
        ]
    }

    /// A command that runs `program` inside host `i` (its network and its `/etc/hosts`).
    #[must_use]
    pub fn command(&self, i: usize, program: &std::path::Path) -> Command {
        let mut command = Command::new("ip");
        command
            .args(["netns", "exec", &self.namespaces[i]])
            .arg(program);
        command
    }

    /// Runs `work` on a thread inside host `i`'s network (its sockets are the host's); what it
    /// returns.
    ///
    /// # Errors
    ///
    /// When the thread cannot enter the namespace, or `work` panics.
    pub fn run_in<T: Send + 'static>(
        &self,
        i: usize,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T> {
        let path = PathBuf::from("/run/netns").join(&self.namespaces[i]);
        let namespace = std::fs::File::open(&path)
            .map_err(|e| format!("cannot open {}: {e}", path.display()))?;
        let thread = std::thread::spawn(move || {
            use std::os::fd::AsRawFd;
            // SAFETY: an open namespace descriptor and the network namespace kind; this thread
            // alone moves into it.
            let entered = unsafe { libc::setns(namespace.as_raw_fd(), libc::CLONE_NEWNET) };
            if entered != 0 {
                return Err(format!("setns: {}", std::io::Error::last_os_error()));
            }
            Ok(work())
        });
        thread
            .join()
            .map_err(|_| "the work inside the host panicked")?
            .map_err(Into::into)
    }

    /// Starts `command` (from [`Testbed::command`]); it is killed when the testbed goes, or
    /// by [`Testbed::stop`].
    ///
    /// # Errors
    ///
    /// When it cannot start.
    pub fn spawn(&mut self, mut command: Command) -> Result<usize> {
        self.children.push(command.spawn()?);
        Ok(self.children.len() - 1)
    }

    /// Stops (SIGINT, then SIGKILL after 10 s) the process [`Testbed::spawn`] numbered `which`.
    pub fn stop(&mut self, which: usize) {
        if let Some(child) = self.children.get_mut(which) {
            interrupt(child);
        }
    }

    /// Whether each process started is still running.
    pub fn running(&mut self) -> Vec<bool> {
        self.children
            .iter_mut()
            .map(|c| matches!(c.try_wait(), Ok(None)))
            .collect()
    }

    /// The switch (cut, heal, partition, counts).
    #[must_use]
    pub fn switch(&self) -> &Switch {
        // Set in `start` before the testbed is returned.
        self.switch.as_ref().expect("the switch runs")
    }
}

/// Sends SIGINT to `child` unless it has ended.
fn signal(child: &mut Child) {
    if matches!(child.try_wait(), Ok(None))
        && let Ok(pid) = libc::pid_t::try_from(child.id())
    {
        // SAFETY: `kill` with a child's pid and a valid signal number has no memory effects.
        unsafe { libc::kill(pid, libc::SIGINT) };
    }
}

/// SIGINT, so that a node closes its database; SIGKILL if it has not ended in 10 s.
fn interrupt(child: &mut Child) {
    signal(child);
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while std::time::Instant::now() < deadline {
        if matches!(child.try_wait(), Ok(Some(_))) {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    let _ = child.wait();
}

impl Drop for Testbed {
    fn drop(&mut self) {
        for child in &mut self.children {
            signal(child);
        }
        for child in &mut self.children {
            interrupt(child);
        }
        // The devices go with the switch's descriptors.
        self.switch = None;
        for namespace in &self.namespaces {
            let _ = ip(&["netns", "del", namespace]);
            let _ = std::fs::remove_dir_all(hosts_dir(namespace));
        }
    }
}

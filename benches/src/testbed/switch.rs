//! The testbed's switch: every host's interface is a TUN device whose packets this process
//! reads, and it delivers each IPv4 packet to the device of the host it is addressed to after
//! the link's delay (and jitter), unless the link's loss drops it or the link is cut. A link
//! with a rate sends one packet at a time at that rate, and a packet that would wait more than
//! [`MAX_QUEUE`] behind others is dropped, as a full router queue drops it.
//!
//! This does in user space what `tc netem` does in the kernel, for kernels built without it
//! (`CONFIG_NET_SCH_NETEM`), and the randomness of every loss and jitter comes from one seed.
//! Packets keep their order on a link (a later packet is never delivered before an earlier one).

use super::tun::Tun;
use chain_core::testkit::Rng;
use std::collections::{BinaryHeap, HashSet};
use std::net::Ipv4Addr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// The longest a packet may wait behind others on a rate-limited link before it is dropped.
pub const MAX_QUEUE: Duration = Duration::from_secs(1);

/// How often the switch's threads look whether they should stop.
const STOP_CHECK: Duration = Duration::from_millis(200);

/// What one direction of a link does to packets.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Shape {
    /// Added to every packet.
    pub delay: Duration,
    /// Each packet's delay is `delay` plus or minus up to this, uniformly.
    pub jitter: Duration,
    /// Share of packets dropped, 0 to 1.
    pub loss: f64,
    /// Bits per second (`None`: as fast as packets come).
    pub rate: Option<u64>,
}

impl Shape {
    /// A link that delivers everything at once.
    pub const IDEAL: Self = Self {
        delay: Duration::ZERO,
        jitter: Duration::ZERO,
        loss: 0.0,
        rate: None,
    };
}

/// What the switch has done with packets so far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    /// Delivered to their host.
    pub delivered: u64,
    /// Dropped by a link's loss.
    pub lost: u64,
    /// Dropped on a cut link.
    pub cut: u64,
    /// Dropped by a full queue.
    pub overflowed: u64,
    /// Not IPv4 or for no host of the testbed.
    pub unroutable: u64,
}

/// One packet on its way.
struct InFlight {
    due: Instant,
    /// Order of arrival, for packets due at the same instant.
    seq: u64,
    to: usize,
    packet: Vec<u8>,
}

impl PartialEq for InFlight {
    fn eq(&self, other: &Self) -> bool {
        (self.due, self.seq) == (other.due, other.seq)
    }
}
impl Eq for InFlight {}
impl PartialOrd for InFlight {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for InFlight {
    /// Reversed: the heap's top is the packet due first.
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (other.due, other.seq).cmp(&(self.due, self.seq))
    }
}

/// The links' shapes and state, indexed by (from, to) port.
struct Links {
    ports: usize,
    shapes: Vec<Shape>,
    cut: HashSet<(usize, usize)>,
    /// When each directed link is free to send the next packet (rate-limited links).
    free_at: Vec<Instant>,
    /// When the last packet on each directed link is due (packets keep their order).
    last_due: Vec<Instant>,
    rng: Rng,
    seq: u64,
}

impl Links {
    fn index(&self, from: usize, to: usize) -> usize {
        from * self.ports + to
    }

    /// When a packet of `len` bytes sent now from `from` to `to` arrives, or why it does not.
    fn route(
        &mut self,
        from: usize,
        to: usize,
        len: usize,
        now: Instant,
    ) -> Result<Instant, Dropped> {
        if self.cut.contains(&(from.min(to), from.max(to))) {
            return Err(Dropped::Cut);
        }
        let link = self.index(from, to);
        let shape = self.shapes[link];
        // A uniform draw in [0, 1) from the top 53 bits.
        let mut unit = || (self.rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64;
        if shape.loss > 0.0 && unit() < shape.loss {
            return Err(Dropped::Lost);
        }
        let jitter = shape.jitter.mul_f64(unit() * 2.0);
        let delay = (shape.delay + jitter).saturating_sub(shape.jitter);
        let sent = match shape.rate {
            None => now,
            Some(rate) => {
                let start = self.free_at[link].max(now);
                if start.duration_since(now) > MAX_QUEUE {
                    return Err(Dropped::Overflow);
                }
                let bits = len as f64 * 8.0;
                let done = start + Duration::from_secs_f64(bits / rate.max(1) as f64);
                self.free_at[link] = done;
                done
            }
        };
        let due = (sent + delay).max(self.last_due[link]);
        self.last_due[link] = due;
        Ok(due)
    }
}

/// Why a packet was not delivered.
enum Dropped {
    Cut,
    Lost,
    Overflow,
}

/// What the threads share.
struct Shared {
    links: Mutex<Links>,
    queue: Mutex<BinaryHeap<InFlight>>,
    queued: Condvar,
    stop: AtomicBool,
    /// The first three bytes of every host's address; host `i` is `.i+1`, the controller
    /// `.254`.
    subnet: [u8; 3],
    hosts: usize,
    counts: [AtomicU64; 5],
}

/// Index of each count in `Shared::counts`.
const DELIVERED: usize = 0;
const LOST: usize = 1;
const CUT: usize = 2;
const OVERFLOWED: usize = 3;
const UNROUTABLE: usize = 4;

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // A thread that panicked holding the lock left consistent data (every update is one
    // assignment): carry on.
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Shared {
    /// The port a packet to `dst` goes to.
    fn port_of(&self, dst: Ipv4Addr) -> Option<usize> {
        let [a, b, c, d] = dst.octets();
        if [a, b, c] != self.subnet {
            return None;
        }
        match usize::from(d) {
            254 => Some(self.hosts),
            n if (1..=self.hosts).contains(&n) => Some(n - 1),
            _ => None,
        }
    }

    fn count(&self, which: usize) {
        self.counts[which].fetch_add(1, Ordering::Relaxed);
    }

    /// Takes a packet read from port `from` onto its way.
    fn forward(&self, from: usize, packet: &[u8]) {
        // IPv4: version 4 in the first nibble, the destination in bytes 16..20.
        let to = match packet {
            [
                first,
                _,
                _,
                _,
                _,
                _,
                _,
                _,
                _,
                _,
                _,
                _,
                _,
                _,
                _,
                _,
                a,
                b,
                c,
                d,
                ..,
            ] if first >> 4 == 4 => self.port_of(Ipv4Addr::new(*a, *b, *c, *d)),
            _ => None,
        };
        let Some(to) = to.filter(|&to| to != from) else {
            self.count(UNROUTABLE);
            return;
        };
        let now = Instant::now();
        let routed = {
            let mut links = lock(&self.links);
            let routed = links.route(from, to, packet.len(), now);
            links.seq += 1;
            routed.map(|due| (due, links.seq))
        };
        match routed {
            Ok((due, seq)) => {
                lock(&self.queue).push(InFlight {
                    due,
                    seq,
                    to,
                    packet: packet.to_vec(),
                });
                self.queued.notify_one();
            }
            Err(Dropped::Cut) => self.count(CUT),
            Err(Dropped::Lost) => self.count(LOST),
            Err(Dropped::Overflow) => self.count(OVERFLOWED),
        }
    }
}

/// The running switch; its threads stop, and its devices go, when it is dropped.
pub struct Switch {
    shared: Arc<Shared>,
    threads: Vec<JoinHandle<()>>,
}

impl Switch {
    /// Starts switching between `ports` (host `i`'s device at index `i`; the controller's, when
    /// there is one, last), with `shape(from, to)` for each directed link and `seed` for its
    /// randomness.
    ///
    /// # Errors
    ///
    /// When a device cannot be duplicated for its writer.
    pub fn start(
        ports: Vec<Tun>,
        hosts: usize,
        subnet: [u8; 3],
        shape: impl Fn(usize, usize) -> Shape,
        seed: u64,
    ) -> std::io::Result<Self> {
        let count = ports.len();
        let mut shapes = Vec::with_capacity(count * count);
        for from in 0..count {
            for to in 0..count {
                shapes.push(shape(from, to));
            }
        }
        let now = Instant::now();
        let shared = Arc::new(Shared {
            links: Mutex::new(Links {
                ports: count,
                shapes,
                cut: HashSet::new(),
                free_at: vec![now; count * count],
                last_due: vec![now; count * count],
                rng: Rng::new(seed),
                seq: 0,
            }),
            queue: Mutex::new(BinaryHeap::new()),
            queued: Condvar::new(),
            stop: AtomicBool::new(false),
            subnet,
            hosts,
            counts: Default::default(),
        });
        let writers = ports
            .iter()
            .map(Tun::try_clone)
            .collect::<std::io::Result<Vec<_>>>()?;
        let mut threads = Vec::new();
        for (from, port) in ports.into_iter().enumerate() {
            let shared = shared.clone();
            threads.push(std::thread::spawn(move || read_port(&shared, from, &port)));
        }
        let writer = shared.clone();
        threads.push(std::thread::spawn(move || deliver(&writer, &writers)));
        Ok(Self { shared, threads })
    }

    /// Cuts the link between hosts `a` and `b` (both ways).
    pub fn cut(&self, a: usize, b: usize) {
        lock(&self.shared.links).cut.insert((a.min(b), a.max(b)));
    }

    /// Restores the link between `a` and `b`.
    pub fn heal(&self, a: usize, b: usize) {
        lock(&self.shared.links).cut.remove(&(a.min(b), a.max(b)));
    }

    /// Cuts every link between hosts of different groups (hosts in no group keep their links).
    pub fn partition(&self, groups: &[Vec<usize>]) {
        let mut links = lock(&self.shared.links);
        for (g, group) in groups.iter().enumerate() {
            for other in &groups[g + 1..] {
                for &a in group {
                    for &b in other {
                        links.cut.insert((a.min(b), a.max(b)));
                    }
                }
            }
        }
    }

    /// Restores every link.
    pub fn heal_all(&self) {
        lock(&self.shared.links).cut.clear();
    }

    /// The links cut now, as (lower, higher) host pairs.
    pub fn cuts(&self) -> Vec<(usize, usize)> {
        let mut cuts: Vec<_> = lock(&self.shared.links).cut.iter().copied().collect();
        cuts.sort_unstable();
        cuts
    }

    /// What the switch has done so far.
    pub fn counts(&self) -> Counts {
        let c = |i: usize| self.shared.counts[i].load(Ordering::Relaxed);
        Counts {
            delivered: c(DELIVERED),
            lost: c(LOST),
            cut: c(CUT),
            overflowed: c(OVERFLOWED),
            unroutable: c(UNROUTABLE),
        }
    }
}

impl Drop for Switch {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::Relaxed);
        self.shared.queued.notify_all();
        for thread in self.threads.drain(..) {
            let _ = thread.join();
        }
    }
}

/// Reads port `from` until the switch stops or its device goes.
fn read_port(shared: &Shared, from: usize, port: &Tun) {
    let mut buf = vec![0u8; 65_536];
    while !shared.stop.load(Ordering::Relaxed) {
        match port.read_timeout(&mut buf, STOP_CHECK) {
            Ok(Some(len)) => shared.forward(from, &buf[..len]),
            Ok(None) => {}
            Err(_) => return,
        }
    }
}

/// Writes each packet to its port when it is due, until the switch stops.
fn deliver(shared: &Shared, ports: &[Tun]) {
    let mut queue = lock(&shared.queue);
    while !shared.stop.load(Ordering::Relaxed) {
        let now = Instant::now();
        let wait = match queue.peek() {
            Some(next) if next.due <= now => {
                // Due: checked by `peek` just above.
                let Some(packet) = queue.pop() else { continue };
                drop(queue);
                // A device gone (its namespace deleted) or a packet it refuses: as lost.
                if ports[packet.to].write_packet(&packet.packet).is_ok() {
                    shared.count(DELIVERED);
                }
                queue = lock(&shared.queue);
                continue;
            }
            Some(next) => next.due - now,
            None => STOP_CHECK,
        };
        queue = shared
            .queued
            .wait_timeout(queue, wait.min(STOP_CHECK))
            .unwrap_or_else(PoisonError::into_inner)
            .0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn links(shape: Shape) -> Links {
        let now = Instant::now();
        Links {
            ports: 2,
            shapes: vec![shape; 4],
            cut: HashSet::new(),
            free_at: vec![now; 4],
            last_due: vec![now; 4],
            rng: Rng::new(7),
            seq: 0,
        }
    }

    #[test]
    fn a_link_delays_drops_its_share_and_keeps_packets_in_order() {
        let shape = Shape {
            delay: Duration::from_millis(100),
            jitter: Duration::from_millis(20),
            loss: 0.01,
            rate: None,
        };
        let mut links = links(shape);
        let now = Instant::now();
        let (mut lost, mut last) = (0, now);
        for _ in 0..100_000 {
            match links.route(0, 1, 100, now) {
                Ok(due) => {
                    let delay = due - now;
                    assert!(delay >= Duration::from_millis(80), "{delay:?}");
                    assert!(delay <= Duration::from_millis(120), "{delay:?}");
                    assert!(due >= last, "in order");
                    last = due;
                }
                Err(Dropped::Lost) => lost += 1,
                Err(_) => panic!("only loss drops here"),
            }
        }
        // 1 % of 100,000 is 1,000; a binomial's sd is about 31.
        assert!((850..1150).contains(&lost), "{lost}");
    }

    #[test]
    fn a_rate_spaces_packets_and_a_full_queue_drops() {
        let mut links = links(Shape {
            rate: Some(8_000_000),
            ..Shape::IDEAL
        });
        let now = Instant::now();
        // 1,000 bytes at 8 Mbit/s: 1 ms each.
        let first = links.route(0, 1, 1_000, now).ok().unwrap();
        let second = links.route(0, 1, 1_000, now).ok().unwrap();
        assert_eq!(first - now, Duration::from_millis(1));
        assert_eq!(second - first, Duration::from_millis(1));
        // The other direction has its own queue.
        assert_eq!(
            links.route(1, 0, 1_000, now).ok().unwrap() - now,
            Duration::from_millis(1)
        );
        let overflowed = (0..2_000)
            .filter(|_| matches!(links.route(0, 1, 1_000, now), Err(Dropped::Overflow)))
            .count();
        assert!(overflowed >= 990, "{overflowed}");
    }

    #[test]
    fn a_cut_link_drops_both_ways_until_healed() {
        let mut links = links(Shape::IDEAL);
        links.cut.insert((0, 1));
        let now = Instant::now();
        assert!(matches!(links.route(0, 1, 1, now), Err(Dropped::Cut)));
        assert!(matches!(links.route(1, 0, 1, now), Err(Dropped::Cut)));
        links.cut.clear();
        assert!(links.route(1, 0, 1, now).is_ok());
    }
}

//! A Linux TUN device: a network interface whose packets this process reads and writes as
//! plain IP packets through a file. The testbed's switch holds one per host; the kernel of each
//! host's namespace sees an ordinary interface with its own TCP/IP stack behind it.

use std::fs::File;
use std::io;
use std::os::fd::AsRawFd;
use std::time::Duration;

/// `TUNSETIFF` (`_IOW('T', 202, int)`), from `<linux/if_tun.h>`.
const TUNSETIFF: libc::c_ulong = 0x4004_54ca;
/// A layer-3 device: IP packets, no Ethernet frames.
const IFF_TUN: libc::c_short = 0x0001;
/// No 4-byte packet information before each packet.
const IFF_NO_PI: libc::c_short = 0x1000;

/// `struct ifreq` as `TUNSETIFF` reads it: the name, then the flags (the rest of the union is
/// padding).
#[repr(C)]
struct IfReq {
    name: [libc::c_char; libc::IFNAMSIZ],
    flags: libc::c_short,
    _pad: [u8; 22],
}

/// An open TUN device; the interface exists while this is open.
pub struct Tun {
    file: File,
    /// The interface name given at creation (the device may be renamed in its namespace).
    pub name: String,
}

impl Tun {
    /// Creates the TUN interface `name` (at most 15 bytes) in this process's namespace.
    ///
    /// # Errors
    ///
    /// When `/dev/net/tun` cannot be opened (no permission, no TUN support) or the name is
    /// taken or too long.
    pub fn create(name: &str) -> io::Result<Self> {
        if name.len() >= libc::IFNAMSIZ || name.bytes().any(|b| b == 0) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("interface name `{name}` is longer than 15 bytes"),
            ));
        }
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open("/dev/net/tun")?;
        let mut request = IfReq {
            name: [0; libc::IFNAMSIZ],
            flags: IFF_TUN | IFF_NO_PI,
            _pad: [0; 22],
        };
        for (slot, byte) in request.name.iter_mut().zip(name.bytes()) {
            *slot = byte as libc::c_char;
        }
        // SAFETY: the descriptor is open; `request` is a valid `struct ifreq` (name
        // NUL-terminated, checked above, flags set, the rest zeroed) that outlives the call.
        let done = unsafe { libc::ioctl(file.as_raw_fd(), TUNSETIFF, &mut request) };
        if done < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(Self {
            file,
            name: name.to_owned(),
        })
    }

    /// A second handle on the same device (one thread reads while another writes).
    ///
    /// # Errors
    ///
    /// When the descriptor cannot be duplicated.
    pub fn try_clone(&self) -> io::Result<Self> {
        Ok(Self {
            file: self.file.try_clone()?,
            name: self.name.clone(),
        })
    }

    /// Waits up to `timeout` for a packet; reads it into `buf`: its length, or `None` on
    /// timeout.
    ///
    /// # Errors
    ///
    /// When the device is gone or the read fails.
    pub fn read_timeout(&self, buf: &mut [u8], timeout: Duration) -> io::Result<Option<usize>> {
        let mut poll = libc::pollfd {
            fd: self.file.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        let millis = libc::c_int::try_from(timeout.as_millis()).unwrap_or(libc::c_int::MAX);
        // SAFETY: one valid `pollfd` for an open descriptor, and its count is 1.
        let ready = unsafe { libc::poll(&mut poll, 1, millis) };
        if ready < 0 {
            let error = io::Error::last_os_error();
            return if error.kind() == io::ErrorKind::Interrupted {
                Ok(None)
            } else {
                Err(error)
            };
        }
        if ready == 0 {
            return Ok(None);
        }
        if poll.revents & (libc::POLLERR | libc::POLLHUP | libc::POLLNVAL) != 0 {
            return Err(io::Error::new(
                io::ErrorKind::BrokenPipe,
                "the device is gone",
            ));
        }
        io::Read::read(&mut &self.file, buf).map(Some)
    }

    /// Writes one whole packet to the device (the kernel receives it on the interface).
    ///
    /// # Errors
    ///
    /// When the write fails (a malformed packet, the device gone).
    pub fn write_packet(&self, packet: &[u8]) -> io::Result<()> {
        io::Write::write(&mut &self.file, packet).map(|_| ())
    }
}

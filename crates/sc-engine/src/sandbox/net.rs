//! Outbound connections limited to the allowed hosts, checked by the kernel's
//! seccomp user notification whatever opened them.
//!
//! The filter (see `super::program`) sends `connect`, `sendmsg`, `sendmmsg`
//! and `sendto` with an address here. A thread started before the filter
//! (so not filtered itself) reads the destination from the caller's memory
//! and lets the call go on only when it is an address an allowed host
//! resolves to, or a DNS server of the system on port 53. Anything else
//! fails with `EACCES`. Unix and netlink sockets are not network and pass.
//!
//! A `*.domain` entry cannot be pinned to addresses (there is no name to
//! resolve): it lets connections to any address on its port, or on 80 and
//! 443 when it names none. The ClickHouse grants still limit `url()` and
//! `s3()` to matching names; docs/security.md says so.

use std::collections::HashSet;
use std::mem::size_of;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, ToSocketAddrs};
use std::time::{Duration, Instant};

/// One allowed-hosts entry.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Entry {
    host: String,
    wildcard: bool,
    port: Option<u16>,
}

/// Decides whether a destination is allowed.
#[derive(Debug, Clone)]
pub struct Checker {
    entries: Vec<Entry>,
    addrs: HashSet<IpAddr>,
    resolvers: HashSet<IpAddr>,
    resolved_at: Instant,
}

/// How long resolved addresses are trusted before a miss resolves again.
const RESOLVE_AGAIN_AFTER: Duration = Duration::from_secs(2);

fn parse_entry(text: &str) -> Entry {
    let (wildcard, body) = match text.strip_prefix("*.") {
        Some(b) => (true, b),
        None => (false, text),
    };
    let (host, port) = if let Some(rest) = body.strip_prefix('[') {
        // [v6] or [v6]:port
        let (h, tail) = rest.split_once(']').unwrap_or((rest, ""));
        (h.to_string(), tail.strip_prefix(':').and_then(|p| p.parse().ok()))
    } else if body.matches(':').count() == 1 {
        let (h, p) = body.split_once(':').unwrap_or((body, ""));
        (h.to_string(), p.parse().ok())
    } else {
        (body.to_string(), None)
    };
    Entry { host, wildcard, port }
}

fn normal(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4),
        v4 => v4,
    }
}

/// The name servers of `/etc/resolv.conf`.
fn resolvers() -> HashSet<IpAddr> {
    let text = std::fs::read_to_string("/etc/resolv.conf").unwrap_or_default();
    text.lines()
        .filter_map(|l| l.trim().strip_prefix("nameserver"))
        .filter_map(|ip| ip.trim().split('%').next().and_then(|s| s.parse::<IpAddr>().ok()))
        .map(normal)
        .collect()
}

impl Checker {
    /// Resolve the entries now (names that do not resolve yet are tried again on a miss).
    pub fn new(hosts: &[String]) -> Result<Self, String> {
        let entries: Vec<Entry> = hosts.iter().map(|h| parse_entry(h.trim())).collect();
        if entries.iter().any(|e| e.host.is_empty()) {
            return Err(format!("invalid allowed_hosts entry in {hosts:?}"));
        }
        let mut c = Checker { entries, addrs: HashSet::new(), resolvers: resolvers(), resolved_at: Instant::now() };
        c.resolve();
        Ok(c)
    }

    fn resolve(&mut self) {
        let mut addrs = HashSet::new();
        for e in self.entries.iter().filter(|e| !e.wildcard) {
            if let Ok(ip) = e.host.parse::<IpAddr>() {
                addrs.insert(normal(ip));
            } else if let Ok(found) = (e.host.as_str(), 0).to_socket_addrs() {
                addrs.extend(found.map(|a| normal(a.ip())));
            }
        }
        self.addrs = addrs;
        self.resolved_at = Instant::now();
    }

    fn allows_now(&self, ip: IpAddr, port: u16) -> bool {
        if port == 53 && self.resolvers.contains(&ip) {
            return true;
        }
        self.entries.iter().any(|e| {
            if e.wildcard {
                e.port.map_or(port == 80 || port == 443, |p| p == port)
            } else {
                e.port.is_none_or(|p| p == port) && self.host_has(e, ip)
            }
        })
    }

    fn host_has(&self, e: &Entry, ip: IpAddr) -> bool {
        match e.host.parse::<IpAddr>() {
            Ok(own) => normal(own) == ip,
            // Addresses of every named entry are pooled: the port rule of
            // the entry still applies.
            Err(_) => self.addrs.contains(&ip),
        }
    }

    /// May the engine reach `ip:port`? A miss resolves the names again
    /// (at most every [`RESOLVE_AGAIN_AFTER`]), as addresses change.
    pub fn allows(&mut self, ip: IpAddr, port: u16) -> bool {
        let ip = normal(ip);
        if self.allows_now(ip, port) {
            return true;
        }
        if self.resolved_at.elapsed() >= RESOLVE_AGAIN_AFTER {
            self.resolve();
            return self.allows_now(ip, port);
        }
        false
    }
}

// --- the listener thread ----------------------------------------------------

const fn iowr(nr: u32, size: usize) -> libc::c_ulong {
    ((3u32 << 30) | ((size as u32) << 16) | (0x21 << 8) | nr) as libc::c_ulong
}
const fn iow(nr: u32, size: usize) -> libc::c_ulong {
    ((1u32 << 30) | ((size as u32) << 16) | (0x21 << 8) | nr) as libc::c_ulong
}
const NOTIF_RECV: libc::c_ulong = iowr(0, size_of::<libc::seccomp_notif>());
const NOTIF_SEND: libc::c_ulong = iowr(1, size_of::<libc::seccomp_notif_resp>());
const NOTIF_ID_VALID: libc::c_ulong = iow(2, size_of::<u64>());

/// Copy `len` bytes at `addr` of this process (the caller's thread shares
/// our memory); `None` when the address is not readable.
fn read_mem(addr: u64, len: usize) -> Option<Vec<u8>> {
    let mut buf = vec![0u8; len];
    let local = libc::iovec { iov_base: buf.as_mut_ptr().cast(), iov_len: len };
    let remote = libc::iovec { iov_base: addr as *mut libc::c_void, iov_len: len };
    // SAFETY: process_vm_readv on our own pid copies into `buf`, which has
    // room for `len` bytes; a bad remote address is an error, not a fault.
    let n = unsafe { libc::process_vm_readv(libc::getpid(), &local, 1, &remote, 1, 0) };
    (n == len as isize).then_some(buf)
}

/// The destination of a `sockaddr`: `Some(None)` for a non-network family,
/// `Some(Some((ip, port)))` for IPv4/IPv6, `None` for anything unreadable.
fn destination(addr: u64, len: u64) -> Option<Option<(IpAddr, u16)>> {
    if addr == 0 || len < 2 {
        return Some(None);
    }
    let len = usize::try_from(len.min(128)).ok()?;
    let b = read_mem(addr, len)?;
    let family = i32::from(u16::from_ne_bytes([b[0], b[1]]));
    match family {
        libc::AF_INET if b.len() >= 8 => {
            let port = u16::from_be_bytes([b[2], b[3]]);
            Some(Some((IpAddr::V4(Ipv4Addr::new(b[4], b[5], b[6], b[7])), port)))
        }
        libc::AF_INET6 if b.len() >= 24 => {
            let port = u16::from_be_bytes([b[2], b[3]]);
            let mut o = [0u8; 16];
            o.copy_from_slice(&b[8..24]);
            Some(Some((IpAddr::V6(Ipv6Addr::from(o)), port)))
        }
        libc::AF_INET | libc::AF_INET6 => None,
        libc::AF_UNIX | libc::AF_NETLINK | libc::AF_UNSPEC => Some(None),
        _ => None,
    }
}

/// `msg_name` and `msg_namelen` of the `msghdr` at `addr`.
fn msghdr_name(addr: u64) -> Option<(u64, u64)> {
    let b = read_mem(addr, size_of::<libc::msghdr>())?;
    let name = u64::from_ne_bytes(b[0..8].try_into().ok()?);
    let len = u64::from(u32::from_ne_bytes(b[8..12].try_into().ok()?));
    Some((name, len))
}

/// Every destination a notified call names.
fn destinations(data: &libc::seccomp_data) -> Option<Vec<Option<(IpAddr, u16)>>> {
    let a = data.args;
    match i64::from(data.nr) {
        libc::SYS_connect => Some(vec![destination(a[1], a[2])?]),
        libc::SYS_sendto => Some(vec![destination(a[4], a[5])?]),
        libc::SYS_sendmsg => {
            let (name, len) = msghdr_name(a[1])?;
            Some(vec![destination(name, len)?])
        }
        libc::SYS_sendmmsg => {
            let n = a[2].min(1024);
            let stride = size_of::<libc::mmsghdr>() as u64;
            (0..n).map(|i| msghdr_name(a[1] + i * stride).and_then(|(name, len)| destination(name, len))).collect()
        }
        _ => None,
    }
}

fn decide(checker: &mut Checker, data: &libc::seccomp_data) -> bool {
    match destinations(data) {
        Some(all) => all.into_iter().all(|d| d.is_none_or(|(ip, port)| checker.allows(ip, port))),
        None => false,
    }
}

/// Start the thread that answers the filter's notifications. It must start
/// before the filter is installed (so its own name look-ups are not
/// filtered); it waits for the listener on the returned channel.
pub fn serve(mut checker: Checker) -> Result<std::sync::mpsc::Sender<i32>, String> {
    let (tx, rx) = std::sync::mpsc::channel::<i32>();
    std::thread::Builder::new()
        .name("sc-net-check".into())
        .spawn(move || {
            let Ok(fd) = rx.recv() else { return };
            loop {
                // SAFETY: zeroed plain-data structs, as the kernel requires for RECV.
                let mut req: libc::seccomp_notif = unsafe { std::mem::zeroed() };
                // SAFETY: ioctl on our listener with a pointer to `req`.
                if unsafe { libc::ioctl(fd, NOTIF_RECV, &mut req as *mut libc::seccomp_notif) } != 0 {
                    if std::io::Error::last_os_error().raw_os_error() == Some(libc::EINTR) {
                        continue;
                    }
                    return;
                }
                let allowed = decide(&mut checker, &req.data);
                let mut id = req.id;
                // SAFETY: ioctl with a pointer to the id; a dead caller is simply skipped.
                if unsafe { libc::ioctl(fd, NOTIF_ID_VALID, &mut id as *mut u64) } != 0 {
                    continue;
                }
                // SAFETY: zeroed plain-data struct.
                let mut resp: libc::seccomp_notif_resp = unsafe { std::mem::zeroed() };
                resp.id = req.id;
                if allowed {
                    resp.flags = libc::SECCOMP_USER_NOTIF_FLAG_CONTINUE as u32;
                } else {
                    resp.error = -libc::EACCES;
                }
                // SAFETY: ioctl with a pointer to `resp`.
                unsafe { libc::ioctl(fd, NOTIF_SEND, &mut resp as *mut libc::seccomp_notif_resp) };
            }
        })
        .map(|_| tx)
        .map_err(|e| format!("cannot start the network check thread: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_and_addresses() {
        assert_eq!(parse_entry("db.local:5432"), Entry { host: "db.local".into(), wildcard: false, port: Some(5432) });
        assert_eq!(parse_entry("*.example.com"), Entry { host: "example.com".into(), wildcard: true, port: None });
        assert_eq!(parse_entry("[::1]:8080"), Entry { host: "::1".into(), wildcard: false, port: Some(8080) });
        assert_eq!(parse_entry("::1"), Entry { host: "::1".into(), wildcard: false, port: None });
        let mut c = Checker::new(&["127.0.0.1:8123".into(), "localhost".into(), "*.example.com".into()]).unwrap();
        assert!(c.allows("127.0.0.1".parse().unwrap(), 8123));
        assert!(c.allows("127.0.0.1".parse().unwrap(), 9000), "localhost: any port");
        assert!(!c.allows("127.0.0.2".parse().unwrap(), 8123));
        assert!(!c.allows("10.1.2.3".parse().unwrap(), 22));
        assert!(c.allows("10.1.2.3".parse().unwrap(), 443), "a wildcard lets its ports through");
        assert!(c.allows("::ffff:127.0.0.1".parse().unwrap(), 8123), "mapped addresses are normalised");
        let mut only_port = Checker::new(&["127.0.0.1:8123".into()]).unwrap();
        assert!(!only_port.allows("127.0.0.1".parse().unwrap(), 9000));
    }

    #[test]
    fn ioctl_numbers_match_the_kernel_headers() {
        assert_eq!(NOTIF_RECV, 0xc050_2100);
        assert_eq!(NOTIF_SEND, 0xc018_2101);
        assert_eq!(NOTIF_ID_VALID, 0x4008_2102);
    }
}

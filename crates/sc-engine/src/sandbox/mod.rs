//! The engine process confines itself before it reads an input or runs SQL.
//!
//! ClickHouse access rights (see `config`) are the first wall; this is the
//! second, enforced by the kernel whatever SQL feature is used:
//!
//! * **Files (Landlock):** read and execute only the system directories the
//!   engine loads from (`/usr`, `/lib*`, `/etc`, `/proc`, `/sys`, `/dev`) and
//!   the directory of `libchdb.so`; read and write only inside the execution
//!   directory. Anything else — the cluster's data directory, other
//!   executions, `/tmp` — cannot be opened, created, moved or removed, so
//!   `ATTACH … FROM '<path>'` or a `disk(type='local', path=…)` outside the
//!   execution directory fails.
//! * **Programs (seccomp):** `execve`/`execveat` fail, so `executable()`,
//!   user-defined executable functions or any other route cannot start a
//!   program; `ptrace`, `process_vm_writev` and `io_uring` are refused too.
//! * **Network:** with no allowed host, the process enters a user and network
//!   namespace of its own: it has no network interface at all (and Landlock,
//!   where the kernel has ABI 4, denies TCP besides). With allowed hosts,
//!   every `connect` and every datagram sent to an explicit address is
//!   checked by [`net`] against the addresses the allowed hosts resolve to
//!   (plus the system's DNS servers on port 53), whatever opened it (`url`,
//!   `s3`, an `s3`/`web` disk, `postgresql`, …). `*` allows every host.
//!
//! Where the kernel lacks Landlock, seccomp or unprivileged user
//! namespaces, [`confine`] fails and the engine refuses to run, unless the
//! job says an administrator opted out (`smartconnector.engine_sandbox = off`).

pub mod net;

use std::path::{Path, PathBuf};

use landlock::{
    Access, AccessFs, AccessNet, CompatLevel, Compatible, RestrictionStatus, Ruleset, RulesetAttr, RulesetCreatedAttr,
    RulesetStatus, Scope, ABI,
};

/// The environment variable that makes a debug build of the engine act as
/// if the kernel could not confine it (tests of the refusal). Ignored by
/// release builds.
pub const TEST_UNAVAILABLE_ENV: &str = "SC_ENGINE_TEST_NO_SANDBOX";

/// What the sandbox was asked to allow.
#[derive(Debug, Clone)]
pub struct Policy {
    /// The execution directory: the only place the engine may write.
    pub exec_dir: PathBuf,
    /// Extra read-only places (the directory of `libchdb.so`, the binary's).
    pub read_only: Vec<PathBuf>,
    /// `smartconnector.allowed_hosts` as given to the job.
    pub allowed_hosts: Vec<String>,
}

/// What was enforced, for `engine.log`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Confined {
    /// Landlock ABI in use.
    pub landlock_abi: i32,
    /// How the network is limited.
    pub network: &'static str,
}

/// Directories every engine needs to read: libraries, configuration
/// (time zones, CA certificates, resolver), `/proc` and `/sys` (memory and
/// CPU limits), devices (`/dev/null`, `/dev/urandom`).
const SYSTEM_READ: [&str; 8] = ["/usr", "/lib", "/lib64", "/lib32", "/etc", "/proc", "/sys", "/dev"];

/// Device files the engine may also write.
const DEVICES_WRITE: [&str; 3] = ["/dev/null", "/dev/zero", "/dev/full"];

/// Does the allowed-hosts list open every host?
pub fn any_host(hosts: &[String]) -> bool {
    hosts.iter().any(|h| h == crate::config::ANY_HOST)
}

/// Confine this process. Must be called while the process has one thread
/// (before chDB or any helper thread starts): namespaces, the Landlock
/// domain and the seccomp filter apply to the calling thread and what it
/// starts afterwards. The one exception is the network check thread, started
/// before the filter so its own look-ups are not sent to itself.
pub fn confine(policy: &Policy) -> Result<Confined, String> {
    let isolated = policy.allowed_hosts.is_empty();
    if isolated {
        enter_network_namespace()?;
    }
    // Landlock and seccomp both need it; it also stops set-uid programs.
    // SAFETY: plain prctl on this process.
    if unsafe { libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) } != 0 {
        return Err(format!("prctl(PR_SET_NO_NEW_PRIVS) failed: {}", std::io::Error::last_os_error()));
    }
    let status = restrict_files(policy, isolated)?;
    let abi = landlock_abi();
    let network = if isolated {
        seccomp_filter(false)?;
        "none (own network namespace)"
    } else if any_host(&policy.allowed_hosts) {
        seccomp_filter(false)?;
        "any host (allowed_hosts = *)"
    } else {
        let checker = net::Checker::new(&policy.allowed_hosts)?;
        let to_thread = net::serve(checker)?;
        let listener = seccomp_filter(true)?.ok_or("seccomp gave no listener")?;
        to_thread.send(listener).map_err(|_| "the network check thread ended".to_string())?;
        "allowed hosts only (connect checked)"
    };
    if status.ruleset == RulesetStatus::NotEnforced {
        return Err("Landlock is not enforced by this kernel".into());
    }
    Ok(Confined { landlock_abi: abi, network })
}

/// The kernel's Landlock ABI version (0 without Landlock).
fn landlock_abi() -> i32 {
    // SAFETY: landlock_create_ruleset with LANDLOCK_CREATE_RULESET_VERSION only queries.
    let v = unsafe { libc::syscall(libc::SYS_landlock_create_ruleset, std::ptr::null::<u8>(), 0usize, 1u32) };
    i32::try_from(v).unwrap_or(0).max(0)
}

/// A user namespace (so an unprivileged process may create the rest) and a
/// network namespace with no interface but a down loopback.
fn enter_network_namespace() -> Result<(), String> {
    // SAFETY: getters.
    let (uid, gid) = unsafe { (libc::geteuid(), libc::getegid()) };
    // SAFETY: unshare on a single-threaded process.
    if unsafe { libc::unshare(libc::CLONE_NEWUSER | libc::CLONE_NEWNET) } != 0 {
        return Err(format!(
            "cannot create a network namespace (unshare: {}); the kernel must allow unprivileged user namespaces",
            std::io::Error::last_os_error()
        ));
    }
    // Keep the same ids inside, so files and ClickHouse see the same owner.
    let write = |file: &str, text: String| std::fs::write(file, text).map_err(|e| format!("cannot write {file}: {e}"));
    write("/proc/self/setgroups", "deny".into())?;
    write("/proc/self/uid_map", format!("{uid} {uid} 1"))?;
    write("/proc/self/gid_map", format!("{gid} {gid} 1"))
}

fn restrict_files(policy: &Policy, deny_tcp: bool) -> Result<RestrictionStatus, String> {
    let abi = ABI::V6;
    let err = |e: landlock::RulesetError| format!("Landlock: {e}");
    let mut ruleset = Ruleset::default()
        .set_compatibility(CompatLevel::BestEffort)
        .handle_access(AccessFs::from_all(abi))
        .map_err(err)?
        .scope(Scope::from_all(abi))
        .map_err(err)?;
    if deny_tcp {
        // No rule for any port: every TCP bind and connect is denied.
        ruleset = ruleset.handle_access(AccessNet::from_all(abi)).map_err(err)?;
    }
    let mut created = ruleset.create().map_err(err)?;
    let read = AccessFs::from_read(abi);
    let mut read_paths: Vec<PathBuf> = SYSTEM_READ.iter().map(PathBuf::from).collect();
    read_paths.extend(policy.read_only.iter().cloned());
    for p in read_paths.iter().filter(|p| p.exists()) {
        created = created.add_rule(path_rule(p, read)?).map_err(err)?;
    }
    let device = AccessFs::ReadFile | AccessFs::WriteFile;
    for p in DEVICES_WRITE.iter().map(Path::new).filter(|p| p.exists()) {
        created = created.add_rule(path_rule(p, device)?).map_err(err)?;
    }
    created = created.add_rule(path_rule(&policy.exec_dir, AccessFs::from_all(abi))?).map_err(err)?;
    created.restrict_self().map_err(err)
}

fn path_rule(
    path: &Path,
    access: landlock::BitFlags<AccessFs>,
) -> Result<landlock::PathBeneath<landlock::PathFd>, String> {
    let fd = landlock::PathFd::new(path).map_err(|e| format!("Landlock: cannot open {}: {e}", path.display()))?;
    // A file (not a directory) only takes file rights.
    let access = if path.is_dir() { access } else { access & AccessFs::from_file(ABI::V6) };
    Ok(landlock::PathBeneath::new(fd, access))
}

// --- seccomp ---------------------------------------------------------------

const BPF_LD_W_ABS: u16 = (libc::BPF_LD | libc::BPF_W | libc::BPF_ABS) as u16;
const BPF_JEQ_K: u16 = (libc::BPF_JMP | libc::BPF_JEQ | libc::BPF_K) as u16;
const BPF_JGE_K: u16 = (libc::BPF_JMP | libc::BPF_JGE | libc::BPF_K) as u16;
const X32_SYSCALL_BIT: u32 = 0x4000_0000;
const BPF_RET_K: u16 = (libc::BPF_RET | libc::BPF_K) as u16;
const AUDIT_ARCH_X86_64: u32 = 0xc000_003e;
/// `offsetof(struct seccomp_data, nr)`, `arch`, `args[4]` (low half).
const OFF_NR: u32 = 0;
const OFF_ARCH: u32 = 4;
const OFF_ARG4_LO: u32 = 16 + 4 * 8;
const OFF_ARG4_HI: u32 = 16 + 4 * 8 + 4;

fn stmt(code: u16, k: u32) -> libc::sock_filter {
    libc::sock_filter { code, jt: 0, jf: 0, k }
}

fn jump(k: u32, jt: u8, jf: u8) -> libc::sock_filter {
    libc::sock_filter { code: BPF_JEQ_K, jt, jf, k }
}

fn errno(e: i32) -> u32 {
    libc::SECCOMP_RET_ERRNO | (e as u32 & libc::SECCOMP_RET_DATA)
}

/// Syscalls refused outright, with the errno they get.
fn refused() -> Vec<(i64, i32)> {
    vec![
        (libc::SYS_execve, libc::EPERM),
        (libc::SYS_execveat, libc::EPERM),
        (libc::SYS_ptrace, libc::EPERM),
        (libc::SYS_process_vm_writev, libc::EPERM),
        (libc::SYS_io_uring_setup, libc::ENOSYS),
        (libc::SYS_io_uring_enter, libc::ENOSYS),
        (libc::SYS_io_uring_register, libc::ENOSYS),
    ]
}

/// The filter program: refused syscalls fail; with `notify`, `connect`,
/// `sendmsg`, `sendmmsg` and `sendto` with an address go to the listener.
fn program(notify: bool) -> Vec<libc::sock_filter> {
    let allow = libc::SECCOMP_RET_ALLOW;
    let mut p = vec![
        stmt(BPF_LD_W_ABS, OFF_ARCH),
        jump(AUDIT_ARCH_X86_64, 1, 0),
        stmt(BPF_RET_K, libc::SECCOMP_RET_KILL_PROCESS),
        stmt(BPF_LD_W_ABS, OFF_NR),
        // x32 syscalls (bit 30) would dodge the numbers below: never expected here.
        libc::sock_filter { code: BPF_JGE_K, jt: 0, jf: 1, k: X32_SYSCALL_BIT },
        stmt(BPF_RET_K, libc::SECCOMP_RET_KILL_PROCESS),
    ];
    for (nr, e) in refused() {
        p.push(jump(nr as u32, 0, 1));
        p.push(stmt(BPF_RET_K, errno(e)));
    }
    if notify {
        let notif = libc::SECCOMP_RET_USER_NOTIF;
        for nr in [libc::SYS_connect, libc::SYS_sendmsg, libc::SYS_sendmmsg] {
            p.push(jump(nr as u32, 0, 1));
            p.push(stmt(BPF_RET_K, notif));
        }
        // sendto: only when it names an address (args[4] != NULL).
        p.push(jump(libc::SYS_sendto as u32, 0, 6));
        p.push(stmt(BPF_LD_W_ABS, OFF_ARG4_LO));
        p.push(jump(0, 0, 3));
        p.push(stmt(BPF_LD_W_ABS, OFF_ARG4_HI));
        p.push(jump(0, 0, 1));
        p.push(stmt(BPF_RET_K, allow));
        p.push(stmt(BPF_RET_K, notif));
    }
    p.push(stmt(BPF_RET_K, allow));
    p
}

/// Install the filter on the calling thread (and every thread it starts
/// later). With `notify`, returns the listener's file descriptor.
fn seccomp_filter(notify: bool) -> Result<Option<i32>, String> {
    let prog = program(notify);
    let fprog = libc::sock_fprog {
        len: u16::try_from(prog.len()).map_err(|_| "seccomp program too long".to_string())?,
        filter: prog.as_ptr() as *mut libc::sock_filter,
    };
    let flags = if notify { libc::SECCOMP_FILTER_FLAG_NEW_LISTENER } else { 0 };
    // SAFETY: fprog points at `prog`, alive for the call; the kernel copies it.
    let r = unsafe {
        libc::syscall(libc::SYS_seccomp, libc::SECCOMP_SET_MODE_FILTER, flags, &fprog as *const libc::sock_fprog)
    };
    if r < 0 {
        return Err(format!("seccomp: {}", std::io::Error::last_os_error()));
    }
    Ok(if notify { Some(r as i32) } else { None })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_jump_lands_inside_the_program() {
        for notify in [false, true] {
            let p = program(notify);
            for (i, s) in p.iter().enumerate() {
                if s.code == BPF_JEQ_K || s.code == BPF_JGE_K {
                    assert!(i + 1 + (s.jt.max(s.jf) as usize) < p.len(), "{notify} {i}");
                }
            }
            assert_eq!(p.last().map(|s| (s.code, s.k)), Some((BPF_RET_K, libc::SECCOMP_RET_ALLOW)));
        }
    }
}

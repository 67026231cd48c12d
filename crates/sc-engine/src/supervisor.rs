//! Starting, watching and stopping the engine process (pure std + libc; called by the PostgreSQL worker).
//!
//! The child runs in its own process group and gets `PR_SET_PDEATHSIG`
//! (SIGKILL), so it dies with the worker. Note that the death signal is tied
//! to the *thread* that spawned the child: spawn it from the worker's main
//! thread. A wall-clock deadline of the time limit plus [`GRACE`] is enforced
//! here in every wait: past it the child is killed and the run reported as
//! timed out.

use std::io::Write;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use crate::error::time_limit_message;
use crate::job::{self, ErrorReport, Job, Manifest, Progress};

/// Time the child gets past its own time limit before the supervisor kills it.
pub const GRACE: Duration = Duration::from_secs(10);

/// How a run ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Success: the manifest of the output files.
    Ok(Manifest),
    /// The SQL, the input or a limit failed; the message is for the user.
    UserError(String),
    /// The engine died from a signal: "SQL engine crashed (signal N)".
    Crashed(String),
    /// The time limit was exceeded: "SQL time limit of N s exceeded".
    TimedOut(String),
    /// Stopped by [`Running::kill`].
    Killed,
    /// The engine reported an internal error, or its result could not be read.
    Internal(String),
}

/// Starts engine processes.
#[derive(Debug, Clone, Copy, Default)]
pub struct Supervisor;

/// Options beyond the job.
#[derive(Debug, Clone, Default)]
pub struct StartOptions {
    /// `--libchdb` for the child (else `SC_LIBCHDB` or the default path).
    pub libchdb: Option<PathBuf>,
    /// Extra environment for the child (diagnostics and tests).
    pub env: Vec<(String, String)>,
}

/// A started engine process.
#[derive(Debug)]
pub struct Running {
    child: Child,
    exec_dir: PathBuf,
    time_s: u64,
    hard_deadline: Instant,
    killed: Option<Outcome>,
    done: Option<Outcome>,
    disk_limit: Option<u64>,
    disk_checked: Instant,
}

/// How often the execution directory's size is measured while the engine runs.
const DISK_CHECK_EVERY: Duration = Duration::from_millis(200);

/// The message for an exceeded disk limit.
pub fn disk_limit_message(limit: u64) -> String {
    format!(
        "SQL disk limit of {} MB exceeded (the execution's files, inputs and the engine's tables together)",
        limit >> 20
    )
}

/// Bytes the files under `dir` occupy on disk (allocated blocks, so a
/// sparse file counts for what it really uses). Symbolic links are not followed.
pub fn disk_usage(dir: &Path) -> u64 {
    use std::os::unix::fs::MetadataExt;
    let mut total = 0u64;
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else { continue };
        for e in entries.flatten() {
            let Ok(m) = e.path().symlink_metadata() else { continue };
            total = total.saturating_add(m.blocks().saturating_mul(512));
            if m.is_dir() {
                stack.push(e.path());
            }
        }
    }
    total
}

impl Supervisor {
    /// Write `job.json` into `exec_dir` (created if needed) and start `engine_bin` on it.
    pub fn start(engine_bin: &Path, exec_dir: &Path, job: &Job) -> std::io::Result<Running> {
        Self::start_with(engine_bin, exec_dir, job, &StartOptions::default())
    }

    /// [`Supervisor::start`] with options.
    pub fn start_with(engine_bin: &Path, exec_dir: &Path, job: &Job, opts: &StartOptions) -> std::io::Result<Running> {
        std::fs::create_dir_all(exec_dir)?;
        for stale in [job::MANIFEST_FILE, job::ERROR_FILE, job::PROGRESS_FILE] {
            let _ = std::fs::remove_file(exec_dir.join(stale));
        }
        // `secrets` is skipped when serialising: it goes over stdin below.
        job::write_json_atomic(exec_dir, job::JOB_FILE, job)?;
        let log = std::fs::File::create(exec_dir.join(job::STDERR_FILE))?;
        let mut cmd = Command::new(engine_bin);
        cmd.arg("--exec-dir").arg(exec_dir).arg("--secrets-stdin");
        if let Some(lib) = &opts.libchdb {
            cmd.arg("--libchdb").arg(lib);
        }
        cmd.envs(opts.env.iter().map(|(k, v)| (k, v)));
        cmd.current_dir(exec_dir).stdin(Stdio::piped()).stdout(Stdio::null()).stderr(Stdio::from(log));
        let parent = std::process::id();
        // SAFETY: only async-signal-safe calls (setpgid, prctl, getppid, _exit) between fork and exec.
        unsafe {
            cmd.pre_exec(move || {
                if libc::setpgid(0, 0) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL as libc::c_ulong, 0, 0, 0) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                // The parent may have died before prctl took effect.
                if libc::getppid() as u32 != parent {
                    libc::_exit(1);
                }
                Ok(())
            });
        }
        let mut child = cmd.spawn()?;
        let secrets = serde_json::to_vec(&job.secrets).map_err(std::io::Error::other)?;
        if let Some(mut stdin) = child.stdin.take() {
            // A child that died early closes the pipe; its exit status tells why.
            let _ = stdin.write_all(&secrets);
        }
        let time_s = job.limits.time_s;
        let hard_deadline = Instant::now() + Duration::from_secs(time_s) + GRACE;
        Ok(Running {
            child,
            exec_dir: exec_dir.to_path_buf(),
            time_s,
            hard_deadline,
            killed: None,
            done: None,
            disk_limit: job.limits.disk_bytes,
            disk_checked: Instant::now(),
        })
    }
}

impl Running {
    /// The child's process id (also its process group id).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The latest `progress.json`, if any.
    pub fn progress(&self) -> Option<Progress> {
        job::read_json(&self.exec_dir.join(job::PROGRESS_FILE)).ok()
    }

    /// The outcome if the child has ended; enforces the hard deadline.
    pub fn try_wait(&mut self) -> Option<Outcome> {
        if let Some(o) = &self.done {
            return Some(o.clone());
        }
        match self.child.try_wait() {
            Ok(Some(status)) => Some(self.finish(status)),
            Ok(None) if Instant::now() >= self.hard_deadline => {
                Some(self.kill_as(Outcome::TimedOut(time_limit_message(self.time_s))))
            }
            Ok(None) => match self.disk_limit {
                Some(limit) if self.disk_checked.elapsed() >= DISK_CHECK_EVERY => {
                    self.disk_checked = Instant::now();
                    (disk_usage(&self.exec_dir) > limit)
                        .then(|| self.kill_as(Outcome::UserError(disk_limit_message(limit))))
                }
                _ => None,
            },
            Err(e) => Some(self.kill_as(Outcome::Internal(format!("cannot watch the SQL engine: {e}")))),
        }
    }

    /// Wait up to `d` for the child to end; `None` if it is still running.
    pub fn wait_for(&mut self, d: Duration) -> Option<Outcome> {
        let until = Instant::now() + d;
        loop {
            if let Some(o) = self.try_wait() {
                return Some(o);
            }
            let now = Instant::now();
            if now >= until {
                return None;
            }
            std::thread::sleep((until - now).min(Duration::from_millis(20)));
        }
    }

    /// Wait for the child to end, at most `d` (and never past the hard
    /// deadline): past it the child is killed and the run is timed out.
    pub fn wait_with_deadline(&mut self, d: Duration) -> Outcome {
        match self.wait_for(d) {
            Some(o) => o,
            None => self.kill_as(Outcome::TimedOut(time_limit_message(self.time_s))),
        }
    }

    /// SIGKILL the child's process group and reap it.
    pub fn kill(&mut self) -> Outcome {
        if let Some(o) = &self.done {
            return o.clone();
        }
        self.kill_as(Outcome::Killed)
    }

    fn kill_as(&mut self, outcome: Outcome) -> Outcome {
        self.killed = Some(outcome);
        let pgid = self.child.id() as libc::pid_t;
        // SAFETY: signalling our own child's process group.
        unsafe { libc::killpg(pgid, libc::SIGKILL) };
        let _ = self.child.kill();
        match self.child.wait() {
            Ok(status) => self.finish(status),
            Err(e) => {
                let o = Outcome::Internal(format!("cannot reap the SQL engine: {e}"));
                self.done = Some(o.clone());
                o
            }
        }
    }

    fn finish(&mut self, status: ExitStatus) -> Outcome {
        let outcome = if let Some(k) = self.killed.take() {
            k
        } else if let Some(sig) = status.signal() {
            Outcome::Crashed(format!("SQL engine crashed (signal {sig})"))
        } else {
            match status.code() {
                Some(0) => match job::read_json::<Manifest>(&self.exec_dir.join(job::MANIFEST_FILE)) {
                    Ok(m) => Outcome::Ok(m),
                    Err(e) => Outcome::Internal(format!("SQL engine result unreadable: {e}")),
                },
                Some(code) => match job::read_json::<ErrorReport>(&self.exec_dir.join(job::ERROR_FILE)) {
                    Ok(r) if r.kind == "time_limit" => Outcome::TimedOut(r.message),
                    Ok(r) if r.kind == "user" => Outcome::UserError(r.message),
                    Ok(r) => Outcome::Internal(r.message),
                    Err(_) => {
                        Outcome::Internal(format!("SQL engine failed (exit code {code}); see {}", job::STDERR_FILE))
                    }
                },
                None => Outcome::Internal("SQL engine ended without a status".into()),
            }
        };
        // The engine's private data directory is of no use once it has ended.
        let _ = std::fs::remove_dir_all(self.exec_dir.join(job::ENGINE_DIR));
        self.done = Some(outcome.clone());
        outcome
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if self.done.is_none() {
            let _ = self.kill();
        }
    }
}

//! Pure-Rust work on a thread of its own inside a worker, while the worker's
//! own thread goes on with SPI. The thread touches nothing of PostgreSQL,
//! and blocks every signal so PostgreSQL's handlers only ever run on the
//! worker's own thread.
use std::thread::JoinHandle;

/// Runs `start`, which starts threads, with every signal blocked, then
/// restores this thread's mask (signals held meanwhile arrive here). A new
/// thread inherits the mask of the thread that starts it, so no signal ever
/// reaches the threads started by `start`.
pub fn signals_blocked<R>(start: impl FnOnce() -> R) -> R {
    // SAFETY: sigset_t values filled by sigfillset / pthread_sigmask, for this thread only.
    let old = unsafe {
        let mut all: libc::sigset_t = std::mem::zeroed();
        let mut old: libc::sigset_t = std::mem::zeroed();
        libc::sigfillset(&mut all);
        libc::pthread_sigmask(libc::SIG_BLOCK, &all, &mut old);
        old
    };
    let started = start();
    // SAFETY: restores the mask saved above.
    unsafe {
        libc::pthread_sigmask(libc::SIG_SETMASK, &old, std::ptr::null_mut());
    }
    started
}

/// Work running on a background thread. Dropping it without [`join`](Self::join)
/// (the stage before failed or was cancelled) leaves the thread to finish or
/// to end with the process, so a cancel never waits for it.
pub struct Background<T: Send + 'static> {
    handle: JoinHandle<T>,
}

impl<T: Send + 'static> Background<T> {
    /// Starts `f` on a new thread.
    pub fn spawn(name: &str, f: impl FnOnce() -> T + Send + 'static) -> Result<Background<T>, String> {
        let handle = signals_blocked(|| std::thread::Builder::new().name(name.to_owned()).spawn(f));
        let handle = handle.map_err(|e| format!("cannot start a thread for {name}: {e}"))?;
        Ok(Background { handle })
    }

    /// Waits for the work and returns its result.
    pub fn join(self) -> Result<T, String> {
        self.handle.join().map_err(|_| "a background thread of the worker panicked".to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::Background;

    /// Whether `signal` is blocked in the calling thread.
    fn blocked(signal: i32) -> bool {
        // SAFETY: reads this thread's mask into a zeroed sigset_t.
        unsafe {
            let mut cur: libc::sigset_t = std::mem::zeroed();
            libc::pthread_sigmask(libc::SIG_BLOCK, std::ptr::null(), &mut cur);
            libc::sigismember(&cur, signal) == 1
        }
    }

    #[test]
    fn the_thread_blocks_every_signal_and_the_caller_keeps_its_mask() {
        let before = blocked(libc::SIGTERM);
        let inside = Background::spawn("test", || [libc::SIGTERM, libc::SIGUSR1, libc::SIGINT].map(blocked))
            .unwrap()
            .join()
            .unwrap();
        assert_eq!(inside, [true, true, true]);
        assert_eq!(blocked(libc::SIGTERM), before, "the caller's mask is restored");
    }
}

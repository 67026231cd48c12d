//! Pure-Rust work on a thread of its own inside a worker, while the worker's
//! own thread goes on with SPI. The thread touches nothing of PostgreSQL,
//! and blocks every signal so PostgreSQL's handlers only ever run on the
//! worker's own thread.
use std::thread::JoinHandle;

/// Work running on a background thread; dropping it waits for the work.
pub struct Background<T: Send + 'static> {
    handle: Option<JoinHandle<T>>,
}

impl<T: Send + 'static> Background<T> {
    /// Starts `f` on a new thread.
    pub fn spawn(name: &str, f: impl FnOnce() -> T + Send + 'static) -> Result<Background<T>, String> {
        let handle = std::thread::Builder::new()
            .name(name.to_owned())
            .spawn(move || {
                // SAFETY: a zeroed sigset_t filled by sigfillset, applied to this thread only.
                unsafe {
                    let mut all: libc::sigset_t = std::mem::zeroed();
                    libc::sigfillset(&mut all);
                    libc::pthread_sigmask(libc::SIG_BLOCK, &all, std::ptr::null_mut());
                }
                f()
            })
            .map_err(|e| format!("cannot start a thread for {name}: {e}"))?;
        Ok(Background { handle: Some(handle) })
    }

    /// Waits for the work and returns its result.
    pub fn join(mut self) -> Result<T, String> {
        let handle = self.handle.take().expect("joined once");
        handle.join().map_err(|_| "a background thread of the worker panicked".to_string())
    }
}

impl<T: Send + 'static> Drop for Background<T> {
    fn drop(&mut self) {
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

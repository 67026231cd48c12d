//! The chDB C API, loaded at run time with `libloading`: only the symbols we use.
//!
//! chDB ships no header for this build, so each signature below was checked
//! against the public `chdb.h` of the chDB project (v26.x):
//!
//! ```text
//! void            chdb_set_signal_handlers_enabled(int enabled);
//! chdb_connection*chdb_connect(int argc, char **argv);
//! void            chdb_close_conn(chdb_connection *conn);
//! chdb_result    *chdb_query_n(chdb_connection conn, const char *q, size_t qlen,
//!                              const char *fmt, size_t fmtlen);
//! chdb_result    *chdb_query_with_params_n(chdb_connection conn,
//!                              const char *q, size_t qlen, const char *fmt, size_t fmtlen,
//!                              const char *const *names, const size_t *name_lens,
//!                              const char *const *values, const size_t *value_lens,
//!                              size_t count);
//! char           *chdb_result_buffer(chdb_result *r);
//! size_t          chdb_result_length(chdb_result *r);
//! double          chdb_result_elapsed(chdb_result *r);
//! uint64_t        chdb_result_rows_read(chdb_result *r);
//! const char     *chdb_result_error(chdb_result *r);   // NULL when ok
//! void            chdb_destroy_query_result(chdb_result *r);
//! chdb_result    *chdb_stream_query_n(chdb_connection conn, const char *q, size_t qlen,
//!                              const char *fmt, size_t fmtlen);
//! chdb_result    *chdb_stream_fetch_result(chdb_connection conn, chdb_result *stream);
//! void            chdb_stream_cancel_query(chdb_connection conn, chdb_result *stream);
//! ```
//!
//! A streaming handle and every fetched chunk are results of their own and are
//! each destroyed with `chdb_destroy_query_result`; an empty chunk ends the stream.
//!
//! `chdb_connection` is itself a pointer (`struct { void *internal; } *`), so
//! `chdb_connect` hands back a pointer to that pointer and the query functions
//! take the dereferenced value.

use std::ffi::{c_char, c_int, c_void, CStr};
use std::path::{Path, PathBuf};

/// The opaque `chdb_connection` value (already a pointer in C).
pub type RawConn = *mut c_void;
/// The opaque `chdb_result`.
pub type RawResult = c_void;

type SetSignalHandlersFn = unsafe extern "C" fn(c_int);
type ConnectFn = unsafe extern "C" fn(c_int, *mut *mut c_char) -> *mut RawConn;
type CloseConnFn = unsafe extern "C" fn(*mut RawConn);
type QueryNFn = unsafe extern "C" fn(RawConn, *const c_char, usize, *const c_char, usize) -> *mut RawResult;
type QueryWithParamsNFn = unsafe extern "C" fn(
    RawConn,
    *const c_char,
    usize,
    *const c_char,
    usize,
    *const *const c_char,
    *const usize,
    *const *const c_char,
    *const usize,
    usize,
) -> *mut RawResult;
type ResultBufferFn = unsafe extern "C" fn(*mut RawResult) -> *mut c_char;
type ResultLengthFn = unsafe extern "C" fn(*mut RawResult) -> usize;
type ResultElapsedFn = unsafe extern "C" fn(*mut RawResult) -> f64;
type ResultRowsReadFn = unsafe extern "C" fn(*mut RawResult) -> u64;
type ResultErrorFn = unsafe extern "C" fn(*mut RawResult) -> *const c_char;
type DestroyResultFn = unsafe extern "C" fn(*mut RawResult);
type StreamQueryNFn = QueryNFn;
type StreamFetchFn = unsafe extern "C" fn(RawConn, *mut RawResult) -> *mut RawResult;
type StreamCancelFn = unsafe extern "C" fn(RawConn, *mut RawResult);

/// Default install location of the library.
pub const DEFAULT_LIBCHDB: &str = "/usr/local/lib/smartconnector/libchdb.so";

/// The loaded library and its function table.
///
/// The library is never unloaded: chDB starts threads that outlive any
/// connection, and `dlclose` under them would crash. The engine process ends
/// with `_exit` instead (see the binary).
pub struct Engine {
    path: PathBuf,
    pub(crate) set_signal_handlers_enabled: SetSignalHandlersFn,
    pub(crate) connect: ConnectFn,
    pub(crate) close_conn: CloseConnFn,
    pub(crate) query_n: QueryNFn,
    pub(crate) query_with_params_n: QueryWithParamsNFn,
    result_buffer: ResultBufferFn,
    result_length: ResultLengthFn,
    result_elapsed: ResultElapsedFn,
    result_rows_read: ResultRowsReadFn,
    result_error: ResultErrorFn,
    destroy_result: DestroyResultFn,
    pub(crate) stream_query_n: StreamQueryNFn,
    pub(crate) stream_fetch: StreamFetchFn,
    pub(crate) stream_cancel: StreamCancelFn,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine").field("path", &self.path).finish()
    }
}

/// Look up one symbol and copy the function pointer out of the library.
///
/// # Safety
/// `T` must be the exact C signature of `name`.
unsafe fn sym<T: Copy>(lib: &libloading::Library, name: &str) -> Result<T, String> {
    // SAFETY: the caller guarantees the type matches the C declaration.
    let s: libloading::Symbol<'_, T> =
        unsafe { lib.get(name.as_bytes()) }.map_err(|e| format!("libchdb has no symbol {name}: {e}"))?;
    Ok(*s)
}

impl Engine {
    /// Resolve the library path: explicit flag, else `SC_LIBCHDB`, else the default.
    pub fn resolve_path(flag: Option<&Path>) -> PathBuf {
        if let Some(p) = flag {
            return p.to_path_buf();
        }
        match std::env::var_os("SC_LIBCHDB") {
            Some(p) if !p.is_empty() => PathBuf::from(p),
            _ => PathBuf::from(DEFAULT_LIBCHDB),
        }
    }

    /// Load `libchdb.so` and resolve every function we call.
    pub fn load(path: &Path) -> Result<Engine, String> {
        if !path.exists() {
            return Err(format!("chDB library not found at {}", path.display()));
        }
        // SAFETY: loading a shared library runs its initialisers; libchdb's are
        // the ClickHouse static constructors, which are safe to run once.
        let lib = unsafe { libloading::Library::new(path) }
            .map_err(|e| format!("cannot load chDB library {}: {e}", path.display()))?;
        // SAFETY: every type below is the signature documented at the top of this file.
        let engine = unsafe {
            Engine {
                path: path.to_path_buf(),
                set_signal_handlers_enabled: sym(&lib, "chdb_set_signal_handlers_enabled")?,
                connect: sym(&lib, "chdb_connect")?,
                close_conn: sym(&lib, "chdb_close_conn")?,
                query_n: sym(&lib, "chdb_query_n")?,
                query_with_params_n: sym(&lib, "chdb_query_with_params_n")?,
                result_buffer: sym(&lib, "chdb_result_buffer")?,
                result_length: sym(&lib, "chdb_result_length")?,
                result_elapsed: sym(&lib, "chdb_result_elapsed")?,
                result_rows_read: sym(&lib, "chdb_result_rows_read")?,
                result_error: sym(&lib, "chdb_result_error")?,
                destroy_result: sym(&lib, "chdb_destroy_query_result")?,
                stream_query_n: sym(&lib, "chdb_stream_query_n")?,
                stream_fetch: sym(&lib, "chdb_stream_fetch_result")?,
                stream_cancel: sym(&lib, "chdb_stream_cancel_query")?,
            }
        };
        // Keep the library mapped for the life of the process (see the type docs).
        std::mem::forget(lib);
        Ok(engine)
    }

    /// Where the library was loaded from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Wrap a raw result so it is destroyed exactly once.
    ///
    /// # Safety
    /// `raw` must be a result returned by this engine and not yet destroyed.
    pub(crate) unsafe fn wrap_result(&self, raw: *mut RawResult) -> QueryResult<'_> {
        QueryResult { engine: self, raw }
    }
}

/// One `chdb_result`, destroyed on drop.
pub struct QueryResult<'e> {
    engine: &'e Engine,
    raw: *mut RawResult,
}

impl QueryResult<'_> {
    /// The raw handle (for streaming fetches).
    pub(crate) fn raw(&self) -> *mut RawResult {
        self.raw
    }

    /// The error text, or `None` if the query succeeded.
    pub fn error(&self) -> Option<String> {
        if self.raw.is_null() {
            return Some("chDB returned no result".to_string());
        }
        // SAFETY: `raw` is a live result; the returned string lives as long as it.
        let p = unsafe { (self.engine.result_error)(self.raw) };
        if p.is_null() {
            return None;
        }
        // SAFETY: chDB returns a NUL-terminated string.
        let s = unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned();
        Some(s)
    }

    /// The output bytes, borrowed from chDB's buffer.
    pub fn bytes(&self) -> &[u8] {
        if self.raw.is_null() {
            return &[];
        }
        // SAFETY: `raw` is live; buffer/length describe memory owned by the result.
        unsafe {
            let len = (self.engine.result_length)(self.raw);
            let buf = (self.engine.result_buffer)(self.raw);
            if buf.is_null() || len == 0 {
                &[]
            } else {
                std::slice::from_raw_parts(buf as *const u8, len)
            }
        }
    }

    /// Rows read (as reported by chDB).
    pub fn rows_read(&self) -> u64 {
        if self.raw.is_null() {
            return 0;
        }
        // SAFETY: `raw` is live.
        unsafe { (self.engine.result_rows_read)(self.raw) }
    }

    /// Seconds the query took.
    pub fn elapsed(&self) -> f64 {
        if self.raw.is_null() {
            return 0.0;
        }
        // SAFETY: `raw` is live.
        unsafe { (self.engine.result_elapsed)(self.raw) }
    }
}

impl Drop for QueryResult<'_> {
    fn drop(&mut self) {
        if !self.raw.is_null() {
            // SAFETY: destroyed exactly once, here.
            unsafe { (self.engine.destroy_result)(self.raw) };
        }
    }
}

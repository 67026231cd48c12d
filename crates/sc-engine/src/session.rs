//! A chDB session: the process's one connection, its start-up arguments and queries.
//!
//! chDB allows one storage path per process and is meant to start once, so a
//! process opens exactly one [`Session`] and keeps it until it exits. Every
//! result is destroyed as soon as its bytes are copied or written out.

use std::ffi::{c_char, CString};
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::ffi::{Engine, QueryResult, RawConn};

/// How to start the engine.
#[derive(Debug, Clone, Default)]
pub struct SessionOptions {
    /// The engine's private data directory (`--path=`).
    pub data_dir: PathBuf,
    /// An optional ClickHouse server configuration file (`--config-file=`).
    pub config_file: Option<PathBuf>,
    /// Query-level settings passed as `--name=value` (apply to the connection).
    pub settings: Vec<(String, String)>,
}

/// What one successful query reports besides its bytes.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct QueryStats {
    /// Rows read, as reported by chDB.
    pub rows_read: u64,
    /// Seconds, as reported by chDB.
    pub elapsed: f64,
    /// Bytes of output.
    pub bytes: u64,
}

/// An open connection. Closing it (drop) shuts the engine down.
pub struct Session<'e> {
    engine: &'e Engine,
    conn: *mut RawConn,
}

fn c_arg(s: &str) -> Result<CString, String> {
    CString::new(s).map_err(|_| format!("engine argument contains a NUL byte: {s:?}"))
}

impl<'e> Session<'e> {
    /// Start the engine with `options`. Disables chDB's signal handlers first,
    /// so a crash stays a plain signal the supervisor can see.
    pub fn open(engine: &'e Engine, options: &SessionOptions) -> Result<Session<'e>, String> {
        let data = options.data_dir.to_str().ok_or_else(|| "engine data directory is not UTF-8".to_string())?;
        let mut args = vec![c_arg("clickhouse")?, c_arg(&format!("--path={data}"))?];
        if let Some(cfg) = &options.config_file {
            let cfg = cfg.to_str().ok_or_else(|| "engine config path is not UTF-8".to_string())?;
            args.push(c_arg(&format!("--config-file={cfg}"))?);
        }
        for (k, v) in &options.settings {
            args.push(c_arg(&format!("--{k}={v}"))?);
        }
        let mut argv: Vec<*mut c_char> = args.iter().map(|a| a.as_ptr() as *mut c_char).collect();
        let argc = i32::try_from(argv.len()).map_err(|_| "too many engine arguments".to_string())?;
        // SAFETY: documented to be called before chdb_connect; takes an int.
        unsafe { (engine.set_signal_handlers_enabled)(0) };
        // SAFETY: argv holds argc valid NUL-terminated strings that outlive the call.
        let conn = unsafe { (engine.connect)(argc, argv.as_mut_ptr()) };
        // SAFETY: a non-null return points at a connection value.
        if conn.is_null() || unsafe { (*conn).is_null() } {
            return Err("chDB failed to start (chdb_connect returned no connection)".to_string());
        }
        Ok(Session { engine, conn })
    }

    fn raw(&self) -> RawConn {
        // SAFETY: checked non-null in `open`, valid until drop.
        unsafe { *self.conn }
    }

    /// Run one query and keep its result alive for the caller to read.
    pub fn query_raw(&self, sql: &str, format: &str) -> Result<QueryResult<'e>, String> {
        self.query_bytes(sql.as_bytes(), format)
    }

    /// Run one query given as bytes (an `INSERT … FORMAT RowBinary` with its
    /// data inline is not UTF-8).
    pub fn query_bytes(&self, sql: &[u8], format: &str) -> Result<QueryResult<'e>, String> {
        // SAFETY: pointers and lengths describe live buffers; the connection is open.
        let raw = unsafe {
            (self.engine.query_n)(
                self.raw(),
                sql.as_ptr() as *const c_char,
                sql.len(),
                format.as_ptr() as *const c_char,
                format.len(),
            )
        };
        // SAFETY: `raw` came from this engine and is destroyed by the wrapper.
        let result = unsafe { self.engine.wrap_result(raw) };
        match result.error() {
            Some(e) => Err(e),
            None => Ok(result),
        }
    }

    /// Run one query with `{name:Type}` parameters bound server-side.
    ///
    /// Values are ClickHouse *escaped text* (TSV field syntax): a backslash
    /// in a value must be doubled; see [`escape_param`].
    pub fn query_raw_with_params(
        &self,
        sql: &str,
        format: &str,
        params: &[(String, String)],
    ) -> Result<QueryResult<'e>, String> {
        if params.is_empty() {
            return self.query_raw(sql, format);
        }
        let names: Vec<*const c_char> = params.iter().map(|(n, _)| n.as_ptr() as *const c_char).collect();
        let name_lens: Vec<usize> = params.iter().map(|(n, _)| n.len()).collect();
        let values: Vec<*const c_char> = params.iter().map(|(_, v)| v.as_ptr() as *const c_char).collect();
        let value_lens: Vec<usize> = params.iter().map(|(_, v)| v.len()).collect();
        // SAFETY: every array has params.len() entries pointing into live strings.
        let raw = unsafe {
            (self.engine.query_with_params_n)(
                self.raw(),
                sql.as_ptr() as *const c_char,
                sql.len(),
                format.as_ptr() as *const c_char,
                format.len(),
                names.as_ptr(),
                name_lens.as_ptr(),
                values.as_ptr(),
                value_lens.as_ptr(),
                params.len(),
            )
        };
        // SAFETY: `raw` came from this engine and is destroyed by the wrapper.
        let result = unsafe { self.engine.wrap_result(raw) };
        match result.error() {
            Some(e) => Err(e),
            None => Ok(result),
        }
    }

    /// Run one query and copy its output.
    pub fn query(&self, sql: &str, format: &str) -> Result<Vec<u8>, String> {
        self.query_raw(sql, format).map(|r| r.bytes().to_vec())
    }

    /// Run one query with parameters and copy its output.
    pub fn query_with_params(&self, sql: &str, format: &str, params: &[(String, String)]) -> Result<Vec<u8>, String> {
        self.query_raw_with_params(sql, format, params).map(|r| r.bytes().to_vec())
    }

    /// Run one query and write its output straight from chDB's buffer to `out`.
    pub fn query_into(
        &self,
        sql: &str,
        format: &str,
        params: &[(String, String)],
        out: &mut dyn Write,
    ) -> Result<QueryStats, String> {
        let r = self.query_raw_with_params(sql, format, params)?;
        let bytes = r.bytes();
        out.write_all(bytes).map_err(|e| format!("cannot write query output: {e}"))?;
        Ok(QueryStats { rows_read: r.rows_read(), elapsed: r.elapsed(), bytes: bytes.len() as u64 })
    }

    /// Run a query in streaming mode and write each chunk to `out` as it
    /// arrives: the whole result is never held in memory at once.
    ///
    /// On a write error the stream is cancelled before returning.
    pub fn query_stream_into(&self, sql: &str, format: &str, out: &mut dyn Write) -> Result<QueryStats, String> {
        // SAFETY: pointers and lengths describe live Rust strings; the connection is open.
        let raw = unsafe {
            (self.engine.stream_query_n)(
                self.raw(),
                sql.as_ptr() as *const c_char,
                sql.len(),
                format.as_ptr() as *const c_char,
                format.len(),
            )
        };
        // SAFETY: `raw` came from this engine and is destroyed by the wrapper.
        let stream = unsafe { self.engine.wrap_result(raw) };
        if let Some(e) = stream.error() {
            return Err(e);
        }
        let mut stats = QueryStats::default();
        loop {
            // SAFETY: the stream handle is live until `stream` drops, after this loop.
            let chunk_raw = unsafe { (self.engine.stream_fetch)(self.raw(), stream.raw()) };
            // SAFETY: each chunk is its own result, destroyed by its wrapper.
            let chunk = unsafe { self.engine.wrap_result(chunk_raw) };
            if let Some(e) = chunk.error() {
                return Err(e);
            }
            let bytes = chunk.bytes();
            if bytes.is_empty() {
                break;
            }
            if let Err(e) = out.write_all(bytes) {
                drop(chunk);
                // SAFETY: cancelling a live stream on its own connection.
                unsafe { (self.engine.stream_cancel)(self.raw(), stream.raw()) };
                return Err(format!("cannot write query output: {e}"));
            }
            stats.bytes += bytes.len() as u64;
            stats.rows_read += chunk.rows_read();
            stats.elapsed += chunk.elapsed();
        }
        Ok(stats)
    }

    /// The engine's version, from `SELECT version()`.
    pub fn version(&self) -> Result<String, String> {
        let out = self.query("SELECT version()", "TabSeparatedRaw")?;
        Ok(String::from_utf8_lossy(&out).trim().to_string())
    }

    /// The data directory this session was opened with is not kept; the engine
    /// path is, for messages.
    pub fn engine_path(&self) -> &Path {
        self.engine.path()
    }
}

impl Drop for Session<'_> {
    fn drop(&mut self) {
        // SAFETY: the connection pointer is valid and closed exactly once.
        unsafe { (self.engine.close_conn)(self.conn) };
    }
}

/// Escape a value for `chdb_query_with_params_n`, which parses values as
/// ClickHouse escaped text (TSV field syntax): backslash, tab and newline.
pub fn escape_param(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\0' => out.push_str("\\0"),
            c => out.push(c),
        }
    }
    out
}

/// Quote a ClickHouse identifier with backticks.
pub fn quote_ident(name: &str) -> String {
    let mut out = String::with_capacity(name.len() + 2);
    out.push('`');
    for c in name.chars() {
        match c {
            '`' => out.push_str("\\`"),
            '\\' => out.push_str("\\\\"),
            c => out.push(c),
        }
    }
    out.push('`');
    out
}

/// Quote a ClickHouse string literal with single quotes.
pub fn quote_str(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('\'');
    for c in value.chars() {
        match c {
            '\'' => out.push_str("\\'"),
            '\\' => out.push_str("\\\\"),
            c => out.push(c),
        }
    }
    out.push('\'');
    out
}

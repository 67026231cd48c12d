//! The extension's one error type, mapped to SQLSTATEs in one place, with detail and hint.
use pgrx::pg_sys::panic::ErrorReport;
use pgrx::{PgLogLevel, PgSqlErrorCode};
use sc_core::document::Problem;

#[derive(Debug, thiserror::Error)]
pub enum ScError {
    #[error("connector document is invalid: {} problem{}", .0.len(), if .0.len() == 1 { "" } else { "s" })]
    InvalidDocument(Vec<Problem>),
    #[error("connector \"{0}\" does not exist")]
    ConnectorNotFound(String),
    #[error("connector \"{0}\" already exists")]
    ConnectorExists(String),
    #[error("permission denied: {action} needs role {role}")]
    NeedsRole { action: &'static str, role: &'static str },
    #[error("permission denied: {action} connector \"{api_name}\" needs the rights of its owner, role \"{owner}\"")]
    NotOwner { action: &'static str, api_name: String, owner: String },
    #[error("{message}")]
    InvalidArgument { message: String, hint: Option<String> },
    #[error("{message}")]
    InUse { message: String, hint: String },
    /// The server is not set up for running connectors, or the connector cannot run now.
    #[error("{message}")]
    NotReady { message: String, hint: String },
    #[error("execution {0} does not exist")]
    ExecutionNotFound(i64),
    #[error("{0}")]
    Timeout(String),
    #[error("internal error: {0}")]
    Internal(String),
}

pub type ScResult<T> = Result<T, ScError>;

impl ScError {
    pub fn invalid_argument(message: impl Into<String>, hint: impl Into<String>) -> Self {
        ScError::InvalidArgument { message: message.into(), hint: Some(hint.into()) }
    }

    /// The SQLSTATE each variant maps to.
    pub fn sqlstate(&self) -> PgSqlErrorCode {
        use PgSqlErrorCode::*;
        match self {
            ScError::InvalidDocument(_) => ERRCODE_INVALID_PARAMETER_VALUE,
            ScError::ConnectorNotFound(_) => ERRCODE_UNDEFINED_OBJECT,
            ScError::ConnectorExists(_) => ERRCODE_DUPLICATE_OBJECT,
            ScError::NeedsRole { .. } | ScError::NotOwner { .. } => ERRCODE_INSUFFICIENT_PRIVILEGE,
            ScError::InvalidArgument { .. } => ERRCODE_INVALID_PARAMETER_VALUE,
            ScError::InUse { .. } => ERRCODE_OBJECT_IN_USE,
            ScError::NotReady { .. } => ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE,
            ScError::ExecutionNotFound(_) => ERRCODE_UNDEFINED_OBJECT,
            ScError::Timeout(_) => ERRCODE_QUERY_CANCELED,
            ScError::Internal(_) => ERRCODE_INTERNAL_ERROR,
        }
    }

    fn detail(&self) -> Option<String> {
        match self {
            ScError::InvalidDocument(problems) => {
                Some(problems.iter().map(|p| p.to_string()).collect::<Vec<_>>().join("\n"))
            }
            _ => None,
        }
    }

    fn hint(&self) -> Option<String> {
        match self {
            ScError::InvalidDocument(_) => Some(
                "Each line of DETAIL names the place in the document (a JSON path) and what is wrong there; nothing was saved."
                    .into(),
            ),
            ScError::ConnectorNotFound(_) => {
                Some("SELECT api_name FROM sc.connectors lists the connectors.".into())
            }
            ScError::ConnectorExists(_) => Some(
                "Use sc_update_connector to change it, or sc_import_connector(document, 'replace').".into(),
            ),
            ScError::NeedsRole { role, .. } => Some(format!("GRANT {role} TO <your role>;")),
            ScError::NotOwner { owner, .. } => Some(format!(
                "A connector runs as its owner, so only members of role \"{owner}\" (or a superuser) may change it. \
                 Ask one of them, or sc_duplicate_connector it: the copy is yours."
            )),
            ScError::InvalidArgument { hint, .. } => hint.clone(),
            ScError::InUse { hint, .. } => Some(hint.clone()),
            ScError::NotReady { hint, .. } => Some(hint.clone()),
            ScError::ExecutionNotFound(_) => {
                Some("SELECT id, connector_api_name, status FROM sc.executions ORDER BY id DESC lists them.".into())
            }
            ScError::Timeout(_) => Some("The execution goes on; call sc_wait again, or sc_cancel it.".into()),
            ScError::Internal(_) => None,
        }
    }

    /// Raises this error without the server log's `STATEMENT:` line, for
    /// calls whose text may hold a secret written inline (`sc_set_secret`).
    pub fn raise_without_statement(self) -> ! {
        // SAFETY: sets a GUC for the current transaction only (GUC_ACTION_LOCAL);
        // the ERROR below aborts it, which undoes the setting.
        unsafe {
            pgrx::pg_sys::set_config_option(
                c"log_min_error_statement".as_ptr(),
                c"panic".as_ptr(),
                pgrx::pg_sys::GucContext::PGC_SUSET,
                pgrx::pg_sys::GucSource::PGC_S_SESSION,
                pgrx::pg_sys::GucAction::GUC_ACTION_LOCAL,
                true,
                0,
                false,
            );
        }
        self.raise()
    }

    /// Raises this error as a PostgreSQL ERROR; never returns.
    pub fn raise(self) -> ! {
        let mut report = ErrorReport::new(self.sqlstate(), self.to_string(), "smartconnector");
        if let Some(detail) = self.detail() {
            report = report.set_detail(detail);
        }
        if let Some(hint) = self.hint() {
            report = report.set_hint(hint);
        }
        report.report(PgLogLevel::ERROR);
        unreachable!("ERROR does not return")
    }
}

impl From<pgrx::spi::Error> for ScError {
    fn from(e: pgrx::spi::Error) -> Self {
        ScError::Internal(format!("SPI: {e}"))
    }
}

/// `result.or_raise()` in API functions: the value, or the error raised as ERROR.
pub trait OrRaise<T> {
    fn or_raise(self) -> T;
}

impl<T> OrRaise<T> for ScResult<T> {
    fn or_raise(self) -> T {
        self.unwrap_or_else(|e| e.raise())
    }
}

/// The message of an ERROR caught with `PgTryBuilder`.
pub fn caught_message(e: &pgrx::pg_sys::panic::CaughtError) -> String {
    use pgrx::pg_sys::panic::CaughtError;
    match e {
        CaughtError::PostgresError(r) | CaughtError::ErrorReport(r) => r.message().to_string(),
        CaughtError::RustPanic { ereport, .. } => ereport.message().to_string(),
    }
}

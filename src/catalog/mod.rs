//! The only code that reads and writes `sc.*` tables.
pub mod checks;
pub mod connectors;
pub mod executions;
pub mod runs;
pub mod lifecycle;
pub mod loads;
pub mod secrets;

use crate::error::{ScError, ScResult};
use pgrx::prelude::*;

/// Fails unless the current role is a member of `role` (superusers always are).
pub fn require_role(role: &'static str, action: &'static str) -> ScResult<()> {
    let ok = Spi::get_one_with_args::<bool>(
        "SELECT pg_catalog.pg_has_role(current_user, $1, 'USAGE')",
        &[role.into()],
    )?
    .unwrap_or(false);
    if ok {
        Ok(())
    } else {
        Err(ScError::NeedsRole { action, role })
    }
}

/// The role running the current statement.
pub fn current_role() -> ScResult<String> {
    Spi::get_one::<String>("SELECT current_user::text")?
        .ok_or_else(|| ScError::Internal("current_user is NULL".into()))
}

//! What each call may do: the rules of the SQL API, between the `#[pg_extern]`
//! wrappers (`api`) and the catalog rows, workers and PostgreSQL mechanics
//! below. Every check of the caller's rights is here.
pub mod checks;
pub mod connectors;
pub mod runs;
pub mod secrets;

use crate::error::{ScError, ScResult};
use pgrx::prelude::*;

/// Fails unless the current role is a member of `role` (superusers always are).
pub fn require_role(role: &'static str, action: &'static str) -> ScResult<()> {
    let ok =
        Spi::get_one_with_args::<bool>("SELECT pg_catalog.pg_has_role(current_user, $1, 'USAGE')", &[role.into()])?
            .unwrap_or(false);
    if ok {
        Ok(())
    } else {
        Err(ScError::NeedsRole { action, role })
    }
}

/// Fails unless the current role has the rights of `owner` (is a member
/// of it, or a superuser): a connector runs as its owner, so changing it is
/// acting as that role. A dropped owner leaves the connector to superusers.
pub fn require_owner(owner: &str, api_name: &str, action: &'static str) -> ScResult<()> {
    let ok = Spi::get_one_with_args::<bool>(
        "SELECT CASE WHEN r.oid IS NULL
                     THEN (SELECT s.rolsuper FROM pg_catalog.pg_roles s WHERE s.rolname = current_user)
                     ELSE pg_catalog.pg_has_role(current_user, r.oid, 'USAGE') END
           FROM (SELECT) AS one LEFT JOIN pg_catalog.pg_roles r ON r.rolname = $1",
        &[owner.into()],
    )?
    .unwrap_or(false);
    if ok {
        Ok(())
    } else {
        Err(ScError::NotOwner { action, api_name: api_name.to_string(), owner: owner.to_string() })
    }
}

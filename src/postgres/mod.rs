//! PostgreSQL mechanics, the bottom layer of the extension: transactions,
//! role switching, the stop flag of a background worker, threads that never
//! see PostgreSQL's signals, and reading table metadata. Imports nothing of
//! the extension above it (only the leaf `error` module).
pub mod background;
pub mod roles;
pub mod stop;
pub mod tables;
pub mod xact;

pub use roles::{
    as_role, as_role_pinned, as_superuser, current_role, is_superuser, owner_names, pin_search_path, role_facts,
};
pub use xact::{rolled_back, subtransaction, transaction, Changes};

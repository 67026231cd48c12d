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

/// Frees the rows of the last SPI cursor fetch. pgrx keeps every batch a
/// cursor fetched until its SPI connection ends, so a cursor read to its end
/// would otherwise hold all its rows at once.
///
/// # Safety
/// The last fetched `SpiTupleTable` must not be read after this call.
pub unsafe fn free_last_fetch() {
    // SAFETY: `SPI_tuptable` is the last fetch's table, which the caller is done with.
    unsafe { pgrx::pg_sys::SPI_freetuptable(pgrx::pg_sys::SPI_tuptable) }
}

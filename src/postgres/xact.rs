//! Transactions and subtransactions for code that runs outside a client
//! statement (background workers) or must isolate a failure inside one.
use pgrx::pg_sys;
use pgrx::prelude::*;

/// What a subtransaction does with its changes when it succeeds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Changes {
    /// Release it: its changes become part of the enclosing transaction.
    Keep,
    /// Roll it back even on success (dry runs, probes, tests).
    RollBack,
}

/// Runs `f` in its own transaction (a worker has none between steps).
/// An ERROR inside is caught, the transaction rolled back and its message returned.
pub fn transaction<R>(f: impl FnOnce() -> R + std::panic::UnwindSafe) -> Result<R, String> {
    in_transaction(f, true)
}

/// Runs `f` in its own transaction (a worker has none between steps) and
/// rolls it back whatever happens: what `f` wrote is never seen by anyone
/// else (a dry run). An ERROR inside is caught and its message returned.
pub fn rolled_back<R>(f: impl FnOnce() -> R + std::panic::UnwindSafe) -> Result<R, String> {
    in_transaction(f, false)
}

/// Starts a transaction, runs `f`, then commits it (`commit`) or rolls it
/// back; an ERROR rolls it back and comes back as its message.
fn in_transaction<R>(f: impl FnOnce() -> R + std::panic::UnwindSafe, commit: bool) -> Result<R, String> {
    // SAFETY: called from a background worker outside any transaction.
    unsafe {
        pg_sys::SetCurrentStatementStartTimestamp();
        pg_sys::StartTransactionCommand();
        pg_sys::PushActiveSnapshot(pg_sys::GetTransactionSnapshot());
    }
    PgTryBuilder::new(move || {
        let r = f();
        // SAFETY: the snapshot pushed above is still the active one; abort pops it too.
        unsafe {
            if commit {
                pg_sys::PopActiveSnapshot();
                pg_sys::CommitTransactionCommand();
            } else {
                pg_sys::AbortCurrentTransaction();
            }
        }
        Ok(r)
    })
    .catch_others(|e| {
        // SAFETY: we are inside the transaction started above; abort cleans up snapshots too.
        unsafe { pg_sys::AbortCurrentTransaction() };
        Err(crate::error::caught_message(&e))
    })
    .execute()
}

/// Runs `f` in a subtransaction of the current transaction. An ERROR (or an
/// `Err`) inside rolls the subtransaction back and comes back as `Err`; with
/// [`Changes::RollBack`] it is rolled back even on success.
pub fn subtransaction<R>(
    changes: Changes,
    f: impl FnOnce() -> Result<R, String> + std::panic::UnwindSafe,
) -> Result<R, String> {
    // SAFETY: the standard internal-subtransaction protocol (as PL/pgSQL's
    // exception blocks): remember the memory context and resource owner,
    // begin, then release or roll back and restore both.
    let (context, owner) = unsafe { (pg_sys::CurrentMemoryContext, pg_sys::CurrentResourceOwner) };
    unsafe { pg_sys::BeginInternalSubTransaction(std::ptr::null()) };
    let result = PgTryBuilder::new(f).catch_others(|e| Err(crate::error::caught_message(&e))).execute();
    unsafe {
        if result.is_ok() && changes == Changes::Keep {
            pg_sys::ReleaseCurrentSubTransaction();
        } else {
            pg_sys::RollbackAndReleaseCurrentSubTransaction();
        }
        pg_sys::MemoryContextSwitchTo(context);
        pg_sys::CurrentResourceOwner = owner;
    }
    result
}

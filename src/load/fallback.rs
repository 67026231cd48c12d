//! Set-based first, one by one after: the one place where a failed
//! statement over many items (keys, rows) is retried item by item, each in
//! a subtransaction of its own, so only the items at fault fail, each with
//! the database's message.
use crate::postgres::{subtransaction, Changes};
use std::panic::AssertUnwindSafe;

/// How a statement over `items` went.
pub enum Attempt<'a, I, R> {
    /// One statement for all of them.
    Together(R),
    /// It failed; then each item on its own, with its own result.
    OneByOne(Vec<(&'a I, Result<R, String>)>),
}

/// Runs `run` on all `items` in one subtransaction; if that fails, on each
/// item alone, each in its own. `changes` says whether a successful
/// subtransaction keeps its changes (a dry run rolls them back).
pub fn together_or_one_by_one<'a, I, R>(
    items: &'a [I],
    changes: Changes,
    run: impl Fn(&[I]) -> Result<R, String>,
) -> Attempt<'a, I, R> {
    match subtransaction(changes, AssertUnwindSafe(|| run(items))) {
        Ok(r) => Attempt::Together(r),
        Err(_) => Attempt::OneByOne(
            items
                .iter()
                .map(|item| (item, subtransaction(changes, AssertUnwindSafe(|| run(std::slice::from_ref(item))))))
                .collect(),
        ),
    }
}

//! The typed states of the worker (`sc_core::execution`, `sc_core::load`)
//! spell exactly what the catalog's CHECK constraints and comments say.

use pgrx::prelude::*;

#[pg_schema]
mod tests {
    use pgrx::prelude::*;
    use sc_core::execution::{ExecutionStatus, Stage};
    use sc_core::load::RowOutcome;
    use std::collections::BTreeSet;

    /// The quoted words of the CHECK constraint of `table` that mentions `column`.
    fn check_words(table: &str, column: &str) -> BTreeSet<String> {
        let def = Spi::get_one_with_args::<String>(
            "SELECT pg_get_constraintdef(oid) FROM pg_constraint
              WHERE conrelid = $1::regclass AND contype = 'c' AND pg_get_constraintdef(oid) LIKE '%' || $2 || '%'",
            &[table.into(), column.into()],
        )
        .unwrap()
        .unwrap();
        def.split('\'').skip(1).step_by(2).map(str::to_owned).collect()
    }

    fn comment(table: &str, column: &str) -> String {
        Spi::get_one_with_args::<String>(
            "SELECT col_description($1::regclass, (SELECT attnum FROM pg_attribute
                                                     WHERE attrelid = $1::regclass AND attname = $2))",
            &[table.into(), column.into()],
        )
        .unwrap()
        .unwrap_or_default()
    }

    #[pg_test]
    fn execution_statuses_are_the_checked_ones() {
        let ours: BTreeSet<String> = ExecutionStatus::ALL.iter().map(|s| s.as_str().to_owned()).collect();
        assert_eq!(check_words("sc.executions", "status"), ours);
        let c = comment("sc.executions", "status");
        assert!(ExecutionStatus::ALL.iter().all(|s| c.contains(s.as_str())), "{c}");
    }

    #[pg_test]
    fn row_outcomes_are_the_checked_ones() {
        let ours: BTreeSet<String> = RowOutcome::ALL.iter().map(|o| o.as_str().to_owned()).collect();
        assert_eq!(check_words("sc.execution_row_batches", "outcomes"), ours);
        let c = comment("sc.executions", "counts");
        assert!(RowOutcome::LOAD.iter().all(|o| c.contains(o.as_str())), "{c}");
    }

    #[pg_test]
    fn every_stage_is_named_in_the_comment() {
        let c = comment("sc.executions", "stage");
        for name in Stage::NAMES {
            assert!(c.contains(name), "{name} missing in: {c}");
        }
    }
}

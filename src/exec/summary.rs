//! The report's Summary: its facts and counts, and the final status they
//! lead to; a Summary-only report for runs that end early.
use super::artifacts::store_file;
use super::state::Execution;
use sc_core::execution::ExecutionStatus;
use sc_core::load::RowOutcome;
use sc_core::report::ReportWriter;
use sc_core::variables::ScopeCounts;

/// `partial_success` when some row failed validation or a load step.
pub fn final_status(ex: &Execution, counts: &[ScopeCounts]) -> ExecutionStatus {
    let step_failed = ex.doc.load_steps.iter().any(|s| ex.counts.of(&s.name, RowOutcome::Failed) > 0);
    if step_failed || counts.iter().any(|c| c.invalid > 0) {
        ExecutionStatus::PartialSuccess
    } else {
        ExecutionStatus::Succeeded
    }
}

/// The facts of the Summary sheet.
pub fn summary_facts(ex: &Execution, status: ExecutionStatus, error: Option<&str>) -> Vec<(String, String)> {
    let c = &ex.claimed;
    let mut facts = vec![
        ("Execution".to_string(), c.id.to_string()),
        ("Connector".into(), c.api_name.clone()),
        ("Status".into(), status.as_str().to_owned()),
        ("Trigger".into(), c.trigger.clone()),
        ("Run as".into(), c.run_as.clone()),
        ("Dry run".into(), c.dry_run.to_string()),
        ("Input file".into(), c.file_name.clone().unwrap_or_default()),
        ("Input".into(), ex.input_note.clone().unwrap_or_default()),
        (
            "Re-run of".into(),
            match (c.rerun_of, c.only_failed) {
                (Some(id), true) => format!("{id} (only its failed rows)"),
                (Some(id), false) => id.to_string(),
                (None, _) => String::new(),
            },
        ),
        ("Queued at".into(), c.queued_at.clone().unwrap_or_default()),
        ("Started at".into(), sc_core::execution::utc_iso(ex.started_wall)),
        ("Ended at".into(), sc_core::execution::utc_iso(std::time::SystemTime::now())),
        ("Engine version".into(), ex.engine_version.clone().unwrap_or_default()),
    ];
    // In the order the stages ran.
    for (stage, ms) in &ex.stage_log {
        facts.push((format!("Time: {stage} (ms)"), ms.to_string()));
    }
    if let Some(e) = error {
        facts.push(("Error".into(), e.to_owned()));
    }
    for w in &ex.warnings {
        facts.push(("Warning".into(), w.clone()));
    }
    facts
}

/// (step, outcome, rows) for the Summary: variables per scope, then each load step.
pub fn summary_counts(ex: &Execution) -> Vec<(String, String, u64)> {
    ex.counts.rows()
}

/// Writes and stores a report with only the Summary sheet (best effort).
pub fn store_summary_report(ex: &Execution, status: ExecutionStatus, error: Option<&str>) {
    let path = ex.dir.join("report-summary.xlsx");
    let written = ReportWriter::create(&path).and_then(|mut r| {
        r.summary(&summary_facts(ex, status, error), &summary_counts(ex))?;
        r.finish()
    });
    if written.is_ok() {
        let _ = store_file(ex.claimed.id, "report", "report.xlsx", &path);
    }
}

//! Helpers shared by the report tests.

use std::path::PathBuf;

/// A fresh directory for one test, removed when dropped.
pub struct Scratch(pub PathBuf);

impl Scratch {
    /// `<temp>/sc-report-<pid>-<test>`, emptied first.
    pub fn new(test: &str) -> Scratch {
        let dir = std::env::temp_dir().join(format!("sc-report-{}-{test}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("scratch dir");
        Scratch(dir)
    }

    pub fn file(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

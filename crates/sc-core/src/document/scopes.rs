//! The scope names a document uses and how an item's omitted scope resolves
//! (shared by the checks of variables and of load steps).
use super::model::ConnectorDocument;

/// The scope names used in a document and how an omitted scope resolves.
pub(super) struct Scopes<'a> {
    /// Distinct explicit scope names, in order of first use.
    pub names: Vec<&'a str>,
}

impl<'a> Scopes<'a> {
    pub(super) fn of(doc: &'a ConnectorDocument) -> Self {
        let mut names: Vec<&str> = Vec::new();
        let used = doc
            .variables
            .iter()
            .filter_map(|v| v.scope.as_deref())
            .chain(doc.load_steps.iter().filter_map(|s| s.scope.as_deref()));
        for name in used {
            if !names.contains(&name) {
                names.push(name);
            }
        }
        Scopes { names }
    }

    /// True when more than one scope name is used anywhere.
    pub fn several(&self) -> bool {
        self.names.len() > 1
    }

    /// The scope an item reads: its own, else the only one. `None` when
    /// unknown (no name used anywhere, or an omitted scope among several,
    /// which is reported by itself).
    pub fn resolve(&self, explicit: Option<&'a str>) -> Option<&'a str> {
        match explicit {
            Some(s) => Some(s),
            None if self.names.len() == 1 => Some(self.names[0]),
            None => None,
        }
    }

    /// False only when both scopes are known and differ.
    pub fn compatible(&self, a: Option<&'a str>, b: Option<&'a str>) -> bool {
        match (self.resolve(a), self.resolve(b)) {
            (Some(x), Some(y)) => x == y,
            _ => true,
        }
    }

    /// `a, b, c` for messages.
    pub fn list(&self) -> String {
        self.names.join(", ")
    }
}

//! Excel-safe, unique worksheet names derived from report sheet titles.
//!
//! Excel's rules: at most 31 characters (counted here in UTF-16 units, as
//! Excel and rust_xlsxwriter do), none of `[ ] : * ? / \`, not starting or
//! ending with `'`, not blank, not `History`, and unique without regard to
//! case. The derivation, in order:
//!
//! 1. Every forbidden or control character becomes `_`; surrounding
//!    whitespace and apostrophes are trimmed; a blank result becomes `Sheet`.
//! 2. A name that is too long and ends with a scope in parentheses keeps its
//!    stem and cuts the scope: `Extracted Variables (warehouse_locations)`
//!    → `Extracted Variables (warehou…)`. Otherwise the end is cut and `…`
//!    added. Only when the stem alone is too long is the scope lost.
//! 3. A name already taken gets `~2`, `~3`, … (shortening the rest to make
//!    room) until it is free.
//!
//! Continuation sheets of a long group are the group's name plus ` (2)`,
//! ` (3)`, …, shortened by the same rule 2 and made unique by rule 3.

use std::collections::HashSet;

/// The longest worksheet name Excel accepts, in UTF-16 units.
pub const MAX_SHEET_NAME_UNITS: usize = 31;

const FORBIDDEN: [char; 7] = ['[', ']', ':', '*', '?', '/', '\\'];
const ELLIPSIS: char = '…';

fn units(text: &str) -> usize {
    text.encode_utf16().count()
}

/// The longest prefix of `text` (whole characters) of at most `max` UTF-16 units.
fn prefix_units(text: &str, max: usize) -> &str {
    let mut used = 0;
    let mut end = 0;
    for (at, ch) in text.char_indices() {
        used += ch.len_utf16();
        if used > max {
            break;
        }
        end = at + ch.len_utf8();
    }
    &text[..end]
}

/// Rule 1: replaces what Excel forbids and trims the ends.
fn clean(title: &str) -> String {
    let replaced: String =
        title.chars().map(|c| if FORBIDDEN.contains(&c) || c.is_control() { '_' } else { c }).collect();
    let trimmed = replaced.trim_matches(|c: char| c.is_whitespace() || c == '\'');
    if trimmed.is_empty() {
        "Sheet".to_owned()
    } else {
        trimmed.to_owned()
    }
}

/// Rule 2: shortens a cleaned name to at most `max` UTF-16 units (`max` ≥ 2).
fn shorten(name: &str, max: usize) -> String {
    if units(name) <= max {
        return name.to_owned();
    }
    if let Some(open) = name.strip_suffix(')').and_then(|inner| inner.rfind(" (")) {
        let stem = &name[..open];
        let scope = &name[open + 2..name.len() - 1];
        // Room left for the scope after "stem (" and "…)".
        let room = max.saturating_sub(units(stem) + 4);
        if room >= 1 && !scope.is_empty() {
            let kept = prefix_units(scope, room).trim_end();
            return format!("{stem} ({kept}{ELLIPSIS})");
        }
    }
    let kept = prefix_units(name, max - 1).trim_end_matches(|c: char| c.is_whitespace());
    format!("{kept}{ELLIPSIS}")
}

/// The names taken so far in one workbook.
#[derive(Debug, Default)]
pub(crate) struct SheetNames {
    /// Lower-cased, since Excel compares names without regard to case.
    taken: HashSet<String>,
}

impl SheetNames {
    /// A registry where `History` (reserved by Excel) and `reserved` are taken.
    pub fn with_reserved(reserved: &[&str]) -> Self {
        let mut names = SheetNames::default();
        names.taken.insert("history".to_owned());
        for name in reserved {
            names.taken.insert(name.to_lowercase());
        }
        names
    }

    /// Takes and returns a safe, unique name for a sheet titled `title`.
    pub fn claim(&mut self, title: &str) -> String {
        let base = clean(title);
        let mut candidate = shorten(&base, MAX_SHEET_NAME_UNITS);
        let mut n = 2u64;
        while self.taken.contains(&candidate.to_lowercase()) {
            let suffix = format!("~{n}");
            candidate = shorten(&base, MAX_SHEET_NAME_UNITS - units(&suffix)) + &suffix;
            n += 1;
        }
        self.taken.insert(candidate.to_lowercase());
        candidate
    }

    /// Takes and returns the name of part `part` (≥ 2) of the group whose
    /// first sheet is named `first`.
    pub fn claim_part(&mut self, first: &str, part: u32) -> String {
        let suffix = format!(" ({part})");
        let stem = shorten(first, MAX_SHEET_NAME_UNITS - units(&suffix));
        self.claim(&format!("{stem}{suffix}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn valid(name: &str) -> bool {
        !name.is_empty()
            && units(name) <= MAX_SHEET_NAME_UNITS
            && !name.contains(FORBIDDEN)
            && !name.starts_with('\'')
            && !name.ends_with('\'')
    }

    #[test]
    fn short_titles_are_kept() {
        let mut names = SheetNames::with_reserved(&["Summary"]);
        assert_eq!(names.claim("SQL Output (products)"), "SQL Output (products)");
        assert_eq!(names.claim("products Upload (products)"), "products Upload (products)");
    }

    #[test]
    fn forbidden_characters_are_replaced_and_ends_trimmed() {
        let mut names = SheetNames::with_reserved(&[]);
        assert_eq!(names.claim("a[b]c:d*e?f/g\\h"), "a_b_c_d_e_f_g_h");
        assert_eq!(names.claim("  'quoted'  "), "quoted");
        assert_eq!(names.claim("tab\there"), "tab_here");
        assert_eq!(names.claim(" '' "), "Sheet");
    }

    #[test]
    fn long_titles_cut_the_scope_first() {
        let mut names = SheetNames::with_reserved(&[]);
        let name = names.claim("Extracted Variables (warehouse_locations)");
        assert_eq!(name, "Extracted Variables (warehous…)");
        assert_eq!(units(&name), MAX_SHEET_NAME_UNITS);
    }

    #[test]
    fn a_too_long_stem_is_cut_at_the_end() {
        let mut names = SheetNames::with_reserved(&[]);
        let name = names.claim("customer_shipping_addresses Upload (customers)");
        assert_eq!(name, "customer_shipping_addresses Up…");
        assert!(valid(&name));
    }

    #[test]
    fn collisions_get_a_numeric_suffix_case_insensitively() {
        let mut names = SheetNames::with_reserved(&["Summary"]);
        assert_eq!(names.claim("summary"), "summary~2");
        assert_eq!(names.claim("HISTORY"), "HISTORY~2");
        let a = names.claim("Extracted Variables (warehouse_locations_a)");
        let b = names.claim("Extracted Variables (warehouse_locations_b)");
        let c = names.claim("extracted variables (warehouse_locations_c)");
        assert_eq!(a, "Extracted Variables (warehous…)");
        assert_eq!(b, "Extracted Variables (wareho…)~2");
        assert_eq!(c, "extracted variables (wareho…)~3");
        assert!([&a, &b, &c].iter().all(|n| valid(n)));
    }

    #[test]
    fn parts_are_numbered_and_shortened() {
        let mut names = SheetNames::with_reserved(&[]);
        let first = names.claim("SQL Output (products)");
        assert_eq!(names.claim_part(&first, 2), "SQL Output (products) (2)");
        let long = names.claim("Extracted Variables (warehouse_locations)");
        let part = names.claim_part(&long, 12);
        assert_eq!(part, "Extracted Variables (war…) (12)");
        assert!(valid(&part));
    }

    #[test]
    fn wide_characters_count_as_two_units() {
        let mut names = SheetNames::with_reserved(&[]);
        let name = names.claim(&"😀".repeat(20));
        assert!(valid(&name), "{name}");
        assert_eq!(name, format!("{}…", "😀".repeat(15)));
    }

    #[test]
    fn many_collisions_stay_valid_and_unique() {
        let mut names = SheetNames::with_reserved(&[]);
        let mut seen = HashSet::new();
        for _ in 0..200 {
            let name = names.claim("A very long sheet title that never fits (scope)");
            assert!(valid(&name), "{name}");
            assert!(seen.insert(name.to_lowercase()), "{name}");
        }
    }
}

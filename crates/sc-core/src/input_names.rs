//! Name cleaning (SPEC §2): turns headers, sheet names and file names into
//! table and column identifiers that are safe in ClickHouse and PostgreSQL.
//!
//! The rules, applied in this order:
//!
//! 1. Leading and trailing whitespace is trimmed. A header that is empty or
//!    only whitespace is *blank*.
//! 2. ASCII letters are lower-cased.
//! 3. Every character outside `[a-z0-9_]` becomes one `_`. This is per
//!    Unicode character, not per byte: `Größe` → `gr__e`, `Prix (€)` →
//!    `prix____`. Non-ASCII letters are not transliterated, so two names that
//!    differ only in such letters may collide (see rule 6).
//! 4. A column name starting with a digit gets a leading `_`: `2024 total` →
//!    `_2024_total`. Table names from sheet and ZIP entry names do not (Kizen's
//!    runtime quotes them instead, and its SQL says `input."2024_sales"`);
//!    table names from file names keep the rule (`2024.csv` → `_2024_csv`).
//! 5. Blank headers become `_1`, `_2`, … numbered by their position among the
//!    blank headers of the same row (the first blank is `_1` wherever it is).
//! 6. A name equal to an earlier name of the same list (after rules 1–5) becomes
//!    `<name>__duplicate_1__`, then `<name>__duplicate_2__`, … counting the
//!    earlier occurrences of that name. If such a suffixed name is itself taken
//!    (a header literally called `a__duplicate_1__`), the number goes up until
//!    the name is free. Names that only collide *after* cleaning (`Price` and
//!    `price`, `a b` and `a-b`) are duplicates too: the first keeps the plain
//!    name. The same rule makes table names unique within one input.

use std::collections::HashSet;

/// Cleans one name by rules 1–4 (trim, lower-case ASCII, map every other
/// character to `_`, prefix a leading digit with `_`). A blank name gives an
/// empty string; callers that need a non-empty name use [`clean_headers`].
pub fn clean_name(raw: &str) -> String {
    let mut out = clean_chars(raw);
    if out.starts_with(|c: char| c.is_ascii_digit()) {
        out.insert(0, '_');
    }
    out
}

/// Rules 1–3 only: trim, lower-case ASCII, every other character `_`.
fn clean_chars(raw: &str) -> String {
    let trimmed = raw.trim();
    let mut out = String::with_capacity(trimmed.len() + 1);
    for ch in trimmed.chars() {
        let c = ch.to_ascii_lowercase();
        if c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' {
            out.push(c);
        } else {
            out.push('_');
        }
    }
    out
}

/// Cleans a header row: every present, non-blank cell by [`clean_name`], blank
/// or missing cells as `_1`, `_2`, … (rule 5), then makes the names unique by
/// the duplicate rule (rule 6). The result has exactly one name per input cell.
pub fn clean_headers(headers: &[Option<String>]) -> Vec<String> {
    let mut blank = 0usize;
    let base: Vec<String> = headers
        .iter()
        .map(|h| {
            let cleaned = h.as_deref().map(clean_name).unwrap_or_default();
            if cleaned.is_empty() {
                blank += 1;
                format!("_{blank}")
            } else {
                cleaned
            }
        })
        .collect();
    make_unique(base)
}

/// Applies the duplicate rule (rule 6) to names that are already clean.
/// Used for table names within one input (sheets of a workbook, entries of a
/// ZIP) as well as for headers.
pub fn make_unique(names: Vec<String>) -> Vec<String> {
    let mut taken: HashSet<String> = HashSet::with_capacity(names.len());
    let mut seen: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    let mut out = Vec::with_capacity(names.len());
    for name in names {
        let count = seen.entry(name.clone()).or_insert(0);
        let unique = if *count == 0 && !taken.contains(&name) {
            name.clone()
        } else {
            let mut n = (*count).max(1);
            loop {
                let candidate = format!("{name}__duplicate_{n}__");
                if !taken.contains(&candidate) {
                    break candidate;
                }
                n += 1;
            }
        };
        *count += 1;
        taken.insert(unique.clone());
        out.push(unique);
    }
    out
}

/// Table name for a file: the last path component (after `/` or `\`), with
/// its extension, cleaned by [`clean_name`]: `Carrier Weekly.csv` →
/// `carrier_weekly_csv`. A name that cleans to nothing (an empty file name)
/// gives `input`.
pub fn table_name_from_file(file_name: &str) -> String {
    let last = file_name.rsplit(['/', '\\']).next().unwrap_or(file_name);
    let cleaned = clean_name(last);
    if cleaned.is_empty() {
        "input".to_owned()
    } else {
        cleaned
    }
}

/// Table name for a sheet (or a ZIP entry's name without its extension),
/// cleaned by rules 1–3 (a leading digit stays), falling back to the
/// positional `page_<index>` when the name cleans to nothing.
pub fn table_name_from_sheet(sheet: &str, index: usize) -> String {
    let cleaned = clean_chars(sheet);
    if cleaned.is_empty() {
        format!("page_{index}")
    } else {
        cleaned
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(cells: &[&str]) -> Vec<Option<String>> {
        cells.iter().map(|c| Some((*c).to_owned())).collect()
    }

    #[test]
    fn lower_cases() {
        assert_eq!(clean_name("CustomerID"), "customerid");
    }

    #[test]
    fn maps_other_characters_to_underscore() {
        assert_eq!(clean_name("Unit Price ($)"), "unit_price____");
        assert_eq!(clean_name("a.b-c/d"), "a_b_c_d");
        assert_eq!(clean_name("keep_me_9"), "keep_me_9");
    }

    #[test]
    fn non_ascii_letters_become_one_underscore_each() {
        assert_eq!(clean_name("Größe"), "gr__e");
        assert_eq!(clean_name("名前"), "__");
    }

    #[test]
    fn leading_digit_gets_underscore() {
        assert_eq!(clean_name("2024 Total"), "_2024_total");
        assert_eq!(clean_name("_9"), "_9");
    }

    #[test]
    fn trims_surrounding_whitespace() {
        assert_eq!(clean_name("  Price \t"), "price");
    }

    #[test]
    fn repeated_headers_get_duplicate_suffix() {
        assert_eq!(
            clean_headers(&h(&["name", "name", "x", "name"])),
            vec!["name", "name__duplicate_1__", "x", "name__duplicate_2__"]
        );
    }

    #[test]
    fn names_colliding_after_cleaning_are_duplicates() {
        assert_eq!(
            clean_headers(&h(&["Price", "price", "a b", "a-b"])),
            vec!["price", "price__duplicate_1__", "a_b", "a_b__duplicate_1__"]
        );
    }

    #[test]
    fn duplicate_suffix_skips_taken_names() {
        assert_eq!(
            clean_headers(&h(&["a__duplicate_1__", "a", "a"])),
            vec!["a__duplicate_1__", "a", "a__duplicate_2__"]
        );
    }

    #[test]
    fn blank_headers_are_numbered_among_blanks() {
        let headers =
            vec![Some("id".to_owned()), None, Some("  ".to_owned()), Some("name".to_owned()), Some(String::new())];
        assert_eq!(clean_headers(&headers), vec!["id", "_1", "_2", "name", "_3"]);
    }

    #[test]
    fn blank_number_colliding_with_a_header_is_a_duplicate() {
        let headers = vec![Some("_1".to_owned()), None];
        assert_eq!(clean_headers(&headers), vec!["_1", "_1__duplicate_1__"]);
    }

    #[test]
    fn table_name_from_file_keeps_extension() {
        assert_eq!(table_name_from_file("Carrier Weekly.csv"), "carrier_weekly_csv");
        assert_eq!(table_name_from_file("dir/sub\\2024 Q1.XLSX"), "_2024_q1_xlsx");
        assert_eq!(table_name_from_file(""), "input");
    }

    #[test]
    fn table_name_from_sheet_falls_back_to_position() {
        assert_eq!(table_name_from_sheet("Sheet 1", 0), "sheet_1");
        assert_eq!(table_name_from_sheet("   ", 3), "page_3");
        assert_eq!(table_name_from_sheet("2024 Sales", 1), "2024_sales", "a leading digit stays, as in Kizen");
    }
}

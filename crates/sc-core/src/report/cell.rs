//! Report cell values, and how each becomes an Excel cell within Excel's limits.
//!
//! Excel cannot hold everything a database can, so a few values are written
//! in a degraded but honest form instead of an error or a wrong number:
//!
//! | value | written as |
//! | --- | --- |
//! | text over [`MAX_TEXT_UNITS`] UTF-16 units | the start of the text and a marker `…[cut: N characters in all]` |
//! | an integer beyond ±[`MAX_EXACT_INT`] | its decimal text (Excel keeps 15 digits and would round it) |
//! | NaN, ±infinity | the text `NaN`, `Infinity`, `-Infinity` |
//! | a date or timestamp outside 1900-01-01 … 9999-12-31 | ISO 8601 text |
//! | a timestamp | an Excel date-time to the millisecond (finer digits are dropped) |

use std::borrow::Cow;

use chrono::{NaiveDate, NaiveDateTime};

/// The most UTF-16 code units Excel keeps in one cell.
pub const MAX_TEXT_UNITS: usize = 32_767;

/// The largest integer magnitude written as a number: Excel shows 15
/// significant digits, so anything longer would silently change.
pub const MAX_EXACT_INT: i64 = 999_999_999_999_999;

/// One value of a report row.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    /// An empty cell.
    Null,
    Text(String),
    Number(f64),
    /// An integer; written as a number while Excel can hold it exactly.
    Int(i64),
    Bool(bool),
    /// A real Excel date, shown as `yyyy-mm-dd`.
    Date(NaiveDate),
    /// A real Excel date-time, shown as `yyyy-mm-dd hh:mm:ss`.
    DateTime(NaiveDateTime),
}

/// A report value borrowed from wherever it already is: what a row is made
/// of on its way to a sheet, so text is not copied to be written.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum CellRef<'a> {
    /// An empty cell.
    Null,
    Text(&'a str),
    Number(f64),
    /// An integer; written as a number while Excel can hold it exactly.
    Int(i64),
    Bool(bool),
    /// A real Excel date, shown as `yyyy-mm-dd`.
    Date(NaiveDate),
    /// A real Excel date-time, shown as `yyyy-mm-dd hh:mm:ss`.
    DateTime(NaiveDateTime),
}

impl Cell {
    /// This value, borrowed.
    pub fn borrowed(&self) -> CellRef<'_> {
        match self {
            Cell::Null => CellRef::Null,
            Cell::Text(t) => CellRef::Text(t),
            Cell::Number(n) => CellRef::Number(*n),
            Cell::Int(i) => CellRef::Int(*i),
            Cell::Bool(b) => CellRef::Bool(*b),
            Cell::Date(d) => CellRef::Date(*d),
            Cell::DateTime(t) => CellRef::DateTime(*t),
        }
    }
}

impl From<&str> for Cell {
    fn from(value: &str) -> Self {
        Cell::Text(value.to_owned())
    }
}

impl From<String> for Cell {
    fn from(value: String) -> Self {
        Cell::Text(value)
    }
}

impl From<f64> for Cell {
    fn from(value: f64) -> Self {
        Cell::Number(value)
    }
}

impl From<i64> for Cell {
    fn from(value: i64) -> Self {
        Cell::Int(value)
    }
}

impl From<bool> for Cell {
    fn from(value: bool) -> Self {
        Cell::Bool(value)
    }
}

impl From<NaiveDate> for Cell {
    fn from(value: NaiveDate) -> Self {
        Cell::Date(value)
    }
}

impl From<NaiveDateTime> for Cell {
    fn from(value: NaiveDateTime) -> Self {
        Cell::DateTime(value)
    }
}

impl<T: Into<Cell>> From<Option<T>> for Cell {
    fn from(value: Option<T>) -> Self {
        value.map_or(Cell::Null, Into::into)
    }
}

/// Returns `text` unchanged when Excel can hold it, or else its longest
/// prefix (whole characters) followed by a marker giving the original length
/// in characters, the whole at most [`MAX_TEXT_UNITS`] UTF-16 units.
pub fn fit_text(text: &str) -> Cow<'_, str> {
    // A UTF-8 string never has more UTF-16 units than bytes: the fast path
    // skips counting for every ordinary cell.
    if text.len() <= MAX_TEXT_UNITS || text.encode_utf16().count() <= MAX_TEXT_UNITS {
        return Cow::Borrowed(text);
    }
    let marker = format!(" …[cut: {} characters in all]", text.chars().count());
    let keep = MAX_TEXT_UNITS - marker.encode_utf16().count();
    let mut used = 0;
    let mut end = 0;
    for (at, ch) in text.char_indices() {
        used += ch.len_utf16();
        if used > keep {
            break;
        }
        end = at + ch.len_utf8();
    }
    let mut out = String::with_capacity(end + marker.len());
    out.push_str(&text[..end]);
    out.push_str(&marker);
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::xlsx::{excel_date, excel_datetime};

    fn units(text: &str) -> usize {
        text.encode_utf16().count()
    }

    #[test]
    fn short_text_is_borrowed_unchanged() {
        assert!(matches!(fit_text("hello"), Cow::Borrowed("hello")));
        let exact = "x".repeat(MAX_TEXT_UNITS);
        assert!(matches!(fit_text(&exact), Cow::Borrowed(_)));
    }

    #[test]
    fn multibyte_text_within_the_unit_limit_is_kept() {
        // 20,000 'é' are 40,000 bytes but only 20,000 UTF-16 units.
        let text = "é".repeat(20_000);
        assert_eq!(fit_text(&text), text);
    }

    #[test]
    fn long_text_is_cut_with_a_marker() {
        let text = "a".repeat(MAX_TEXT_UNITS + 1);
        let cut = fit_text(&text);
        assert_eq!(units(&cut), MAX_TEXT_UNITS);
        assert!(cut.ends_with(" …[cut: 32768 characters in all]"), "{}", &cut[cut.len() - 40..]);
        assert!(cut.starts_with("aaaa"));
    }

    #[test]
    fn cutting_never_splits_a_surrogate_pair() {
        // '😀' takes two UTF-16 units; the cut must land between characters.
        let text = "😀".repeat(MAX_TEXT_UNITS);
        let cut = fit_text(&text);
        assert!(units(&cut) <= MAX_TEXT_UNITS);
        let kept = cut.split(" …[cut:").next().unwrap_or_default();
        assert!(kept.chars().all(|c| c == '😀'));
        assert!(cut.ends_with(&format!("[cut: {MAX_TEXT_UNITS} characters in all]")));
    }

    #[test]
    fn dates_outside_excel_have_no_excel_value() {
        let ok = NaiveDate::from_ymd_opt(2024, 2, 29).and_then(|d| d.and_hms_milli_opt(23, 59, 59, 999));
        assert!(ok.and_then(excel_datetime).is_some());
        for (y, m, d) in [(1899, 12, 30), (10_000, 1, 1), (-5, 1, 1)] {
            let date = NaiveDate::from_ymd_opt(y, m, d);
            assert!(date.is_some() && date.and_then(excel_date).is_none(), "{y}-{m}-{d}");
        }
        // chrono's leap second (nanoseconds ≥ 1e9) is not an Excel time.
        let leap = NaiveDate::from_ymd_opt(2016, 12, 31).and_then(|d| d.and_hms_milli_opt(23, 59, 59, 1_500));
        assert!(leap.is_some() && leap.and_then(excel_datetime).is_none());
    }

    #[test]
    fn option_converts_to_null() {
        assert_eq!(Cell::from(None::<i64>), Cell::Null);
        assert_eq!(Cell::from(Some("x")), Cell::Text("x".into()));
    }
}

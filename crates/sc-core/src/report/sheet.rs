//! What a finished report says of each of its worksheets.

/// One worksheet of a finished report, as listed on the Summary sheet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SheetInfo {
    /// The worksheet's name in the workbook.
    pub name: String,
    /// The full title the group was begun with.
    pub title: String,
    /// 1 for a group's first sheet, 2, 3, … for its continuations.
    pub part: u32,
    /// Data rows on this sheet, header row excluded.
    pub rows: u64,
}

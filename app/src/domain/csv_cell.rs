//! Cells of the CSV files Keyward writes. A spreadsheet runs a cell that starts with `=`, `+`,
//! `-` or `@` as a formula (and tab or carriage return can hide such a start), so a token
//! description like `=HYPERLINK("http://evil.example","x")` would become a live link or worse
//! in the reader's spreadsheet. OWASP's advice: prefix such a cell with a single quote, which
//! spreadsheets show as text.

use std::borrow::Cow;

const FORMULA_START: [char; 6] = ['=', '+', '-', '@', '\t', '\r'];

/// The cell as written to a CSV file: unchanged, or prefixed with `'` when a spreadsheet would
/// read it as a formula.
pub fn neutralise(cell: &str) -> Cow<'_, str> {
    if cell.starts_with(FORMULA_START) {
        Cow::Owned(format!("'{cell}"))
    } else {
        Cow::Borrowed(cell)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formula_starts_get_a_quote() {
        for cell in [
            "=HYPERLINK(\"http://evil.example\",\"x\")",
            "+1+cmd|' /C calc'!A0",
            "-2+3",
            "@SUM(A1:A2)",
            "\t=1",
            "\r=1",
        ] {
            assert_eq!(neutralise(cell), format!("'{cell}"));
        }
    }

    #[test]
    fn ordinary_cells_stay_as_they_are() {
        for cell in [
            "",
            "deploy bot",
            "10.0.0.0/8",
            "2026-01-01T00:00:00Z",
            "a=b",
            "'quoted",
        ] {
            assert_eq!(neutralise(cell), cell);
        }
    }
}

//! Columns of text, aligned, painted after padding.

use crate::style::{Ink, Style};

/// Which side of its column a cell keeps to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Align {
    Left,
    Right,
}

/// One cell: its text and, optionally, its colour.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cell {
    text: String,
    ink: Option<Ink>,
}

impl Cell {
    pub fn new(text: impl Into<String>) -> Self {
        Self { text: text.into(), ink: None }
    }

    pub fn ink(text: impl Into<String>, ink: Ink) -> Self {
        Self { text: text.into(), ink: Some(ink) }
    }
}

impl From<String> for Cell {
    fn from(text: String) -> Self {
        Self::new(text)
    }
}

impl From<&str> for Cell {
    fn from(text: &str) -> Self {
        Self::new(text)
    }
}

/// A table with a header row; columns as wide as their widest cell, two
/// spaces apart, no trailing spaces.
#[derive(Debug)]
pub struct Table {
    columns: Vec<(String, Align)>,
    rows: Vec<Vec<Cell>>,
}

impl Table {
    pub fn new(columns: &[(&str, Align)]) -> Self {
        Self { columns: columns.iter().map(|(name, align)| ((*name).to_owned(), *align)).collect(), rows: Vec::new() }
    }

    /// Adds a row; missing cells are blank, extra ones dropped.
    pub fn row(&mut self, cells: Vec<Cell>) {
        self.rows.push(cells);
    }

    /// The lines: the header, then every row.
    pub fn lines(&self, style: Style) -> Vec<String> {
        let blank = Cell::new("");
        let header: Vec<Cell> = self.columns.iter().map(|(name, _)| Cell::ink(name.as_str(), Ink::Strong)).collect();
        let rows: Vec<&[Cell]> =
            std::iter::once(header.as_slice()).chain(self.rows.iter().map(Vec::as_slice)).collect();
        let widths: Vec<usize> = (0..self.columns.len())
            .map(|c| rows.iter().map(|r| r.get(c).map_or(0, |cell| cell.text.chars().count())).max().unwrap_or(0))
            .collect();
        rows.iter()
            .map(|row| {
                let mut line = String::new();
                for (c, (&(_, align), width)) in self.columns.iter().zip(&widths).enumerate() {
                    let cell = row.get(c).unwrap_or(&blank);
                    let last = c + 1 == self.columns.len();
                    let padded = match align {
                        Align::Left if last => cell.text.clone(),
                        Align::Left => format!("{:<width$}", cell.text),
                        Align::Right => format!("{:>width$}", cell.text),
                    };
                    if c > 0 {
                        line.push_str("  ");
                    }
                    line.push_str(&match cell.ink {
                        Some(ink) => style.paint(ink, padded),
                        None => padded,
                    });
                }
                line.trim_end().to_owned()
            })
            .collect()
    }
}

/// `label  value` lines, the values lined up.
pub fn fields(rows: Vec<(&str, String)>) -> Vec<String> {
    let width = rows.iter().map(|(label, _)| label.chars().count()).max().unwrap_or(0);
    rows.into_iter().map(|(label, value)| format!("{label:<width$}  {value}").trim_end().to_owned()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Columns line up on the widest cell, numbers to the right.
    #[test]
    fn columns_line_up() {
        let mut table = Table::new(&[("venue", Align::Left), ("out", Align::Right), ("note", Align::Left)]);
        table.row(vec!["meteora".into(), "231.4".into(), "best".into()]);
        table.row(vec!["raydium".into(), "9.1".into()]);
        assert_eq!(table.lines(Style::plain()), ["venue      out  note", "meteora  231.4  best", "raydium    9.1"]);
    }
}

//! Tables as Markdown and HTML, for the report's pages and the README.

use serde::{Deserialize, Serialize};

/// A table with a header row; cells are plain text.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Table {
    /// Column headers.
    pub headers: Vec<String>,
    /// Rows (each as long as `headers`; shorter rows are padded when written).
    pub rows: Vec<Vec<String>>,
}

fn md_cell(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

/// Escapes text for HTML.
pub fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

impl Table {
    /// A table with these headers and no rows.
    pub fn new<S: Into<String>>(headers: impl IntoIterator<Item = S>) -> Self {
        Table {
            headers: headers.into_iter().map(Into::into).collect(),
            rows: Vec::new(),
        }
    }

    /// Appends a row.
    pub fn row<S: Into<String>>(&mut self, cells: impl IntoIterator<Item = S>) {
        self.rows.push(cells.into_iter().map(Into::into).collect());
    }

    fn cells<'a>(&self, row: &'a [String]) -> impl Iterator<Item = &'a str> {
        (0..self.headers.len()).map(move |i| row.get(i).map_or("", String::as_str))
    }

    /// GitHub-flavoured Markdown.
    pub fn to_markdown(&self) -> String {
        let mut out = String::new();
        let line = |cells: Vec<String>| format!("| {} |\n", cells.join(" | "));
        out += &line(self.headers.iter().map(|h| md_cell(h)).collect());
        out += &line(self.headers.iter().map(|_| "---".to_string()).collect());
        for r in &self.rows {
            out += &line(self.cells(r).map(md_cell).collect());
        }
        out
    }

    /// An HTML `<table>`.
    pub fn to_html(&self) -> String {
        let mut out = String::from("<table>\n<thead><tr>");
        for h in &self.headers {
            out += &format!("<th>{}</th>", html_escape(h));
        }
        out += "</tr></thead>\n<tbody>\n";
        for r in &self.rows {
            out += "<tr>";
            for c in self.cells(r) {
                out += &format!("<td>{}</td>", html_escape(c));
            }
            out += "</tr>\n";
        }
        out + "</tbody>\n</table>\n"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markdown_and_html_escape_and_pad() {
        let mut t = Table::new(["a", "b|c"]);
        t.row(["1 < 2"]);
        assert_eq!(
            t.to_markdown(),
            "| a | b\\|c |\n| --- | --- |\n| 1 < 2 |  |\n"
        );
        assert!(t.to_html().contains("<td>1 &lt; 2</td><td></td>"));
    }
}

//! Writes the report: each section's figure (SVG and PNG), and `index.md` and
//! `index.html` placing figures and tables beside the paper's numbers.

use super::sections::Section;
use crate::table::html_escape;
use crate::{ReportError, render};
use std::path::{Path, PathBuf};

fn write(path: PathBuf, text: &str) -> Result<PathBuf, ReportError> {
    std::fs::write(&path, text).map_err(|source| ReportError::Io {
        path: path.clone(),
        source,
    })?;
    Ok(path)
}

/// Writes every section's figures and the two index pages into `dir` (created if
/// missing); returns the files written. `header` lines open both pages.
pub fn write_report(
    dir: &Path,
    sections: &[Section],
    header: &[String],
) -> Result<Vec<PathBuf>, ReportError> {
    std::fs::create_dir_all(dir).map_err(|source| ReportError::Io {
        path: dir.to_path_buf(),
        source,
    })?;
    let mut files = Vec::new();
    let mut md = String::from("# minlab: the paper's evaluation (§7), regenerated\n\n");
    let mut html = String::from(
        "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>minlab: the paper's evaluation, regenerated</title>\n\
         <style>body{font-family:sans-serif;max-width:1150px;margin:2em auto;line-height:1.45}\
         table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #bbb;padding:3px 7px;text-align:right}\
         th{background:#eee}img{max-width:100%}</style></head><body>\n\
         <h1>minlab: the paper's evaluation (§7), regenerated</h1>\n",
    );
    for h in header {
        md += &format!("{h}\n\n");
        html += &format!("<p>{}</p>\n", html_escape(h));
    }
    md += "Contents: ";
    md += &sections
        .iter()
        .map(|s| format!("[{}](#{})", s.title, s.id))
        .collect::<Vec<_>>()
        .join(" · ");
    md += "\n\n";
    for s in sections {
        md += &format!("<a id=\"{}\"></a>\n## {}\n\n", s.id, s.title);
        html += &format!("<h2 id=\"{}\">{}</h2>\n", s.id, html_escape(&s.title));
        if let Some(chart) = &s.chart {
            for ext in ["svg", "png"] {
                let path = dir.join(format!("{}.{ext}", s.id));
                render(chart, &path)?;
                files.push(path);
            }
            md += &format!("![{}]({}.png) ([SVG]({}.svg))\n\n", s.title, s.id, s.id);
            html += &format!(
                "<p><img src=\"{}.svg\" alt=\"{}\"></p>\n",
                s.id,
                html_escape(&s.title)
            );
        }
        for (caption, table) in &s.tables {
            md += &format!("{caption}:\n\n{}\n", table.to_markdown());
            html += &format!(
                "<p><em>{}</em></p>\n{}",
                html_escape(caption),
                table.to_html()
            );
        }
        for p in &s.text {
            md += &format!("{p}\n\n");
            html += &format!("<p>{}</p>\n", html_escape(p));
        }
    }
    html += "</body></html>\n";
    files.push(write(dir.join("index.md"), &md)?);
    files.push(write(dir.join("index.html"), &html)?);
    Ok(files)
}

//! Finds a TrueType font on this machine and registers it with plotters, so charts need no
//! system font library (fontconfig, freetype) and the project ships no font file.

use crate::ReportError;
use plotters::style::FontStyle;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// Where Debian's fonts-dejavu-core (and a few other systems) put DejaVu Sans.
const CANDIDATES: [&str; 4] = [
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/TTF/DejaVuSans.ttf",
    "/usr/share/fonts/dejavu/DejaVuSans.ttf",
    "/usr/local/share/fonts/DejaVuSans.ttf",
];

/// The font family every chart uses.
pub const FAMILY: &str = "sans-serif";

static REGISTERED: OnceLock<Result<PathBuf, String>> = OnceLock::new();

fn candidates() -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::env::var_os("MINLAB_FONT")
        .map(PathBuf::from)
        .into_iter()
        .collect();
    v.extend(CANDIDATES.iter().map(PathBuf::from));
    v
}

fn load(path: &Path) -> Result<(), ReportError> {
    let bytes = std::fs::read(path).map_err(|_| ReportError::BadFont {
        path: path.to_path_buf(),
    })?;
    // plotters keeps fonts for the life of the program; this runs at most once.
    let bytes: &'static [u8] = Box::leak(bytes.into_boxed_slice());
    plotters::style::register_font(FAMILY, FontStyle::Normal, bytes).map_err(|_| {
        ReportError::BadFont {
            path: path.to_path_buf(),
        }
    })
}

/// Registers the first font found (`$MINLAB_FONT`, then standard DejaVu locations) under
/// [`FAMILY`]; later calls return the first call's result.
pub fn ensure_font() -> Result<PathBuf, ReportError> {
    let r = REGISTERED.get_or_init(|| {
        let tried = candidates();
        match tried.iter().find(|p| p.is_file()) {
            Some(p) => load(p).map(|()| p.clone()).map_err(|e| e.to_string()),
            None => Err(ReportError::NoFont {
                tried: tried
                    .iter()
                    .map(|p| p.display().to_string())
                    .collect::<Vec<_>>()
                    .join(", "),
            }
            .to_string()),
        }
    });
    r.clone().map_err(|message| ReportError::Draw {
        path: PathBuf::from("(font)"),
        message,
    })
}

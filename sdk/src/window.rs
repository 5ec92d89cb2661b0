//! The host's rolling windows, named once for every module that reads them.

use serde::Deserialize;

/// One of the host's rolling windows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
pub enum Window {
    #[serde(rename = "1m")]
    M1,
    #[serde(rename = "5m")]
    M5,
    #[serde(rename = "1h")]
    H1,
}

impl Window {
    /// Index into per-window arrays: 0 for 1m, 1 for 5m, 2 for 1h.
    pub const fn index(self) -> usize {
        self as usize
    }

    pub const ALL: [Window; 3] = [Window::M1, Window::M5, Window::H1];

    /// `1m`, `5m` or `1h`.
    pub fn as_str(self) -> &'static str {
        match self {
            Window::M1 => "1m",
            Window::M5 => "5m",
            Window::H1 => "1h",
        }
    }
}

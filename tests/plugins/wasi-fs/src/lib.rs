//! Broken on purpose: built for `wasm32-wasip2`, and reads a file in
//! `evaluate`, so its component imports `wasi:filesystem/...` (and the rest
//! of WASI that std pulls in). The host links no WASI, so loading it must
//! fail with a message naming the missing import.

use klaxon_sdk::{Columns, Event, Filter, Market, Pass, Verdict, export_filter};
use serde::Deserialize;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Params {
    /// The file to read. Default `/etc/hostname`.
    #[serde(default = "default_path")]
    pub path: String,
}

fn default_path() -> String {
    "/etc/hostname".into()
}

pub struct WasiFs {
    path: String,
}

impl Filter for WasiFs {
    type Params = Params;

    fn new(p: Params) -> Result<Self, String> {
        Ok(WasiFs { path: p.path })
    }

    fn columns(&self) -> Columns {
        Columns::SYMBOL
    }

    fn evaluate(&mut self, event: &Event, _: &Market) -> Verdict {
        match std::fs::read_to_string(&self.path) {
            Ok(text) => {
                Pass::new(event.symbol().name(), format!("read {} bytes", text.len())).into()
            }
            Err(e) => Verdict::reject_with(format!("cannot read {}: {e}", self.path)),
        }
    }
}

export_filter!(WasiFs);

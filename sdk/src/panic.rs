//! The panic hook: a guest panic hands its message and location to the
//! host (`host.report-panic`) right before the instance traps, so the
//! host's error and log name it instead of showing a bare wasm backtrace.
//!
//! Installed once per instance, at the first `create` of any rule, policy
//! or formatter. It chains to the previous hook (natively: the default one,
//! which prints the panic for `cargo test`).

use std::panic::PanicHookInfo;
use std::sync::Once;

pub(crate) fn install_hook() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            crate::host::raw::report_panic(&describe(info));
            previous(info);
        }));
    });
}

/// `message (at file:line:column)`.
pub(crate) fn describe(info: &PanicHookInfo<'_>) -> String {
    let payload = info.payload();
    let message = if let Some(text) = payload.downcast_ref::<&str>() {
        text
    } else if let Some(text) = payload.downcast_ref::<String>() {
        text.as_str()
    } else {
        "panic with a non-string payload"
    };
    match info.location() {
        Some(at) => format!("{message} (at {}:{}:{})", at.file(), at.line(), at.column()),
        None => message.to_owned(),
    }
}

//! One socket frame of the live EVM source, once subscribed: a log of our
//! subscription, a new block header, or something else. Reads the top-level
//! keys and `params` without a tree; the log itself is left as text for
//! [`super::parse::decode_log`].

use serde::Deserialize;
use serde_json::value::RawValue;

use super::parse::{ParamsMsg, quantity};
use crate::sources::shape::{self, Shape, is_object, is_str};

/// What one socket frame is, once the subscription is up.
#[derive(Debug, PartialEq)]
pub(crate) enum Notice<'a> {
    /// The text of the log object of a notification for our subscription.
    Log(&'a str),
    /// A new block header: its number and, when present, its timestamp
    /// (unix seconds).
    Head {
        number: u64,
        timestamp: Option<u64>,
    },
    /// Replies to other requests, node notices, a stale subscription's tail.
    Other,
    Malformed(String),
}

/// A header's fields we read.
#[derive(Default, Deserialize)]
struct HeadMsg<'a> {
    #[serde(borrow)]
    number: Option<&'a RawValue>,
    #[serde(borrow)]
    timestamp: Option<&'a RawValue>,
}

/// Classify one frame; pure, so it is property-tested. Reads the top-level
/// keys and `params` without a tree; the log itself is left as text.
pub(crate) fn notification<'a>(
    text: &'a str,
    subscription: &str,
    heads: Option<&str>,
) -> Notice<'a> {
    let shape = match Shape::of(text) {
        Ok(Some(shape)) => shape,
        Ok(None) => return Notice::Malformed("not a JSON object".into()),
        Err(e) => return Notice::Malformed(e.to_string()),
    };
    if !is_str(shape.method, "eth_subscription") {
        return Notice::Other;
    }
    let params: ParamsMsg = read_object(shape.params).unwrap_or_default();
    let from = params.subscription.and_then(shape::string);
    if heads.is_some() && from.as_deref() == heads {
        let head: HeadMsg = read_object(params.result).unwrap_or_default();
        let field = |raw: Option<&RawValue>| raw.and_then(shape::string).and_then(|s| quantity(&s));
        return match field(head.number) {
            Some(number) => Notice::Head { number, timestamp: field(head.timestamp) },
            None => Notice::Malformed("header without a hex `number`".into()),
        };
    }
    if from.as_deref() != Some(subscription) {
        return Notice::Other;
    }
    match params.result {
        Some(log) if is_object(log.get()) => Notice::Log(log.get()),
        _ => Notice::Malformed("`params.result` is not a log".into()),
    }
}

/// A raw JSON object read into `T`; `None` for anything else.
fn read_object<'a, T: Deserialize<'a>>(raw: Option<&'a RawValue>) -> Option<T> {
    raw.filter(|r| is_object(r.get())).and_then(|r| serde_json::from_str(r.get()).ok())
}

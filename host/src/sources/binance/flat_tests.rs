//! The fast readers (the scanner, serde's one pass) agree with the general
//! path: on real frames, on frames with one value
//! replaced, and on frames with bytes inserted, deleted or replaced.

use proptest::prelude::*;
use serde_json::Value;

use super::*;
use crate::sources::binance::combined;

const SAMPLES: &[&str] = &[
    r#"{"stream":"btcusdt@trade","data":{"e":"trade","E":1700000000001,"s":"BTCUSDT","t":3000000000,"p":"37012.45000000","q":"0.00012345","T":1700000000000,"m":true,"M":true}}"#,
    r#"{"stream":"btcusdt@trade","data":{"e":"trade","E":1596240000596,"T":1596240000519,"s":"BTCUSDT","t":173525189,"p":"11343.67","q":"0.467","X":"MARKET","m":true}}"#,
    r#"{"stream":"nknusdt@aggTrade","data":{"e":"aggTrade","E":1633998523963,"s":"NKNUSDT","a":15683430,"p":"0.35280000","q":"58.00000000","f":19862790,"l":19862790,"T":1633998523963,"m":false,"M":true}}"#,
    r#"{"stream":"nknusdt@bookTicker","data":{"u":499869768,"s":"NKNUSDT","b":"0.35210000","B":"672.00000000","a":"0.35260000","A":"3199.00000000"}}"#,
    r#"{"stream":"btcusdt@bookTicker","data":{"e":"bookTicker","u":1,"s":"BTCUSDT","b":"1","B":"1","a":"2","A":"1","T":5,"E":6}}"#,
    r#"{"stream":"btcusdt@forceOrder","data":{"e":"forceOrder","E":1,"o":{"s":"BTCUSDT","S":"BUY","o":"LIMIT","f":"IOC","q":"0.014","p":"4793.91","ap":"4706.04","X":"FILLED","l":"0.015","z":"0.014","T":1}}}"#,
];

/// What the general path alone makes of a frame, as comparable text.
fn general(frame: &str) -> String {
    format!("{:?}", Message::read_general(frame))
}

/// Whatever a fast reader accepts, the general path reads the same way.
fn check(frame: &str) {
    for (name, fast) in [("flat", read(frame)), ("serde one-pass", combined::read(frame))] {
        if let Some(fast) = fast {
            assert_eq!(format!("{:?}", Ok::<_, ()>(fast)), general(frame), "{name}: {frame}");
        }
    }
}

#[test]
fn the_hot_frames_are_scanned_and_agree() {
    for frame in SAMPLES {
        let nested = frame.contains("forceOrder");
        assert_eq!(read(frame).is_some(), !nested, "{frame}");
        assert!(combined::read(frame).is_some(), "{frame}");
        check(frame);
    }
}

#[test]
fn anything_else_is_left_to_serde() {
    let trade = r#""e":"trade","s":"X","t":1,"p":"1","q":"1","m":true"#;
    let left = [
        format!(r#"{{"data":{{{trade}}},"stream":"x@trade"}}"#),
        format!(r#"{{"stream":"x@trade","data":{{{trade}}},"data":1}}"#),
        format!(r#"{{"stream":"x@trade", "data":{{{trade}}}}}"#),
        format!(r#"{{"stream":"x@trade","data":{{{trade}}}}} "#),
        format!(r#"{{"stream":"x@tr\u0061de","data":{{{trade}}}}}"#),
        format!(r#"{{"stream":"x@trade","data":{{{trade},"s":"Y"}}}}"#),
        format!(r#"{{"stream":"x@trade","data":{{{trade},"T":1.5}}}}"#),
        format!(r#"{{"stream":"x@trade","data":{{{trade},"T":-1}}}}"#),
        format!(r#"{{"stream":"x@trade","data":{{{trade},"T":01}}}}"#),
        format!(r#"{{"stream":"x@trade","data":{{{trade},"T":18446744073709551616}}}}"#),
        format!(r#"{{"stream":"x@trade","data":{{{trade},"M":{{}}}}}}"#),
        format!(r#"{{"stream":"x@trade","data":{{{trade},"M":"a\"b"}}}}"#),
        r#"{"stream":"x@trade","data":{"e":"aggTrade","s":"X","a":1,"p":"1","q":"1","m":true}}"#
            .to_owned(),
        r#"{"stream":"x@trade","data":{"e":"trade","s":"X","t":"1","p":"1","q":"1","m":true}}"#
            .to_owned(),
        r#"{"stream":"x@trade","data":["trade","X",1,"1","1",null,null,true,null]}"#.to_owned(),
        r#"{"stream":"x@forceOrder","data":{"e":"forceOrder","o":{}}}"#.to_owned(),
        r#"{"stream":"x@depth","data":{"e":"depthUpdate","s":"X","U":1,"u":2,"b":[],"a":[]}}"#
            .to_owned(),
    ];
    for frame in &left {
        assert!(read(frame).is_none(), "{frame}");
        check(frame);
    }
    // Not the common shape for serde's one pass either.
    for i in [0, 1, 4, 12, 14, 16] {
        let frame = &left[i];
        assert!(combined::read(frame).is_none(), "{frame}");
    }
    // Nulls are absent optionals, as serde reads them.
    let nulls = r#"{"stream":"x@trade","data":{"e":"trade","s":"X","t":0,"p":"1","q":"1","m":false,"T":null,"X":null}}"#;
    assert!(read(nulls).is_some());
    check(nulls);
}

/// Every recorded Binance frame reads the same through [`Message::read`]
/// (fast readers first) as through the general path alone.
#[test]
fn recorded_frames_read_the_same_on_every_path() {
    let files =
        ["binance/spot_2021-10-11.combined.ndjson", "binance/tardis_usdm_misc_messages.ndjson"];
    for rel in files {
        let Some(path) = crate::sources::tests::fixture(rel) else { continue };
        let text = std::fs::read_to_string(path).expect("fixture readable");
        let mut fast = 0;
        for frame in text.lines().filter(|l| !l.trim().is_empty()) {
            fast += usize::from(read(frame).is_some());
            let all = format!("{:?}", Message::read(frame));
            assert_eq!(all, general(frame), "{rel}: {frame}");
            check(frame);
        }
        assert!(fast > 0, "{rel}: no frame took the scanner");
    }
}

fn leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<u64>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        (0.0..1e6f64).prop_map(Value::from),
        "[ -~]{0,12}".prop_map(Value::String),
        "\\PC{0,4}".prop_map(Value::String),
        prop::sample::select(vec!["trade", "aggTrade", "bookTicker", "MARKET", "1.5", "x@trade"])
            .prop_map(|s| Value::String(s.to_owned())),
    ]
}

/// A sample with one payload value replaced, or a key renamed, or dropped.
fn mutated() -> impl Strategy<Value = String> {
    let value = leaf()
        .prop_recursive(2, 8, 4, |inner| prop::collection::vec(inner, 0..3).prop_map(Value::Array));
    let key = prop::sample::select(vec!["e", "s", "t", "a", "b", "u", "m", "X", "T", "E", "M"]);
    (prop::sample::select(SAMPLES), any::<prop::sample::Index>(), value, key, 0..3u8).prop_map(
        |(sample, at, replacement, key, how)| {
            let mut frame: Value = serde_json::from_str(sample).unwrap();
            let data = frame["data"].as_object_mut().unwrap();
            let old = data.keys().nth(at.index(data.len())).unwrap().clone();
            match how {
                0 => drop(data.insert(old, replacement)),
                1 => drop(data.insert(key.to_owned(), replacement)),
                _ => drop(data.remove(&old)),
            }
            frame.to_string()
        },
    )
}

/// A sample with a byte inserted, deleted or replaced.
fn spliced() -> impl Strategy<Value = String> {
    let byte = prop::sample::select(b"\"\\{}[],:.-0129eEtfnul \x01x".to_vec());
    (prop::sample::select(SAMPLES), any::<prop::sample::Index>(), byte, 0..3u8).prop_map(
        |(sample, at, byte, how)| {
            let mut bytes = sample.as_bytes().to_vec();
            let i = at.index(bytes.len());
            match how {
                0 => bytes.insert(i, byte),
                1 => drop(bytes.remove(i)),
                _ => bytes[i] = byte,
            }
            String::from_utf8_lossy(&bytes).into_owned()
        },
    )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2048, ..ProptestConfig::default() })]

    #[test]
    fn mutated_values_read_as_serde_reads_them(frame in mutated()) {
        check(&frame);
    }

    #[test]
    fn spliced_bytes_read_as_serde_reads_them(frame in spliced()) {
        check(&frame);
    }

    #[test]
    fn arbitrary_payloads_read_as_serde_reads_them(text in "[ -~]{0,64}") {
        check(&text);
        check(&format!(r#"{{"stream":"x@trade","data":{text}}}"#));
        check(&format!(r#"{{"stream":"x@bookTicker","data":{{"s":"X","b":"1","a":{text}}}}}"#));
    }
}

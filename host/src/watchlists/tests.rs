//! Parsing (text, CSV, JSON, inline), bounds, errors that name file and
//! line, lookups by name and by id, and live refresh: a bad edit keeps the
//! previous version, a good one swaps in whole.

use std::path::{Path, PathBuf};

use super::*;
use crate::event::Sym;

fn file(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

fn from_file(path: &Path) -> WatchlistConfig {
    WatchlistConfig { entries: None, file: Some(path.to_owned()), format: None }
}

fn load(config: &WatchlistConfig) -> Result<Watchlist, WatchlistError> {
    parse::load("whales", config, ListLimits::default())
}

fn configs(list: WatchlistConfig) -> WatchlistConfigs {
    [("whales".to_owned(), list)].into()
}

#[test]
fn text_files_take_an_entry_and_an_optional_value_per_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = file(
        dir.path(),
        "whales.txt",
        "# funds we follow\n0xAbC   Fund A\n\n0xdef\nBTCUSDT majors tier 1\n",
    );
    let list = load(&from_file(&path)).unwrap();
    assert_eq!(list.len(), 3);
    assert!(list.contains("0xabc") && list.contains("0xABC"), "0x entries in lowercase");
    assert_eq!(list.value("0xabc"), Some("Fund A"));
    assert_eq!(list.value("0xdef"), None);
    assert!(list.contains("0xdef"));
    assert_eq!(list.value("BTCUSDT"), Some("majors tier 1"));
    assert!(!list.contains("btcusdt"), "other entries match exactly");
    assert!(list.contains_id(Sym::new("0xabc").id()));
    assert_eq!(list.value_id(Sym::new("BTCUSDT").id()), Some("majors tier 1"));
    assert!(!list.contains_id(Sym::new("0xnot").id()));
    assert!(!list.contains_id(0));
}

#[test]
fn csv_files_have_an_optional_header_and_quoted_values() {
    let dir = tempfile::tempdir().unwrap();
    let path = file(
        dir.path(),
        "whales.csv",
        "entry,value\n0xaaa,\"Fund \"\"A\"\", London\"\n0xbbb,\n0xccc,plain, with comma\n",
    );
    let list = load(&from_file(&path)).unwrap();
    assert_eq!(list.len(), 3);
    assert_eq!(list.value("0xaaa"), Some("Fund \"A\", London"));
    assert_eq!(list.value("0xbbb"), None);
    assert_eq!(list.value("0xccc"), Some("plain, with comma"));
    assert!(!list.contains("entry"), "the header is not an entry");
}

#[test]
fn json_files_are_an_array_or_an_object_of_values() {
    let dir = tempfile::tempdir().unwrap();
    let array = file(dir.path(), "a.json", r#"["SOL", "ETH"]"#);
    assert!(load(&from_file(&array)).unwrap().contains("SOL"));
    let object = file(dir.path(), "o.json", r#"{"0xaaa": "fund A", "0xbbb": null}"#);
    let list = load(&from_file(&object)).unwrap();
    assert_eq!((list.value("0xaaa"), list.contains("0xbbb")), (Some("fund A"), true));

    let bad = file(dir.path(), "bad.json", "[\n\"a\",\n 3\n]");
    let err = load(&from_file(&bad)).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!("watchlist `whales`: {}: [1]: entries must be strings", bad.display())
    );
    let broken = file(dir.path(), "broken.json", "[\n\"a\",\n");
    let err = load(&from_file(&broken)).unwrap_err();
    assert!(err.at.ends_with("broken.json:3"), "{err}");
    assert!(err.message.starts_with("not JSON: "), "{err}");
}

#[test]
fn inline_entries_are_a_list_or_a_table_of_values() {
    let list = WatchlistConfig {
        entries: Some(Entries::List(vec!["A".into()])),
        file: None,
        format: None,
    };
    assert!(load(&list).unwrap().contains("A"));
    let table = Entries::Values([("0xF00".to_owned(), "fund".to_owned())].into());
    let list = load(&WatchlistConfig { entries: Some(table), file: None, format: None }).unwrap();
    assert_eq!(list.value("0xf00"), Some("fund"));
    let empty = WatchlistConfig {
        entries: Some(Entries::List(vec![" ".into()])),
        file: None,
        format: None,
    };
    assert_eq!(
        load(&empty).unwrap_err().to_string(),
        "watchlist `whales`: watchlists.whales.entries[0]: empty entry"
    );
}

#[test]
fn every_bound_is_refused_naming_file_line_and_limit() {
    let dir = tempfile::tempdir().unwrap();
    let limits = ListLimits { entries: 2, entry_bytes: 10, total_bytes: 64 };
    let at = |path: &Path, line: usize| format!("{}:{line}", path.display());

    let long = file(dir.path(), "long.txt", "ok\n0x12345678901\n");
    let err = parse::load("whales", &from_file(&long), limits).unwrap_err();
    assert_eq!(err.at, at(&long, 2));
    assert_eq!(
        err.message,
        "entry is 13 bytes with its value, over `watchlist_entry_bytes` (10) in [limits]"
    );

    let many = file(dir.path(), "many.txt", "a\nb\n# c\nd\n");
    let err = parse::load("whales", &from_file(&many), limits).unwrap_err();
    assert_eq!(
        (err.at, err.message),
        (at(&many, 4), "more than `watchlist_entries` (2) entries in [limits]".into())
    );

    let big = file(dir.path(), "big.txt", &"x\n".repeat(40));
    let err = parse::load("whales", &from_file(&big), limits).unwrap_err();
    assert_eq!(err.message, "file is over `watchlist_bytes` (64) in [limits]");

    let twice = file(dir.path(), "twice.txt", "0xAA\n0xaa other\n");
    let err = parse::load("whales", &from_file(&twice), limits).unwrap_err();
    assert_eq!(err.at, at(&twice, 2));
    assert_eq!(err.message, format!("duplicate entry `0xaa` (first at {})", at(&twice, 1)));

    let missing = dir.path().join("missing.txt");
    let err = parse::load("whales", &from_file(&missing), limits).unwrap_err();
    assert!(err.message.starts_with("cannot read: "), "{err}");
}

#[test]
fn lists_together_are_held_to_watchlist_bytes() {
    let list = |e: &str| WatchlistConfig {
        entries: Some(Entries::List(vec![e.into()])),
        file: None,
        format: None,
    };
    let configs: WatchlistConfigs =
        [("a".to_owned(), list("aaaaaa")), ("b".to_owned(), list("bbbbbbbb"))].into();
    let limits = ListLimits { entries: 10, entry_bytes: 10, total_bytes: 10 };
    let errors = Watchlists::load(&configs, limits).unwrap_err();
    assert_eq!(errors.len(), 1);
    assert_eq!(
        errors[0].to_string(),
        "watchlist `b`: all watchlists: together 14 bytes, over `watchlist_bytes` (10) in [limits]"
    );
}

#[test]
fn a_bad_edit_keeps_the_previous_version_and_a_good_one_swaps_in() {
    let dir = tempfile::tempdir().unwrap();
    let path = file(dir.path(), "whales.txt", "0xaaa\n");
    let lists = Watchlists::load(&configs(from_file(&path)), ListLimits::default()).unwrap();
    let first = lists.snapshot();
    assert!(first.get("whales").unwrap().contains("0xaaa"));

    file(dir.path(), "whales.txt", "0xbbb\n0xbbb\n");
    let errors = lists.refresh_files();
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].at, format!("{}:2", path.display()));
    let kept = lists.snapshot();
    assert_eq!(kept.version, first.version, "nothing published");
    assert!(kept.get("whales").unwrap().contains("0xaaa"));

    file(dir.path(), "whales.txt", "0xbbb\n");
    assert!(lists.refresh_files().is_empty());
    let next = lists.snapshot();
    assert_eq!(next.version, first.version + 1);
    assert!(next.get("whales").unwrap().contains("0xbbb"));
    assert!(!next.get("whales").unwrap().contains("0xaaa"));
    // The snapshot a call took keeps its version.
    assert!(first.get("whales").unwrap().contains("0xaaa"));

    assert!(lists.refresh_files().is_empty());
    assert_eq!(lists.snapshot().version, next.version, "an unchanged file publishes nothing");
}

#[test]
fn config_checks_name_the_key() {
    let both = WatchlistConfig {
        entries: Some(Entries::List(vec![])),
        file: Some("x.txt".into()),
        format: None,
    };
    assert_eq!(
        both.validate("watchlists.w")[0].to_string(),
        "watchlists.w: set either `entries` or `file`, not both"
    );
    let none = WatchlistConfig { entries: None, file: None, format: Some(FileFormat::Csv) };
    let issues: Vec<String> =
        none.validate("watchlists.w").iter().map(ToString::to_string).collect();
    assert_eq!(
        issues,
        [
            "watchlists.w: needs `entries` or `file`",
            "watchlists.w.format: only applies to a `file`"
        ]
    );
    assert!(config::check_name("whales_2-x", "w").is_none());
    assert!(config::check_name("has space", "w").is_some());
    let forced = WatchlistConfig {
        entries: None,
        file: Some("w.list".into()),
        format: Some(FileFormat::Json),
    };
    assert_eq!(forced.file_format(), FileFormat::Json);
    assert_eq!(from_file(Path::new("w.CSV")).file_format(), FileFormat::Csv);
}

#[test]
fn templates_may_declare_only_configured_lists() {
    let text = r#"
[limits]
watchlist_entries = 0
[watchlists.whales]
entries = { "0xaaa" = "fund A" }
[watchlists."bad name"]
file = "x.txt"
[templates.t]
filter = { plugin = "whale-fill", params = { watchlist = "whales" } }
watchlists = ["whales", "nope"]
"#;
    let err = crate::config::load_str(text, "test.toml").unwrap_err().to_string();
    for issue in [
        "templates.t.watchlists.1: no watchlist named `nope` in [watchlists]",
        "limits.watchlist_entries: must be greater than 0",
        "watchlists.bad name: a watchlist name is 1-64 letters, digits, `-` or `_`",
    ] {
        assert!(err.contains(issue), "{issue} not in {err}");
    }
    assert!(!err.contains("watchlists.0"), "the declared list is fine: {err}");
}

//! Golden parses of the real captured frames in `shared/fixtures`.

use super::{dec, fixture};
use crate::event::{Direction, Event, EventKind, Side, Sym};
use crate::sources::evm::{EvmParser, PoolConfig, PoolRegistry};
use crate::sources::hyperliquid::HyperliquidParser;
use crate::sources::replay::{Format, FrameParser};
use crate::sources::replay::{ParsedFile, ReplayConfig, parse_file};
use crate::sources::{Ignored, Parsed, SourceSummary, VenueParser};

fn parse_auto(rel: &str) -> Option<ParsedFile> {
    let path = fixture(rel)?;
    let parsed = parse_file(&path, &FrameParser::default()).expect("fixture readable");
    assert!(parsed.errors.is_empty(), "{rel}: {:?}", parsed.errors);
    Some(parsed)
}

fn find<'a>(events: &'a [Event], id: &str) -> &'a Event {
    events.iter().find(|e| e.id == id).unwrap_or_else(|| panic!("no event `{id}`"))
}

#[test]
fn binance_spot_combined_yields_its_agg_trades_and_book_tickers() {
    let Some(f) = parse_auto("binance/spot_2021-10-11.combined.ndjson") else { return };
    // 265 frames: 177 depth@100ms + 2 kline ignored, 84 bookTicker + 2 aggTrade kept.
    let expected = SourceSummary { frames: 265, events: 86, ignored: 179, ..Default::default() };
    assert_eq!(f.summary, expected);
    let count = |k| f.events.iter().filter(|e| e.kind == k).count();
    assert_eq!((count(EventKind::Trade), count(EventKind::BookTop)), (2, 84));

    let nkn = find(&f.events, "binance:NKNUSDT:a:15683430");
    assert_eq!((nkn.price, nkn.size, nkn.side), (dec("0.35280000"), dec("58"), Side::Buy));
    assert_eq!(nkn.exchange_time_ms, 1633998523963);
    assert_eq!(nkn.notional_usd, Some(dec("20.4624")));
    let lrc = find(&f.events, "binance:LRCBTC:a:9213679");
    assert_eq!(
        (lrc.price, lrc.notional_usd),
        (dec("0.00000638"), None),
        "BTC quote has no USD notional"
    );

    let book = find(&f.events, "binance:NKNUSDT:b:499869768");
    assert_eq!((book.best_bid, book.best_ask), (Some(dec("0.3521")), Some(dec("0.3526"))));
    assert_eq!(book.price, dec("0.35235"));
    // Book tops per symbol: 74 NKNUSDT, 9 LRCBTC, 1 BLZETH; RUNEEUR only has depth.
    let books = |sym| {
        f.events
            .iter()
            .filter(|e| e.kind == EventKind::BookTop && e.symbol == Sym::new(sym))
            .count()
    };
    assert_eq!(
        (books("NKNUSDT"), books("LRCBTC"), books("BLZETH"), books("RUNEEUR")),
        (74, 9, 1, 0)
    );
}

#[test]
fn binance_futures_misc_keeps_market_trades_and_liquidations() {
    let Some(f) = parse_auto("binance/tardis_usdm_misc_messages.ndjson") else { return };
    // 3 tickers/markPrice x2 + 1 markPrice = 5 unhandled, 1 INSURANCE_FUND trade.
    assert_eq!(
        f.summary,
        SourceSummary { frames: 11, events: 5, ignored: 6, ..Default::default() }
    );
    let ids: Vec<&str> = f.events.iter().map(|e| e.id.as_str()).collect();
    assert_eq!(
        ids,
        [
            "binance:BTCUSDT:t:181349",
            "binance:BTCUSDT:t:10934580",
            "binance:BTCUSDT:t:173525189",
            "binance:BTCUSDT:l:1584059031421:BUY",
            "binance:BTCUSDT:b:185130926750",
        ]
    );
    assert!(
        !f.events.iter().any(|e| e.symbol == Sym::new("ETHUSDT")),
        "INSURANCE_FUND trade skipped"
    );

    let market = &f.events[2];
    assert_eq!(
        (market.price, market.size, market.side),
        (dec("11343.67"), dec("0.467"), Side::Sell)
    );
    assert_eq!(market.exchange_time_ms, 1596240000519, "trade time T, not event time E");

    let liq = &f.events[3];
    assert_eq!(liq.kind, EventKind::Liquidation);
    assert_eq!((liq.side, liq.size, liq.price), (Side::Buy, dec("0.014"), dec("4706.04")));
    assert_eq!(liq.notional_usd, Some(dec("65.88456")));

    let book = &f.events[4];
    assert_eq!(
        (book.kind, book.price, book.exchange_time_ms),
        (EventKind::BookTop, dec("33136.905"), 1612137603568)
    );
}

#[test]
fn hyperliquid_market_frames() {
    let Some(f) = parse_auto("hyperliquid/tardis_ws_messages.ndjson") else { return };
    // 6 trades in 4 frames, BANANA l2Book and @162 bbo; empty book, one-sided
    // bbo and both asset contexts ignored.
    assert_eq!(
        f.summary,
        SourceSummary { frames: 10, events: 8, ignored: 4, ..Default::default() }
    );
    let btc = find(&f.events, "hyperliquid:BTC:1016375172059570");
    assert_eq!(
        (btc.kind, btc.side, btc.price, btc.size),
        (EventKind::Trade, Side::Buy, dec("69997.0"), dec("0.38111"))
    );
    assert_eq!(btc.notional_usd, Some(dec("26676.55667")));
    assert_eq!(btc.exchange_time_ms, 1730160006192);
    assert_eq!(btc.account, None);
    let fxs = find(&f.events, "hyperliquid:FXS:611279506717453");
    assert_eq!(fxs.side, Side::Sell);

    let books: Vec<&Event> = f.events.iter().filter(|e| e.kind == EventKind::BookTop).collect();
    assert_eq!(books.len(), 2);
    assert_eq!(
        (books[0].symbol, books[0].best_bid, books[0].best_ask),
        (Sym::new("BANANA"), Some(dec("59.8")), Some(dec("59.811")))
    );
    assert_eq!(books[0].price, dec("59.8055"));
    assert_eq!((books[1].symbol, books[1].price), (Sym::new("@162"), dec("0.979295")));
}

#[test]
fn hyperliquid_user_fills_skip_the_snapshot_frame() {
    let Some(f) = parse_auto("hyperliquid/testnet_userFills_2023-12.ndjson") else { return };
    assert_eq!(f.summary, SourceSummary { frames: 3, events: 2, ignored: 1, ..Default::default() });
    let user = Some(Sym::new("0x2ad7672c2990107b8fd8130d896d5bdd2aa4a6b9"));
    let open = &f.events[0];
    assert_eq!(
        (open.kind, open.account, open.direction),
        (EventKind::PerpFill, user, Direction::OpenLong)
    );
    assert_eq!(
        (open.price, open.size, open.side, open.closed_pnl),
        (dec("1.1803"), dec("10.0"), Side::Buy, Some(dec("0.0")))
    );
    assert_eq!(
        open.tx_hash.as_deref(),
        Some("0xa8d094ea02608a93f8e10408aeb273011000f6dac1c342ca641c4c2ab10ee431")
    );
    assert_eq!(
        open.id,
        "hyperliquid:fill:0xa8d094ea02608a93f8e10408aeb273011000f6dac1c342ca641c4c2ab10ee431:163860968303999:B"
    );
    let close = &f.events[1];
    assert_eq!(
        (close.direction, close.side, close.closed_pnl),
        (Direction::CloseLong, Side::Sell, Some(dec("-0.003")))
    );
    assert_eq!(close.exchange_time_ms, 1702786334099);
}

#[test]
fn hyperliquid_fill_with_liquidation_is_a_liquidation() {
    let Some(path) = fixture("hyperliquid/nautilus_ws_user_fill_liquidation.json") else { return };
    let text = std::fs::read_to_string(path).unwrap();
    let events = HyperliquidParser::default().parse(&text).unwrap();
    assert_eq!(events.len(), 1);
    let e = &events[0];
    assert_eq!(
        (e.kind, e.symbol, e.side, e.direction),
        (EventKind::Liquidation, Sym::new("BTC"), Side::Sell, Direction::OpenShort)
    );
    assert_eq!(
        (e.price, e.size, e.notional_usd),
        (dec("66653.0"), dec("0.001"), Some(dec("66.653")))
    );
    assert_eq!(e.account, None, "the `user` channel does not name the user");
    assert_eq!(
        e.id,
        "hyperliquid:fill:0xe29fd267b4d2c6f0e41904231bbec90000daea4d4fd5e5c286687dba73d6a0db:745210434703679:A"
    );
}

const V2_TX: &str = "0x6d70a0b14e2fe1ba28d6cb910ffc4aa787264dff6c273e20509136461ac587aa";
const V3_TX: &str = "0x5c5bca1291d1f09c07a9b66e56e78cc23da41b3e69e330dcd46a71ef6176df8b";

#[test]
fn evm_derived_logs_decode_v2_and_v3_swaps_of_unknown_pools() {
    let Some(f) = parse_auto("evm/DERIVED_eth_subscription_logs.ndjson") else { return };
    // 14 BSC PancakeV2 swaps + 1 Uniswap V2 + 1 V3; Transfer, Sync, Approval,
    // WETH Deposit/Withdrawal are other logs.
    assert_eq!(
        f.summary,
        SourceSummary { frames: 75, events: 16, ignored: 59, ..Default::default() }
    );
    assert!(f.events.iter().all(|e| e.kind == EventKind::Swap
        && e.venue == Sym::new("ethereum")
        && e.notional_usd.is_none()));

    // protocols.md §4.3: 0.75 WETH in, 5477527264.70 PEPE out → 1.3692e-10 WETH/PEPE.
    let v2 = find(&f.events, &format!("evm:ethereum:{V2_TX}:48"));
    assert_eq!(
        v2.symbol,
        Sym::new("0xa43fe16908251ee70ef74718545e4fe6c5ccec9f"),
        "unknown pool: symbol is its address"
    );
    assert_eq!(v2.size, dec("5477527264.701082519211446407"));
    assert_eq!(v2.side, Side::Buy, "pool sent token0 out: the trader bought it");
    assert_eq!(v2.price.round_sf(5), Some(dec("1.3692e-10")));
    assert_eq!(v2.tx_hash.as_deref(), Some(V2_TX));

    // amount0 = -2780431.904… (pool sent), amount1 = 0.14 → 5.0352e-8 token1/token0.
    let v3 = find(&f.events, &format!("evm:ethereum:{V3_TX}:220"));
    assert_eq!(v3.size, dec("2780431.904511285232400653"));
    assert_eq!((v3.side, v3.price.round_sf(5)), (Side::Buy, Some(dec("5.0352e-8"))));
}

#[test]
fn evm_registered_pools_get_symbols_decimals_and_usd_notional() {
    let Some(path) = fixture("evm/DERIVED_eth_subscription_logs.ndjson") else { return };
    let pool = |address: &str, base: &str, quote: &str, base_is_token0, quote_is_usd| PoolConfig {
        address: address.into(),
        base: base.into(),
        quote: quote.into(),
        decimals0: 18,
        decimals1: 18,
        base_is_token0,
        quote_is_usd,
    };
    let mut config = ReplayConfig::new(vec![path.clone()]);
    config.format = Format::Evm;
    config.pools = vec![
        pool("0xA43FE16908251EE70EF74718545E4FE6C5CCEC9F", "PEPE", "WETH", true, None),
        // Not really a stable; marked as one to check the notional comes from the quote leg.
        pool("0x7316f8dd242974f0fd7b16dbcc68920b96bc4db1", "TKN", "USDX", true, Some(true)),
    ];
    let f = parse_file(&path, &config.parser().unwrap()).unwrap();
    // A configured pool's tokens are not known: its identity is the ticker
    // at the pool's address (lowercase, however config spelled it).
    let v2 = find(&f.events, &format!("evm:ethereum:{V2_TX}:48"));
    let pepe = Sym::new("PEPE/WETH@0xa43fe16908251ee70ef74718545e4fe6c5ccec9f");
    assert_eq!((v2.symbol, v2.notional_usd), (pepe, None));
    let listing = v2.listing.unwrap();
    assert_eq!(
        (listing.ticker, listing.address),
        (Sym::new("PEPE/WETH"), Sym::new("0xa43fe16908251ee70ef74718545e4fe6c5ccec9f"))
    );
    let v3 = find(&f.events, &format!("evm:ethereum:{V3_TX}:220"));
    let tkn = Sym::new("TKN/USDX@0x7316f8dd242974f0fd7b16dbcc68920b96bc4db1");
    assert_eq!((v3.symbol, v3.notional_usd), (tkn, Some(dec("0.14"))));

    // Seen from the other token, the same V3 swap is a sale of 0.14 at the inverse price.
    let inverse = [pool("0x7316f8dd242974f0fd7b16dbcc68920b96bc4db1", "WETH", "TKN", false, None)];
    let parser = EvmParser::new("ethereum", PoolRegistry::new(&inverse).unwrap());
    let lines = std::fs::read_to_string(&path).unwrap();
    let events = parser.parse(lines.lines().last().unwrap()).unwrap();
    assert_eq!((events[0].side, events[0].size), (Side::Sell, dec("0.14")));
    assert_eq!(events[0].price.round_sf(9), Some(dec("19860227.9")));
}

#[test]
fn evm_removed_logs_are_skipped_and_counted() {
    let Some(path) = fixture("evm/DERIVED_eth_subscription_logs.ndjson") else { return };
    let text =
        std::fs::read_to_string(path).unwrap().replace(r#""removed":false"#, r#""removed":true"#);
    let parsed = EvmParser::default().parse_frame(text.lines().last().unwrap()).unwrap();
    assert_eq!(parsed, Parsed::Ignored(Ignored::RemovedLog));
    let f = crate::sources::replay::parse_ndjson(
        text.as_bytes(),
        "removed.ndjson".as_ref(),
        &FrameParser::default(),
    );
    assert_eq!((f.summary.events, f.summary.ignored, f.summary.removed_logs), (0, 75, 75));
}

//! Hostile tenants (issue 8): plugins that pass the smoke run and then hand
//! the host everything it must refuse or bound, each beside a healthy
//! template on the same market. For each one the host stays up, the bad
//! template is named and counted (with the limit it broke), the healthy
//! templates deliver exactly what they deliver alone, and the process grows
//! less than a bound the test states.
//!
//! The plugins are `tests/plugins/hostile-{filter,cooldown,formatter}`, one
//! crate per world, a `mode` param per misbehaviour. Every run goes through
//! one harness (`hostile/harness.rs`); the tests are tables over it:
//!
//! * `alerts`: oversized alerts (title, field count, field size, total,
//!   key) feeding the stock `fixed` cooldown and `plain` formatter, and a
//!   quarantined template whose version keeps serving its neighbour;
//! * `decide_format`: huge and unique suppress reasons, huge formatter
//!   bodies and digests;
//! * `tenants`: cross-tenant name lookups;
//! * `kv`: KV floods by value size, key size, key count and total bytes;
//! * `batch`: duplicate and excess rows in a batch answer;
//! * `logs`: log floods and log injection;
//! * `configure`: a `create` that loops once it runs on a live worker;
//! * `compile`: function, memory and time bombs at compile.
//!
//! No assertion depends on wall-clock time: the market runs in event time,
//! and budgets only decide which error a failing call ends with.

mod support;

#[path = "hostile/alerts.rs"]
mod alerts;
#[path = "hostile/batch.rs"]
mod batch;
#[path = "hostile/compile.rs"]
mod compile;
#[path = "hostile/configure.rs"]
mod configure;
#[path = "hostile/decide_format.rs"]
mod decide_format;
#[path = "hostile/harness.rs"]
mod harness;
#[path = "hostile/kv.rs"]
mod kv;
#[path = "hostile/logs.rs"]
mod logs;
#[path = "hostile/tenants.rs"]
mod tenants;

//! Backend tests: the embedded store on a temporary file, and Redis on the
//! local server (skipped, with the reason printed, when it is unreachable,
//! unless `KLAXON_REQUIRE_SERVICES` is set).

mod embedded;
mod redis;

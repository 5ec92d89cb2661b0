//! The `klaxon` command line.

mod authoring_cli;
mod cli;

use std::process::ExitCode;

use clap::Parser;
use klaxon::plugins::compile;

fn main() -> ExitCode {
    let argv: Vec<String> = std::env::args().collect();
    if argv.get(1).map(String::as_str) == Some(compile::WORKER_ARG) {
        return compile::serve(&argv[2..]);
    }
    // This binary can compile plugins in a child of itself, under a memory bound.
    if let Ok(exe) = std::env::current_exe() {
        compile::use_worker(exe);
    }
    let args = cli::Cli::parse();
    klaxon::telemetry::init_logging(args.log_format);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("cannot start tokio runtime");
    match runtime.block_on(cli::dispatch(args.command)) {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

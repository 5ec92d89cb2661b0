//! Subcommands. Each is a thin shell over the library; `anyhow` stays here.

mod alerts;
mod rollout;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand};

use klaxon::app::{self, RunOptions, Runtime};
use klaxon::config::{self, DEMO_CONFIG, TimeMode, ValidConfig};
use klaxon::market::MarketState;
use klaxon::pipeline::StatsSnapshot;
use klaxon::plugins::{componentize, inspect};
use klaxon::telemetry::LogFormat;

#[derive(Parser)]
#[command(
    name = "klaxon",
    version,
    about = "Real-time alerting for crypto markets and chains, with WebAssembly plugins"
)]
pub struct Cli {
    /// Log format on stderr.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand)]
pub enum Command {
    /// Run the engine. Without --config, runs the embedded demo.
    Run {
        #[arg(long)]
        config: Option<PathBuf>,
    },
    /// Validate a config and every plugin it uses, without running.
    Check {
        #[arg(long)]
        config: PathBuf,
    },
    /// Replay recorded frames through the config's templates in simulated time.
    Replay {
        #[arg(long)]
        config: PathBuf,
        /// NDJSON files of recorded venue frames.
        #[arg(required = true)]
        frames: Vec<PathBuf>,
        /// Real-time multiple; 0 replays as fast as possible.
        #[arg(long, default_value_t = 0.0)]
        speed: f64,
        /// Directory of recorded Binance depth snapshots (`<SYMBOL>.json`).
        /// Default: `X.snapshots/` next to each `X.ndjson`, when present.
        #[arg(long)]
        snapshots: Option<PathBuf>,
        /// Order-book rules for Binance depth diffs: spot (default) or usdm.
        #[arg(long, value_enum)]
        market: Option<BookMarket>,
        /// After the replay, print every synced order book: symbol, last
        /// update id and the top 5 levels per side.
        #[arg(long)]
        books: bool,
    },
    /// Work with plugin components.
    #[command(subcommand)]
    Plugin(PluginCommand),
    /// Measure the plugin path against native Rust, in one run.
    Bench(klaxon::bench::BenchArgs),
    /// Read the alert log; list dead deliveries and send them again.
    Alerts(alerts::AlertsArgs),
    /// Work with configured sinks.
    #[command(subcommand)]
    Sink(SinkCommand),
    /// Canary rollouts through a running host's admin API.
    Rollout(rollout::RolloutArgs),
}

#[derive(Subcommand)]
pub enum SinkCommand {
    /// Send one test message to a configured sink and print the answer.
    Test {
        name: String,
        #[arg(long)]
        config: PathBuf,
    },
}

/// `--market` of `replay`.
#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum BookMarket {
    Spot,
    Usdm,
}

/// What `replay` is asked to do besides the frames.
pub struct ReplayArgs {
    pub frames: Vec<PathBuf>,
    pub speed: f64,
    pub snapshots: Option<PathBuf>,
    pub market: Option<BookMarket>,
    pub books: bool,
}

#[derive(Subcommand)]
pub enum PluginCommand {
    /// Show a component's world, imports, exports and any mismatch.
    Inspect { file: PathBuf },
    /// Build a plugin project (Rust, Python or JS, from its
    /// `klaxon-plugin.toml`) into a checked component:
    /// `<dir>/target/klaxon/<name>.wasm`. A bare Rust crate still works.
    Build {
        /// The plugin's directory.
        dir: PathBuf,
        /// Where to write the component.
        #[arg(long, short)]
        out: Option<PathBuf>,
    },
    /// Write a new plugin project that builds and tests on its own.
    New {
        name: String,
        #[arg(long, value_enum)]
        kind: klaxon::authoring::Kind,
        #[arg(long, value_enum)]
        lang: klaxon::authoring::Lang,
        /// Where to write it (default: `./<name>`).
        dir: Option<PathBuf>,
    },
    /// Replay recorded frames through a plugin and compare its alerts with a golden file.
    Test {
        /// A project directory, or a built `.wasm` (then give --kind).
        target: PathBuf,
        #[arg(long, num_args = 1..)]
        frames: Vec<PathBuf>,
        #[arg(long)]
        golden: Option<PathBuf>,
        /// Rewrite the golden file with this run's alerts.
        #[arg(long)]
        update: bool,
        /// The plugin's params, as JSON.
        #[arg(long)]
        params: Option<String>,
        #[arg(long, value_enum)]
        kind: Option<klaxon::authoring::Kind>,
    },
    /// Measure a plugin per event: wall time, wasm fuel (metered on a
    /// separate engine) and memory per instance.
    Bench(klaxon::authoring::bench::BenchArgs),
}

pub async fn dispatch(command: Command) -> Result<ExitCode> {
    match command {
        Command::Run { config } => run(config).await,
        Command::Check { config } => check(&config).await,
        Command::Replay { config, frames, speed, snapshots, market, books } => {
            replay(&config, ReplayArgs { frames, speed, snapshots, market, books }).await
        }
        Command::Plugin(PluginCommand::Inspect { file }) => inspect_plugin(&file),
        Command::Plugin(PluginCommand::Build { dir, out }) => build_plugin(&dir, out),
        Command::Plugin(PluginCommand::New { name, kind, lang, dir }) => {
            crate::authoring_cli::new(&name, kind, lang, dir)
        }
        Command::Plugin(PluginCommand::Test { target, frames, golden, update, params, kind }) => {
            let args = klaxon::authoring::golden::TestArgs {
                target,
                frames,
                golden,
                update,
                params,
                kind,
            };
            crate::authoring_cli::test(&args).await
        }
        Command::Plugin(PluginCommand::Bench(args)) => crate::authoring_cli::bench(&args),
        Command::Alerts(args) => alerts::alerts(args).await,
        Command::Sink(SinkCommand::Test { name, config }) => {
            alerts::sink_test(&config, &name).await
        }
        Command::Rollout(args) => rollout::rollout(args).await,
        Command::Bench(args) => {
            klaxon::bench::run(args).await.map_err(anyhow::Error::msg)?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn load(path: Option<&Path>) -> Result<ValidConfig> {
    Ok(match path {
        Some(p) => config::load_file(p)?,
        None => config::load_str(DEMO_CONFIG, "embedded demo config")?,
    })
}

async fn run(path: Option<PathBuf>) -> Result<ExitCode> {
    let config = load(path.as_deref())?;
    app::run(config, RunOptions { config_path: path }).await?;
    Ok(ExitCode::SUCCESS)
}

async fn check(path: &Path) -> Result<ExitCode> {
    let config = load(Some(path))?;
    // Sinks against the environment: each secret's variable is set (and url
    // secrets hold urls). Static checks ran when the config loaded.
    let env_issues: Vec<String> = config
        .raw()
        .sinks
        .iter()
        .flat_map(|(name, sink)| {
            sink.check_env(&format!("sinks.{name}"), &klaxon::sinks::remote::process_env)
        })
        .map(|issue| format!("  {issue}"))
        .collect();
    if !env_issues.is_empty() {
        bail!("{}: {} problem(s):\n{}", config.origin(), env_issues.len(), env_issues.join("\n"));
    }
    let (market, _) = MarketState::new(&config.raw().market);
    let rt = Runtime::new(&config, &market)?;
    let plan = app::first_plan(&config, &rt).await?;
    println!(
        "{}: ok ({} templates, {} sources, {} sinks)",
        config.origin(),
        plan.templates.len(),
        config.raw().sources.len(),
        config.raw().sinks.len()
    );
    for (name, t) in &config.raw().templates {
        if t.enabled && t.channels.is_empty() {
            println!("  warning: template `{name}` has no channels; its alerts are only logged");
        }
    }
    if let Some(dir) = &config.raw().plugins.dir {
        let watch = if config.raw().plugins.watch {
            "watched"
        } else {
            "not watched (plugins.watch = false)"
        };
        match dir.is_dir() {
            true => println!("  plugins.dir {} exists; {watch}", dir.display()),
            false => println!(
                "  plugins.dir {} does not exist; `klaxon run` creates it, then it is {watch}",
                dir.display()
            ),
        }
    }
    for t in &plan.templates {
        let names = |s: &Option<klaxon::pipeline::plan::PluginSlot>| {
            s.as_ref().map_or("default".to_owned(), |s| s.plugin.reference.to_string())
        };
        let arm = if t.arm.is_canary() { " (canary)" } else { "" };
        println!(
            "  {}{arm}: filter {}, cooldown {}, formatter {}",
            t.id,
            t.filter.plugin.reference,
            names(&t.cooldown),
            names(&t.formatter)
        );
    }
    Ok(ExitCode::SUCCESS)
}

async fn replay(path: &Path, args: ReplayArgs) -> Result<ExitCode> {
    for f in &args.frames {
        if !f.exists() {
            bail!("{}: file not found", f.display());
        }
    }
    if let Some(dir) = args.snapshots.as_ref().filter(|d| !d.is_dir()) {
        bail!("{}: --snapshots must be a directory", dir.display());
    }
    let base = load(Some(path))?;
    let market = args.market.map(|m| match m {
        BookMarket::Spot => "spot",
        BookMarket::Usdm => "usdm",
    });
    let replay = serde_json::json!({ "type": "replay", "files": args.frames, "speed": args.speed, "snapshots": args.snapshots, "market": market });
    let source: klaxon::sources::SourceConfig =
        serde_json::from_value(replay).context("building the replay source")?;
    let klaxon::sources::SourceConfig::Replay(replay_config) = source.clone() else {
        unreachable!("built as a replay source")
    };
    let stdout: klaxon::sinks::SinkConfig =
        serde_json::from_value(serde_json::json!({ "type": "stdout", "order": "event" }))
            .context("building the stdout sink")?;
    let config = base.amend(|raw| {
        raw.sources = [("replay".to_owned(), source)].into();
        raw.sinks = [("stdout".to_owned(), stdout)].into();
        for t in raw.templates.values_mut() {
            t.channels = vec!["stdout".to_owned()];
        }
        raw.pipeline.time = TimeMode::Event;
        // A replay starts from empty state and leaves none behind, so its
        // output is the same on every run.
        raw.state.backend = klaxon::state::StateBackend::Memory;
        raw.plugins.watch = false;
        raw.server.listen = None;
    })?;
    let stats = app::run(config, RunOptions::default()).await?;
    print_summary(&stats);
    if args.books {
        let replayed = klaxon::sources::replay::replay_files(&replay_config)?;
        print_books(&replayed.books);
    }
    Ok(ExitCode::SUCCESS)
}

/// `book <SYMBOL> last_update_id=<u>`, then up to 5 `bid`/`ask` lines
/// (`<price> <qty>`, best first), in symbol order.
fn print_books(books: &[klaxon::sources::replay::BookView]) {
    println!("--- books");
    for book in books {
        println!("book {} last_update_id={}", book.symbol, book.last_update_id);
        for (side, levels) in [("bid", &book.bids), ("ask", &book.asks)] {
            for (price, qty) in levels.iter().take(5) {
                println!("  {side} {} {}", price.normalize(), qty.normalize());
            }
        }
    }
}

fn print_summary(s: &StatsSnapshot) {
    println!("---");
    println!(
        "events: {}  evaluated: {}  unrouted: {}  failed closed: {}",
        s.events_in, s.events_evaluated, s.events_unrouted, s.evaluations_failed
    );
    println!("fired: {}  suppressed: {}", s.fired, s.suppressed_total());
    for (reason, n) in &s.suppressed {
        println!("  suppressed ({reason}): {n}");
    }
}

fn inspect_plugin(file: &Path) -> Result<ExitCode> {
    let bytes = std::fs::read(file).with_context(|| format!("{}: cannot read", file.display()))?;
    let engine = klaxon::plugins::PluginEngine::new(&klaxon::plugins::RuntimeConfig::default())
        .map_err(anyhow::Error::msg)?;
    let name = file.file_stem().and_then(|s| s.to_str()).unwrap_or("plugin");
    let report = inspect::inspect(&engine, name, &bytes)
        .map_err(|e| anyhow::anyhow!("{}: not a valid component: {e}", file.display()))?;
    println!("{} (version {})", file.display(), report.version);
    println!("api version: {}", report.api_version_note());
    println!("imports:");
    report.imports.iter().for_each(|i| println!("  {i}"));
    println!("exports:");
    report.exports.iter().for_each(|e| println!("  {e}"));
    let mut matched = false;
    for (kind, result) in &report.worlds {
        match result {
            Ok(()) => {
                matched = true;
                println!("world: {} (ok)", kind.world());
            }
            Err(reason) => println!("not {}: {reason}", kind.world()),
        }
    }
    Ok(if matched { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

fn build_plugin(dir: &Path, out: Option<PathBuf>) -> Result<ExitCode> {
    if dir.join(klaxon::authoring::MANIFEST).is_file() {
        return crate::authoring_cli::build(dir, out);
    }
    let manifest = dir.join("Cargo.toml");
    let package = package_name(&manifest)?;
    let target_dir = klaxon::authoring::builder::rust_target_dir(dir);
    let core = componentize::build_plugin(
        &manifest,
        &package,
        &[],
        componentize::CORE_TARGET,
        &target_dir,
    )?;
    let component = componentize::component_from_file(&package, &core)?;
    let text = std::fs::read_to_string(&manifest).unwrap_or_default();
    let origin = dir.display().to_string();
    let kind = klaxon::authoring::builder::check_crate(&text, &package, &origin, &component)
        .map_err(anyhow::Error::msg)?;
    let out = out.unwrap_or_else(|| PathBuf::from(format!("{package}.wasm")));
    std::fs::write(&out, &component).with_context(|| format!("cannot write {}", out.display()))?;
    println!(
        "built {} (version {}, world klaxon:plugin/{}@{})",
        out.display(),
        klaxon::plugins::load::content_version(&component).0,
        kind.world(),
        klaxon::plugins::bindings::API_VERSION
    );
    Ok(ExitCode::SUCCESS)
}

/// `[package] name` of a crate manifest.
fn package_name(manifest: &Path) -> Result<String> {
    let text = std::fs::read_to_string(manifest)
        .with_context(|| format!("{}: cannot read", manifest.display()))?;
    let doc: toml::Table =
        toml::from_str(&text).with_context(|| format!("{}: not valid TOML", manifest.display()))?;
    doc.get("package")
        .and_then(|p| p.get("name"))
        .and_then(|n| n.as_str())
        .map(str::to_owned)
        .with_context(|| format!("{}: no [package] name", manifest.display()))
}

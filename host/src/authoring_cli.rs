//! The `klaxon plugin new | build | test | bench` subcommands: printing and exit
//! codes over [`klaxon::authoring`], kept out of the lead's `cli.rs`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Result, anyhow};

use klaxon::authoring::golden::{Outcome, TestArgs};
use klaxon::authoring::{Kind, Lang, bench, builder, embedded::API_VERSION, golden, scaffold};

pub fn new(name: &str, kind: Kind, lang: Lang, dir: Option<PathBuf>) -> Result<ExitCode> {
    let dir = dir.unwrap_or_else(|| PathBuf::from(name));
    let files = scaffold::write(name, kind, lang, &dir).map_err(|e| anyhow!(e))?;
    println!(
        "wrote {} files to {} ({} {}, klaxon:plugin@{API_VERSION})",
        files.len(),
        dir.display(),
        lang.as_str(),
        kind.as_str()
    );
    println!("next: cd {} && see README.md", dir.display());
    Ok(ExitCode::SUCCESS)
}

pub fn build(dir: &Path, out: Option<PathBuf>) -> Result<ExitCode> {
    let built = builder::build(dir, out).map_err(|e| anyhow!(e))?;
    println!(
        "built {} ({:.1} KiB, world klaxon:plugin/{}@{API_VERSION}, version {})",
        built.path.display(),
        built.size as f64 / 1024.0,
        built.kind.world(),
        built.version
    );
    Ok(ExitCode::SUCCESS)
}

pub async fn test(args: &TestArgs) -> Result<ExitCode> {
    match golden::run(args).await.map_err(|e| anyhow!(e))? {
        Outcome::Same { alerts } => {
            println!("ok: {alerts} alerts match the golden file");
            Ok(ExitCode::SUCCESS)
        }
        Outcome::Updated { alerts, path } => {
            println!("wrote {alerts} alerts to {}", path.display());
            Ok(ExitCode::SUCCESS)
        }
        Outcome::NoGolden { lines } => {
            lines.iter().for_each(|l| println!("{l}"));
            Ok(ExitCode::SUCCESS)
        }
        Outcome::Differs { diff } => {
            print!("{diff}");
            println!("alerts differ from the golden file (run with --update to accept them)");
            Ok(ExitCode::FAILURE)
        }
    }
}

pub fn bench(args: &bench::BenchArgs) -> Result<ExitCode> {
    let report = bench::run(args).map_err(|e| anyhow!(e))?;
    report.lines().iter().for_each(|l| println!("{l}"));
    Ok(ExitCode::SUCCESS)
}

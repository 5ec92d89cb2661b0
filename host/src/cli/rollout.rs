//! `klaxon rollout start|status|promote|rollback`: a client of the admin
//! API (`/v1/templates/{name}/rollout`), so a rollout from the CLI takes
//! exactly the path (validation, audit, atomic apply) one from the API does.

use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand};

#[derive(Args)]
pub struct RolloutArgs {
    /// The host's server address.
    #[arg(long, global = true, default_value = "http://127.0.0.1:9464")]
    pub url: String,
    /// Environment variable holding the admin token.
    #[arg(long, global = true, default_value = "KLAXON_ADMIN_TOKEN")]
    pub token_env: String,
    #[command(subcommand)]
    pub action: RolloutAction,
}

#[derive(Subcommand)]
pub enum RolloutAction {
    /// Run PLUGIN in place of the template's plugin of KIND on SHARE of its keys.
    Start {
        template: String,
        #[arg(long, value_parser = ["filter", "cooldown", "formatter"])]
        kind: String,
        #[arg(long)]
        plugin: String,
        /// Share of keys on the canary: `0.1` or `10%`.
        #[arg(long, value_parser = parse_share)]
        share: f64,
        /// Params for the canary, as JSON (default: the current plugin's).
        #[arg(long)]
        params: Option<String>,
    },
    /// Show a template's rollout and each arm's versions and counts.
    Status { template: String },
    /// Make the canary the template's plugin.
    Promote { template: String },
    /// Put every key back on the stable version.
    Rollback { template: String },
}

fn parse_share(s: &str) -> Result<f64, String> {
    let (number, scale) = match s.strip_suffix('%') {
        Some(pct) => (pct, 100.0),
        None => (s, 1.0),
    };
    let share = number.trim().parse::<f64>().map_err(|e| format!("{s}: {e}"))? / scale;
    if share > 0.0 && share <= 1.0 { Ok(share) } else { Err(format!("{s}: must be in (0, 1]")) }
}

pub async fn rollout(args: RolloutArgs) -> Result<ExitCode> {
    let token = std::env::var(&args.token_env)
        .with_context(|| format!("${} must hold the admin token", args.token_env))?;
    let client = reqwest::Client::new();
    let base = args.url.trim_end_matches('/');
    let path = |t: &str, tail: &str| format!("{base}/v1/templates/{t}/rollout{tail}");
    let request = match &args.action {
        RolloutAction::Start { template, kind, plugin, share, params } => {
            let params: Option<serde_json::Value> = params
                .as_deref()
                .map(serde_json::from_str)
                .transpose()
                .context("--params must be JSON")?;
            let body = serde_json::json!({ "kind": kind, "plugin": plugin, "share": share, "params": params });
            client.post(path(template, "")).json(&body)
        }
        RolloutAction::Status { template } => client.get(path(template, "")),
        RolloutAction::Promote { template } => client.post(path(template, "/promote")),
        RolloutAction::Rollback { template } => client.post(path(template, "/rollback")),
    };
    let reply =
        request.bearer_auth(token).send().await.with_context(|| format!("reaching {base}"))?;
    let status = reply.status();
    let body: serde_json::Value = reply.json().await.unwrap_or_default();
    println!("{}", serde_json::to_string_pretty(&body)?);
    if !status.is_success() {
        bail!("{status}: {}", body["error"].as_str().unwrap_or("refused"));
    }
    Ok(ExitCode::SUCCESS)
}

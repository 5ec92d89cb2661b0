//! Telegram Bot API `sendMessage`.
//!
//! ```toml
//! [sinks.traders]
//! type = "telegram"
//! token_env = "TELEGRAM_TOKEN"   # the bot token is read from this variable
//! chat_id = "-1001234567890"     # or "@channelname"
//! # group = true                 # 20/min pacing; default: chat ids starting with `-`
//! # base_url = "https://api.telegram.org"
//! ```
//!
//! * `MarkdownV2` and `HTML` bodies are sent with that `parse_mode`; plain
//!   text without one. A text over 4096 characters goes as several messages
//!   (`split.rs`); a retry resumes at the first part not yet sent.
//! * Paced per chat (1/s, or 20/min for a group) and per bot token (30/s,
//!   shared by every sink of that token).
//! * 429: wait `parameters.retry_after`, then retry. 400/403: not retried;
//!   the error is Telegram's `description`. A 400 with
//!   `parameters.migrate_to_chat_id` (group became a supergroup): the sink
//!   switches to the new chat, logs it, and resends.

mod split;

use std::num::NonZeroU32;
use std::sync::Mutex;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::alert::Markup;
use crate::issue::ConfigIssue;
use crate::sinks::pacer::{self, Pacer};
use crate::sinks::remote::{self, Attempt, DeliveryOptions, EnvLookup, Outgoing, Secret, exchange};

pub use split::{MAX_UNITS, split};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TelegramConfig {
    /// Environment variable holding the bot token.
    pub token_env: String,
    /// Numeric chat id (as a string) or `@channelusername`.
    pub chat_id: String,
    /// Group pacing (20 messages/minute); default: the chat id starts with `-`.
    #[serde(default)]
    pub group: Option<bool>,
    #[serde(default = "default_base_url")]
    pub base_url: String,
    /// Messages to a chat are sent without link previews unless this is on.
    #[serde(default)]
    pub link_preview: bool,
    #[serde(default)]
    pub delivery: DeliveryOptions,
}

fn default_base_url() -> String {
    "https://api.telegram.org".to_owned()
}

impl TelegramConfig {
    pub fn validate(&self, path: &str, env: Option<EnvLookup<'_>>) -> Vec<ConfigIssue> {
        let mut issues = self.delivery.validate(path);
        if let Err(e) = remote::check_url(&self.base_url, "base_url") {
            issues.push(ConfigIssue::new(format!("{path}.base_url"), e));
        }
        if self.chat_id.trim().is_empty() {
            issues.push(ConfigIssue::new(format!("{path}.chat_id"), "must not be empty"));
        }
        if let Err(e) = remote::secret_opt(env, &self.token_env) {
            issues.push(ConfigIssue::new(format!("{path}.token_env"), e));
        }
        issues
    }

    pub fn build(&self, env: EnvLookup<'_>) -> Result<TelegramSink, String> {
        let token = remote::secret(env, "token_env", &self.token_env)?;
        let group = self.group.unwrap_or_else(|| self.chat_id.starts_with('-'));
        let per_chat = if group { 20 } else { 60 };
        let global = governor::Quota::per_second(NonZeroU32::new(30).expect("30 > 0"));
        let pacer = Pacer::new(self.delivery.quota(per_chat, 1))
            .and(pacer::shared(&pacer::key_of("telegram", token.expose()), global));
        Ok(TelegramSink {
            client: remote::client(&self.delivery),
            base_url: self.base_url.trim_end_matches('/').to_owned(),
            token,
            chat: Mutex::new(self.chat_id.clone()),
            link_preview: self.link_preview,
            pacer,
            progress: Mutex::new(None),
        })
    }
}

/// Parts of a split message already sent: (delivery id, message ids).
type Progress = Option<(String, Vec<String>)>;

pub struct TelegramSink {
    client: reqwest::Client,
    base_url: String,
    token: Secret,
    /// Current chat; changes when Telegram says the group migrated.
    chat: Mutex<String>,
    link_preview: bool,
    pacer: Pacer,
    progress: Mutex<Progress>,
}

impl TelegramSink {
    pub fn pacer(&self) -> &Pacer {
        &self.pacer
    }

    pub fn secrets(&self) -> Vec<Secret> {
        vec![self.token.clone()]
    }

    pub async fn send(&self, out: &Outgoing) -> Attempt {
        let text = remote::text_of(out);
        let parse_mode = match out.markup {
            Markup::MarkdownV2 => Some("MarkdownV2"),
            Markup::Html => Some("HTML"),
            Markup::Plain | Markup::Markdown => None,
        };
        let parts = split(&text, MAX_UNITS, out.markup);
        let mut sent = {
            let progress = self.progress.lock().expect("progress lock");
            match &*progress {
                Some((id, ids)) if *id == out.delivery_id => ids.clone(),
                _ => Vec::new(),
            }
        };
        for (i, part) in parts.iter().enumerate().skip(sent.len()) {
            if i > 0 {
                // Each part is a message as far as Telegram's limits go.
                self.pacer.acquire().await;
            }
            match self.send_part(part, parse_mode).await {
                Attempt::Sent { message_id } => {
                    sent.push(message_id.unwrap_or_default());
                    let mut progress = self.progress.lock().expect("progress lock");
                    *progress = Some((out.delivery_id.clone(), sent.clone()));
                }
                other => return other,
            }
        }
        *self.progress.lock().expect("progress lock") = None;
        Attempt::Sent { message_id: Some(sent.join(",")) }
    }

    /// One `sendMessage`, following a group migration once.
    async fn send_part(&self, text: &str, parse_mode: Option<&str>) -> Attempt {
        for _ in 0..2 {
            let chat = self.chat.lock().expect("chat lock").clone();
            let mut body = json!({ "chat_id": chat, "text": text });
            if let Some(mode) = parse_mode {
                body["parse_mode"] = json!(mode);
            }
            if !self.link_preview {
                body["link_preview_options"] = json!({ "is_disabled": true });
            }
            let url = format!("{}/bot{}/sendMessage", self.base_url, self.token.expose());
            let reply = match exchange(self.client.post(url).json(&body)).await {
                Ok(reply) => reply,
                Err(attempt) => return self.redacted(attempt),
            };
            let json: Value = serde_json::from_str(&reply.body).unwrap_or(Value::Null);
            if json["ok"] == true {
                let id = json["result"]["message_id"].as_i64().map(|id| id.to_string());
                return Attempt::Sent { message_id: id };
            }
            let description = json["description"].as_str().unwrap_or("").to_owned();
            let what = || {
                if description.is_empty() {
                    remote::truncate(&reply.body, 200)
                } else {
                    description.clone()
                }
            };
            let params = &json["parameters"];
            if let Some(new_chat) = params["migrate_to_chat_id"].as_i64() {
                let mut current = self.chat.lock().expect("chat lock");
                tracing::warn!(old_chat = %current, new_chat, "Telegram group migrated to a supergroup; following it.");
                *current = new_chat.to_string();
                continue;
            }
            let attempt = match reply.status {
                429 => Attempt::Throttled {
                    after: params["retry_after"]
                        .as_f64()
                        .map(|s| Duration::from_secs_f64(s.max(0.0)))
                        .or_else(|| remote::retry_after_header(&reply.headers)),
                    error: format!("HTTP 429: {}", what()),
                },
                400 | 401 | 403 | 404 => {
                    Attempt::Rejected { error: format!("HTTP {}: {}", reply.status, what()) }
                }
                _ => remote::classify_http(&reply, what),
            };
            return self.redacted(attempt);
        }
        Attempt::Failed { after: None, error: "chat migrated twice in a row".into() }
    }

    fn redacted(&self, attempt: Attempt) -> Attempt {
        attempt.redact(std::slice::from_ref(&self.token))
    }

    /// The chat messages go to now (after any migration).
    pub fn chat(&self) -> String {
        self.chat.lock().expect("chat lock").clone()
    }
}

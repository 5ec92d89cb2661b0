//! Bearer tokens: a read-write (admin) token and a read-only one, each
//! from an environment variable the config names. Tokens are kept and
//! compared as SHA-256 digests in constant time, so neither the token nor
//! its length leaks through timing, and no token is ever logged: the audit
//! log names the token's role.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::{AdminState, ApiError};
use crate::config::raw::AdminConfig;
use crate::telemetry::metrics;

/// Who made a request: `admin` or `read-only`.
#[derive(Debug, Clone, Copy)]
pub struct Who(pub &'static str);

pub struct Tokens {
    admin: [u8; 32],
    read: Option<[u8; 32]>,
}

fn digest(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

/// The value of the variable `name`, if set and not empty.
fn token_from(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

impl Tokens {
    /// The tokens, or why the API is off.
    pub fn from_env(config: &AdminConfig) -> Result<Tokens, String> {
        let Some(var) = &config.token_env else {
            return Err("set server.admin.token_env to the variable holding its token".into());
        };
        let admin =
            token_from(var).ok_or_else(|| format!("${var} (server.admin.token_env) is not set"))?;
        let read = config.read_token_env.as_deref().and_then(token_from);
        Ok(Tokens { admin: digest(&admin), read: read.map(|r| digest(&r)) })
    }

    fn who(&self, token: &str) -> Option<Who> {
        let d = digest(token);
        if bool::from(d.ct_eq(&self.admin)) {
            return Some(Who("admin"));
        }
        self.read.filter(|r| bool::from(d.ct_eq(r))).map(|_| Who("read-only"))
    }
}

/// 401 without a known token, 403 for the read-only token on a write;
/// otherwise the request goes on with its [`Who`].
pub async fn authenticate(
    State(state): State<Arc<AdminState>>,
    mut request: Request,
    next: Next,
) -> Response {
    let token = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim);
    let Some(who) = token.and_then(|t| state.tokens.who(t)) else {
        metrics().admin_requests.with_label_values(&["auth", "denied"]).inc();
        let mut res =
            ApiError::new(StatusCode::UNAUTHORIZED, "a valid bearer token is required".into())
                .into_response();
        res.headers_mut().insert(header::WWW_AUTHENTICATE, "Bearer".parse().expect("static"));
        return res;
    };
    let read = matches!(*request.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    if !read && who.0 != "admin" {
        metrics().admin_requests.with_label_values(&["auth", "denied"]).inc();
        let error = "the read-only token cannot change anything".to_owned();
        return ApiError::new(StatusCode::FORBIDDEN, error).into_response();
    }
    request.extensions_mut().insert(who);
    next.run(request).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_match_by_role_only_when_equal() {
        let t = Tokens { admin: digest("a-secret"), read: Some(digest("r-secret")) };
        assert_eq!(t.who("a-secret").map(|w| w.0), Some("admin"));
        assert_eq!(t.who("r-secret").map(|w| w.0), Some("read-only"));
        assert!(t.who("a-secre").is_none() && t.who("").is_none());
    }
}

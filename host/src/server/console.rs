//! The web console: one self-contained page at `/`, compiled into the binary
//! so a host serves it with nothing beside it. The page talks to `/v1` with
//! the bearer token its user types; serving it needs no token, since it holds
//! no data.

use std::sync::LazyLock;

use axum::Router;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use base64::Engine;
use sha2::{Digest, Sha256};

const PAGE: &str = include_str!("console/index.html");

/// The page's one inline script, allowed by its hash rather than by
/// `'unsafe-inline'`: should plugin text ever reach the DOM as markup, no
/// script in it could run, and the page may only talk to its own origin.
static CSP: LazyLock<String> = LazyLock::new(|| {
    let hash = base64::engine::general_purpose::STANDARD.encode(Sha256::digest(script()));
    format!(
        "default-src 'none'; script-src 'sha256-{hash}'; style-src 'unsafe-inline'; \
         connect-src 'self'; img-src data:; base-uri 'none'; form-action 'none'; \
         frame-ancestors 'none'"
    )
});

fn script() -> &'static str {
    PAGE.split_once("<script>")
        .and_then(|(_, rest)| rest.split_once("</script>"))
        .map_or("", |(script, _)| script)
}

/// `GET /`: the console. Generic over the state so it merges into any router.
pub fn routes<S: Clone + Send + Sync + 'static>() -> Router<S> {
    Router::new().route("/", get(page))
}

async fn page() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            // A new host version brings a new page: never serve a stale one.
            (header::CACHE_CONTROL, "no-cache"),
            (header::CONTENT_SECURITY_POLICY, CSP.as_str()),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            (header::REFERRER_POLICY, "no-referrer"),
        ],
        PAGE,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use axum::http::{Request, StatusCode};
    use tower::ServiceExt;

    #[tokio::test]
    async fn serves_the_page_with_a_csp_naming_its_script() {
        let res =
            routes::<()>().oneshot(Request::get("/").body(Body::empty()).unwrap()).await.unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        assert_eq!(res.headers()[header::CONTENT_TYPE], "text/html; charset=utf-8");
        let csp = res.headers()[header::CONTENT_SECURITY_POLICY].to_str().unwrap().to_owned();
        assert!(csp.contains("script-src 'sha256-"), "{csp}");
        let body = axum::body::to_bytes(res.into_body(), 1 << 20).await.unwrap();
        assert_eq!(body.len(), PAGE.len());
    }

    #[test]
    fn the_page_is_self_contained_and_never_parses_data_as_markup() {
        assert!(script().len() > 1000, "one inline script holds the console's code");
        assert_eq!(PAGE.matches("<script").count(), 1, "a second script would miss the CSP hash");
        for banned in ["innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval("] {
            assert!(!PAGE.contains(banned), "the console uses {banned}");
        }
        for external in ["http://", "https://", "src=\"//", "href=\"//"] {
            assert!(!PAGE.contains(external), "the console requests {external}…");
        }
        assert!(PAGE.len() < 32 * 1024, "the console grew to {} bytes", PAGE.len());
    }
}

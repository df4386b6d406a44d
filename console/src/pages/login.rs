//! Signing in and out.
//!
//! Sign-in takes an `admin` token of this node. The console asks the node
//! who the token is (`GET /v1/whoami`); the node compares its hash with the
//! tokens it keeps. A till's `sale` token is refused here (it may only
//! sell), as is a token the node does not know; five wrong tokens from one
//! address within a minute block sign-ins from it for the rest of the
//! minute (`429` with `Retry-After`).

use crate::auth::{Change, client_ip};
use crate::form::{Errors, Field};
use crate::layout;
use crate::session::{COOKIE, LIFETIME_MS};
use crate::{BASE, Console};
use axum::Router;
use axum::extract::{FromRequestParts, Query, State};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use guild_api::{Scope, WhoAmI};
use maud::{Markup, html};
use serde::Deserialize;

/// The sign-in routes.
pub fn routes() -> Router<Console> {
    Router::new()
        .route("/login", get(form).post(sign_in))
        .route("/logout", post(sign_out))
}

/// `?next=` on the sign-in page.
#[derive(Debug, Default, Deserialize)]
pub struct Next {
    next: Option<String>,
}

/// Where to go after signing in: a page of this console, else the till (a
/// `next` pointing elsewhere is ignored, so the link cannot send anyone
/// off-site).
fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(path)
            if path.starts_with(&format!("{BASE}/"))
                && !path.contains("//")
                && !path.contains('\\')
                && !path.starts_with(&format!("{BASE}/login"))
                && path.chars().all(|c| !c.is_control()) =>
        {
            path.to_string()
        }
        _ => format!("{BASE}/till"),
    }
}

fn page(next: &str, token: &str, errors: &Errors) -> Markup {
    layout::bare(
        "Sign in to the shop's console",
        html! {
            section.card {
                p { "The console runs on this shop's node. Sign in with one of the node's "
                    strong { "admin" } " tokens: " code { "guild node" } " prints one at its first start, and "
                    code { "guild node token create --name NAME --scope admin" } " makes another." }
                form method="post" action={(BASE) "/login"} {
                    input type="hidden" name="next" value=(next);
                    (Field::text("token", "Admin token", "Starts with gld_ and 64 hex characters; it is checked by the node, which keeps only its hash.", token)
                        .kind("password").required().render(errors))
                    button type="submit" { "Sign in" }
                }
                p.muted { "Auditors do not need to sign in: the " a href={(BASE) "/explorer"} { "explorer" } " is read-only." }
            }
        },
    )
}

/// `GET /console/login`.
async fn form(Query(next): Query<Next>) -> Markup {
    page(&safe_next(next.next.as_deref()), "", &Errors::none())
}

/// The sign-in form.
#[derive(Debug, Deserialize)]
struct Login {
    token: String,
    next: Option<String>,
}

/// The client's address, for the throttle.
struct Client(std::net::IpAddr);

impl FromRequestParts<Console> for Client {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &Console) -> Result<Self, Self::Rejection> {
        Ok(Client(client_ip(parts)))
    }
}

/// `POST /console/login`.
async fn sign_in(
    State(console): State<Console>,
    Client(ip): Client,
    axum::Form(login): axum::Form<Login>,
) -> Response {
    let now = guild_os::clock::now_ms();
    let next = safe_next(login.next.as_deref());
    let sessions = &console.sessions;
    if let Some(seconds) = sessions.throttle().blocked(ip, now) {
        let mut errors = Errors::none();
        errors.add(
            "token",
            format!("too many wrong tokens from this computer; try again in {seconds} s"),
        );
        return (
            StatusCode::TOO_MANY_REQUESTS,
            [(header::RETRY_AFTER, seconds.to_string())],
            page(&next, "", &errors),
        )
            .into_response();
    }
    let token = login.token.trim();
    let refuse = |status: StatusCode, message: String| {
        let mut errors = Errors::none();
        errors.add("token", message);
        (status, page(&next, "", &errors)).into_response()
    };
    if !token.starts_with("gld_") {
        sessions.throttle().failed(ip, now);
        return refuse(
            StatusCode::UNAUTHORIZED,
            "this is not an API token: tokens start with gld_ (copy the whole line guild node printed)".into(),
        );
    }
    let who: Result<WhoAmI, _> = console.node.whoami(token).await;
    match who {
        Ok(who) if who.scopes.contains(&Scope::Admin) => {
            let (id, _) = sessions.create(token.to_string(), who.name, now);
            let cookie = format!(
                "{COOKIE}={id}; Path={BASE}; HttpOnly; SameSite=Strict; Max-Age={}",
                LIFETIME_MS / 1000
            );
            ([(header::SET_COOKIE, cookie)], Redirect::to(&next)).into_response()
        }
        Ok(who) => refuse(
            StatusCode::FORBIDDEN,
            format!(
                "the token '{}' is a till's (scope {}); the console needs an admin token: \
                 guild node token create --name NAME --scope admin",
                who.name,
                who.scopes
                    .iter()
                    .map(|s| s.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        ),
        Err(error) if error.is_code("unauthorized") => {
            sessions.throttle().failed(ip, now);
            refuse(
                StatusCode::UNAUTHORIZED,
                "this node does not know that token (revoked, mistyped, or made on another node)"
                    .into(),
            )
        }
        Err(error) => refuse(StatusCode::BAD_GATEWAY, error.to_string()),
    }
}

/// `POST /console/logout`.
async fn sign_out(State(console): State<Console>, change: Change<Empty>) -> Response {
    console.sessions.end(&change.user.id);
    let cookie = format!("{COOKIE}=; Path={BASE}; HttpOnly; SameSite=Strict; Max-Age=0");
    (
        [(header::SET_COOKIE, cookie)],
        Redirect::to(&format!("{BASE}/login")),
    )
        .into_response()
}

/// A form with no fields but the CSRF token.
#[derive(Debug, Deserialize)]
pub struct Empty {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_stays_in_the_console() {
        assert_eq!(
            safe_next(Some("/console/customers?q=ann")),
            "/console/customers?q=ann"
        );
        for bad in [
            "https://evil.example/",
            "//evil.example",
            "/console//evil",
            "/other",
            "/console/login?next=x",
            "/console\\x",
        ] {
            assert_eq!(safe_next(Some(bad)), "/console/till", "{bad}");
        }
        assert_eq!(safe_next(None), "/console/till");
    }
}

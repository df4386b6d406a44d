//! Who is asking: the extractors every page handler takes.
//!
//! - [`Visitor`]: anybody; carries the session if there is one (explorer
//!   pages show a "sign in" link or the user's name with it).
//! - [`SignedIn`]: a page only a signed-in user may see (the shop's own
//!   figures, its customers); without a session, a `GET` is sent to the
//!   sign-in page and comes back here afterwards.
//! - [`Change<T>`]: a request that changes something. It must be a `POST`
//!   from a signed-in session whose form carries that session's CSRF token
//!   in the field [`CSRF_FIELD`]; the rest of the form is parsed as `T`.
//!   Anything else is answered `403` with a page that says why, and
//!   nothing is changed.

use crate::session::{COOKIE, Session};
use crate::{ClientIp, Console, PageError};
use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{Method, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde::de::DeserializeOwned;
use std::net::{IpAddr, Ipv4Addr};

/// The form field that carries the CSRF token.
pub const CSRF_FIELD: &str = "_csrf";

/// The session id in the request's cookie, if any.
fn session_id(parts: &Parts) -> Option<String> {
    parts
        .headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE)
        .map(|(_, value)| value.trim().to_string())
        .filter(|id| id.len() == 32 && id.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// The client address the server put in the request (loopback if none:
/// a router used without one, as in tests).
pub fn client_ip(parts: &Parts) -> IpAddr {
    parts
        .extensions
        .get::<ClientIp>()
        .map(|ip| ip.0)
        .unwrap_or(IpAddr::V4(Ipv4Addr::LOCALHOST))
}

/// The path and query the browser asked for, before nesting stripped
/// [`crate::BASE`] from it.
pub fn original_path(parts: &Parts) -> String {
    let uri = parts
        .extensions
        .get::<axum::extract::OriginalUri>()
        .map(|original| &original.0)
        .unwrap_or(&parts.uri);
    uri.path_and_query()
        .map(|p| p.as_str().to_string())
        .unwrap_or_default()
}

/// Anybody, with their session if they are signed in.
#[derive(Clone, Debug)]
pub struct Visitor {
    /// The session id and session, if signed in.
    pub session: Option<(String, Session)>,
    /// The path and query asked for (for "sign in and come back").
    pub path: String,
}

impl Visitor {
    /// The signed-in session, if any.
    pub fn signed_in(&self) -> Option<&Session> {
        self.session.as_ref().map(|(_, s)| s)
    }
}

impl FromRequestParts<Console> for Visitor {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        console: &Console,
    ) -> Result<Self, Self::Rejection> {
        let now = guild_os::clock::now_ms();
        let session = if console.explorer_only {
            None
        } else {
            session_id(parts).and_then(|id| console.sessions.get(&id, now).map(|s| (id, s)))
        };
        let path = original_path(parts);
        Ok(Visitor { session, path })
    }
}

/// A signed-in user.
#[derive(Clone, Debug)]
pub struct SignedIn {
    /// The session id.
    pub id: String,
    /// The session.
    pub session: Session,
}

impl SignedIn {
    /// The user's `admin` token, for calls to the node.
    pub fn token(&self) -> &str {
        &self.session.token
    }
}

/// Where to sign in and then come back to `path`.
pub fn login_url(path: &str) -> String {
    let back: String = serde_urlencoded::to_string([("next", path)]).unwrap_or_default();
    format!("{}/login?{back}", crate::BASE)
}

impl FromRequestParts<Console> for SignedIn {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        console: &Console,
    ) -> Result<Self, Self::Rejection> {
        let Ok(visitor) = Visitor::from_request_parts(parts, console).await;
        match visitor.session {
            Some((id, session)) => Ok(SignedIn { id, session }),
            None if parts.method == Method::GET || parts.method == Method::HEAD => {
                Err(Redirect::to(&login_url(&visitor.path)).into_response())
            }
            None => Err(PageError::NotSignedIn.into_response()),
        }
    }
}

/// A change from a signed-in user, with its form parsed as `T`.
#[derive(Clone, Debug)]
pub struct Change<T> {
    /// Who makes it.
    pub user: SignedIn,
    /// The form, without the CSRF field.
    pub form: T,
}

impl<T: DeserializeOwned> FromRequest<Console> for Change<T> {
    type Rejection = Response;

    async fn from_request(request: Request, console: &Console) -> Result<Self, Self::Rejection> {
        let (mut parts, body) = request.into_parts();
        if parts.method != Method::POST {
            return Err(PageError::NotAllowed.into_response());
        }
        let user = match SignedIn::from_request_parts(&mut parts, console).await {
            Ok(user) => user,
            Err(_) => return Err(PageError::NotSignedIn.into_response()),
        };
        let request = Request::from_parts(parts, body);
        let bytes = Bytes::from_request(request, console).await.map_err(|_| {
            PageError::BadForm("the form is too large or was cut off".into()).into_response()
        })?;
        let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(&bytes)
            .map_err(|e| PageError::BadForm(e.to_string()).into_response())?;
        let presented = pairs
            .iter()
            .find(|(name, _)| name == CSRF_FIELD)
            .map(|(_, value)| value.as_str())
            .unwrap_or("");
        if !user.session.csrf_matches(presented) {
            return Err(PageError::StaleForm.into_response());
        }
        let rest: Vec<&(String, String)> = pairs.iter().filter(|(n, _)| n != CSRF_FIELD).collect();
        let encoded = serde_urlencoded::to_string(&rest)
            .map_err(|e| PageError::BadForm(e.to_string()).into_response())?;
        let form = serde_urlencoded::from_str(&encoded)
            .map_err(|e| PageError::BadForm(e.to_string()).into_response())?;
        Ok(Change { user, form })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::Request as HttpRequest;

    fn parts(cookie: &str) -> Parts {
        HttpRequest::builder()
            .uri("/console/till")
            .header(header::COOKIE, cookie)
            .body(())
            .unwrap()
            .into_parts()
            .0
    }

    #[test]
    fn the_session_cookie_is_found_among_others_and_checked_for_shape() {
        let id = "0123456789abcdef0123456789abcdef";
        assert_eq!(
            session_id(&parts(&format!("a=b; {COOKIE}={id}; c=d"))).as_deref(),
            Some(id)
        );
        assert_eq!(session_id(&parts(&format!("{COOKIE}=short"))), None);
        assert_eq!(
            session_id(&parts(&format!("{COOKIE}={}", "z".repeat(32)))),
            None
        );
        assert_eq!(session_id(&parts("other=1")), None);
    }

    #[test]
    fn login_url_keeps_where_to_come_back() {
        assert_eq!(
            login_url("/console/till?x=1"),
            "/console/login?next=%2Fconsole%2Ftill%3Fx%3D1"
        );
    }
}

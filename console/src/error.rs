//! What a page answers when it cannot show what was asked: an HTML page
//! with the right status that says what happened and what to do, never a
//! bare status line.

use crate::layout;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use maud::html;

/// Why a page or a change could not be served.
#[derive(Debug, thiserror::Error)]
pub enum PageError {
    /// A change was asked for without signing in.
    #[error("sign in to make changes: nothing was changed")]
    NotSignedIn,
    /// The form's CSRF token is missing or not this session's.
    #[error(
        "this form is out of date or did not come from this console (its security token does not \
         match); reload the page and try again: nothing was changed"
    )]
    StaleForm,
    /// A method the page does not take.
    #[error("this page does not take that kind of request")]
    NotAllowed,
    /// A form that cannot be read at all (a field with the wrong shape is
    /// shown beside the field instead, see [`crate::form`]).
    #[error("the form could not be read: {0}")]
    BadForm(String),
    /// No such page or thing.
    #[error("{0}")]
    NotFound(String),
    /// The node refused or could not answer.
    #[error("{0}")]
    Node(#[from] guild_api::ClientError),
}

impl PageError {
    /// The HTTP status of the answer.
    pub fn status(&self) -> StatusCode {
        match self {
            PageError::NotSignedIn | PageError::StaleForm => StatusCode::FORBIDDEN,
            PageError::NotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            PageError::BadForm(_) => StatusCode::BAD_REQUEST,
            PageError::NotFound(_) => StatusCode::NOT_FOUND,
            PageError::Node(guild_api::ClientError::Node { status, .. }) => {
                StatusCode::from_u16(*status).unwrap_or(StatusCode::BAD_GATEWAY)
            }
            PageError::Node(_) => StatusCode::BAD_GATEWAY,
        }
    }

    /// A short title for the page.
    fn title(&self) -> &'static str {
        match self {
            PageError::NotSignedIn => "Sign in first",
            PageError::StaleForm => "Form out of date",
            PageError::NotAllowed => "Not allowed",
            PageError::BadForm(_) => "Form not readable",
            PageError::NotFound(_) => "Not found",
            PageError::Node(_) => "The node said no",
        }
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let status = self.status();
        let body = html! {
            div.notice.error role="alert" {
                p { (self.to_string()) }
                @if matches!(self, PageError::NotSignedIn) {
                    p { a href=(crate::auth::login_url(&format!("{}/", crate::BASE))) { "Sign in" } }
                }
            }
        };
        (status, layout::bare(self.title(), body)).into_response()
    }
}

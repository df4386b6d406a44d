//! The console's stylesheet and scripts, compiled into the binary: nothing
//! is fetched at run time and there is no build step. `console.js` is on
//! every page; an area that needs more has a script of its own, loaded by
//! its pages only.

use axum::extract::Path;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

/// Every file served under `/console/static/`: (name, content type, text).
pub const FILES: &[(&str, &str, &str)] = &[
    (
        "console.css",
        "text/css; charset=utf-8",
        include_str!("../static/console.css"),
    ),
    (
        "console.js",
        "text/javascript; charset=utf-8",
        include_str!("../static/console.js"),
    ),
    (
        "till.js",
        "text/javascript; charset=utf-8",
        include_str!("../static/till.js"),
    ),
    (
        "explorer.js",
        "text/javascript; charset=utf-8",
        include_str!("../static/explorer.js"),
    ),
];

/// `GET /console/static/{file}`.
pub async fn serve(Path(file): Path<String>) -> Response {
    match FILES.iter().find(|(name, _, _)| *name == file) {
        Some((_, kind, body)) => (
            [
                (header::CONTENT_TYPE, *kind),
                (header::CACHE_CONTROL, "no-cache"),
            ],
            *body,
        )
            .into_response(),
        None => (StatusCode::NOT_FOUND, "no such file").into_response(),
    }
}

/// A `<script>` element for the area script `name` (one of [`FILES`]).
pub fn script(name: &str) -> maud::Markup {
    maud::html! { script src={(crate::BASE) "/static/" (name)} defer {} }
}

//! The frame of every page: head, navigation, the signed-in user, and the
//! one stylesheet and script.

use crate::auth::{CSRF_FIELD, Visitor};
use crate::session::Session;
use maud::{DOCTYPE, Markup, PreEscaped, html};

/// The areas of the console, in navigation order: (path under
/// [`crate::BASE`], label, explorer: shown on a read-only explorer).
pub const AREAS: [(&str, &str, bool); 7] = [
    ("/till", "Till", false),
    ("/dashboard", "Dashboard", false),
    ("/customers", "Customers", false),
    ("/programme", "Programme", false),
    ("/settlement", "Settlement", false),
    ("/network", "Network", true),
    ("/explorer", "Explorer", true),
];

/// A full page in area `area` (a path of [`AREAS`]) titled `title`.
pub fn page(
    visitor: &Visitor,
    explorer_only: bool,
    area: &str,
    title: &str,
    body: Markup,
) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            (head(title))
            body {
                a.skip href="#main" { "Skip to content" }
                header.top {
                    a.brand href={(crate::BASE) "/"} { "Guild" }
                    nav aria-label="Console" {
                        ul {
                            @for (path, label, explorer) in AREAS {
                                @if explorer || !explorer_only {
                                    li {
                                        a href={(crate::BASE) (path)}
                                            aria-current=[(path == area).then_some("page")] { (label) }
                                    }
                                }
                            }
                        }
                    }
                    div.user {
                        @if let Some(session) = visitor.signed_in() {
                            span { "Signed in (" (session.token_name) ")" }
                            form method="post" action={(crate::BASE) "/logout"} {
                                (csrf(session))
                                button.link type="submit" { "Sign out" }
                            }
                        } @else if !explorer_only {
                            a href=(crate::auth::login_url(&visitor.path)) { "Sign in" }
                        }
                    }
                }
                main #main { h1 { (title) } (body) }
            }
        }
    }
}

/// A page without navigation (sign-in, errors).
pub fn bare(title: &str, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            (head(title))
            body {
                header.top { a.brand href={(crate::BASE) "/"} { "Guild" } }
                main #main { h1 { (title) } (body) }
            }
        }
    }
}

fn head(title: &str) -> Markup {
    html! {
        head {
            meta charset="utf-8";
            meta name="viewport" content="width=device-width, initial-scale=1";
            title { (title) " · Guild" }
            link rel="stylesheet" href={(crate::BASE) "/static/console.css"};
            script src={(crate::BASE) "/static/console.js"} defer {}
        }
    }
}

/// The hidden CSRF field every form that changes something carries.
pub fn csrf(session: &Session) -> Markup {
    html! { input type="hidden" name=(CSRF_FIELD) value=(session.csrf); }
}

/// A notice above a page's content (`kind`: "ok", "error" or "info").
pub fn notice(kind: &str, text: &str) -> Markup {
    html! { div class={"notice " (kind)} role=(if kind == "error" { "alert" } else { "status" }) { (text) } }
}

/// Text inserted as it is (trusted markup made by this crate, e.g. SVG).
pub fn trusted(markup: String) -> Markup {
    PreEscaped(markup)
}

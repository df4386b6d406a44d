//! The console's routing and security rules, without a node: sign-in
//! page, redirects, refusals of changes without a session or with a wrong
//! CSRF token, the explorer-only router.

use crate::session::COOKIE;
use crate::{Console, explorer_router, router};
use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use tower::ServiceExt;

/// A console whose node cannot be reached (nothing listens on port 1).
fn console() -> Console {
    Console::new("http://127.0.0.1:1").unwrap()
}

fn app(console: Console) -> Router {
    router(console)
}

async fn call(app: Router, request: Request<Body>) -> (StatusCode, Option<String>, String) {
    let response = app.oneshot(request).await.unwrap();
    let status = response.status();
    let location = response
        .headers()
        .get(header::LOCATION)
        .map(|l| l.to_str().unwrap().to_string());
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
        .await
        .unwrap();
    (
        status,
        location,
        String::from_utf8_lossy(&bytes).into_owned(),
    )
}

fn get(path: &str) -> Request<Body> {
    Request::get(path).body(Body::empty()).unwrap()
}

fn post(path: &str, cookie: Option<&str>, form: &str) -> Request<Body> {
    let mut request =
        Request::post(path).header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
    if let Some(cookie) = cookie {
        request = request.header(header::COOKIE, cookie);
    }
    request.body(Body::from(form.to_string())).unwrap()
}

#[tokio::test]
async fn the_sign_in_page_explains_which_token() {
    let (status, _, body) = call(app(console()), get("/console/login")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        body.contains("Sign in to the shop&#39;s console")
            || body.contains("Sign in to the shop's console"),
        "{body}"
    );
    assert!(body.contains("guild node token create --name NAME --scope admin"));
    assert!(body.contains(r#"type="password""#));
}

#[tokio::test]
async fn a_shop_page_sends_a_visitor_to_sign_in_and_back() {
    let (status, location, _) = call(app(console()), get("/console/dashboard")).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(
        location.as_deref(),
        Some("/console/login?next=%2Fconsole%2Fdashboard")
    );
    let (status, location, _) = call(app(console()), get("/console/")).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(
        location.as_deref(),
        Some("/console/login?next=%2Fconsole%2Ftill")
    );
}

#[tokio::test]
async fn a_change_without_a_session_is_refused_and_says_so() {
    let (status, _, body) = call(app(console()), post("/console/logout", None, "_csrf=x")).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(
        body.contains("sign in to make changes: nothing was changed"),
        "{body}"
    );
    // A made-up session id is no session.
    let cookie = format!("{COOKIE}={}", "ab".repeat(16));
    let (status, _, _) = call(
        app(console()),
        post("/console/logout", Some(&cookie), "_csrf=x"),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn a_change_with_a_wrong_csrf_token_is_refused() {
    let console = console();
    let (id, session) =
        console
            .sessions
            .create("gld_t".into(), "console".into(), guild_os::clock::now_ms());
    let cookie = format!("{COOKIE}={id}");
    for form in [
        "",
        "_csrf=",
        "_csrf=0123",
        &format!("_csrf={}0", session.csrf),
    ] {
        let (status, _, body) = call(
            app(console.clone()),
            post("/console/logout", Some(&cookie), form),
        )
        .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{form}");
        assert!(body.contains("security token does not match"), "{body}");
    }
    assert!(
        console
            .sessions
            .get(&id, guild_os::clock::now_ms())
            .is_some(),
        "still signed in"
    );
    // With the right token, signing out works and ends the session.
    let (status, location, _) = call(
        app(console.clone()),
        post(
            "/console/logout",
            Some(&cookie),
            &format!("_csrf={}", session.csrf),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(location.as_deref(), Some("/console/login"));
    assert!(
        console
            .sessions
            .get(&id, guild_os::clock::now_ms())
            .is_none()
    );
}

#[tokio::test]
async fn wrong_sign_ins_are_limited_per_address() {
    let console = console();
    for _ in 0..crate::session::MAX_FAILURES {
        let (status, _, body) = call(
            app(console.clone()),
            post("/console/login", None, "token=nope"),
        )
        .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert!(body.contains("tokens start with gld_"), "{body}");
    }
    let (status, _, body) = call(
        app(console.clone()),
        post("/console/login", None, "token=nope"),
    )
    .await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert!(
        body.contains("too many wrong tokens from this computer"),
        "{body}"
    );
}

#[tokio::test]
async fn an_unreachable_node_is_said_plainly() {
    let (status, _, body) = call(
        app(console()),
        post(
            "/console/login",
            None,
            &format!("token=gld_{}", "0".repeat(64)),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_GATEWAY);
    assert!(body.contains("cannot reach node"), "{body}");
}

#[tokio::test]
async fn the_explorer_router_has_no_sign_in_and_no_shop_pages() {
    let app = explorer_router(console());
    let (status, _, _) = call(app.clone(), get("/console/login")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _, _) = call(app.clone(), get("/console/till")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, location, _) = call(app.clone(), get("/console/")).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(location.as_deref(), Some("/console/explorer"));
    let (status, _, css) = call(app, get("/console/static/console.css")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(css.contains("--accent"));
}

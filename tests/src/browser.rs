//! A real browser for tests of the web console: headless Chromium driven
//! through `chromedriver` (WebDriver, with the `fantoccini` client).
//!
//! The idea: a test sees a page the way a shop owner does, rendered by a
//! real browser with its JavaScript running, and asks only what a person
//! could see or do (fill a field, click a button, read a heading). Each
//! [`Browser`] owns one `chromedriver` on a free loopback port and one
//! Chromium with a fresh profile in a temporary directory, so tests never
//! share cookies, storage or ports and can run in parallel.
//!
//! These are test helpers: every method panics with a message that says
//! what was expected, on which page, and what the page showed instead. A
//! wait is always bounded. Dropping the [`Browser`] (also while a test
//! panics) ends the WebDriver session, then kills `chromedriver` and every
//! Chromium process it started, so nothing is left running.
//!
//! Where Chromium or `chromedriver` is missing, a test calls
//! [`Browser::skip`] first: it prints why the test did not run, unless
//! `GUILD_REQUIRE_BROWSER=1` (CI sets it), where a missing browser fails
//! the test instead.
//!
//! ```no_run
//! # async fn example() {
//! use guild_tests::browser::Browser;
//! use std::time::Duration;
//! if Browser::skip("example") {
//!     return;
//! }
//! let browser = Browser::start().await;
//! browser.goto("http://127.0.0.1:7601/console/login").await;
//! browser.fill("input[name=token]", "secret").await;
//! browser.click("button[type=submit]").await;
//! browser.wait_for_text("h1", "Today", Duration::from_secs(10)).await;
//! browser.maybe_screenshot("today").await;
//! # }
//! ```

use fantoccini::elements::Element;
use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::{Value, json};
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The Chromium binary (Debian's `chromium` package).
pub const CHROMIUM: &str = "/usr/bin/chromium";
/// The WebDriver server for it (Debian's `chromium-driver` package).
pub const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
/// Set to `1` to make a missing browser fail a test instead of skipping it.
pub const REQUIRE_ENV: &str = "GUILD_REQUIRE_BROWSER";
/// Set to a directory to make [`Browser::maybe_screenshot`] write PNGs there.
pub const SCREENSHOTS_ENV: &str = "GUILD_SCREENSHOTS";

/// How long [`Browser::fill`], [`Browser::click`] and [`Browser::text`]
/// wait for their element to appear (pages may render it from JavaScript).
pub const ELEMENT_WAIT: Duration = Duration::from_secs(10);
/// How long `chromedriver` may take to answer `/status`.
const DRIVER_START: Duration = Duration::from_secs(20);
/// How long the polite shutdown (closing the session) may take in `Drop`.
const SHUTDOWN: Duration = Duration::from_secs(5);
/// How often a wait looks again.
const POLL: Duration = Duration::from_millis(50);

/// Chromium's command-line switches: headless, no sandbox (tests run as
/// root in CI), and nothing that reaches out to the network on its own.
const CHROMIUM_ARGS: [&str; 10] = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1280,900",
];

/// A headless Chromium behind its own `chromedriver`, with one WebDriver
/// session. See the [module documentation](self).
pub struct Browser {
    client: Client,
    /// The WebDriver session, closed by `Drop` over a plain socket.
    session: Option<String>,
    driver: Child,
    port: u16,
    /// The driver's log, quoted when something goes wrong.
    log: PathBuf,
    /// Holds the Chromium profile (`--user-data-dir`) and the driver's
    /// log; removed after the processes are gone.
    dir: tempfile::TempDir,
}

impl Browser {
    /// Why no browser can be started here, if none can.
    pub fn unavailable() -> Option<String> {
        for (binary, package) in [(CHROMIUM, "chromium"), (CHROMEDRIVER, "chromium-driver")] {
            if !Path::new(binary).is_file() {
                return Some(format!("{binary} is missing (apt-get install {package})"));
            }
        }
        match Command::new(CHROMEDRIVER).arg("--version").output() {
            Ok(out) if out.status.success() => None,
            Ok(out) => Some(format!(
                "`{CHROMEDRIVER} --version` failed ({}): {}",
                out.status,
                String::from_utf8_lossy(&out.stderr).trim()
            )),
            Err(e) => Some(format!("cannot run {CHROMEDRIVER}: {e}")),
        }
    }

    /// Whether Chromium and `chromedriver` are installed and run.
    pub fn available() -> bool {
        Self::unavailable().is_none()
    }

    /// The skip rule, called first by every browser test: `true` (after
    /// printing why `test` did not run) when no browser is available;
    /// panics instead when `GUILD_REQUIRE_BROWSER=1`.
    pub fn skip(test: &str) -> bool {
        let Some(reason) = Self::unavailable() else {
            return false;
        };
        let required = std::env::var(REQUIRE_ENV).is_ok_and(|v| v == "1");
        assert!(
            !required,
            "{REQUIRE_ENV}=1 but no browser can be started for {test}: {reason}"
        );
        eprintln!("SKIPPED {test}: no browser ({reason}); install chromium and chromium-driver");
        true
    }

    /// Starts `chromedriver` on a free loopback port, waits (bounded) until
    /// it answers `/status`, and opens a session with a headless Chromium
    /// on a fresh profile.
    pub async fn start() -> Browser {
        let dir = tempfile::Builder::new()
            .prefix("guild-browser-")
            .tempdir()
            .unwrap_or_else(|e| panic!("cannot create the browser's temporary directory: {e}"));
        let log = dir.path().join("chromedriver.log");
        let profile = dir.path().join("profile");
        let port = free_port();
        let driver = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .arg(format!("--log-path={}", log.display()))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            // Its own process group, so `Drop` can kill the driver and
            // every Chromium process under it with one signal.
            .process_group(0)
            .spawn();
        let driver = driver.unwrap_or_else(|e| panic!("cannot start {CHROMEDRIVER}: {e}"));
        let mut browser = Browser {
            client: connect_when_ready(port, &log, &profile, driver.id()).await,
            session: None,
            driver,
            port,
            log,
            dir,
        };
        browser.session = browser.client.session_id().await.ok().flatten();
        browser
    }

    /// The WebDriver client, for what the helpers below do not cover.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// The temporary directory that holds the profile and the driver log.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Opens `url` and waits until the page has loaded.
    pub async fn goto(&self, url: &str) {
        if let Err(e) = self.client.goto(url).await {
            panic!("cannot open {url}: {e}{}", self.driver_log());
        }
    }

    /// The address of the page shown now.
    pub async fn current_url(&self) -> String {
        match self.client.current_url().await {
            Ok(url) => url.to_string(),
            Err(e) => panic!("cannot read the current URL: {e}{}", self.driver_log()),
        }
    }

    /// The page's HTML as the browser has it now (after scripts ran).
    pub async fn source(&self) -> String {
        match self.client.source().await {
            Ok(html) => html,
            Err(e) => panic!("cannot read the page source: {e}{}", self.driver_log()),
        }
    }

    /// Waits up to `timeout` for an element matching the CSS selector `css`.
    pub async fn wait_for(&self, css: &str, timeout: Duration) -> Element {
        let start = Instant::now();
        loop {
            match self.client.find(Locator::Css(css)).await {
                Ok(element) => return element,
                Err(e) if e.is_no_such_element() => {}
                Err(e) => panic!("looking for `{css}` failed: {e}{}", self.driver_log()),
            }
            if start.elapsed() > timeout {
                panic!(
                    "no element matches `{css}` after {timeout:?} on {}{}",
                    self.current_url().await,
                    self.page_excerpt().await
                );
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// Waits up to `timeout` until the first element matching `css` shows
    /// text containing `needle`; returns that text.
    pub async fn wait_for_text(&self, css: &str, needle: &str, timeout: Duration) -> String {
        let start = Instant::now();
        let mut last = None;
        loop {
            match self.client.find(Locator::Css(css)).await {
                Ok(element) => match element.text().await {
                    Ok(text) if text.contains(needle) => return text,
                    Ok(text) => last = Some(text),
                    // Replaced by a script between find and read: look again.
                    Err(e) if e.is_stale_element_reference() => {}
                    Err(e) => panic!("reading the text of `{css}` failed: {e}"),
                },
                Err(e) if e.is_no_such_element() => {}
                Err(e) => panic!("looking for `{css}` failed: {e}{}", self.driver_log()),
            }
            if start.elapsed() > timeout {
                let seen = match last {
                    Some(text) => format!("its text was {text:?}"),
                    None => "no element matched".to_string(),
                };
                panic!(
                    "`{css}` did not show {needle:?} within {timeout:?} on {}: {seen}{}",
                    self.current_url().await,
                    self.page_excerpt().await
                );
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// The visible text of the first element matching `css` (waiting up to
    /// [`ELEMENT_WAIT`] for it).
    pub async fn text(&self, css: &str) -> String {
        let element = self.wait_for(css, ELEMENT_WAIT).await;
        match element.text().await {
            Ok(text) => text,
            Err(e) => panic!("reading the text of `{css}` failed: {e}"),
        }
    }

    /// Replaces the value of the input matching `css` with `text`, typed as
    /// a person would (key events, so the page's scripts see them).
    pub async fn fill(&self, css: &str, text: &str) {
        let element = self.wait_for(css, ELEMENT_WAIT).await;
        if let Err(e) = element.clear().await {
            panic!("cannot clear `{css}`: {e}");
        }
        if let Err(e) = element.send_keys(text).await {
            panic!("cannot type into `{css}`: {e}");
        }
    }

    /// Clicks the element matching `css` (waiting up to [`ELEMENT_WAIT`]).
    pub async fn click(&self, css: &str) {
        let element = self.wait_for(css, ELEMENT_WAIT).await;
        if let Err(e) = element.click().await {
            panic!("cannot click `{css}` on {}: {e}", self.current_url().await);
        }
    }

    /// Writes a PNG of the window to `path` (creating its directory).
    pub async fn screenshot(&self, path: &Path) {
        let png = match self.client.screenshot().await {
            Ok(png) => png,
            Err(e) => panic!("cannot take a screenshot: {e}{}", self.driver_log()),
        };
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .unwrap_or_else(|e| panic!("cannot create {}: {e}", parent.display()));
        }
        std::fs::write(path, png)
            .unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
    }

    /// Writes `DIR/<name>.png` when `GUILD_SCREENSHOTS=DIR` is set (the
    /// documentation's screenshots, `docs/console/*.png`); otherwise does
    /// nothing. Returns the file written. `name` is a plain file name
    /// without `.png`, e.g. `"login"`.
    pub async fn maybe_screenshot(&self, name: &str) -> Option<PathBuf> {
        let path = screenshot_path(std::env::var_os(SCREENSHOTS_ENV), name)?;
        self.screenshot(&path).await;
        Some(path)
    }

    /// The start of the page's visible text, for failure messages.
    async fn page_excerpt(&self) -> String {
        match self.client.find(Locator::Css("body")).await {
            Ok(body) => match body.text().await {
                Ok(text) => format!("\nthe page's text begins:\n{}", excerpt(&text, 1200)),
                Err(_) => String::new(),
            },
            Err(_) => String::new(),
        }
    }

    /// The end of `chromedriver`'s log, for failure messages.
    fn driver_log(&self) -> String {
        driver_log_tail(&self.log)
    }
}

impl Drop for Browser {
    /// Ends the session (chromedriver then quits its Chromium and reaps
    /// it), then kills the driver's whole process group, so no process is
    /// left even if closing failed. Synchronous: `Drop` cannot await, and
    /// it also runs while a test panics.
    fn drop(&mut self) {
        if let Some(session) = &self.session {
            let _ = http_request(
                self.port,
                "DELETE",
                &format!("/session/{session}"),
                SHUTDOWN,
            );
        }
        let group = rustix::process::Pid::from_child(&self.driver);
        let _ = rustix::process::kill_process_group(group, rustix::process::Signal::KILL);
        let _ = self.driver.wait();
        // Wait (bounded) until every process of the group is gone, so the
        // profile directory is not in use when it is removed.
        let start = Instant::now();
        while rustix::process::test_kill_process_group(group).is_ok() && start.elapsed() < SHUTDOWN
        {
            std::thread::sleep(POLL);
        }
    }
}

/// Polls `chromedriver`'s `/status` until it is ready, then opens the
/// session. Panics (with the driver's log) when it does not come up within
/// [`DRIVER_START`].
async fn connect_when_ready(port: u16, log: &Path, profile: &Path, pid: u32) -> Client {
    let start = Instant::now();
    loop {
        let status = tokio::task::spawn_blocking(move || {
            http_request(port, "GET", "/status", Duration::from_secs(2))
        })
        .await
        .ok()
        .and_then(|r| r.ok());
        if let Some(body) = status
            && serde_json::from_str::<Value>(&body)
                .is_ok_and(|v| v["value"]["ready"].as_bool() == Some(true))
        {
            break;
        }
        if start.elapsed() > DRIVER_START {
            panic!(
                "{CHROMEDRIVER} (pid {pid}) did not answer http://127.0.0.1:{port}/status within {DRIVER_START:?}{}",
                driver_log_tail(log)
            );
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let mut builder = ClientBuilder::new(HttpConnector::new());
    builder.capabilities(capabilities(profile));
    match builder.connect(&format!("http://127.0.0.1:{port}")).await {
        Ok(client) => client,
        Err(e) => panic!(
            "{CHROMEDRIVER} could not start {CHROMIUM}: {e}{}",
            driver_log_tail(log)
        ),
    }
}

/// The session's capabilities: headless Chromium with `profile` as its
/// user data directory.
fn capabilities(profile: &Path) -> fantoccini::wd::Capabilities {
    let mut args: Vec<String> = CHROMIUM_ARGS.iter().map(|a| a.to_string()).collect();
    args.push(format!("--user-data-dir={}", profile.display()));
    let caps = json!({
        "browserName": "chrome",
        "goog:chromeOptions": { "binary": CHROMIUM, "args": args },
    });
    match caps {
        Value::Object(map) => map,
        _ => unreachable!("the capabilities are a JSON object literal"),
    }
}

/// Where [`Browser::maybe_screenshot`] writes `name`, given the value of
/// `GUILD_SCREENSHOTS`: nowhere when it is unset or empty.
fn screenshot_path(dir: Option<std::ffi::OsString>, name: &str) -> Option<PathBuf> {
    let dir = dir.filter(|d| !d.is_empty())?;
    let plain = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    assert!(
        plain,
        "screenshot name {name:?} must be a plain file name of letters, digits, '-' and '_' (no extension)"
    );
    Some(PathBuf::from(dir).join(format!("{name}.png")))
}

/// A free TCP port on loopback (bound and released; the driver takes it
/// a moment later).
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or_else(|e| panic!("cannot find a free loopback port: {e}"))
}

/// One HTTP/1.1 request to the driver on loopback, without a body;
/// returns the response body. Blocking, so `Drop` can use it.
fn http_request(port: u16, method: &str, path: &str, timeout: Duration) -> std::io::Result<String> {
    let mut stream = TcpStream::connect_timeout(&([127, 0, 0, 1], port).into(), timeout)?;
    stream.set_read_timeout(Some(timeout))?;
    stream.set_write_timeout(Some(timeout))?;
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    )?;
    let mut response = String::new();
    stream.read_to_string(&mut response)?;
    Ok(response
        .split_once("\r\n\r\n")
        .map(|(_, body)| body.to_string())
        .unwrap_or_default())
}

fn driver_log_tail(log: &Path) -> String {
    match std::fs::read_to_string(log) {
        Ok(text) if !text.trim().is_empty() => {
            let lines: Vec<&str> = text.lines().collect();
            let tail = lines[lines.len().saturating_sub(30)..].join("\n");
            format!("\nchromedriver's log ends:\n{tail}")
        }
        _ => String::new(),
    }
}

/// At most `max` characters of `text`, cut at a character boundary.
fn excerpt(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn screenshots_only_when_the_variable_names_a_directory() {
        assert_eq!(screenshot_path(None, "login"), None);
        assert_eq!(screenshot_path(Some("".into()), "login"), None);
        assert_eq!(
            screenshot_path(Some("docs/console".into()), "today-view"),
            Some(PathBuf::from("docs/console/today-view.png"))
        );
    }

    #[test]
    #[should_panic(expected = "plain file name")]
    fn a_screenshot_name_with_a_path_is_refused() {
        screenshot_path(Some("out".into()), "../escape");
    }

    #[test]
    #[should_panic(expected = "plain file name")]
    fn a_screenshot_name_with_an_extension_is_refused() {
        screenshot_path(Some("out".into()), "login.png");
    }

    #[test]
    fn the_capabilities_name_the_binary_and_a_fresh_profile() {
        let caps = capabilities(Path::new("/tmp/p"));
        let options = &caps["goog:chromeOptions"];
        assert_eq!(options["binary"], CHROMIUM);
        let args: Vec<&str> = options["args"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect();
        assert!(args.contains(&"--headless=new"), "{args:?}");
        assert!(args.contains(&"--no-sandbox"), "{args:?}");
        assert_eq!(args.last(), Some(&"--user-data-dir=/tmp/p"));
    }

    #[test]
    fn excerpts_cut_at_a_character_boundary() {
        assert_eq!(excerpt("héllo", 2), "hé…");
        assert_eq!(excerpt("hi", 5), "hi");
    }
}

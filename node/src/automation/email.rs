//! E-mail through the shop's own SMTP server (optional).
//!
//! A shop that wants `email:` actions writes `automation/smtp.json`:
//!
//! ```json
//! { "host": "smtp.example.com", "port": 587, "security": "starttls",
//!   "username": "hello@rosas-bakery.example", "password_file": "/home/rosa/.smtp-password",
//!   "from": "Rosa's Bakery <hello@rosas-bakery.example>" }
//! ```
//!
//! `security` is `starttls` (port 587 by default), `tls` (implicit TLS,
//! port 465) or `none` (only to a server on this machine, e.g. a local
//! relay). The password is read from its own file when a message is sent,
//! never stored in the configuration. The file is read again for every
//! message, so a change counts without a restart.
//!
//! A message gets a `Message-ID` made from the event's id, so if a crash
//! makes the node send it twice, mail systems can tell it is the same
//! message. A permanent refusal by the server (a 5xx reply, e.g. an
//! unknown mailbox) cancels the event with the server's words; anything
//! else is retried like a webhook.

use super::AutomationError;
use super::delivery::Outcome;
use lettre::message::Mailbox;
use lettre::message::header::ContentType;
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use serde::Deserialize;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The configuration's name in the automation directory.
pub const FILE_NAME: &str = "smtp.json";
const MAX_FILE_BYTES: u64 = 64 * 1024;
const MAX_PASSWORD_BYTES: u64 = 4096;
/// How long one SMTP command may take.
pub const SMTP_TIMEOUT: Duration = Duration::from_secs(30);

/// How the connection to the server is protected.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Security {
    /// Plain connection upgraded with STARTTLS (refused if the server
    /// cannot).
    Starttls,
    /// TLS from the first byte.
    Tls,
    /// No encryption: only to this machine.
    None,
}

/// The shop's SMTP server.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SmtpConfig {
    /// The server's host name.
    pub host: String,
    /// Its port (default: 587 for STARTTLS, 465 for TLS, 25 for none).
    #[serde(default)]
    pub port: Option<u16>,
    /// How the connection is protected.
    pub security: Security,
    /// The user name to log in with, if any.
    #[serde(default)]
    pub username: Option<String>,
    /// The file holding the password (relative: to the automation
    /// directory).
    #[serde(default)]
    pub password_file: Option<PathBuf>,
    /// The sender, e.g. `Rosa's Bakery <hello@rosas-bakery.example>`.
    pub from: String,
}

impl SmtpConfig {
    /// Reads `smtp.json` of the automation directory `dir` (`None`: no
    /// e-mail configured).
    pub fn load(dir: &Path) -> Result<Option<SmtpConfig>, AutomationError> {
        let path = dir.join(FILE_NAME);
        let Some(bytes) = guild_os::durable::read_bounded(&path, MAX_FILE_BYTES)? else {
            return Ok(None);
        };
        let corrupt = |reason: String| AutomationError::Corrupt {
            path: path.clone(),
            reason,
        };
        let config: SmtpConfig = serde_json::from_slice(&bytes)
            .map_err(|e| corrupt(format!("not an SMTP configuration: {e}")))?;
        config.check().map_err(corrupt)?;
        Ok(Some(config))
    }

    fn check(&self) -> Result<(), String> {
        if self.host.trim().is_empty() {
            return Err("the host is empty".into());
        }
        if self.security == Security::None
            && !matches!(self.host.as_str(), "localhost" | "127.0.0.1" | "::1")
        {
            return Err(
                "security \"none\" sends passwords and messages in the clear: it is allowed only to localhost; use starttls or tls".into(),
            );
        }
        self.sender()?;
        if self.username.is_some() != self.password_file.is_some() {
            return Err("give both username and password_file, or neither".into());
        }
        Ok(())
    }

    fn sender(&self) -> Result<Mailbox, String> {
        self.from
            .parse()
            .map_err(|e| format!("from {:?} is not an e-mail address: {e}", self.from))
    }

    fn port(&self) -> u16 {
        self.port.unwrap_or(match self.security {
            Security::Starttls => 587,
            Security::Tls => 465,
            Security::None => 25,
        })
    }
}

/// Builds the message of event `id` to `to` (name and address).
pub fn message(
    config: &SmtpConfig,
    to_name: Option<&str>,
    to_address: &str,
    subject: &str,
    body: &str,
    id: &str,
) -> Result<Message, String> {
    let from = config.sender()?;
    let address = to_address
        .parse()
        .map_err(|e| format!("{to_address:?} is not an e-mail address: {e}"))?;
    let to = Mailbox::new(to_name.map(str::to_string), address);
    let domain = from.email.domain().to_string();
    Message::builder()
        .from(from)
        .to(to)
        .subject(subject)
        .message_id(Some(format!("<{id}@{domain}>")))
        .header(ContentType::TEXT_PLAIN)
        .body(body.to_string())
        .map_err(|e| format!("cannot build the message: {e}"))
}

/// Sends `message` through the server of `config` (with the password from
/// `dir`'s point of view).
pub async fn send(config: &SmtpConfig, dir: &Path, message: Message) -> Outcome {
    let builder = match config.security {
        Security::Starttls => AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&config.host),
        Security::Tls => AsyncSmtpTransport::<Tokio1Executor>::relay(&config.host),
        Security::None => Ok(AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(
            config.host.clone(),
        )),
    };
    let mut builder = match builder {
        Ok(builder) => builder.port(config.port()).timeout(Some(SMTP_TIMEOUT)),
        Err(error) => {
            return Outcome::Retry {
                detail: format!("cannot set up the SMTP connection: {error}"),
                http_status: None,
            };
        }
    };
    if let (Some(username), Some(file)) = (&config.username, &config.password_file) {
        let path = if file.is_absolute() {
            file.clone()
        } else {
            dir.join(file)
        };
        let password = match guild_os::durable::read_bounded(&path, MAX_PASSWORD_BYTES) {
            Ok(Some(bytes)) => String::from_utf8_lossy(&bytes).trim().to_string(),
            Ok(None) => {
                return Outcome::Retry {
                    detail: format!("the SMTP password file {} is missing", path.display()),
                    http_status: None,
                };
            }
            Err(error) => {
                return Outcome::Retry {
                    detail: format!("cannot read the SMTP password: {error}"),
                    http_status: None,
                };
            }
        };
        builder = builder.credentials(Credentials::new(username.clone(), password));
    }
    let mailer = builder.build();
    match mailer.send(message).await {
        Ok(response) => Outcome::Done {
            detail: format!(
                "accepted by {} ({})",
                config.host,
                response.message().collect::<Vec<_>>().join(" ")
            )
            .chars()
            .take(200)
            .collect(),
            http_status: None,
            points: None,
        },
        Err(error) if error.is_permanent() => Outcome::Cancel {
            reason: format!("the SMTP server refused the message: {error}")
                .chars()
                .take(300)
                .collect(),
        },
        Err(error) => Outcome::Retry {
            detail: format!("SMTP: {error}").chars().take(300).collect(),
            http_status: None,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> SmtpConfig {
        SmtpConfig {
            host: "smtp.example.com".into(),
            port: None,
            security: Security::Starttls,
            username: Some("hello@rosa.example".into()),
            password_file: Some("smtp-password".into()),
            from: "Rosa's Bakery <hello@rosa.example>".into(),
        }
    }

    #[test]
    fn the_configuration_is_read_and_checked() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(SmtpConfig::load(dir.path()).unwrap(), None);
        std::fs::write(
            dir.path().join(FILE_NAME),
            r#"{"host":"smtp.example.com","security":"starttls","username":"u","password_file":"p","from":"Rosa <hello@rosa.example>"}"#,
        )
        .unwrap();
        let loaded = SmtpConfig::load(dir.path()).unwrap().unwrap();
        assert_eq!(loaded.port(), 587);
        for (text, why) in [
            (
                r#"{"host":"smtp.example.com","security":"none","from":"a@b.example"}"#,
                "only to localhost",
            ),
            (
                r#"{"host":"smtp.example.com","security":"tls","from":"nobody"}"#,
                "not an e-mail address",
            ),
            (
                r#"{"host":"smtp.example.com","security":"tls","username":"u","from":"a@b.example"}"#,
                "both username and password_file",
            ),
            (
                r#"{"host":"smtp.example.com","security":"rot13","from":"a@b.example"}"#,
                "unknown variant",
            ),
        ] {
            std::fs::write(dir.path().join(FILE_NAME), text).unwrap();
            let error = SmtpConfig::load(dir.path()).unwrap_err().to_string();
            assert!(error.contains(why), "{text}: {error}");
        }
    }

    #[test]
    fn messages_carry_the_event_id_and_the_filled_in_text() {
        let message = message(
            &config(),
            Some("Mrs Lee"),
            "lee@example.com",
            "Happy birthday, Mrs Lee",
            "A treat is waiting for you at Rosa's.",
            "evt_0123",
        )
        .unwrap();
        let text = String::from_utf8(message.formatted()).unwrap();
        assert!(
            text.contains("Message-ID: <evt_0123@rosa.example>"),
            "{text}"
        );
        assert!(text.contains("To: \"Mrs Lee\" <lee@example.com>"), "{text}");
        assert!(text.contains("Subject: Happy birthday, Mrs Lee"), "{text}");
        assert!(
            text.contains("A treat is waiting for you at Rosa's."),
            "{text}"
        );
        let from = text.lines().find(|l| l.starts_with("From: ")).unwrap();
        assert!(from.ends_with("<hello@rosa.example>"), "{text}");
        let error =
            super::message(&config(), None, "not an address", "s", "b", "evt_1").unwrap_err();
        assert!(error.contains("is not an e-mail address"), "{error}");
    }
}

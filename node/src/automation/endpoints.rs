//! The shop's webhook endpoints and their signing secrets:
//! `automation/webhooks.json`, readable by the node's user only (mode
//! 0600, as every file [`guild_os::durable::write_atomically`] writes).
//!
//! ```json
//! { "version": 1,
//!   "endpoints": [
//!     { "id": "wh_1a2b3c4d5e6f7a8b", "url": "https://crm.example/hooks/guild",
//!       "description": "our CRM", "created_ms": 1767225600000,
//!       "secret": "whsec_…" } ] }
//! ```
//!
//! Unlike API tokens, the secret itself is kept: the node signs every
//! delivery with it. It is shown once, when the endpoint is added; lists
//! show only its first characters.

use super::AutomationError;
use super::webhook::WebhookSecret;
use guild_api::automation::{NewWebhook, WebhookInfo};
use guild_os::durable::{self, Existing};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// The file's name in the automation directory.
pub const FILE_NAME: &str = "webhooks.json";
/// The most endpoints a shop keeps.
pub const MAX_ENDPOINTS: usize = 32;
/// The longest URL accepted.
pub const MAX_URL_LEN: usize = 2000;
/// The longest description.
pub const MAX_DESCRIPTION_LEN: usize = 200;
const MAX_FILE_BYTES: u64 = 1024 * 1024;
const VERSION: u32 = 1;

/// One endpoint, with its secret.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Endpoint {
    /// `wh_` and 16 hex characters.
    pub id: String,
    /// Where events are POSTed.
    pub url: String,
    /// A note for people.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// When it was added.
    pub created_ms: u64,
    /// The signing secret, `whsec_…`.
    secret: String,
}

impl Endpoint {
    /// Its secret.
    pub fn secret(&self) -> Result<WebhookSecret, AutomationError> {
        self.secret.parse().map_err(|_| AutomationError::Corrupt {
            path: PathBuf::from(FILE_NAME),
            reason: format!("the secret of endpoint {} is not a whsec_ secret", self.id),
        })
    }

    /// What the API shows (never the secret).
    pub fn info(&self) -> WebhookInfo {
        let prefix = match self.secret() {
            Ok(secret) => secret.prefix(),
            Err(_) => "whsec_?".to_string(),
        };
        WebhookInfo {
            id: self.id.clone(),
            url: self.url.clone(),
            description: self.description.clone(),
            created_ms: self.created_ms,
            secret_prefix: prefix,
        }
    }
}

#[derive(Serialize, Deserialize)]
struct EndpointFile {
    version: u32,
    endpoints: Vec<Endpoint>,
}

/// Checks a receiver's URL: `http` or `https`, a host, no user name or
/// password in it.
pub fn check_url(text: &str) -> Result<reqwest::Url, AutomationError> {
    let bad = |reason: &str| AutomationError::BadUrl {
        url: text.chars().take(120).collect(),
        reason: reason.to_string(),
    };
    if text.len() > MAX_URL_LEN {
        return Err(bad("it is too long"));
    }
    let url = reqwest::Url::parse(text.trim()).map_err(|e| bad(&e.to_string()))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(bad(
            "it must start with https:// (or http:// on the shop's own network)",
        ));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(bad("it names no host"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(bad(
            "it holds a user name or password; receivers check the signature instead",
        ));
    }
    Ok(url)
}

/// `webhooks.json` in the automation directory.
#[derive(Clone, Debug)]
pub struct EndpointStore {
    path: PathBuf,
}

impl EndpointStore {
    /// The file in `dir`.
    pub fn new(dir: &Path) -> EndpointStore {
        EndpointStore {
            path: dir.join(FILE_NAME),
        }
    }

    /// Every endpoint, oldest first (none without a file).
    pub fn load(&self) -> Result<Vec<Endpoint>, AutomationError> {
        let Some(bytes) = durable::read_bounded(&self.path, MAX_FILE_BYTES)? else {
            return Ok(Vec::new());
        };
        let corrupt = |reason: String| AutomationError::Corrupt {
            path: self.path.clone(),
            reason,
        };
        let file: EndpointFile = serde_json::from_slice(&bytes)
            .map_err(|e| corrupt(format!("not a list of webhook endpoints: {e}")))?;
        if file.version != VERSION {
            return Err(corrupt(format!(
                "format version {} where this node reads version {VERSION}",
                file.version
            )));
        }
        if file.endpoints.len() > MAX_ENDPOINTS {
            return Err(corrupt(format!("more than {MAX_ENDPOINTS} endpoints")));
        }
        Ok(file.endpoints)
    }

    fn save(&self, endpoints: Vec<Endpoint>) -> Result<(), AutomationError> {
        let file = EndpointFile {
            version: VERSION,
            endpoints,
        };
        let mut bytes = serde_json::to_vec_pretty(&file).map_err(|e| AutomationError::Corrupt {
            path: self.path.clone(),
            reason: format!("cannot encode the endpoints: {e}"),
        })?;
        bytes.push(b'\n');
        durable::write_atomically(&self.path, &bytes, Existing::Replace)?;
        Ok(())
    }

    /// Adds an endpoint with a new secret; returns it and the secret (the
    /// only time it is shown).
    pub fn add(
        &self,
        request: &NewWebhook,
        now_ms: u64,
    ) -> Result<(Endpoint, WebhookSecret), AutomationError> {
        let url = check_url(&request.url)?;
        let description = match &request.description {
            Some(text)
                if text.len() > MAX_DESCRIPTION_LEN || text.chars().any(char::is_control) =>
            {
                return Err(AutomationError::Invalid(
                    guild_api::automation::SpecError::Mismatch {
                        reason: format!(
                            "the description must be one line of at most {MAX_DESCRIPTION_LEN} bytes"
                        ),
                    },
                ));
            }
            Some(text) if !text.trim().is_empty() => Some(text.trim().to_string()),
            _ => None,
        };
        let mut endpoints = self.load()?;
        if endpoints.len() >= MAX_ENDPOINTS {
            return Err(AutomationError::Limit {
                what: "webhook endpoints",
                limit: MAX_ENDPOINTS,
            });
        }
        let secret = WebhookSecret::generate().map_err(AutomationError::Randomness)?;
        let mut id = [0u8; 8];
        getrandom::fill(&mut id).map_err(AutomationError::Randomness)?;
        let endpoint = Endpoint {
            id: format!("wh_{}", hex::encode(id)),
            url: url.to_string(),
            description,
            created_ms: now_ms,
            secret: secret.reveal(),
        };
        endpoints.push(endpoint.clone());
        self.save(endpoints)?;
        Ok((endpoint, secret))
    }

    /// Removes endpoint `id`.
    pub fn remove(&self, id: &str) -> Result<Endpoint, AutomationError> {
        let mut endpoints = self.load()?;
        let index = endpoints
            .iter()
            .position(|e| e.id == id)
            .ok_or_else(|| AutomationError::UnknownWebhook { id: id.into() })?;
        let removed = endpoints.remove(index);
        self.save(endpoints)?;
        Ok(removed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_keep_their_secret_privately_and_list_only_its_prefix() {
        let dir = tempfile::tempdir().unwrap();
        let store = EndpointStore::new(dir.path());
        let (endpoint, secret) = store
            .add(
                &NewWebhook {
                    url: "https://crm.example/hooks/guild".into(),
                    description: Some("our CRM".into()),
                },
                5,
            )
            .unwrap();
        assert!(endpoint.id.starts_with("wh_") && endpoint.id.len() == 19);
        let listed = store.load().unwrap();
        assert_eq!(listed.len(), 1);
        assert_eq!(listed[0].secret().unwrap(), secret);
        let info = listed[0].info();
        assert_eq!(info.secret_prefix, secret.prefix());
        assert!(
            !serde_json::to_string(&info)
                .unwrap()
                .contains(&secret.reveal())
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join(FILE_NAME))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        store.remove(&endpoint.id).unwrap();
        assert!(store.load().unwrap().is_empty());
        assert!(matches!(
            store.remove(&endpoint.id),
            Err(AutomationError::UnknownWebhook { .. })
        ));
    }

    #[test]
    fn receiver_urls_are_checked() {
        for good in ["https://crm.example/x", "http://127.0.0.1:9000/hook"] {
            check_url(good).unwrap();
        }
        for (bad, why) in [
            ("crm.example/x", "relative URL"),
            ("ftp://crm.example/x", "https://"),
            ("https://user:pw@crm.example/x", "password"),
        ] {
            let error = check_url(bad).unwrap_err().to_string();
            assert!(error.contains(why), "{bad}: {error}");
        }
    }
}

//! The shop's automations as the node keeps them: `automation/automations.json`.
//!
//! ```json
//! { "version": 1,
//!   "automations": [
//!     { "name": "birthday-treat", "trigger": {"kind": "birthday"},
//!       "condition": {}, "action": {"kind": "reward", "reward": {"kind": "birthday"}},
//!       "holdout_permille": 100, "enabled": true,
//!       "created_ms": 1767225600000, "enabled_ms": 1767225600000, "enabled_height": 42 } ] }
//! ```
//!
//! The trigger, condition and action are the API's types
//! ([`guild_api::automation`]), so what is stored is what was asked for.
//! Every change replaces the whole file atomically and durably
//! ([`guild_os::durable::write_atomically`]); reads are bounded.
//! `enabled_ms`/`enabled_height` record when the automation was last
//! enabled: it acts on what happens from then on, never on the past (a
//! new "days since last purchase" automation does not message every
//! customer who lapsed last year).

use super::AutomationError;
use guild_api::automation::{Action, AutomationInfo, Condition, NewAutomation, Trigger, consents};
use guild_ledger::types::Height;
use guild_os::durable::{self, Existing};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// The file's name in the automation directory.
pub const FILE_NAME: &str = "automations.json";
/// The most automations a shop keeps.
pub const MAX_AUTOMATIONS: usize = 64;
/// The largest file read.
const MAX_FILE_BYTES: u64 = 4 * 1024 * 1024;
/// The format version this code reads and writes.
const VERSION: u32 = 1;

/// One automation: trigger → condition → action.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Automation {
    /// Its unique name.
    pub name: String,
    /// What makes it fire.
    pub trigger: Trigger,
    /// Who it acts for.
    pub condition: Condition,
    /// What it does.
    pub action: Action,
    /// Share of eligible customers held out, per mille.
    pub holdout_permille: u16,
    /// Whether it runs.
    pub enabled: bool,
    /// When it was made, ms since the Unix epoch.
    pub created_ms: u64,
    /// When it was last enabled.
    pub enabled_ms: u64,
    /// The chain's height when it was last enabled: block-driven triggers
    /// act on later blocks only.
    pub enabled_height: Height,
}

impl Automation {
    /// A new automation made now, at chain height `height`.
    pub fn new(spec: NewAutomation, now_ms: u64, height: Height) -> Automation {
        Automation {
            name: spec.name,
            trigger: spec.trigger,
            condition: spec.condition,
            action: spec.action,
            holdout_permille: spec.holdout_permille,
            enabled: spec.enabled,
            created_ms: now_ms,
            enabled_ms: now_ms,
            enabled_height: height,
        }
    }

    /// What the API shows of it.
    pub fn info(&self) -> AutomationInfo {
        AutomationInfo {
            name: self.name.clone(),
            trigger: self.trigger.clone(),
            condition: self.condition.clone(),
            action: self.action.clone(),
            holdout_permille: self.holdout_permille,
            enabled: self.enabled,
            created_ms: self.created_ms,
            enabled_ms: self.enabled_ms,
            event_type: self.trigger.event_type(),
            trigger_text: self.trigger.to_string(),
            action_text: self.action.to_string(),
            consents: consents(&self.trigger, &self.condition, &self.action),
        }
    }
}

#[derive(Serialize, Deserialize)]
struct AutomationFile {
    version: u32,
    automations: Vec<Automation>,
}

/// `automations.json` in the automation directory.
#[derive(Clone, Debug)]
pub struct AutomationFileStore {
    path: PathBuf,
}

impl AutomationFileStore {
    /// The file in `dir`.
    pub fn new(dir: &Path) -> AutomationFileStore {
        AutomationFileStore {
            path: dir.join(FILE_NAME),
        }
    }

    /// Reads the automations (none if there is no file yet).
    pub fn load(&self) -> Result<Vec<Automation>, AutomationError> {
        let Some(bytes) = durable::read_bounded(&self.path, MAX_FILE_BYTES)? else {
            return Ok(Vec::new());
        };
        let corrupt = |reason: String| AutomationError::Corrupt {
            path: self.path.clone(),
            reason,
        };
        let file: AutomationFile = serde_json::from_slice(&bytes)
            .map_err(|e| corrupt(format!("not a list of automations: {e}")))?;
        if file.version != VERSION {
            return Err(corrupt(format!(
                "format version {} where this node reads version {VERSION}",
                file.version
            )));
        }
        if file.automations.len() > MAX_AUTOMATIONS {
            return Err(corrupt(format!("more than {MAX_AUTOMATIONS} automations")));
        }
        Ok(file.automations)
    }

    /// Replaces the file with `automations`.
    pub fn save(&self, automations: &[Automation]) -> Result<(), AutomationError> {
        let file = AutomationFile {
            version: VERSION,
            automations: automations.to_vec(),
        };
        let mut bytes = serde_json::to_vec_pretty(&file).map_err(|e| AutomationError::Corrupt {
            path: self.path.clone(),
            reason: format!("cannot encode the automations: {e}"),
        })?;
        bytes.push(b'\n');
        durable::write_atomically(&self.path, &bytes, Existing::Replace)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn automations_round_trip_through_their_file() {
        let dir = tempfile::tempdir().unwrap();
        let store = AutomationFileStore::new(dir.path());
        assert_eq!(store.load().unwrap(), vec![]);
        let spec = NewAutomation {
            name: "win-back".into(),
            trigger: "days-since-last-purchase:42".parse().unwrap(),
            condition: Condition::default(),
            action: "todo:Call {name}".parse().unwrap(),
            holdout_permille: 100,
            enabled: true,
        };
        let automation = Automation::new(spec, 1_000, Height(7));
        store.save(std::slice::from_ref(&automation)).unwrap();
        assert_eq!(store.load().unwrap(), vec![automation.clone()]);
        let info = automation.info();
        assert_eq!(info.trigger_text, "days-since-last-purchase:42");
        assert_eq!(info.action_text, "todo:Call {name}");
        std::fs::write(
            dir.path().join(FILE_NAME),
            b"{\"version\": 9, \"automations\": []}",
        )
        .unwrap();
        let error = store.load().unwrap_err().to_string();
        assert!(error.contains("format version 9"), "{error}");
    }
}

//! The rules of a directory entry: what a request may ask (checked into
//! [`NewEntry`], [`Update`], [`ConsentSetting`]) and the pure functions
//! that make and change an entry. No I/O and no clock: the time of a
//! change arrives in its [`Provenance`].
//!
//! The values themselves (a name, an email address, a birthday, a note)
//! are checked types of `guild_api::customers::fields`, shared with the
//! command line and the HTTP clients.

use guild_api::customers::{
    Birthday, Consent, ConsentChange, ConsentEvent, ConsentRequest, ConsentState, CustomerEntry,
    CustomerName, CustomerUpdate, Email, FieldError, MAX_CONSENT_LOG, NewCustomer, Note, Purpose,
    Via,
};
use guild_ledger::crypto::{Address, AddressError};

/// Who made a change, when, and through what: recorded with each consent
/// change.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Provenance {
    /// When, in milliseconds since the Unix epoch.
    pub at_ms: u64,
    /// Through what.
    pub via: Via,
    /// The API token's name.
    pub by: String,
}

/// A new entry, checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewEntry {
    /// The customer's key.
    pub address: Address,
    /// Their name.
    pub name: Option<CustomerName>,
    /// Their email address.
    pub email: Option<Email>,
    /// Their birthday.
    pub birthday: Option<Birthday>,
    /// The shop's note.
    pub note: Option<Note>,
    /// The consents they give now.
    pub consent: Vec<Purpose>,
}

/// Why a request's values are refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum EntryError {
    /// The address does not parse.
    #[error(transparent)]
    Address(#[from] AddressError),
    /// A value is not acceptable.
    #[error(transparent)]
    Field(#[from] FieldError),
}

impl NewEntry {
    /// Checks a `POST /v1/customers` body.
    pub fn parse(request: &NewCustomer) -> Result<NewEntry, EntryError> {
        let mut consent = request.consent.clone();
        consent.sort();
        consent.dedup();
        Ok(NewEntry {
            address: request.address.trim().parse()?,
            name: request.name.as_deref().map(CustomerName::new).transpose()?,
            email: request.email.as_deref().map(Email::new).transpose()?,
            birthday: request.birthday.as_deref().map(str::parse).transpose()?,
            note: request.note.as_deref().map(Note::new).transpose()?,
            consent,
        })
    }

    /// A new entry for `address` with nothing but the key.
    pub fn bare(address: Address) -> NewEntry {
        NewEntry {
            address,
            name: None,
            email: None,
            birthday: None,
            note: None,
            consent: Vec::new(),
        }
    }
}

/// A checked `PATCH`: `None` keeps a field, `Some(None)` removes it,
/// `Some(Some(v))` sets it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Update {
    /// The name.
    pub name: Option<Option<CustomerName>>,
    /// The email address.
    pub email: Option<Option<Email>>,
    /// The birthday.
    pub birthday: Option<Option<Birthday>>,
    /// The note.
    pub note: Option<Option<Note>>,
}

/// Checks one field of a patch.
fn patch<T>(
    field: &Option<Option<String>>,
    check: impl Fn(&str) -> Result<T, FieldError>,
) -> Result<Option<Option<T>>, FieldError> {
    match field {
        None => Ok(None),
        Some(None) => Ok(Some(None)),
        Some(Some(text)) => check(text).map(|value| Some(Some(value))),
    }
}

impl Update {
    /// Checks a `PATCH /v1/customers/{address}` body.
    pub fn parse(request: &CustomerUpdate) -> Result<Update, FieldError> {
        Ok(Update {
            name: patch(&request.name, CustomerName::new)?,
            email: patch(&request.email, Email::new)?,
            birthday: patch(&request.birthday, str::parse)?,
            note: patch(&request.note, Note::new)?,
        })
    }

    /// Whether the update names no field.
    pub fn is_empty(&self) -> bool {
        self.name.is_none()
            && self.email.is_none()
            && self.birthday.is_none()
            && self.note.is_none()
    }
}

/// The consents to set (`None`: keep).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ConsentSetting {
    /// To messages.
    pub messages: Option<bool>,
    /// To profiling.
    pub profiling: Option<bool>,
}

impl ConsentSetting {
    /// The setting of a `PUT /v1/customers/{address}/consent` body.
    pub fn of(request: &ConsentRequest) -> ConsentSetting {
        ConsentSetting {
            messages: request.messages,
            profiling: request.profiling,
        }
    }

    /// Whether it sets nothing.
    pub fn is_empty(&self) -> bool {
        self.messages.is_none() && self.profiling.is_none()
    }

    fn get(&self, purpose: Purpose) -> Option<bool> {
        match purpose {
            Purpose::Messages => self.messages,
            Purpose::Profiling => self.profiling,
        }
    }
}

/// Adds `event` to `log`, dropping the oldest beyond [`MAX_CONSENT_LOG`].
fn log(log: &mut Vec<ConsentEvent>, event: ConsentEvent) {
    log.push(event);
    if log.len() > MAX_CONSENT_LOG {
        let excess = log.len() - MAX_CONSENT_LOG;
        log.drain(..excess);
    }
}

/// Sets `purpose` to `given` in `entry` (recording the change) if it is
/// not so already; returns whether it changed.
fn set(entry: &mut CustomerEntry, purpose: Purpose, given: bool, by: &Provenance) -> bool {
    let state = entry.consent.get_mut(purpose);
    // A consent never asked is "no": withdrawing it changes nothing.
    if state.given == given {
        return false;
    }
    *state = ConsentState {
        given,
        last_change: Some(ConsentChange {
            at_ms: by.at_ms,
            via: by.via,
            by: by.by.clone(),
        }),
    };
    log(
        &mut entry.consent_log,
        ConsentEvent {
            purpose,
            given,
            at_ms: by.at_ms,
            via: by.via,
            by: by.by.clone(),
        },
    );
    true
}

/// The entry a new customer gets: the values given, the consents given
/// now (each logged), created and updated at `by.at_ms`.
pub fn create(new: NewEntry, by: &Provenance) -> CustomerEntry {
    let mut entry = CustomerEntry {
        address: new.address,
        name: new.name,
        email: new.email,
        birthday: new.birthday,
        note: new.note,
        consent: Consent::default(),
        consent_log: Vec::new(),
        created_ms: by.at_ms,
        updated_ms: by.at_ms,
    };
    for purpose in new.consent {
        set(&mut entry, purpose, true, by);
    }
    entry
}

/// `entry` with `update` applied at `at_ms`; `None` if nothing changes.
pub fn update(entry: &CustomerEntry, update: &Update, at_ms: u64) -> Option<CustomerEntry> {
    let mut next = entry.clone();
    if let Some(name) = &update.name {
        next.name = name.clone();
    }
    if let Some(email) = &update.email {
        next.email = email.clone();
    }
    if let Some(birthday) = update.birthday {
        next.birthday = birthday;
    }
    if let Some(note) = &update.note {
        next.note = note.clone();
    }
    if next == *entry {
        return None;
    }
    next.updated_ms = entry.updated_ms.max(at_ms);
    Some(next)
}

/// `entry` with `setting` applied; `None` if no consent changes (setting
/// a consent to what it is already is not a change, and is not logged).
pub fn consent(
    entry: &CustomerEntry,
    setting: ConsentSetting,
    by: &Provenance,
) -> Option<CustomerEntry> {
    let mut next = entry.clone();
    let mut changed = false;
    for purpose in Purpose::ALL {
        if let Some(given) = setting.get(purpose) {
            changed |= set(&mut next, purpose, given, by);
        }
    }
    if !changed {
        return None;
    }
    next.updated_ms = entry.updated_ms.max(by.at_ms);
    Some(next)
}

#[cfg(test)]
mod tests {
    use super::*;
    use guild_ledger::Keypair;

    fn by(at_ms: u64) -> Provenance {
        Provenance {
            at_ms,
            via: Via::Cli,
            by: "console".into(),
        }
    }

    fn address() -> Address {
        Keypair::from_secret(&[7; 32]).address()
    }

    #[test]
    fn a_request_is_checked_field_by_field() {
        let mut request = NewCustomer {
            address: format!(" {} ", address()),
            name: Some("Mrs Lee".into()),
            email: Some("lee@Example.com".into()),
            birthday: Some("02-29".into()),
            note: None,
            consent: vec![Purpose::Profiling, Purpose::Messages, Purpose::Messages],
            via: None,
        };
        let new = NewEntry::parse(&request).unwrap();
        assert_eq!(new.address, address());
        assert_eq!(new.email.as_ref().unwrap().as_str(), "lee@example.com");
        assert_eq!(new.consent, vec![Purpose::Messages, Purpose::Profiling]);

        request.email = Some("lee".into());
        assert!(matches!(
            NewEntry::parse(&request),
            Err(EntryError::Field(FieldError::BadEmail { .. }))
        ));
        request.email = None;
        request.birthday = Some("02-30".into());
        assert!(matches!(
            NewEntry::parse(&request),
            Err(EntryError::Field(FieldError::BadBirthday { .. }))
        ));
        request.birthday = None;
        request.address = "guild1nope".into();
        assert!(matches!(
            NewEntry::parse(&request),
            Err(EntryError::Address(_))
        ));
    }

    #[test]
    fn consents_given_at_creation_are_logged() {
        let mut new = NewEntry::bare(address());
        new.consent = vec![Purpose::Messages];
        let entry = create(new, &by(10));
        assert!(entry.consent.messages.given);
        assert_eq!(
            entry.consent.messages.last_change.as_ref().unwrap().at_ms,
            10
        );
        assert!(!entry.consent.profiling.given);
        assert_eq!(entry.consent.profiling.last_change, None, "never asked");
        assert_eq!(entry.consent_log.len(), 1);
        assert_eq!((entry.created_ms, entry.updated_ms), (10, 10));
    }

    #[test]
    fn a_consent_change_is_recorded_once_and_a_repeat_is_no_change() {
        let entry = create(NewEntry::bare(address()), &by(10));
        // Withdrawing a consent never given changes nothing.
        let none = ConsentSetting {
            messages: Some(false),
            profiling: None,
        };
        assert_eq!(consent(&entry, none, &by(11)), None);

        let yes = ConsentSetting {
            messages: Some(true),
            profiling: Some(false),
        };
        let given = consent(&entry, yes, &by(20)).unwrap();
        assert!(given.consent.messages.given);
        assert_eq!(given.consent_log.len(), 1, "profiling stayed no");
        assert_eq!(given.updated_ms, 20);
        assert_eq!(consent(&given, yes, &by(30)), None, "already so");

        let withdrawn = consent(
            &given,
            ConsentSetting {
                messages: Some(false),
                profiling: None,
            },
            &Provenance {
                at_ms: 40,
                via: Via::Console,
                by: "front-desk".into(),
            },
        )
        .unwrap();
        assert!(!withdrawn.consent.messages.given);
        let change = withdrawn.consent.messages.last_change.as_ref().unwrap();
        assert_eq!(
            (change.at_ms, change.via, change.by.as_str()),
            (40, Via::Console, "front-desk")
        );
        let log: Vec<(bool, u64)> = withdrawn
            .consent_log
            .iter()
            .map(|e| (e.given, e.at_ms))
            .collect();
        assert_eq!(log, vec![(true, 20), (false, 40)]);
    }

    #[test]
    fn the_consent_log_keeps_the_newest_changes() {
        let mut entry = create(NewEntry::bare(address()), &by(0));
        for i in 0..(MAX_CONSENT_LOG as u64 + 10) {
            let setting = ConsentSetting {
                messages: Some(i % 2 == 0),
                profiling: None,
            };
            entry = consent(&entry, setting, &by(i + 1)).unwrap();
        }
        assert_eq!(entry.consent_log.len(), MAX_CONSENT_LOG);
        assert_eq!(entry.consent_log.first().unwrap().at_ms, 11);
        assert_eq!(
            entry.consent_log.last().unwrap().at_ms,
            MAX_CONSENT_LOG as u64 + 10
        );
    }

    #[test]
    fn an_update_sets_removes_and_keeps_fields() {
        let mut new = NewEntry::bare(address());
        new.name = Some(CustomerName::new("Mrs Lee").unwrap());
        new.email = Some(Email::new("lee@example.com").unwrap());
        let entry = create(new, &by(10));
        let request: CustomerUpdate =
            serde_json::from_str(r#"{"email":null,"note":"prefers oat milk"}"#).unwrap();
        let changed = update(&entry, &Update::parse(&request).unwrap(), 20).unwrap();
        assert_eq!(changed.name, entry.name, "kept");
        assert_eq!(changed.email, None, "removed");
        assert_eq!(changed.note.as_ref().unwrap().as_str(), "prefers oat milk");
        assert_eq!((changed.created_ms, changed.updated_ms), (10, 20));
        // The same again is no change.
        assert_eq!(
            update(&changed, &Update::parse(&request).unwrap(), 30),
            None
        );
        // A clock that went back never makes updated_ms go back.
        let later = update(
            &changed,
            &Update {
                note: Some(None),
                ..Update::default()
            },
            5,
        )
        .unwrap();
        assert_eq!(later.updated_ms, 20);
        let bad: CustomerUpdate = serde_json::from_str(r#"{"birthday":"13-01"}"#).unwrap();
        assert!(matches!(
            Update::parse(&bad),
            Err(FieldError::BadBirthday { .. })
        ));
    }
}

//! [`Directory`]: the node's one copy of the directory in memory, written
//! through to `customers.json` before any change is seen or answered.

use super::entry::{self, ConsentSetting, NewEntry, Provenance, Update};
use super::erasure::Erasable;
use super::file::{self, Stored, Table};
use super::{ChangeKind, DirectoryChange, DirectoryError, FILE_NAME, MAX_CUSTOMERS};
use guild_api::customers::{
    CalendarDate, CustomerEntry, CustomerPage, CustomerSummary, ErasureReport, HeldData,
    HolderErasure, MAX_PAGE, Purpose,
};
use guild_ledger::crypto::Address;
use std::collections::BTreeMap;
use std::ops::Bound;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, RwLock, RwLockReadGuard};
use tokio::sync::{broadcast, watch};

/// How many changes a slow subscriber may fall behind before it is told it
/// lagged (and should re-read what it cares about).
const CHANGE_CAPACITY: usize = 1024;

/// The directory as loaded: usable, or a file that could not be read
/// (then nothing is served and nothing is written, so the damaged file is
/// never overwritten).
enum Loaded {
    Ready(Table),
    Unavailable(String),
}

struct Inner {
    path: PathBuf,
    table: RwLock<Loaded>,
    /// Held by the one change being written, so changes are written (and
    /// seen) in order and none is lost.
    writer: Mutex<()>,
    changes: broadcast::Sender<DirectoryChange>,
    version: watch::Sender<u64>,
    holders: RwLock<Vec<Arc<dyn Erasable>>>,
}

/// The shop's customer directory. Cheap to clone; clones share one copy.
#[derive(Clone)]
pub struct Directory {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Directory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Directory")
            .field("path", &self.inner.path)
            .field("customers", &self.len())
            .finish_non_exhaustive()
    }
}

/// A page of the directory to list.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PageRequest {
    /// Only entries whose name or email contains this, ignoring case.
    pub search: Option<String>,
    /// Entries after this address.
    pub after: Option<Address>,
    /// How many, 1 to [`MAX_PAGE`].
    pub limit: usize,
}

/// What an import did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImportOutcome {
    /// Entries added.
    pub added: usize,
    /// Customers who had an entry already and were left as they were.
    pub skipped: Vec<Address>,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Directory {
    /// The directory of the data directory `data_dir` (which must exist),
    /// read from its `customers.json` (none: an empty directory).
    pub fn open(data_dir: &Path) -> Result<Directory, DirectoryError> {
        if !data_dir.is_dir() {
            return Err(DirectoryError::NoDataDir {
                path: data_dir.to_path_buf(),
            });
        }
        let path = data_dir.join(FILE_NAME);
        let table = file::read(&path)?;
        Ok(Directory::with(path, Loaded::Ready(table)))
    }

    /// [`Directory::open`], or, if the file cannot be read, a directory
    /// that serves nothing and changes nothing (every call says why,
    /// [`DirectoryError::Unavailable`]; no one may be messaged or
    /// profiled) so that the node still keeps the ledger while its
    /// operator restores the file. The reason is logged.
    pub fn open_or_unavailable(data_dir: &Path) -> Directory {
        match Directory::open(data_dir) {
            Ok(directory) => {
                tracing::info!(customers = directory.len(), path = %directory.path().display(), "customer directory read");
                directory
            }
            Err(error) => {
                let path = data_dir.join(FILE_NAME);
                tracing::error!(%error, "the customer directory cannot be used until its file is restored; the node runs without it");
                Directory::with(path, Loaded::Unavailable(error.to_string()))
            }
        }
    }

    fn with(path: PathBuf, loaded: Loaded) -> Directory {
        let (changes, _) = broadcast::channel(CHANGE_CAPACITY);
        let (version, _) = watch::channel(0);
        Directory {
            inner: Arc::new(Inner {
                path,
                table: RwLock::new(loaded),
                writer: Mutex::new(()),
                changes,
                version,
                holders: RwLock::new(Vec::new()),
            }),
        }
    }

    /// The directory's file.
    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    fn read(&self) -> RwLockReadGuard<'_, Loaded> {
        self.inner
            .table
            .read()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Runs `f` on the table, or says why there is none.
    fn with_table<T>(&self, f: impl FnOnce(&Table) -> T) -> Result<T, DirectoryError> {
        match &*self.read() {
            Loaded::Ready(table) => Ok(f(table)),
            Loaded::Unavailable(reason) => Err(DirectoryError::Unavailable {
                reason: reason.clone(),
            }),
        }
    }

    // ---- reading ----------------------------------------------------------

    /// The entry of `customer`, if any (`None` too when the directory is
    /// unavailable).
    pub fn get(&self, customer: &Address) -> Option<CustomerEntry> {
        self.entry(customer).ok().flatten()
    }

    /// The entry of `customer`, if any, or why the directory cannot say.
    pub fn entry(&self, customer: &Address) -> Result<Option<CustomerEntry>, DirectoryError> {
        self.with_table(|table| table.get(customer).map(|s| s.entry.clone()))
    }

    /// Whether `customer` agreed to `purpose` now. No entry, or an
    /// unavailable directory, means no.
    pub fn allows(&self, customer: &Address, purpose: Purpose) -> bool {
        self.with_table(|table| {
            table
                .get(customer)
                .is_some_and(|s| s.entry.consent.allows(purpose))
        })
        .unwrap_or(false)
    }

    /// Whether the shop may send `customer` a message now.
    pub fn may_message(&self, customer: &Address) -> bool {
        self.allows(customer, Purpose::Messages)
    }

    /// Whether the shop may act on a profile of `customer` now.
    pub fn may_profile(&self, customer: &Address) -> bool {
        self.allows(customer, Purpose::Profiling)
    }

    /// The customers whose birthday is celebrated on `date` (29 February
    /// birthdays on 28 February in other years), in address order,
    /// whatever their consent: check [`Directory::may_message`] before
    /// writing to one.
    pub fn birthdays_on(&self, date: CalendarDate) -> Vec<Address> {
        self.with_table(|table| {
            table
                .values()
                .filter(|s| s.entry.birthday.is_some_and(|b| b.falls_on(date)))
                .map(|s| s.entry.address)
                .collect()
        })
        .unwrap_or_default()
    }

    /// How many entries the directory holds (0 when unavailable).
    pub fn len(&self) -> usize {
        self.with_table(|table| table.len()).unwrap_or(0)
    }

    /// Whether it holds none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// One page of the directory, in address order.
    pub fn page(&self, request: &PageRequest) -> Result<CustomerPage, DirectoryError> {
        let limit = request.limit.clamp(1, MAX_PAGE);
        let needle = request
            .search
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_lowercase);
        let matches = |entry: &CustomerEntry| match &needle {
            None => true,
            Some(needle) => {
                let has =
                    |text: Option<&str>| text.is_some_and(|t| t.to_lowercase().contains(needle));
                has(entry.name.as_ref().map(|n| n.as_str()))
                    || has(entry.email.as_ref().map(|e| e.as_str()))
            }
        };
        self.with_table(|table| {
            let start = match &request.after {
                Some(after) => Bound::Excluded(*after),
                None => Bound::Unbounded,
            };
            let mut page: Vec<CustomerSummary> = table
                .range((start, Bound::Unbounded))
                .map(|(_, s)| &s.entry)
                .filter(|e| matches(e))
                .take(limit + 1)
                .map(CustomerSummary::of)
                .collect();
            let more = page.len() > limit;
            page.truncate(limit);
            let matching = if needle.is_none() {
                table.len()
            } else {
                table.values().filter(|s| matches(&s.entry)).count()
            };
            CustomerPage {
                next: if more {
                    page.last().map(|s| s.address)
                } else {
                    None
                },
                customers: page,
                matching,
                total: table.len(),
            }
        })
    }

    // ---- notifications and other holders ----------------------------------

    /// Every change from now on, as it is made (after it is durable). A
    /// receiver that falls more than 1,024 changes behind gets
    /// `RecvError::Lagged` and should re-read what it holds.
    pub fn subscribe(&self) -> broadcast::Receiver<DirectoryChange> {
        self.inner.changes.subscribe()
    }

    /// A counter that grows with every durable change: wait on it with
    /// `changed()` to re-check whatever depends on the directory.
    pub fn version(&self) -> watch::Receiver<u64> {
        self.inner.version.subscribe()
    }

    /// Adds a holder of derived data, which every erasure reaches and
    /// every export includes.
    pub fn register(&self, holder: Arc<dyn Erasable>) {
        self.inner
            .holders
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .push(holder);
    }

    fn holders(&self) -> Vec<Arc<dyn Erasable>> {
        self.inner
            .holders
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// What the other holders keep about `customer`, for an export.
    pub fn held_elsewhere(&self, customer: &Address) -> Result<Vec<HeldData>, DirectoryError> {
        let mut held = Vec::new();
        for holder in self.holders() {
            let data = holder
                .export(customer)
                .map_err(|e| DirectoryError::HolderFailed {
                    holder: holder.holder().to_string(),
                    reason: e.reason,
                })?;
            if let Some(data) = data {
                held.push(HeldData {
                    holder: holder.holder().to_string(),
                    data,
                });
            }
        }
        Ok(held)
    }

    // ---- changing ----------------------------------------------------------

    /// Writes `changes` (`None`: remove) to the file, then makes them
    /// visible and announces `kinds`. The caller holds the writer lock.
    fn commit(
        &self,
        changes: BTreeMap<Address, Option<Stored>>,
        kinds: Vec<(Address, ChangeKind)>,
    ) -> Result<(), DirectoryError> {
        let bytes = self.with_table(|table| file::encode(table, &changes))?;
        file::write(&self.inner.path, &bytes)?;
        {
            let mut loaded = self
                .inner
                .table
                .write()
                .unwrap_or_else(PoisonError::into_inner);
            if let Loaded::Ready(table) = &mut *loaded {
                for (address, change) in changes {
                    match change {
                        Some(stored) => table.insert(address, stored),
                        None => table.remove(&address),
                    };
                }
            }
        }
        let mut version = 0;
        self.inner.version.send_modify(|v| {
            *v += 1;
            version = *v;
        });
        for (customer, kind) in kinds {
            // No subscriber is not an error.
            let _ = self.inner.changes.send(DirectoryChange {
                customer,
                kind,
                version,
            });
        }
        Ok(())
    }

    /// Adds a customer; refused if they have an entry already
    /// ([`DirectoryError::Exists`]).
    pub fn add(&self, new: NewEntry, by: &Provenance) -> Result<CustomerEntry, DirectoryError> {
        let _writer = lock(&self.inner.writer);
        let address = new.address;
        let (exists, len) = self.with_table(|t| (t.contains_key(&address), t.len()))?;
        if exists {
            return Err(DirectoryError::Exists { customer: address });
        }
        if len >= MAX_CUSTOMERS {
            return Err(DirectoryError::Full {
                reason: format!("it holds {MAX_CUSTOMERS} customers, the most it may"),
            });
        }
        let entry = entry::create(new, by);
        let stored = Stored::new(entry.clone())?;
        self.commit(
            BTreeMap::from([(address, Some(stored))]),
            vec![(address, ChangeKind::Added)],
        )?;
        Ok(entry)
    }

    /// Adds many customers with one write of the file: all of them, or
    /// none. A customer with an entry already is left as they are with
    /// `skip_existing`, else the import is refused. A customer given twice
    /// is refused.
    pub fn import(
        &self,
        entries: Vec<NewEntry>,
        skip_existing: bool,
        by: &Provenance,
    ) -> Result<ImportOutcome, DirectoryError> {
        let _writer = lock(&self.inner.writer);
        let mut changes = BTreeMap::new();
        let mut kinds = Vec::new();
        let mut skipped = Vec::new();
        let len = self.with_table(|table| -> Result<usize, DirectoryError> {
            for new in entries {
                let address = new.address;
                if table.contains_key(&address) {
                    if skip_existing {
                        skipped.push(address);
                        continue;
                    }
                    return Err(DirectoryError::Exists { customer: address });
                }
                let stored = Stored::new(entry::create(new, by))?;
                if changes.insert(address, Some(stored)).is_some() {
                    return Err(DirectoryError::Twice { customer: address });
                }
                kinds.push((address, ChangeKind::Added));
            }
            Ok(table.len())
        })??;
        if len + changes.len() > MAX_CUSTOMERS {
            return Err(DirectoryError::Full {
                reason: format!(
                    "it holds {len} customers and may hold {MAX_CUSTOMERS}: {} more do not fit",
                    changes.len()
                ),
            });
        }
        let added = changes.len();
        if added > 0 {
            self.commit(changes, kinds)?;
        }
        Ok(ImportOutcome { added, skipped })
    }

    /// The entry of `customer`, under the writer lock, or
    /// [`DirectoryError::Unknown`].
    fn existing(&self, customer: &Address) -> Result<CustomerEntry, DirectoryError> {
        self.entry(customer)?.ok_or(DirectoryError::Unknown {
            customer: *customer,
        })
    }

    /// Changes a customer's name, email, birthday or note. An update that
    /// changes nothing writes nothing.
    pub fn update(
        &self,
        customer: &Address,
        update: &Update,
        at_ms: u64,
    ) -> Result<CustomerEntry, DirectoryError> {
        let _writer = lock(&self.inner.writer);
        let current = self.existing(customer)?;
        let Some(next) = entry::update(&current, update, at_ms) else {
            return Ok(current);
        };
        self.commit(
            BTreeMap::from([(*customer, Some(Stored::new(next.clone())?))]),
            vec![(*customer, ChangeKind::Updated)],
        )?;
        Ok(next)
    }

    /// Gives or withdraws consents. The change is durable, visible to
    /// [`Directory::may_message`] / [`Directory::may_profile`] and
    /// announced before this returns. Setting a consent to what it is
    /// already writes nothing.
    pub fn set_consent(
        &self,
        customer: &Address,
        setting: ConsentSetting,
        by: &Provenance,
    ) -> Result<CustomerEntry, DirectoryError> {
        let _writer = lock(&self.inner.writer);
        let current = self.existing(customer)?;
        let Some(next) = entry::consent(&current, setting, by) else {
            return Ok(current);
        };
        let kind = ChangeKind::ConsentChanged {
            messages: next.consent.messages.given,
            profiling: next.consent.profiling.given,
        };
        self.commit(
            BTreeMap::from([(*customer, Some(Stored::new(next.clone())?))]),
            vec![(*customer, kind)],
        )?;
        Ok(next)
    }

    /// Erases `customer`: removes their entry from the file (replaced
    /// without it, durably) and from memory, announces
    /// [`ChangeKind::Erased`], then asks every registered holder to erase
    /// what it derived. The ledger is not touched.
    ///
    /// - The entry's removal fails → nothing was erased; the error says
    ///   why.
    /// - A holder fails → [`DirectoryError::ErasureIncomplete`] with what
    ///   was erased; erase again (the entry is gone, the holders are
    ///   asked again).
    /// - No entry and nothing held anywhere → [`DirectoryError::Unknown`].
    pub fn erase(&self, customer: &Address, at_ms: u64) -> Result<ErasureReport, DirectoryError> {
        let directory_entry = {
            let _writer = lock(&self.inner.writer);
            let had = self.entry(customer)?.is_some();
            if had {
                self.commit(
                    BTreeMap::from([(*customer, None)]),
                    vec![(*customer, ChangeKind::Erased)],
                )?;
            }
            had
        };
        let mut report = ErasureReport {
            customer: *customer,
            erased_ms: at_ms,
            directory_entry,
            holders: Vec::new(),
        };
        let mut failures = Vec::new();
        for holder in self.holders() {
            match holder.erase(customer) {
                Ok(removed) => report.holders.push(HolderErasure {
                    holder: holder.holder().to_string(),
                    removed,
                }),
                Err(error) => failures.push((holder.holder().to_string(), error.reason)),
            }
        }
        if !failures.is_empty() {
            return Err(DirectoryError::ErasureIncomplete {
                report: Box::new(report),
                failures,
            });
        }
        if !directory_entry && report.holders.iter().all(|h| h.removed == 0) {
            return Err(DirectoryError::Unknown {
                customer: *customer,
            });
        }
        tracing::info!(%customer, entry = directory_entry, "customer erased");
        Ok(report)
    }
}

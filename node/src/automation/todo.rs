//! Staff to-dos: the human touch. A `todo:` action adds one ("Call Mrs
//! Lee: a Champion who has not come in for 6 weeks (last visit
//! 2026-10-19, spent £212.00)"); the staff mark it done.
//!
//! Kept in `automation/todos.json`, rewritten atomically on each change.
//! A to-do's id is its event's id, so adding the same event twice (an
//! action retried after a crash) adds it once. Done to-dos are kept
//! [`KEEP_DONE_DAYS`]; open ones are bounded by [`MAX_OPEN`].

use super::AutomationError;
use guild_api::automation::{Explanation, TodoInfo};
use guild_ledger::crypto::Address;
use guild_ledger::types::MS_PER_DAY;
use guild_os::durable::{self, Existing};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// The file's name in the automation directory.
pub const FILE_NAME: &str = "todos.json";
/// The most open to-dos.
pub const MAX_OPEN: usize = 10_000;
/// Days a done to-do is kept.
pub const KEEP_DONE_DAYS: u64 = 90;
const MAX_FILE_BYTES: u64 = 64 * 1024 * 1024;
const VERSION: u32 = 1;

/// One to-do.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Todo {
    /// Its id: the event's id.
    pub id: String,
    /// The automation that added it.
    pub automation: String,
    /// The customer.
    pub customer: Address,
    /// What to do.
    pub text: String,
    /// When it was added.
    pub created_ms: u64,
    /// When it was done.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub done_ms: Option<u64>,
    /// Why.
    pub explanation: Explanation,
}

impl Todo {
    /// What the API shows.
    pub fn info(&self) -> TodoInfo {
        TodoInfo {
            id: self.id.clone(),
            automation: self.automation.clone(),
            customer: self.customer,
            text: self.text.clone(),
            created_ms: self.created_ms,
            done_ms: self.done_ms,
            explanation: self.explanation.clone(),
        }
    }
}

#[derive(Serialize, Deserialize)]
struct TodoFile {
    version: u32,
    todos: Vec<Todo>,
}

/// Whether adding a to-do added it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Added {
    /// Added now.
    New,
    /// It was there already (the same event).
    Already,
}

/// The to-dos, in memory and in their file.
#[derive(Debug)]
pub struct TodoStore {
    path: PathBuf,
    todos: Vec<Todo>,
}

impl TodoStore {
    /// Reads the to-dos of the automation directory `dir`.
    pub fn open(dir: &Path) -> Result<TodoStore, AutomationError> {
        let path = dir.join(FILE_NAME);
        let todos = match durable::read_bounded(&path, MAX_FILE_BYTES)? {
            None => Vec::new(),
            Some(bytes) => {
                let corrupt = |reason: String| AutomationError::Corrupt {
                    path: path.clone(),
                    reason,
                };
                let file: TodoFile = serde_json::from_slice(&bytes)
                    .map_err(|e| corrupt(format!("not a list of to-dos: {e}")))?;
                if file.version != VERSION {
                    return Err(corrupt(format!(
                        "format version {} where this node reads version {VERSION}",
                        file.version
                    )));
                }
                file.todos
            }
        };
        Ok(TodoStore { path, todos })
    }

    fn save(&self) -> Result<(), AutomationError> {
        let file = TodoFile {
            version: VERSION,
            todos: self.todos.clone(),
        };
        let mut bytes = serde_json::to_vec_pretty(&file).map_err(|e| AutomationError::Corrupt {
            path: self.path.clone(),
            reason: format!("cannot encode the to-dos: {e}"),
        })?;
        bytes.push(b'\n');
        durable::write_atomically(&self.path, &bytes, Existing::Replace)?;
        Ok(())
    }

    /// Adds a to-do (once per id).
    pub fn add(&mut self, todo: Todo) -> Result<Added, AutomationError> {
        if self.todos.iter().any(|t| t.id == todo.id) {
            return Ok(Added::Already);
        }
        let open = self.todos.iter().filter(|t| t.done_ms.is_none()).count();
        if open >= MAX_OPEN {
            return Err(AutomationError::Limit {
                what: "open to-dos",
                limit: MAX_OPEN,
            });
        }
        self.todos.push(todo);
        if let Err(error) = self.save() {
            self.todos.pop();
            return Err(error);
        }
        Ok(Added::New)
    }

    /// Marks to-do `id` done (again: no change).
    pub fn done(&mut self, id: &str, now_ms: u64) -> Result<Todo, AutomationError> {
        let index = self
            .todos
            .iter()
            .position(|t| t.id == id)
            .ok_or_else(|| AutomationError::UnknownTodo { id: id.into() })?;
        if self.todos[index].done_ms.is_none() {
            self.todos[index].done_ms = Some(now_ms);
            self.prune(now_ms);
            self.save()?;
        }
        self.todos
            .iter()
            .find(|t| t.id == id)
            .cloned()
            .ok_or_else(|| AutomationError::UnknownTodo { id: id.into() })
    }

    fn prune(&mut self, now_ms: u64) {
        let before = now_ms.saturating_sub(KEEP_DONE_DAYS * MS_PER_DAY);
        self.todos.retain(|t| t.done_ms.is_none_or(|d| d >= before));
    }

    /// Open to-dos (oldest first), then, with `all`, done ones (newest
    /// first).
    pub fn list(&self, all: bool) -> Vec<Todo> {
        let mut open: Vec<Todo> = self
            .todos
            .iter()
            .filter(|t| t.done_ms.is_none())
            .cloned()
            .collect();
        open.sort_by_key(|t| t.created_ms);
        if all {
            let mut done: Vec<Todo> = self
                .todos
                .iter()
                .filter(|t| t.done_ms.is_some())
                .cloned()
                .collect();
            done.sort_by_key(|t| std::cmp::Reverse(t.done_ms));
            open.extend(done);
        }
        open
    }

    /// Erases every to-do naming `customer`; returns how many.
    pub fn forget(&mut self, customer: &Address) -> Result<usize, AutomationError> {
        let before = self.todos.len();
        self.todos.retain(|t| t.customer != *customer);
        let erased = before - self.todos.len();
        if erased > 0 {
            self.save()?;
        }
        Ok(erased)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use guild_ledger::crypto::Keypair;

    fn todo(id: &str, customer: Address) -> Todo {
        Todo {
            id: id.into(),
            automation: "win-back".into(),
            customer,
            text: "Call Mrs Lee".into(),
            created_ms: 10,
            done_ms: None,
            explanation: Explanation::default(),
        }
    }

    #[test]
    fn todos_are_added_once_done_and_forgotten_durably() {
        let dir = tempfile::tempdir().unwrap();
        let lee = Keypair::from_secret(&[1; 32]).address();
        let other = Keypair::from_secret(&[2; 32]).address();
        let mut store = TodoStore::open(dir.path()).unwrap();
        assert_eq!(store.add(todo("evt_1", lee)).unwrap(), Added::New);
        assert_eq!(store.add(todo("evt_1", lee)).unwrap(), Added::Already);
        store.add(todo("evt_2", other)).unwrap();
        assert_eq!(store.done("evt_2", 50).unwrap().done_ms, Some(50));
        assert!(matches!(
            store.done("evt_9", 50),
            Err(AutomationError::UnknownTodo { .. })
        ));
        let store2 = TodoStore::open(dir.path()).unwrap();
        assert_eq!(store2.list(false).len(), 1);
        assert_eq!(store2.list(true).len(), 2);
        store.forget(&lee).unwrap();
        let text = std::fs::read_to_string(dir.path().join(FILE_NAME)).unwrap();
        assert!(!text.contains(&lee.to_string()));
        assert_eq!(TodoStore::open(dir.path()).unwrap().list(true).len(), 1);
        // Done to-dos leave after 90 days.
        store.add(todo("evt_3", lee)).unwrap();
        store.done("evt_3", 90 * MS_PER_DAY + 100).unwrap();
        assert_eq!(
            store
                .list(true)
                .iter()
                .map(|t| t.id.as_str())
                .collect::<Vec<_>>(),
            ["evt_3"]
        );
    }
}

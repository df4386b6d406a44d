//! "Verify the chain": the audit's replay (`guild audit verify --node URL`,
//! the one implementation in `guild_api::verify`) run by the console on a
//! thread of its own, with a job id and a progress bar. Starting it changes
//! nothing on the node, so visitors may; at most one job runs per console
//! (a second click shows the running one).

use super::frame;
use crate::auth::Visitor;
use crate::{BASE, Console, PageError};
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use std::sync::{Arc, Mutex, PoisonError};

/// Where a job stands.
#[derive(Clone, Debug)]
pub enum JobState {
    /// Replaying: last height verified, the head it goes to, transactions.
    Running(u64, u64, u64),
    /// Done: blocks, transactions, signatures, head height, state root.
    Verified(u64, u64, u64, u64, String),
    /// The first failure (or why it could not run).
    Failed(String),
}

/// The console's verification jobs: the latest one, by id.
#[derive(Debug, Default)]
pub struct Jobs {
    latest: Mutex<Option<(u64, Arc<Mutex<JobState>>)>>,
}

impl Jobs {
    /// Starts a job over the node at `url`, or returns the running one's id.
    pub fn start(&self, url: &str) -> u64 {
        let mut latest = self.latest.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some((id, state)) = latest.as_ref()
            && matches!(
                *state.lock().unwrap_or_else(PoisonError::into_inner),
                JobState::Running(..)
            )
        {
            return *id;
        }
        let id = latest.as_ref().map_or(1, |(id, _)| id + 1);
        let state = Arc::new(Mutex::new(JobState::Running(0, 0, 0)));
        *latest = Some((id, state.clone()));
        let url = url.to_string();
        std::thread::spawn(move || {
            let set = |s: JobState| *state.lock().unwrap_or_else(PoisonError::into_inner) = s;
            let result = guild_api::verify::verify_node(&url, &mut |p| {
                set(JobState::Running(p.height.0, p.head.0, p.transactions))
            });
            set(match result {
                Ok(s) => JobState::Verified(
                    s.blocks,
                    s.transactions,
                    s.signatures,
                    s.height.0,
                    s.state_root.to_string(),
                ),
                Err(e) => JobState::Failed(e.to_string()),
            });
        });
        id
    }

    /// Job `id`'s state, if it is the latest.
    pub fn get(&self, id: u64) -> Option<JobState> {
        let latest = self.latest.lock().unwrap_or_else(PoisonError::into_inner);
        latest
            .as_ref()
            .filter(|(i, _)| *i == id)
            .map(|(_, s)| s.lock().unwrap_or_else(PoisonError::into_inner).clone())
    }
}

/// The button on the explorer's front page.
pub fn button() -> Markup {
    html! {
        h2 { "Verify the chain" }
        form.card method="post" action={(BASE) "/explorer/verify"} {
            p { "Replays every block from the genesis and checks every certificate, signature and the state root, as " code { "guild audit verify" } " does." }
            button #verify type="submit" { "Verify the chain" }
        }
    }
}

/// `POST /console/explorer/verify`.
pub async fn start(State(console): State<Console>) -> Response {
    let id = console.verify.start(console.node.url());
    Redirect::to(&format!("{BASE}/explorer/verify/{id}")).into_response()
}

fn status_markup(id: u64, state: &JobState) -> Markup {
    html! {
        @match state {
            JobState::Running(height, head, txs) => {
                div #verify-status data-poll={(BASE) "/explorer/verify/" (id) "/status"} {
                    label for="verify-progress" { "Verifying block " (height) " of " (head) " (" (txs) " transactions)…" }
                    progress #verify-progress max=(head.max(&1)) value=(height) {}
                }
            }
            JobState::Verified(blocks, txs, sigs, height, root) => {
                div #verify-status .notice.ok role="status" {
                    progress #verify-progress max="1" value="1" {}
                    p { strong { "verified" } ": " (blocks) " blocks, " (txs) " transactions and " (sigs) " signatures checked up to height " (height) "; the state root " code { (root) } " matches the node's." }
                }
            }
            JobState::Failed(why) => {
                div #verify-status .notice.error role="alert" { p { strong { "not verified" } ": " (why) } }
            }
        }
    }
}

fn job(console: &Console, id: &str) -> Result<(u64, JobState), PageError> {
    let unknown = || {
        PageError::NotFound(format!(
            "there is no verification {id} (only the latest is kept)"
        ))
    };
    let id: u64 = id.parse().map_err(|_| unknown())?;
    console.verify.get(id).map(|s| (id, s)).ok_or_else(unknown)
}

/// `GET /console/explorer/verify/{id}`.
pub async fn page(
    State(console): State<Console>,
    visitor: Visitor,
    Path(id): Path<String>,
) -> Result<Markup, PageError> {
    let (id, state) = job(&console, &id)?;
    Ok(frame(
        &console,
        &visitor,
        "Verifying the chain",
        status_markup(id, &state),
    ))
}

/// `GET /console/explorer/verify/{id}/status`: the status alone, polled by
/// `explorer.js` every second while the job runs.
pub async fn status(
    State(console): State<Console>,
    Path(id): Path<String>,
) -> Result<Markup, PageError> {
    let (id, state) = job(&console, &id)?;
    Ok(status_markup(id, &state))
}

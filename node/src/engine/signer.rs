//! The member's signing record as the engine holds it: one record shared by
//! the consensus machines of successive heights.

use super::*;

/// The member's signer, shared across the heights' consensus machines.
#[derive(Clone)]
pub struct SharedSigner(Option<Arc<Mutex<dyn VoteRecord>>>);

impl SharedSigner {
    /// A member's signer: its signing record (a [`crate::signer::FileSigner`]
    /// in a node, an in-memory record in tests).
    pub fn member(signer: impl VoteRecord + 'static) -> SharedSigner {
        SharedSigner(Some(Arc::new(Mutex::new(signer))))
    }

    /// An observer's (never signs).
    pub fn observer() -> SharedSigner {
        SharedSigner(None)
    }

    pub(super) fn lock_at(&self, height: Height) -> Option<(u32, Hash)> {
        let signer = self.0.as_ref()?;
        signer.lock().ok()?.lock_at(height)
    }

    /// A failure to write the signing record since the last call.
    pub(super) fn take_failure(&self) -> Option<crate::signer::SignerError> {
        let signer = self.0.as_ref()?;
        signer.lock().ok()?.take_failure()
    }

    pub(super) fn votes_at(&self, height: Height) -> Vec<(Vote, Signature)> {
        match &self.0 {
            Some(signer) => signer
                .lock()
                .map(|s| s.votes_at(height))
                .unwrap_or_default(),
            None => Vec::new(),
        }
    }
}

impl VoteSigner for SharedSigner {
    fn sign_vote(&mut self, vote: &Vote) -> Option<Signature> {
        let signer = self.0.as_ref()?;
        let mut signer = signer.lock().ok()?;
        signer.sign_vote(vote)
    }
}

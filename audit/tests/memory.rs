//! The audit with no storage at all: the example chain verified from a
//! `MemoryChain`, and a changed block located.

use guild_audit::fixture::{MemoryChain, example_chain};
use guild_audit::{AuditError, Rule, VerifyOptions, verify_chain};
use guild_ledger::types::Height;

#[test]
fn a_chain_in_memory_verifies_and_a_changed_block_is_located() {
    let chain = example_chain(MemoryChain::default()).unwrap();
    let genesis = chain.genesis().clone();
    let root = chain.state().root();
    let mut source = chain.into_sink();
    let options = VerifyOptions::default();
    let summary = verify_chain(
        &genesis,
        &mut source.clone(),
        &options,
        &mut (),
        &mut |_| {},
    )
    .unwrap();
    assert_eq!((summary.height, summary.state_root), (Height(8), root));

    // The last byte of block 3 is in its certificate's last signature.
    let bytes = source.block_bytes_mut(Height(3)).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0x01;
    match verify_chain(&genesis, &mut source, &options, &mut (), &mut |_| {}) {
        Err(AuditError::Discrepancy(d)) => {
            assert_eq!(d.height, Height(3), "{d}");
            assert!(
                matches!(d.rule, Rule::Certificate | Rule::BlockEncoding),
                "{d}"
            );
        }
        other => panic!("expected a discrepancy, got {other:?}"),
    }
}

//! `guild wallet refer --by ADDRESS`: a customer accepts a referral, before
//! their first purchase, so that the referrer earns what the shops'
//! referral campaigns give on that purchase.

use crate::error::{Error, Result};
use guild_ledger::crypto::Address;
use guild_ledger::tx::TxBody;

/// The body of `author`'s referral by `referrer`, checked as far as the
/// wallet can before signing: not oneself, and a usable address (whether
/// it is too late — after the first purchase or a referral already
/// accepted — only the ledger knows: it answers `referral_too_late`).
pub fn refer_body(author: &Address, referrer: Address) -> Result<TxBody> {
    if referrer == *author {
        return Err(Error::InvalidInput {
            what: "referrer",
            text: referrer.to_string(),
            reason: "you cannot refer yourself (self_referral): give the address of the \
                     customer who told you about the programme"
                .to_string(),
        });
    }
    referrer.check_usable().map_err(Error::InvalidAddress)?;
    Ok(TxBody::Refer { referrer })
}

#[cfg(test)]
mod tests {
    use super::*;
    use guild_ledger::Keypair;

    #[test]
    fn a_customer_cannot_refer_themselves() {
        let me = Keypair::from_secret(&[5; 32]).address();
        let friend = Keypair::from_secret(&[6; 32]).address();
        let error = refer_body(&me, me).unwrap_err().to_string();
        assert!(error.contains("self_referral"), "{error}");
        assert_eq!(
            refer_body(&me, friend).unwrap(),
            TxBody::Refer { referrer: friend }
        );
    }
}

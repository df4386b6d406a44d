//! `POST /v1/shop/sign`: the shop's own node signs one back-office
//! transaction as the shop (an `admin` token).
//!
//! The web console (and any other tool of the shop's operator) sends a
//! transaction *body*; the node picks the shop's next nonce, signs it with
//! the shop's key and admits it like any other transaction, so the
//! ledger's rules apply as at `POST /v1/tx`. Only what a shop signs from
//! its back office is accepted ([`ShopAction`]): settling, governance,
//! its rules and campaigns, a grant by hand and a reversal. A customer's
//! own actions (a transfer, a redemption, a referral) are signed by the
//! customer's wallet; a sale is priced by the node (`POST /v1/sale`); a
//! birthday reward or an offer is given by the shop's automations.
//!
//! Each request signs a new transaction: sending the same `Settle` twice
//! settles twice. Bodies with a receipt (`earn`, `reverse`) are protected
//! by the ledger (a receipt is used once); for the others, look the answer
//! up (`GET /v1/tx/{id}`) before sending again.
//!
//! The answer is a [`Submission`](crate::Submission), as for `POST /v1/tx`.

use guild_ledger::tx::TxBody;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// The body of `POST /v1/shop/sign`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ShopSignRequest {
    /// What to sign, as in a transaction's `body` (`{"kind":"settle",…}`):
    /// one of the kinds of [`ShopAction`].
    pub body: TxBody,
    /// Answer only once the transaction is final (or the wait times out).
    #[serde(default)]
    pub wait: bool,
    /// How long to wait, in milliseconds (with `wait`; default 10,000, at
    /// most 60,000).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_ms: Option<u64>,
}

/// A transaction body of a kind a shop signs from its back office:
/// `settle`, `approve`, `propose`, `set_earn_rule`, `publish_campaign`,
/// `approve_campaign`, `stop_campaign`, `earn` (a grant by hand) or
/// `reverse`. Made only by [`ShopAction::new`], so holding one means the
/// kind was checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ShopAction(TxBody);

/// A body a shop does not sign from its back office (code
/// `not_a_shop_action`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error(
    "a {kind} is not something the shop signs from its back office: {instead}; \
     POST /v1/shop/sign takes settle, approve, propose, set_earn_rule, publish_campaign, \
     approve_campaign, stop_campaign, earn and reverse"
)]
pub struct NotAShopAction {
    /// The kind sent (`transfer`, `redeem`, …).
    pub kind: &'static str,
    /// What to use for it instead.
    pub instead: &'static str,
}

impl ShopAction {
    /// `body`, if a shop signs it from its back office.
    pub fn new(body: TxBody) -> Result<ShopAction, NotAShopAction> {
        let instead = match &body {
            TxBody::Settle { .. }
            | TxBody::Approve { .. }
            | TxBody::Propose { .. }
            | TxBody::SetEarnRule { .. }
            | TxBody::PublishCampaign { .. }
            | TxBody::ApproveCampaign { .. }
            | TxBody::StopCampaign { .. }
            | TxBody::Earn { .. }
            | TxBody::Reverse { .. } => return Ok(ShopAction(body)),
            TxBody::Transfer { .. } => {
                "the customer sends points from their own wallet (`guild wallet send`), \
                 submitted with POST /v1/tx"
            }
            TxBody::Redeem { .. } => {
                "the customer signs a redemption in their own wallet \
                 (`guild wallet redeem --request …`), and the till submits it with POST /v1/tx"
            }
            TxBody::Refer { .. } => {
                "the referred customer accepts a referral in their own wallet \
                 (`guild wallet refer`)"
            }
            TxBody::Sale { .. } => {
                "the node prices a sale by the rules in force: use POST /v1/sale \
                 (a sale-scope token)"
            }
            TxBody::Birthday { .. } | TxBody::Offer { .. } => {
                "birthday rewards and offers are given by the shop's automations \
                 (a reward action, /v1/automations); for points by hand use an earn \
                 with a reason"
            }
        };
        Err(NotAShopAction {
            kind: body.kind(),
            instead,
        })
    }

    /// The body.
    pub fn body(&self) -> &TxBody {
        &self.0
    }

    /// The body, taken out.
    pub fn into_body(self) -> TxBody {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use guild_ledger::crypto::{Address, Keypair};
    use guild_ledger::tx::TxBody;
    use guild_ledger::types::{Points, ProposalId};

    fn someone() -> Address {
        Keypair::from_secret(&[7; 32]).address()
    }

    #[test]
    fn back_office_kinds_are_accepted_and_kept_as_given() {
        let settle = TxBody::Settle {
            debtor: someone(),
            points: Points(5),
        };
        let action = ShopAction::new(settle.clone()).unwrap();
        assert_eq!(action.body(), &settle);
        assert_eq!(action.into_body(), settle);
        let approve = TxBody::Approve {
            proposal: ProposalId(3),
        };
        assert!(ShopAction::new(approve).is_ok());
    }

    #[test]
    fn customer_and_priced_kinds_are_refused_with_what_to_use() {
        let cases = [
            (
                TxBody::Transfer {
                    to: someone(),
                    points: Points(1),
                    memo: None,
                },
                "transfer",
                "guild wallet send",
            ),
            (
                TxBody::Redeem {
                    shop: someone(),
                    points: Points(1),
                },
                "redeem",
                "--request",
            ),
            (
                TxBody::Refer {
                    referrer: someone(),
                },
                "refer",
                "wallet refer",
            ),
        ];
        for (body, kind, hint) in cases {
            let refused = ShopAction::new(body).unwrap_err();
            assert_eq!(refused.kind, kind);
            let message = refused.to_string();
            assert!(
                message.starts_with(&format!("a {kind} is not")),
                "{message}"
            );
            assert!(message.contains(hint), "{message}");
        }
    }

    #[test]
    fn the_request_reads_a_body_as_a_transaction_writes_it() {
        let json = format!(
            r#"{{"body":{{"kind":"settle","debtor":"{}","points":20}},"wait":true}}"#,
            someone()
        );
        let request: ShopSignRequest = serde_json::from_str(&json).unwrap();
        assert!(request.wait);
        assert_eq!(request.timeout_ms, None);
        assert_eq!(
            request.body,
            TxBody::Settle {
                debtor: someone(),
                points: Points(20)
            }
        );
        let back: ShopSignRequest =
            serde_json::from_str(&serde_json::to_string(&request).unwrap()).unwrap();
        assert_eq!(back, request);
    }
}

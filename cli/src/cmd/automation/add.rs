//! `guild automation add`: an automation from the command line.
//!
//! ```text
//! guild automation add NAME --trigger TRIGGER [--segment S,S] [--tier T,T]
//!     [--min-balance POINTS] [--message-consent] [--holdout PERCENT] [--disabled]
//!     --action ACTION [--body TEXT | --body-file FILE]
//! ```
//!
//! TRIGGER and ACTION are the grammar of `guild_api::automation` (its
//! [`Trigger`] and [`Action`] parse them, so the node and the command read
//! the same text); an `email:SUBJECT` action takes its text from `--body`
//! or `--body-file`. Everything is checked here before anything is sent.

use anyhow::{Context, anyhow, bail};
use clap::Args;
use guild_api::automation::{Action, Condition, NewAutomation, Segment, Trigger};
use guild_ledger::types::{Points, TierName};
use std::path::PathBuf;

/// The largest `--body-file` read.
const MAX_BODY_FILE: u64 = 16 * 1024;

/// Options of `guild automation add`.
#[derive(Args, Debug)]
pub struct AddArgs {
    /// A unique name: lower-case letters, digits, '-' or '_', e.g.
    /// birthday-treat.
    pub name: String,
    /// When it fires: points-earned[:MIN], tier-reached[:TIER],
    /// close-to-next-tier:N, points-expiring:DAYS, at-risk[:P], birthday,
    /// first-purchase, days-since-last-purchase:N, campaign-started[:ID].
    #[arg(long)]
    pub trigger: String,
    /// What it does: webhook:wh_…, email:SUBJECT (with --body),
    /// reward:birthday, reward:campaign:ID, todo:TEXT. Texts may use
    /// {name}, {points}, {tier}, {segment}, {weeks}, {last_visit},
    /// {spent}… (docs/automation.md lists them).
    #[arg(long)]
    pub action: String,
    /// Only customers of these segments, comma-separated, e.g.
    /// champions,loyal (needs their consent to profiling).
    #[arg(long, value_delimiter = ',')]
    pub segment: Vec<String>,
    /// Only customers of these tiers, comma-separated.
    #[arg(long, value_delimiter = ',')]
    pub tier: Vec<String>,
    /// Only customers holding at least this many points.
    #[arg(long)]
    pub min_balance: Option<u64>,
    /// Ask for the customer's consent to messages even for a reward.
    #[arg(long)]
    pub message_consent: bool,
    /// Hold out this share of eligible customers (nothing is done for
    /// them) to measure the effect, e.g. 10% (at most 50%).
    #[arg(long)]
    pub holdout: Option<String>,
    /// Add it disabled (enable it later with `guild automation enable`).
    #[arg(long)]
    pub disabled: bool,
    /// The e-mail's text (for email:SUBJECT).
    #[arg(long, conflicts_with = "body_file")]
    pub body: Option<String>,
    /// A file holding the e-mail's text.
    #[arg(long)]
    pub body_file: Option<PathBuf>,
}

/// `10%`, `2.5%` or `10` → per mille.
pub fn holdout(text: &str) -> anyhow::Result<u16> {
    let trimmed = text.trim().trim_end_matches('%');
    let tenths = guild_ledger::programme::locale::parse_minor(trimmed, 1)
        .ok_or_else(|| anyhow!("--holdout {text:?}: write a percentage such as 10%"))?;
    let permille = u16::try_from(tenths.0)
        .ok()
        .filter(|p| *p <= guild_api::automation::MAX_HOLDOUT_PERMILLE)
        .ok_or_else(|| anyhow!("--holdout {text:?}: hold out at most 50% of the customers"))?;
    Ok(permille)
}

/// The automation the options describe, checked.
pub fn spec(args: AddArgs) -> anyhow::Result<NewAutomation> {
    let trigger: Trigger = args
        .trigger
        .parse()
        .map_err(|e| anyhow!("--trigger {:?}: {e}", args.trigger))?;
    let mut action: Action = args
        .action
        .parse()
        .map_err(|e| anyhow!("--action {:?}: {e}", args.action))?;
    let body = match (&args.body, &args.body_file) {
        (Some(text), _) => Some(text.clone()),
        (None, Some(path)) => {
            let bytes = guild_os::durable::read_bounded(path, MAX_BODY_FILE)
                .with_context(|| format!("cannot read --body-file {}", path.display()))?
                .with_context(|| format!("there is no file {}", path.display()))?;
            Some(
                String::from_utf8(bytes)
                    .with_context(|| format!("{} is not text (UTF-8)", path.display()))?,
            )
        }
        (None, None) => None,
    };
    match (&mut action, body) {
        (Action::Email { body, .. }, Some(text)) => *body = text,
        (Action::Email { .. }, None) => {
            bail!("an e-mail needs its text: give --body \"…\" or --body-file FILE")
        }
        (_, Some(_)) => bail!("--body and --body-file are only for an email: action"),
        (_, None) => {}
    }
    let segments = args
        .segment
        .iter()
        .filter(|s| !s.trim().is_empty())
        .map(|s| s.parse::<Segment>().map_err(|e| anyhow!("--segment: {e}")))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let tiers = args
        .tier
        .iter()
        .filter(|t| !t.trim().is_empty())
        .map(|t| TierName::new(t.trim()).map_err(|e| anyhow!("--tier {t:?}: {e}")))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let spec = NewAutomation {
        name: args.name.trim().to_string(),
        trigger,
        condition: Condition {
            segments,
            tiers,
            min_balance: args.min_balance.map(Points),
            message_consent: args.message_consent,
        },
        action,
        holdout_permille: args
            .holdout
            .as_deref()
            .map(holdout)
            .transpose()?
            .unwrap_or(0),
        enabled: !args.disabled,
    };
    spec.validate()?;
    Ok(spec)
}

#[cfg(test)]
mod tests {
    use super::*;
    use guild_api::automation::RewardKind;

    fn args(name: &str, trigger: &str, action: &str) -> AddArgs {
        AddArgs {
            name: name.into(),
            trigger: trigger.into(),
            action: action.into(),
            segment: vec![],
            tier: vec![],
            min_balance: None,
            message_consent: false,
            holdout: None,
            disabled: false,
            body: None,
            body_file: None,
        }
    }

    #[test]
    fn the_readme_examples_make_their_automations() {
        let treat = spec(args("birthday-treat", "birthday", "reward:birthday")).unwrap();
        assert_eq!(treat.trigger, Trigger::Birthday);
        assert_eq!(
            treat.action,
            Action::Reward {
                reward: RewardKind::Birthday
            }
        );
        let mut win_back = args(
            "win-back",
            "days-since-last-purchase:42",
            "todo:Call {name}: a {segment} who has not come in for {weeks} weeks",
        );
        win_back.segment = vec!["champions".into(), "loyal".into()];
        win_back.holdout = Some("10%".into());
        let made = spec(win_back).unwrap();
        assert_eq!(made.trigger, Trigger::DaysSinceLastPurchase { days: 42 });
        assert_eq!(
            made.condition.segments,
            vec![Segment::Champions, Segment::Loyal]
        );
        assert_eq!(made.holdout_permille, 100);
        assert!(made.enabled);
    }

    #[test]
    fn mistakes_are_named_with_the_option() {
        let error = |a: AddArgs| spec(a).unwrap_err().to_string();
        assert!(error(args("x", "sunday", "todo:hi")).starts_with("--trigger \"sunday\""));
        assert!(error(args("x", "birthday", "sms:hi")).starts_with("--action \"sms:hi\""));
        assert!(error(args("x", "birthday", "email:Hi")).contains("needs its text"));
        let mut bad = args("x", "birthday", "todo:hi");
        bad.segment = vec!["vip".into()];
        assert!(error(bad).contains("'vip' is not a segment"));
        let mut bad = args("x", "birthday", "todo:hi");
        bad.holdout = Some("60%".into());
        assert!(error(bad).contains("at most 50%"));
        let mut bad = args("x", "birthday", "todo:hi");
        bad.body = Some("text".into());
        assert!(error(bad).contains("only for an email"));
        assert!(error(args("Win Back", "birthday", "todo:hi")).contains("not an automation name"));
        let mut mail = args("hello", "birthday", "email:Happy birthday {name}");
        mail.body = Some("A treat waits at {shop}.".into());
        assert!(matches!(spec(mail).unwrap().action, Action::Email { .. }));
    }

    #[test]
    fn holdouts_are_percentages() {
        assert_eq!(holdout("10%").unwrap(), 100);
        assert_eq!(holdout("2.5").unwrap(), 25);
        assert_eq!(holdout("0").unwrap(), 0);
        assert!(holdout("ten").is_err());
        assert!(holdout("50.1%").is_err());
    }
}

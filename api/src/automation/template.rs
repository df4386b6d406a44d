//! Templates: the placeholders a to-do, subject or e-mail body may use,
//! their check, and how they are filled in.

use super::{MAX_TEMPLATE_LEN, SpecError};

/// The placeholders a template may use, with what each becomes.
pub const PLACEHOLDERS: [(&str, &str); 15] = [
    (
        "name",
        "the customer's name from the directory, else their short address",
    ),
    ("shop", "the shop's name"),
    (
        "points",
        "the points of the event (earned, expiring, or needed)",
    ),
    ("balance", "the points the customer holds"),
    ("tier", "the customer's tier (or \"no tier\")"),
    ("next_tier", "the next tier up"),
    (
        "points_to_next_tier",
        "points still needed for the next tier",
    ),
    ("segment", "the customer's segment, e.g. Champions"),
    ("days", "days since the last purchase here"),
    ("weeks", "whole weeks since the last purchase here"),
    (
        "last_visit",
        "the date of the last purchase here (YYYY-MM-DD)",
    ),
    (
        "spent",
        "what the customer spent here in the last 365 days, e.g. £212.00",
    ),
    ("expires", "the date points expire (YYYY-MM-DD)"),
    ("campaign", "the campaign's name"),
    ("automation", "the automation's name"),
];

/// The placeholder names in `text` (`{name}`; `{{` and `}}` are braces).
fn placeholders(text: &str) -> Result<Vec<&str>, SpecError> {
    let mut names = Vec::new();
    let mut rest = text;
    while let Some(i) = rest.find(['{', '}']) {
        let after = &rest[i..];
        if let Some(tail) = after
            .strip_prefix("{{")
            .or_else(|| after.strip_prefix("}}"))
        {
            rest = tail;
            continue;
        }
        if let Some(tail) = after.strip_prefix('}') {
            rest = tail;
            continue;
        }
        let close = after.find('}').ok_or(SpecError::UnclosedPlaceholder)?;
        names.push(&after[1..close]);
        rest = &after[close + 1..];
    }
    Ok(names)
}

/// Checks a template: at most [`MAX_TEMPLATE_LEN`] bytes, every
/// placeholder known.
pub fn check_template(text: &str) -> Result<(), SpecError> {
    if text.len() > MAX_TEMPLATE_LEN {
        return Err(SpecError::TooLong { len: text.len() });
    }
    for name in placeholders(text)? {
        if !PLACEHOLDERS.iter().any(|(p, _)| *p == name) {
            return Err(SpecError::UnknownPlaceholder {
                name: name.chars().take(40).collect(),
            });
        }
    }
    Ok(())
}

/// Fills in a template: each `{placeholder}` becomes `value(name)` (an
/// unknown or unavailable one becomes `-`), `{{`/`}}` become braces.
pub fn render(text: &str, value: impl Fn(&str) -> Option<String>) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find(['{', '}']) {
        let (before, after) = rest.split_at(i);
        out.push_str(before);
        if let Some(tail) = after.strip_prefix("{{") {
            out.push('{');
            rest = tail;
        } else if let Some(tail) = after.strip_prefix("}}") {
            out.push('}');
            rest = tail;
        } else if let Some(tail) = after.strip_prefix('}') {
            out.push('}');
            rest = tail;
        } else if let Some(close) = after.find('}') {
            out.push_str(&value(&after[1..close]).unwrap_or_else(|| "-".to_string()));
            rest = &after[close + 1..];
        } else {
            out.push_str(after);
            rest = "";
        }
    }
    out.push_str(rest);
    out
}

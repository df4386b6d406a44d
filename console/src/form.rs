//! Form fields that say what they are for and show their error beside
//! them.
//!
//! A handler that refuses a value re-renders the same form with the values
//! given and an [`Errors`] naming the field; the field then carries
//! `aria-invalid` and its message, read by screen readers as part of the
//! field (`aria-describedby`). Checking the value is not done here: it is
//! the same rule the CLI and the API apply (e.g.
//! `guild_ledger::programme::parse_decimal` for amounts), whose message is
//! shown as it is.

use maud::{Markup, html};

/// Messages for fields of one form, by field name.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Errors(Vec<(String, String)>);

impl Errors {
    /// No errors.
    pub fn none() -> Errors {
        Errors::default()
    }

    /// Adds `message` for the field `name`.
    pub fn add(&mut self, name: &str, message: impl Into<String>) {
        self.0.push((name.to_string(), message.into()));
    }

    /// The first message for `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, m)| m.as_str())
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// One input field.
#[derive(Clone, Debug)]
pub struct Field<'a> {
    /// The form field's name (also its element id, prefixed `f-`).
    pub name: &'a str,
    /// What the person sees above it.
    pub label: &'a str,
    /// What the field does, in a sentence.
    pub help: &'a str,
    /// The value to show (what was typed, when the form comes back).
    pub value: &'a str,
    /// The input type (`text`, `password`, `date`, …).
    pub kind: &'a str,
    /// The keyboard a phone or tablet should show (`decimal`, `numeric`).
    pub inputmode: Option<&'a str>,
    /// Whether it must be filled in.
    pub required: bool,
}

impl<'a> Field<'a> {
    /// A text field.
    pub fn text(name: &'a str, label: &'a str, help: &'a str, value: &'a str) -> Field<'a> {
        Field {
            name,
            label,
            help,
            value,
            kind: "text",
            inputmode: None,
            required: false,
        }
    }

    /// Makes it required.
    pub fn required(mut self) -> Field<'a> {
        self.required = true;
        self
    }

    /// Sets the input type.
    pub fn kind(mut self, kind: &'a str) -> Field<'a> {
        self.kind = kind;
        self
    }

    /// Sets the keyboard to show on a touch screen.
    pub fn inputmode(mut self, mode: &'a str) -> Field<'a> {
        self.inputmode = Some(mode);
        self
    }

    /// The field, with `errors`' message for it if any.
    pub fn render(&self, errors: &Errors) -> Markup {
        let id = format!("f-{}", self.name);
        let help_id = format!("{id}-help");
        let error_id = format!("{id}-error");
        let error = errors.get(self.name);
        let described = match error {
            Some(_) => format!("{help_id} {error_id}"),
            None => help_id.clone(),
        };
        html! {
            div class={"field" @if error.is_some() { " invalid" }} {
                label for=(id) { (self.label) }
                input id=(id) name=(self.name) type=(self.kind) value=(self.value)
                    inputmode=[self.inputmode] required[self.required]
                    aria-describedby=(described) aria-invalid=[error.map(|_| "true")];
                p.help id=(help_id) { (self.help) }
                @if let Some(message) = error {
                    p.field-error id=(error_id) role="alert" { (message) }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_error_is_shown_beside_its_field_only() {
        let mut errors = Errors::none();
        errors.add("amount", "for 12.50 write 12.50");
        let amount = Field::text("amount", "Amount", "What the customer paid.", "12,50")
            .inputmode("decimal")
            .render(&errors)
            .into_string();
        assert!(amount.contains(r#"aria-invalid="true""#), "{amount}");
        assert!(amount.contains(r#"<p class="field-error" id="f-amount-error" role="alert">for 12.50 write 12.50</p>"#), "{amount}");
        assert!(amount.contains(r#"value="12,50""#));
        let other = Field::text("customer", "Customer", "Their address.", "")
            .render(&errors)
            .into_string();
        assert!(
            !other.contains("field-error") && !other.contains("aria-invalid"),
            "{other}"
        );
    }

    #[test]
    fn values_are_escaped() {
        let html = Field::text("n", "N", "h", "\"><script>")
            .render(&Errors::none())
            .into_string();
        assert!(!html.contains("<script>"), "{html}");
    }
}

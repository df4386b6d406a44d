//! Authentication of tills (and, later, the web console): the scopes an
//! API token can carry, and `GET /v1/whoami`.
//!
//! A till sends `Authorization: Bearer gld_…` with a token made by
//! `guild node token create` on the shop's node. A request without a known
//! token is answered `401 unauthorized` (with `WWW-Authenticate: Bearer`);
//! a known token without the scope the endpoint needs, `403 forbidden`.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;
use utoipa::ToSchema;

/// The name of the bearer security scheme in the OpenAPI document.
pub const BEARER_SCHEME: &str = "bearer";

/// What a token may do.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    /// A till: `POST /v1/sale`, `/v1/sale/preview` and `/v1/refund`.
    Sale,
    /// Everything (the shop's own tools and the web console).
    Admin,
}

impl Scope {
    /// Every scope, in order.
    pub const ALL: [Scope; 2] = [Scope::Sale, Scope::Admin];

    /// The scope's name in JSON and on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Sale => "sale",
            Scope::Admin => "admin",
        }
    }

    /// Whether a token with this scope may do what `needed` allows
    /// (`admin` allows everything).
    pub fn covers(self, needed: Scope) -> bool {
        self == Scope::Admin || self == needed
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A scope name that is not one of [`Scope::ALL`].
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("'{text}' is not a scope: the scopes are sale and admin")]
pub struct UnknownScope {
    /// The text given.
    pub text: String,
}

impl FromStr for Scope {
    type Err = UnknownScope;

    fn from_str(text: &str) -> Result<Scope, UnknownScope> {
        Scope::ALL
            .into_iter()
            .find(|scope| scope.as_str() == text.trim())
            .ok_or_else(|| UnknownScope {
                text: text.chars().take(40).collect(),
            })
    }
}

/// `GET /v1/whoami`: the token the request was made with.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct WhoAmI {
    /// The token's name, e.g. `till-1`.
    pub name: String,
    /// Its scopes.
    pub scopes: Vec<Scope>,
}

/// Adds the bearer security scheme ([`BEARER_SCHEME`]) to the OpenAPI
/// document; endpoints that need a token name it in their `security`.
pub struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let scheme = SecurityScheme::Http(
            HttpBuilder::new()
                .scheme(HttpAuthScheme::Bearer)
                .bearer_format("gld_ followed by 64 hex characters")
                .description(Some(
                    "An API token made with `guild node token create` on the node.",
                ))
                .build(),
        );
        openapi
            .components
            .get_or_insert_with(Default::default)
            .add_security_scheme(BEARER_SCHEME, scheme);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_parse_print_and_cover() {
        for scope in Scope::ALL {
            assert_eq!(scope.as_str().parse::<Scope>(), Ok(scope));
            assert_eq!(
                serde_json::to_string(&scope).unwrap(),
                format!("\"{scope}\"")
            );
        }
        assert!("Sale".parse::<Scope>().is_err());
        assert!(Scope::Admin.covers(Scope::Sale));
        assert!(Scope::Sale.covers(Scope::Sale));
        assert!(!Scope::Sale.covers(Scope::Admin));
    }
}

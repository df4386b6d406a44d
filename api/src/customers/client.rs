//! The typed client of the directory's endpoints: [`NodeClient`] methods
//! that take the shop's admin token.

use super::{
    ConsentRequest, CustomerEntry, CustomerExport, CustomerPage, CustomerUpdate, ErasureReport,
    ImportAnswer, ImportRequest, NewCustomer,
};
use crate::client::{NodeClient, Result};
use guild_ledger::crypto::Address;
use reqwest::Method;

/// Which page of `GET /v1/customers` to ask for.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PageQuery {
    /// Only entries whose name or email contains this (ignoring case).
    pub search: Option<String>,
    /// Entries after this address (the previous page's `next`).
    pub after: Option<Address>,
    /// How many (1 to 500; default 100).
    pub limit: Option<usize>,
}

impl PageQuery {
    /// The query string, `?search=…&after=…&limit=…` (empty if nothing is
    /// asked).
    pub fn to_query(&self) -> String {
        let mut parts = Vec::new();
        if let Some(search) = &self.search {
            parts.push(format!("search={}", percent_encode(search)));
        }
        if let Some(after) = &self.after {
            parts.push(format!("after={after}"));
        }
        if let Some(limit) = self.limit {
            parts.push(format!("limit={limit}"));
        }
        if parts.is_empty() {
            String::new()
        } else {
            format!("?{}", parts.join("&"))
        }
    }
}

/// `text` with everything but RFC 3986's unreserved characters
/// percent-encoded (UTF-8).
fn percent_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

const NO_BODY: Option<&()> = None;

impl NodeClient {
    /// `POST /v1/customers`.
    pub async fn add_customer(&self, token: &str, new: &NewCustomer) -> Result<CustomerEntry> {
        self.admin(Method::POST, "/v1/customers", token, Some(new))
            .await
    }

    /// `POST /v1/customers/import`.
    pub async fn import_customers(
        &self,
        token: &str,
        request: &ImportRequest,
    ) -> Result<ImportAnswer> {
        self.admin(Method::POST, "/v1/customers/import", token, Some(request))
            .await
    }

    /// `GET /v1/customers`.
    pub async fn customers(&self, token: &str, query: &PageQuery) -> Result<CustomerPage> {
        let path = format!("/v1/customers{}", query.to_query());
        self.admin(Method::GET, &path, token, NO_BODY).await
    }

    /// `GET /v1/customers/{address}`.
    pub async fn customer(&self, token: &str, address: &Address) -> Result<CustomerEntry> {
        let path = format!("/v1/customers/{address}");
        self.admin(Method::GET, &path, token, NO_BODY).await
    }

    /// `PATCH /v1/customers/{address}`.
    pub async fn update_customer(
        &self,
        token: &str,
        address: &Address,
        update: &CustomerUpdate,
    ) -> Result<CustomerEntry> {
        let path = format!("/v1/customers/{address}");
        self.admin(Method::PATCH, &path, token, Some(update)).await
    }

    /// `PUT /v1/customers/{address}/consent`.
    pub async fn set_consent(
        &self,
        token: &str,
        address: &Address,
        request: &ConsentRequest,
    ) -> Result<CustomerEntry> {
        let path = format!("/v1/customers/{address}/consent");
        self.admin(Method::PUT, &path, token, Some(request)).await
    }

    /// `GET /v1/customers/{address}/export`.
    pub async fn export_customer(&self, token: &str, address: &Address) -> Result<CustomerExport> {
        let path = format!("/v1/customers/{address}/export");
        self.admin(Method::GET, &path, token, NO_BODY).await
    }

    /// `DELETE /v1/customers/{address}`.
    pub async fn erase_customer(&self, token: &str, address: &Address) -> Result<ErasureReport> {
        let path = format!("/v1/customers/{address}");
        self.admin(Method::DELETE, &path, token, NO_BODY).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_query_is_encoded() {
        assert_eq!(PageQuery::default().to_query(), "");
        let after = guild_ledger::Keypair::from_secret(&[7; 32]).address();
        let query = PageQuery {
            search: Some("Mrs Lée&co".into()),
            after: Some(after),
            limit: Some(20),
        };
        assert_eq!(
            query.to_query(),
            format!("?search=Mrs%20L%C3%A9e%26co&after={after}&limit=20")
        );
    }
}

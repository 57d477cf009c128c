//! A client for the RouterOS v7 REST API (`/rest/<menu>`, Basic auth): GET prints, PUT adds,
//! PATCH `/<menu>/<.id>` sets, DELETE removes. Every value is a string both ways; a refusal is
//! `{"error": 400, "message": "Bad Request", "detail": "…"}`. Used by the command queue's push
//! worker, never inside a web request.
//!
//! Routers serve the REST API over HTTPS with their own (usually self-signed) certificate; how
//! the ISP vouches for it (a pinned fingerprint) comes with the routers page. Until then this
//! client trusts only certificates the system trusts, and plain HTTP is for the simulator.

use std::{collections::BTreeMap, time::Duration};

use serde::Deserialize;

use crate::network::router_error::RouterError;

/// One item of a menu, as the router prints it: `.id` and its attributes, all strings.
pub type Item = BTreeMap<String, String>;

/// A router's REST API.
pub struct RestClient {
    http: reqwest::Client,
    base: String,
    user: String,
    password: String,
}

#[derive(Deserialize)]
struct Refusal {
    #[serde(default)]
    message: String,
    #[serde(default)]
    detail: String,
}

impl RestClient {
    /// `base` is the router's address with its scheme (`https://10.0.0.1`).
    pub fn new(
        base: &str,
        user: &str,
        password: &str,
        timeout: Duration,
    ) -> Result<Self, RouterError> {
        // Fails only when a provider is installed already, which is as good.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let http = reqwest::Client::builder()
            .connect_timeout(timeout)
            .timeout(timeout)
            .build()
            .map_err(|e| RouterError::Http(e.to_string()))?;
        Ok(Self {
            http,
            base: format!("{}/rest", base.trim_end_matches('/')),
            user: user.to_string(),
            password: password.to_string(),
        })
    }

    fn url(&self, menu: &str, id: Option<&str>) -> String {
        let menu = menu.trim_matches('/');
        match id {
            Some(id) => format!("{}/{menu}/{id}", self.base),
            None => format!("{}/{menu}", self.base),
        }
    }

    async fn send(
        &self,
        request: reqwest::RequestBuilder,
    ) -> Result<reqwest::Response, RouterError> {
        let response = request
            .basic_auth(&self.user, Some(&self.password))
            .send()
            .await
            .map_err(|e| {
                if e.is_timeout() {
                    RouterError::Http("the router did not answer in time".into())
                } else {
                    RouterError::Http(e.to_string())
                }
            })?;
        if response.status().is_success() {
            return Ok(response);
        }
        let status = response.status();
        let body = response.text().await.unwrap_or_default();
        let why = match serde_json::from_str::<Refusal>(&body) {
            Ok(r) if !r.detail.is_empty() => r.detail,
            Ok(r) if !r.message.is_empty() => r.message,
            _ => format!("HTTP {status}"),
        };
        Err(RouterError::Refused(why))
    }

    /// The items of `menu` whose attributes equal every `(name, value)` of `filter`.
    pub async fn print(
        &self,
        menu: &str,
        filter: &[(&str, &str)],
    ) -> Result<Vec<Item>, RouterError> {
        let response = self
            .send(self.http.get(self.url(menu, None)).query(filter))
            .await?;
        response
            .json()
            .await
            .map_err(|e| RouterError::Http(format!("not a list of items: {e}")))
    }

    /// Adds an item; returns it as the router stored it (with its `.id`).
    pub async fn add(&self, menu: &str, attributes: &[(&str, &str)]) -> Result<Item, RouterError> {
        let body: Item = attributes
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let response = self
            .send(self.http.put(self.url(menu, None)).json(&body))
            .await?;
        response
            .json()
            .await
            .map_err(|e| RouterError::Http(format!("not an item: {e}")))
    }

    /// Changes attributes of the item `.id`.
    pub async fn set(
        &self,
        menu: &str,
        id: &str,
        attributes: &[(&str, &str)],
    ) -> Result<Item, RouterError> {
        let body: Item = attributes
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let response = self
            .send(self.http.patch(self.url(menu, Some(id))).json(&body))
            .await?;
        response
            .json()
            .await
            .map_err(|e| RouterError::Http(format!("not an item: {e}")))
    }

    pub async fn remove(&self, menu: &str, id: &str) -> Result<(), RouterError> {
        self.send(self.http.delete(self.url(menu, Some(id))))
            .await?;
        Ok(())
    }
}

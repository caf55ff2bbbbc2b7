//! A blocking client of the hotline JSON API, for the officer's and operator's commands.

use std::time::Duration;

use anyhow::{Context as _, Result, anyhow};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use hotline_server::api::{
    CaseDto, DirectoryStatementDto, ErrorDto, HotlineDto, InboxDto, PartyDto, ReceiptDto,
    RegisteredDto, RevokeDto, StatementDto, SubmitDto,
};
use reqwest::blocking::{Client as Http, RequestBuilder, Response};
use serde::de::DeserializeOwned;

/// A client of one hotline server, optionally authenticated as a party.
pub struct ApiClient {
    base: String,
    http: Http,
    token: Option<String>,
}

impl ApiClient {
    /// A client for the server at `url` (e.g. `http://127.0.0.1:8080`).
    pub fn new(url: &str, token: Option<String>) -> Result<ApiClient> {
        let http = Http::builder()
            .timeout(Duration::from_secs(120))
            .build()
            .context("creating the HTTP client")?;
        Ok(ApiClient {
            base: url.trim_end_matches('/').to_owned(),
            http,
            token,
        })
    }

    fn req(&self, method: reqwest::Method, path: &str) -> RequestBuilder {
        let r = self.http.request(method, format!("{}{path}", self.base));
        match &self.token {
            Some(t) => r.bearer_auth(t),
            None => r,
        }
    }

    fn send(&self, r: RequestBuilder, what: &str) -> Result<Response> {
        let resp = r
            .send()
            .with_context(|| format!("{what}: cannot reach the hotline at {}", self.base))?;
        if resp.status().is_success() {
            return Ok(resp);
        }
        let status = resp.status();
        let text = resp.text().unwrap_or_default();
        let msg = serde_json::from_str::<ErrorDto>(&text)
            .map(|e| e.error)
            .unwrap_or(text);
        Err(anyhow!("{what}: the hotline answered {status}: {msg}"))
    }

    fn json<T: DeserializeOwned>(&self, r: RequestBuilder, what: &str) -> Result<T> {
        self.send(r, what)?
            .json()
            .with_context(|| format!("{what}: unexpected answer from {}", self.base))
    }

    /// Public facts: origin, keys, deadline policy.
    pub fn hotline(&self) -> Result<HotlineDto> {
        self.json(
            self.req(reqwest::Method::GET, "/api/v1/hotline"),
            "reading the hotline's settings",
        )
    }

    /// The directory.
    pub fn parties(&self) -> Result<Vec<PartyDto>> {
        self.json(
            self.req(reqwest::Method::GET, "/api/v1/parties"),
            "reading the directory",
        )
    }

    /// Submits a signed statement with its payload.
    pub fn submit(&self, statement: &[u8], payload: Option<&[u8]>) -> Result<ReceiptDto> {
        let body = SubmitDto {
            statement: String::from_utf8_lossy(statement).into_owned(),
            payload: payload.map(|p| B64.encode(p)),
        };
        self.json(
            self.req(reqwest::Method::POST, "/api/v1/statements")
                .json(&body),
            "submitting the statement",
        )
    }

    /// Registers a party (operator).
    pub fn register(&self, statement: &[u8]) -> Result<RegisteredDto> {
        let body = DirectoryStatementDto {
            statement: String::from_utf8_lossy(statement).into_owned(),
        };
        self.json(
            self.req(reqwest::Method::POST, "/api/v1/parties")
                .json(&body),
            "registering the party",
        )
    }

    /// Records a key rotation (operator).
    pub fn rotate(&self, party: &str, statement: &[u8]) -> Result<ReceiptDto> {
        let body = DirectoryStatementDto {
            statement: String::from_utf8_lossy(statement).into_owned(),
        };
        self.json(
            self.req(
                reqwest::Method::POST,
                &format!("/api/v1/parties/{party}/rotate"),
            )
            .json(&body),
            "rotating the party's keys",
        )
    }

    /// Revokes a party (operator).
    pub fn revoke(&self, party: &str, reason: &str) -> Result<ReceiptDto> {
        let body = RevokeDto {
            reason: reason.to_owned(),
        };
        self.json(
            self.req(
                reqwest::Method::POST,
                &format!("/api/v1/parties/{party}/revoke"),
            )
            .json(&body),
            "revoking the party",
        )
    }

    /// The caller's inbox.
    pub fn inbox(&self) -> Result<InboxDto> {
        self.json(
            self.req(reqwest::Method::GET, "/api/v1/inbox"),
            "reading the inbox",
        )
    }

    /// A case with its timeline.
    pub fn case(&self, id: &str) -> Result<CaseDto> {
        self.json(
            self.req(reqwest::Method::GET, &format!("/api/v1/cases/{id}")),
            &format!("reading case {id}"),
        )
    }

    /// A statement with its receipt.
    pub fn statement(&self, id_hex: &str) -> Result<StatementDto> {
        self.json(
            self.req(
                reqwest::Method::GET,
                &format!("/api/v1/statements/{id_hex}"),
            ),
            "reading the statement",
        )
    }

    /// A statement's encrypted payload.
    pub fn payload(&self, id_hex: &str) -> Result<Vec<u8>> {
        let resp = self.send(
            self.req(
                reqwest::Method::GET,
                &format!("/api/v1/statements/{id_hex}/payload"),
            ),
            "downloading the payload",
        )?;
        Ok(resp.bytes().context("downloading the payload")?.to_vec())
    }

    /// A statement's receipt: against the latest checkpoint, or with `cosigned` against the
    /// latest checkpoint the log's witnesses cosigned — `None` while none covers it yet (409).
    pub fn receipt(&self, id_hex: &str, cosigned: bool) -> Result<Option<ReceiptDto>> {
        let path = format!(
            "/api/v1/statements/{id_hex}/receipt{}",
            if cosigned { "?cosigned=1" } else { "" }
        );
        let what = "fetching the receipt";
        let resp = self
            .req(reqwest::Method::GET, &path)
            .send()
            .with_context(|| format!("{what}: cannot reach the hotline at {}", self.base))?;
        if cosigned && resp.status() == reqwest::StatusCode::CONFLICT {
            return Ok(None);
        }
        let status = resp.status();
        if !status.is_success() {
            let text = resp.text().unwrap_or_default();
            let msg = serde_json::from_str::<ErrorDto>(&text)
                .map(|e| e.error)
                .unwrap_or(text);
            return Err(anyhow!("{what}: the hotline answered {status}: {msg}"));
        }
        resp.json()
            .map(Some)
            .with_context(|| format!("{what}: unexpected answer from {}", self.base))
    }

    /// POSTs a TAXII body to a collection's objects with the party's signed `shared`
    /// statement (base64) in the `Hotline-Statement` header; returns the status resource.
    pub fn post_taxii(
        &self,
        collection_id: &str,
        body: Vec<u8>,
        statement_b64: &str,
    ) -> Result<serde_json::Value> {
        use hotline_server::taxii::{API_ROOT, MEDIA_TYPE_TAXII, STATEMENT_HEADER};
        let what = "publishing to the TAXII collection";
        let r = self
            .req(
                reqwest::Method::POST,
                &format!("/taxii2/{API_ROOT}/collections/{collection_id}/objects/"),
            )
            .header(reqwest::header::CONTENT_TYPE, MEDIA_TYPE_TAXII)
            .header(reqwest::header::ACCEPT, MEDIA_TYPE_TAXII)
            .header(STATEMENT_HEADER, statement_b64)
            .body(body);
        let resp = r
            .send()
            .with_context(|| format!("{what}: cannot reach the hotline at {}", self.base))?;
        let status = resp.status();
        let text = resp.text().unwrap_or_default();
        let v: serde_json::Value = serde_json::from_str(&text)
            .map_err(|_| anyhow!("{what}: the hotline answered {status}: {text}"))?;
        if !status.is_success() {
            let details = v
                .get("details")
                .map(|d| format!("\n{d}"))
                .unwrap_or_default();
            return Err(anyhow!(
                "{what}: the hotline answered {status}: {}: {}{details}",
                v["title"].as_str().unwrap_or(""),
                v["description"].as_str().unwrap_or(&text)
            ));
        }
        Ok(v)
    }
}

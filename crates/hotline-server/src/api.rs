//! The JSON API under `/api/v1`: what officers' clients, the operator's tools and auditors call.
//!
//! Every route is declared once in [`ROUTES`] with who may call it; the router is built from
//! that table and the authorization-matrix test walks it, so a route cannot be added without
//! being tested for every role.
//!
//! The OpenAPI 3 document (`GET /api/v1/openapi.json`, [`openapi`]) is derived with `utoipa`:
//! schemas from the DTOs below (`ToSchema`), parameters, bodies and responses from the
//! `#[utoipa::path]` attribute on each handler. Each operation's summary and security come from
//! its [`ROUTES`] entry (see [`openapi`]), so the document cannot disagree with the table on
//! who may call a route; a test checks that every entry of [`ROUTES`] is in the document.

use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequestParts, Path, State};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use hotline_core::CaseId;
use hotline_core::lifecycle::{Case, Phase};
use hotline_core::vocab::{Kind, PartyId, RevocationReason, Timestamp};
use hotline_tlog::Hash;
use serde::{Deserialize, Serialize};
use utoipa::{OpenApi, ToSchema};

use crate::service::{HotlineService, ServiceError, Submitted};

/// Who may call a route.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    /// Anyone, without credentials.
    Public,
    /// Any registered party with a valid token (the operator included).
    Party,
    /// The operator only.
    Operator,
}

/// One route of the API.
#[derive(Clone, Copy, Debug)]
pub struct RouteSpec {
    /// HTTP method.
    pub method: &'static str,
    /// Path, with `{param}` placeholders.
    pub path: &'static str,
    /// Who may call it.
    pub access: Access,
    /// What it does.
    pub summary: &'static str,
}

/// Every route of the API.
pub const ROUTES: &[RouteSpec] = &[
    RouteSpec {
        method: "GET",
        path: "/api/v1/hotline",
        access: Access::Public,
        summary: "origin, log verifier key, log size, clock tolerance and deadline policy",
    },
    RouteSpec {
        method: "GET",
        path: "/api/v1/parties",
        access: Access::Public,
        summary: "the party directory",
    },
    RouteSpec {
        method: "POST",
        path: "/api/v1/parties",
        access: Access::Operator,
        summary: "register a party from its countersigned registration; returns its API token",
    },
    RouteSpec {
        method: "POST",
        path: "/api/v1/parties/{party}/rotate",
        access: Access::Operator,
        summary: "record a key rotation signed by the party's new key",
    },
    RouteSpec {
        method: "POST",
        path: "/api/v1/parties/{party}/revoke",
        access: Access::Operator,
        summary: "revoke a party's keys and credentials",
    },
    RouteSpec {
        method: "POST",
        path: "/api/v1/statements",
        access: Access::Party,
        summary: "submit a signed statement (and its encrypted payload); returns its receipt",
    },
    RouteSpec {
        method: "GET",
        path: "/api/v1/statements/{id}",
        access: Access::Party,
        summary: "a statement you authored or received, with its receipt",
    },
    RouteSpec {
        method: "GET",
        path: "/api/v1/statements/{id}/receipt",
        access: Access::Party,
        summary: "a statement's receipt; with cosigned=1, proved against the latest checkpoint \
                  cosigned by the log's witness policy",
    },
    RouteSpec {
        method: "GET",
        path: "/api/v1/statements/{id}/receipt.cose",
        access: Access::Party,
        summary: "a statement's RFC 9942 COSE receipt of inclusion against the latest checkpoint, \
                  signed with the log key (SCITT)",
    },
    RouteSpec {
        method: "GET",
        path: "/api/v1/statements/{id}/payload",
        access: Access::Party,
        summary: "the encrypted payload; the recipient's first download is recorded as delivered",
    },
    RouteSpec {
        method: "GET",
        path: "/api/v1/inbox",
        access: Access::Party,
        summary: "your cases, most urgent first",
    },
    RouteSpec {
        method: "GET",
        path: "/api/v1/cases/{case}",
        access: Access::Party,
        summary: "one of your cases with its timeline",
    },
    RouteSpec {
        method: "POST",
        path: "/api/v1/webhooks",
        access: Access::Party,
        summary: "register a webhook: signed notifications of arrivals and near deadlines; \
                  returns its secret once",
    },
    RouteSpec {
        method: "GET",
        path: "/api/v1/webhooks",
        access: Access::Party,
        summary: "your webhooks",
    },
    RouteSpec {
        method: "DELETE",
        path: "/api/v1/webhooks/{webhook}",
        access: Access::Party,
        summary: "delete one of your webhooks",
    },
    RouteSpec {
        method: "GET",
        path: "/api/v1/webhooks/deliveries",
        access: Access::Party,
        summary: "your webhooks' delivery log, latest first",
    },
    RouteSpec {
        method: "GET",
        path: "/api/v1/openapi.json",
        access: Access::Public,
        summary: "this API's OpenAPI 3 document",
    },
];

/// The routes of the API (to be merged into the server's router).
pub fn routes(service: Arc<HotlineService>) -> Router {
    let mut r = Router::new();
    for spec in ROUTES {
        r = match (spec.method, spec.path) {
            ("GET", "/api/v1/hotline") => r.route(spec.path, get(hotline_info)),
            ("GET", "/api/v1/parties") => r.route(spec.path, get(parties)),
            ("POST", "/api/v1/parties") => r.route(spec.path, post(register)),
            ("POST", "/api/v1/parties/{party}/rotate") => r.route(spec.path, post(rotate)),
            ("POST", "/api/v1/parties/{party}/revoke") => r.route(spec.path, post(revoke)),
            ("POST", "/api/v1/statements") => r.route(spec.path, post(submit)),
            ("GET", "/api/v1/statements/{id}") => r.route(spec.path, get(statement)),
            ("GET", "/api/v1/statements/{id}/payload") => r.route(spec.path, get(payload)),
            ("GET", "/api/v1/statements/{id}/receipt") => r.route(spec.path, get(receipt)),
            ("GET", "/api/v1/statements/{id}/receipt.cose") => {
                r.route(spec.path, get(cose_receipt))
            }
            ("GET", "/api/v1/inbox") => r.route(spec.path, get(inbox)),
            ("GET", "/api/v1/cases/{case}") => r.route(spec.path, get(case)),
            ("POST", "/api/v1/webhooks") => r.route(spec.path, post(webhook_register)),
            ("GET", "/api/v1/webhooks") => r.route(spec.path, get(webhook_list)),
            ("DELETE", "/api/v1/webhooks/{webhook}") => {
                r.route(spec.path, axum::routing::delete(webhook_delete))
            }
            ("GET", "/api/v1/webhooks/deliveries") => r.route(spec.path, get(webhook_deliveries)),
            ("GET", "/api/v1/openapi.json") => r.route(spec.path, get(openapi_json)),
            _ => r,
        };
    }
    r.layer(axum::extract::DefaultBodyLimit::max(MAX_BODY))
        .with_state(service)
}

/// Largest request body: a statement and a base64 payload of the largest ciphertext.
pub const MAX_BODY: usize = hotline_crypto::MAX_CIPHERTEXT_SIZE / 3 * 4 + 256 * 1024;

/// An error response: `{"error": "...", "phase": "..."}`.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ErrorDto {
    /// What went wrong and, where it applies, what to do.
    pub error: String,
    /// The case's phase, for lifecycle conflicts.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phase: Option<String>,
}

/// Service errors as HTTP responses.
pub struct ApiFailure(ServiceError);

impl From<ServiceError> for ApiFailure {
    fn from(e: ServiceError) -> Self {
        ApiFailure(e)
    }
}

impl IntoResponse for ApiFailure {
    fn into_response(self) -> Response {
        let (status, phase) = match &self.0 {
            ServiceError::BadRequest(_) => (StatusCode::BAD_REQUEST, None),
            ServiceError::Unauthorized(_) => (StatusCode::UNAUTHORIZED, None),
            ServiceError::Forbidden(_) => (StatusCode::FORBIDDEN, None),
            ServiceError::NotFound(_) => (StatusCode::NOT_FOUND, None),
            ServiceError::Conflict { phase, .. } => (StatusCode::CONFLICT, phase.clone()),
            ServiceError::TooLarge(_) => (StatusCode::PAYLOAD_TOO_LARGE, None),
            ServiceError::UnsupportedMediaType(_) => (StatusCode::UNSUPPORTED_MEDIA_TYPE, None),
            ServiceError::Unavailable(_) | ServiceError::NotSequencer(_) => {
                (StatusCode::SERVICE_UNAVAILABLE, None)
            }
            ServiceError::Internal(m) => {
                tracing::error!(error = %m, "request failed");
                (StatusCode::INTERNAL_SERVER_ERROR, None)
            }
        };
        let not_sequencer = matches!(self.0, ServiceError::NotSequencer(_));
        let mut resp = (
            status,
            Json(ErrorDto {
                error: self.0.to_string(),
                phase,
            }),
        )
            .into_response();
        if status == StatusCode::UNAUTHORIZED {
            resp.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                header::HeaderValue::from_static("Bearer realm=\"hotline\""),
            );
        }
        if not_sequencer {
            // Nothing was done here: the forwarding layer sends the request to the sequencer.
            resp.headers_mut().insert(
                crate::forward::NOT_SEQUENCER,
                header::HeaderValue::from_static("1"),
            );
        }
        resp
    }
}

type ApiResult<T> = Result<T, ApiFailure>;

/// The authenticated party of a request (`Authorization: Bearer <token>`).
pub struct Caller(pub PartyId);

impl FromRequestParts<Arc<HotlineService>> for Caller {
    type Rejection = ApiFailure;

    async fn from_request_parts(
        parts: &mut Parts,
        service: &Arc<HotlineService>,
    ) -> Result<Self, Self::Rejection> {
        let header = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| {
                ServiceError::Unauthorized(
                    "this needs a party's API token: Authorization: Bearer <token>".into(),
                )
            })?;
        let token = header.strip_prefix("Bearer ").ok_or_else(|| {
            ServiceError::Unauthorized("the Authorization header must be `Bearer <token>`".into())
        })?;
        service
            .authenticate(token.trim())
            .map(Caller)
            .ok_or_else(|| {
                ApiFailure(ServiceError::Unauthorized(
                    "unknown or revoked API token".into(),
                ))
            })
    }
}

fn json_body<T>(body: Result<Json<T>, JsonRejection>) -> ApiResult<T> {
    body.map(|Json(b)| b).map_err(|e| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            return ApiFailure(ServiceError::TooLarge(format!(
                "request body larger than the {MAX_BODY} bytes allowed"
            )));
        }
        // axum's texts name the position and serde's reason; say first which kind of problem.
        ApiFailure(match &e {
            JsonRejection::MissingJsonContentType(_) => ServiceError::UnsupportedMediaType(
                "request body: send it as JSON with Content-Type: application/json".into(),
            ),
            JsonRejection::JsonSyntaxError(_) => ServiceError::BadRequest(format!(
                "request body is not valid JSON (or not UTF-8): {}",
                e.body_text()
            )),
            JsonRejection::JsonDataError(_) => ServiceError::BadRequest(format!(
                "request body does not have the fields this call takes: {}",
                e.body_text()
            )),
            _ => ServiceError::BadRequest(format!("request body: {}", e.body_text())),
        })
    })
}

fn parse_id(s: &str) -> ApiResult<Hash> {
    Hash::from_hex(s)
        .or_else(|| Hash::from_base64(&s.replace('-', "+").replace('_', "/")))
        .ok_or_else(|| {
            ApiFailure(ServiceError::BadRequest(format!(
                "{:?} is not a statement id (hex or base64url of 32 bytes)",
                s.chars().take(80).collect::<String>()
            )))
        })
}

fn parse_party(s: &str) -> ApiResult<PartyId> {
    PartyId::new(s).map_err(|e| ApiFailure(ServiceError::BadRequest(e.to_string())))
}

/// Public facts a client needs to build statements.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct HotlineDto {
    /// The log's origin, the `origin` line of every statement.
    pub origin: String,
    /// The log's verifier key (checkpoints).
    pub log_vkey: String,
    /// Statements in the log.
    pub size: u64,
    /// Deadline policy: seconds to acknowledge and answer, per priority.
    pub policy: PolicyDto,
    /// Largest clock difference accepted, seconds.
    pub max_clock_skew: i64,
}

/// Deadline policy.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct PolicyDto {
    /// Emergency: [acknowledge, answer] seconds.
    pub emergency: [i64; 2],
    /// Urgent.
    pub urgent: [i64; 2],
    /// Routine.
    pub routine: [i64; 2],
}

#[utoipa::path(
    get,
    path = "/api/v1/hotline",
    responses((status = 200, description = "the hotline's public settings", body = HotlineDto))
)]
async fn hotline_info(State(s): State<Arc<HotlineService>>) -> Json<HotlineDto> {
    let p = s.read(|h| h.policy().clone());
    Json(HotlineDto {
        origin: s.origin(),
        log_vkey: s.view().reader().log_vkey().to_owned(),
        size: s.read(|h| h.size()),
        policy: PolicyDto {
            emergency: [p.emergency.0, p.emergency.1],
            urgent: [p.urgent.0, p.urgent.1],
            routine: [p.routine.0, p.routine.1],
        },
        max_clock_skew: s.max_clock_skew(),
    })
}

/// A party in the directory.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct PartyDto {
    /// Id.
    pub id: String,
    /// Display name.
    pub name: String,
    /// ISO 3166-1 alpha-2.
    pub jurisdiction: String,
    /// Kind of organisation.
    pub kind: String,
    /// Duty contact.
    pub contact: String,
    /// Current verifier key (absent once revoked).
    pub vkey: Option<String>,
    /// Current age recipients.
    pub recipients: Vec<String>,
    /// Log index of the registration.
    pub registered_at: u64,
    /// Log index and reason of the revocation.
    pub revoked: Option<(u64, String)>,
}

#[utoipa::path(
    get,
    path = "/api/v1/parties",
    responses((status = 200, description = "every party, the revoked included", body = Vec<PartyDto>))
)]
async fn parties(State(s): State<Arc<HotlineService>>) -> Json<Vec<PartyDto>> {
    Json(s.read(|h| {
        h.directory()
            .iter()
            .map(|p| PartyDto {
                id: p.id.to_string(),
                name: p.name.clone(),
                jurisdiction: p.jurisdiction.clone(),
                kind: p.kind.to_string(),
                contact: p.contact.clone(),
                vkey: p.current().map(|k| k.verifier.to_vkey()),
                recipients: p
                    .current()
                    .map(|k| k.recipients.clone())
                    .unwrap_or_default(),
                registered_at: p.epochs.first().map_or(0, |e| e.from),
                revoked: p.revoked.map(|(i, r)| (i, r.to_string())),
            })
            .collect()
    }))
}

/// A statement to submit.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SubmitDto {
    /// The signed note, as text.
    pub statement: String,
    /// The age ciphertext, base64, if the statement commits to a payload.
    #[serde(default)]
    pub payload: Option<String>,
}

/// A statement in the log.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ReceiptDto {
    /// Statement id: base64 leaf hash (as in `ref` lines).
    pub id: String,
    /// The same id in hex (for URLs).
    pub id_hex: String,
    /// Log index.
    pub index: u64,
    /// False if the statement was already in the log and nothing was appended.
    pub new: bool,
    /// The case, if any.
    pub case: Option<String>,
    /// The receipt in c2sp.org/tlog-proof form.
    pub receipt: String,
}

fn receipt_dto(s: &Submitted) -> ReceiptDto {
    ReceiptDto {
        id: s.id.to_base64(),
        id_hex: s.id.to_hex(),
        index: s.receipt.index,
        new: s.new,
        case: s.case.as_ref().map(ToString::to_string),
        receipt: String::from_utf8_lossy(&s.receipt.to_tlog_proof().to_bytes()).into_owned(),
    }
}

#[utoipa::path(
    post,
    path = "/api/v1/statements",
    request_body = SubmitDto,
    responses(
        (status = 201, description = "appended: the statement's receipt", body = ReceiptDto),
        (status = 200, description = "already in the log: the original receipt; nothing appended", body = ReceiptDto),
        (status = 400, description = "malformed input; the message names the problem", body = ErrorDto),
        (status = 401, description = "no, malformed, unknown or revoked API token", body = ErrorDto),
        (status = 403, description = "the caller may not do this", body = ErrorDto),
        (status = 404, description = "nothing there, or nothing the caller may see", body = ErrorDto),
        (status = 409, description = "the case's state does not allow it (`phase` says which state; the message what is allowed), or the party or case exists", body = ErrorDto),
        (status = 413, description = "body, statement or payload larger than allowed", body = ErrorDto),
        (status = 415, description = "the body is not sent as application/json", body = ErrorDto),
        (status = 503, description = "the log stopped accepting statements", body = ErrorDto)
    )
)]
async fn submit(
    State(s): State<Arc<HotlineService>>,
    Caller(caller): Caller,
    body: Result<Json<SubmitDto>, JsonRejection>,
) -> ApiResult<(StatusCode, Json<ReceiptDto>)> {
    let body = json_body(body)?;
    let payload = match body.payload {
        None => None,
        Some(p) => Some(B64.decode(p.trim()).map_err(|_| {
            ApiFailure(ServiceError::BadRequest(
                "payload must be the base64 of the age ciphertext".into(),
            ))
        })?),
    };
    let out = s
        .submit(&caller, body.statement.as_bytes(), payload)
        .await?;
    let status = if out.new {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(receipt_dto(&out))))
}

/// A directory statement prepared by the party.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DirectoryStatementDto {
    /// The signed note, as text.
    pub statement: String,
}

/// A registration's result.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct RegisteredDto {
    /// The registration's receipt.
    pub receipt: ReceiptDto,
    /// The party's API token. Shown once: only its hash is stored.
    pub token: String,
}

#[utoipa::path(
    post,
    path = "/api/v1/parties",
    request_body = DirectoryStatementDto,
    responses(
        (status = 201, description = "registered: the receipt and the party's API token", body = RegisteredDto),
        (status = 400, description = "malformed input; the message names the problem", body = ErrorDto),
        (status = 401, description = "no, malformed, unknown or revoked API token", body = ErrorDto),
        (status = 403, description = "the caller may not do this", body = ErrorDto),
        (status = 409, description = "the case's state does not allow it (`phase` says which state; the message what is allowed), or the party or case exists", body = ErrorDto),
        (status = 413, description = "body, statement or payload larger than allowed", body = ErrorDto),
        (status = 415, description = "the body is not sent as application/json", body = ErrorDto),
        (status = 503, description = "the log stopped accepting statements", body = ErrorDto)
    )
)]
async fn register(
    State(s): State<Arc<HotlineService>>,
    Caller(caller): Caller,
    body: Result<Json<DirectoryStatementDto>, JsonRejection>,
) -> ApiResult<(StatusCode, Json<RegisteredDto>)> {
    let body = json_body(body)?;
    let (submitted, token) = s.register_party(&caller, body.statement.as_bytes()).await?;
    Ok((
        StatusCode::CREATED,
        Json(RegisteredDto {
            receipt: receipt_dto(&submitted),
            token,
        }),
    ))
}

#[utoipa::path(
    post,
    path = "/api/v1/parties/{party}/rotate",
    params(("party" = String, Path, description = "party id")),
    request_body = DirectoryStatementDto,
    responses(
        (status = 200, description = "the rotation's receipt", body = ReceiptDto),
        (status = 400, description = "malformed input; the message names the problem", body = ErrorDto),
        (status = 401, description = "no, malformed, unknown or revoked API token", body = ErrorDto),
        (status = 403, description = "the caller may not do this", body = ErrorDto),
        (status = 413, description = "body, statement or payload larger than allowed", body = ErrorDto),
        (status = 415, description = "the body is not sent as application/json", body = ErrorDto),
        (status = 503, description = "the log stopped accepting statements", body = ErrorDto)
    )
)]
async fn rotate(
    State(s): State<Arc<HotlineService>>,
    Caller(caller): Caller,
    Path(party): Path<String>,
    body: Result<Json<DirectoryStatementDto>, JsonRejection>,
) -> ApiResult<Json<ReceiptDto>> {
    let party = parse_party(&party)?;
    let body = json_body(body)?;
    let parsed = hotline_core::SignedStatement::parse(body.statement.as_bytes())
        .map_err(|e| ApiFailure(ServiceError::BadRequest(e.to_string())))?;
    if parsed.statement.party.as_ref() != Some(&party) {
        return Err(ApiFailure(ServiceError::BadRequest(format!(
            "the statement rotates the keys of {}, not {party}",
            parsed
                .statement
                .party
                .as_ref()
                .map_or("nobody".to_owned(), ToString::to_string)
        ))));
    }
    let out = s.rotate_key(&caller, body.statement.as_bytes()).await?;
    Ok(Json(receipt_dto(&out)))
}

/// Why a party is revoked.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RevokeDto {
    /// `compromised`, `retired` or `other`.
    pub reason: String,
}

#[utoipa::path(
    post,
    path = "/api/v1/parties/{party}/revoke",
    params(("party" = String, Path, description = "party id")),
    request_body = RevokeDto,
    responses(
        (status = 200, description = "the revocation's receipt", body = ReceiptDto),
        (status = 400, description = "malformed input; the message names the problem", body = ErrorDto),
        (status = 401, description = "no, malformed, unknown or revoked API token", body = ErrorDto),
        (status = 403, description = "the caller may not do this", body = ErrorDto),
        (status = 413, description = "body, statement or payload larger than allowed", body = ErrorDto),
        (status = 415, description = "the body is not sent as application/json", body = ErrorDto),
        (status = 503, description = "the log stopped accepting statements", body = ErrorDto)
    )
)]
async fn revoke(
    State(s): State<Arc<HotlineService>>,
    Caller(caller): Caller,
    Path(party): Path<String>,
    body: Result<Json<RevokeDto>, JsonRejection>,
) -> ApiResult<Json<ReceiptDto>> {
    let party = parse_party(&party)?;
    let body = json_body(body)?;
    let reason: RevocationReason =
        body.reason
            .parse()
            .map_err(|e: hotline_core::vocab::VocabError| {
                ApiFailure(ServiceError::BadRequest(e.to_string()))
            })?;
    let out = s.revoke_party(&caller, &party, reason).await?;
    Ok(Json(receipt_dto(&out)))
}

/// A statement with what its reader may know.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct StatementDto {
    /// Receipt and ids.
    #[serde(flatten)]
    pub receipt: ReceiptDto,
    /// Kind.
    pub kind: String,
    /// The signed note, as text.
    pub statement: String,
    /// Whether it carries a payload.
    pub has_payload: bool,
    /// Whether the operator recorded its delivery.
    pub delivered: bool,
}

#[utoipa::path(
    get,
    path = "/api/v1/statements/{id}",
    params(("id" = String, Path, description = "statement id: hex, or base64url, of its leaf hash")),
    responses(
        (status = 200, description = "the statement with a receipt against the latest checkpoint", body = StatementDto),
        (status = 400, description = "malformed input; the message names the problem", body = ErrorDto),
        (status = 401, description = "no, malformed, unknown or revoked API token", body = ErrorDto),
        (status = 404, description = "nothing there, or nothing the caller may see", body = ErrorDto)
    )
)]
async fn statement(
    State(s): State<Arc<HotlineService>>,
    Caller(caller): Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<StatementDto>> {
    let id = parse_id(&id)?;
    let info = s.statement_for(&caller, &id)?;
    let receipt = s.receipt(&caller, &id).await?;
    // Reads the store: off the async workers (a PostgreSQL reader blocks on its own runtime).
    let index = info.index;
    let service = s.clone();
    let bytes = tokio::task::spawn_blocking(move || service.statement_bytes(index))
        .await
        .map_err(|e| ServiceError::Internal(e.to_string()))??;
    let submitted = Submitted {
        id,
        new: false,
        receipt,
        case: info.case.clone(),
    };
    Ok(Json(StatementDto {
        receipt: receipt_dto(&submitted),
        kind: info.kind.to_string(),
        statement: String::from_utf8_lossy(&bytes).into_owned(),
        has_payload: info.has_payload,
        delivered: info.delivered,
    }))
}

/// Query of `GET /api/v1/statements/{id}/receipt`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReceiptQuery {
    /// `1` (or `true`): prove against the latest cosigned checkpoint.
    pub cosigned: Option<String>,
}

#[utoipa::path(
    get,
    path = "/api/v1/statements/{id}/receipt",
    params(
        ("id" = String, Path, description = "statement id: hex, or base64url, of its leaf hash"),
        ("cosigned" = Option<String>, Query, description = "`1`: prove the statement against the latest checkpoint cosigned by the log's witness policy (the receipt's checkpoint carries the cosignature lines); otherwise against the latest checkpoint")
    ),
    responses(
        (status = 200, description = "the statement's receipt", body = ReceiptDto),
        (status = 400, description = "malformed input; the message names the problem", body = ErrorDto),
        (status = 401, description = "no, malformed, unknown or revoked API token", body = ErrorDto),
        (status = 404, description = "nothing there, or nothing the caller may see; or, with cosigned=1, the log has no witness policy", body = ErrorDto),
        (status = 409, description = "with cosigned=1: no cosigned checkpoint covers the statement yet (ask again after the next witnessing round)", body = ErrorDto)
    )
)]
async fn receipt(
    State(s): State<Arc<HotlineService>>,
    Caller(caller): Caller,
    Path(id): Path<String>,
    query: Result<axum::extract::Query<ReceiptQuery>, axum::extract::rejection::QueryRejection>,
) -> ApiResult<Json<ReceiptDto>> {
    let axum::extract::Query(q) =
        query.map_err(|e| ApiFailure(ServiceError::BadRequest(e.body_text())))?;
    let cosigned = match q.cosigned.as_deref() {
        None | Some("0" | "false") => false,
        Some("1" | "true") => true,
        Some(other) => {
            return Err(ApiFailure(ServiceError::BadRequest(format!(
                "cosigned must be 1 or 0, not {other:?}"
            ))));
        }
    };
    let id = parse_id(&id)?;
    let info = s.statement_for(&caller, &id)?;
    let receipt = if cosigned {
        s.cosigned_receipt(&caller, &id).await?
    } else {
        s.receipt(&caller, &id).await?
    };
    Ok(Json(receipt_dto(&Submitted {
        id,
        new: false,
        receipt,
        case: info.case.clone(),
    })))
}

/// Content type of a COSE receipt (RFC 9052 §2: a tagged COSE_Sign1).
pub const COSE_CONTENT_TYPE: &str = "application/cose";

/// Response header of `GET /api/v1/statements/{id}/receipt.cose`: the size of the checkpoint
/// the receipt is against.
pub const TREE_SIZE_HEADER: &str = "hotline-tree-size";

#[utoipa::path(
    get,
    path = "/api/v1/statements/{id}/receipt.cose",
    params(("id" = String, Path, description = "statement id: hex, or base64url, of its leaf hash")),
    responses(
        (status = 200, description = "the statement's COSE receipt of inclusion (RFC 9942: COSE_Sign1, vds 1 RFC9162_SHA256, alg EdDSA, kid the log key's signed-note key ID, detached payload the tree root) against the latest checkpoint; the Hotline-Tree-Size header gives that checkpoint's size", body = [u8], content_type = "application/cose",
            headers(("Hotline-Tree-Size" = u64, description = "size of the checkpoint the receipt is against"))),
        (status = 400, description = "malformed input; the message names the problem", body = ErrorDto),
        (status = 401, description = "no, malformed, unknown or revoked API token", body = ErrorDto),
        (status = 404, description = "nothing there, or nothing the caller may see", body = ErrorDto)
    )
)]
async fn cose_receipt(
    State(s): State<Arc<HotlineService>>,
    Caller(caller): Caller,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let id = parse_id(&id)?;
    let (cose, checkpoint) = s.cose_receipt(&caller, &id).await?;
    Ok((
        [
            (header::CONTENT_TYPE, COSE_CONTENT_TYPE.to_owned()),
            (
                header::HeaderName::from_static(TREE_SIZE_HEADER),
                checkpoint.checkpoint.size.to_string(),
            ),
        ],
        cose,
    )
        .into_response())
}

#[utoipa::path(
    get,
    path = "/api/v1/statements/{id}/payload",
    params(("id" = String, Path, description = "statement id: hex, or base64url, of its leaf hash")),
    responses(
        (status = 200, description = "the binary age-encryption.org/v1 ciphertext, exactly as the statement commits to it", body = [u8], content_type = "application/octet-stream"),
        (status = 400, description = "malformed input; the message names the problem", body = ErrorDto),
        (status = 401, description = "no, malformed, unknown or revoked API token", body = ErrorDto),
        (status = 404, description = "nothing there, or nothing the caller may see", body = ErrorDto),
        (status = 503, description = "the log stopped accepting statements", body = ErrorDto)
    )
)]
async fn payload(
    State(s): State<Arc<HotlineService>>,
    Caller(caller): Caller,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let id = parse_id(&id)?;
    let data = s.fetch_payload(&caller, &id).await?;
    Ok((
        [(header::CONTENT_TYPE, "application/octet-stream")],
        Bytes::from(data),
    )
        .into_response())
}

/// A case as its parties see it in lists.
#[derive(Debug, Serialize, Deserialize, Clone, ToSchema)]
pub struct CaseSummaryDto {
    /// Case id.
    pub id: String,
    /// `notice` or `request`.
    pub kind: String,
    /// Who opened it.
    pub requester: String,
    /// Who it was opened with.
    pub responder: String,
    /// Your role: requester, responder or operator.
    pub role: String,
    /// Phase.
    pub phase: String,
    /// Priority.
    pub priority: String,
    /// Request type.
    pub request_type: Option<String>,
    /// Handling code (H0–H3) of the opening statement.
    #[serde(default)]
    pub handling: Option<String>,
    /// TLP 2.0 label of the opening statement's payload.
    #[serde(default)]
    pub tlp: Option<String>,
    /// When opened.
    pub opened: String,
    /// Acknowledge-by.
    pub ack_by: Option<String>,
    /// Answer-by.
    pub answer_by: Option<String>,
    /// The deadline that applies now, if any.
    pub next_deadline: Option<String>,
    /// Seconds until it (negative: overdue).
    pub seconds_left: Option<i64>,
    /// Whose move it is: the party expected to act next.
    pub waiting_on: Option<String>,
    /// Missed deadlines recorded so far.
    pub overdue: Vec<String>,
    /// Statements in the case.
    pub statements: usize,
    /// Log index of the latest statement.
    pub last_index: u64,
}

fn summary(c: &Case, caller: &PartyId, now: Timestamp) -> CaseSummaryDto {
    let role = match c.role_of(caller) {
        Some(hotline_core::lifecycle::Role::Requester) => "requester",
        Some(hotline_core::lifecycle::Role::Responder) => "responder",
        _ => "operator",
    };
    let next_deadline = next_deadline(c);
    let waiting_on = waiting_on(c).map(ToString::to_string);
    let mut overdue = Vec::new();
    if c.overdue_ack {
        overdue.push("ack".to_owned());
    }
    if c.overdue_answer {
        overdue.push("answer".to_owned());
    }
    CaseSummaryDto {
        id: c.id.to_string(),
        kind: c.kind.to_string(),
        requester: c.requester.to_string(),
        responder: c.responder.to_string(),
        role: role.to_owned(),
        phase: c.phase.to_string(),
        priority: c.priority.to_string(),
        request_type: c.request_type.map(|t| t.to_string()),
        handling: c.handling.map(|h| h.to_string()),
        tlp: c.tlp.map(|t| t.to_string()),
        opened: c.opened.to_rfc3339(),
        ack_by: c.ack_by.map(|t| t.to_rfc3339()),
        answer_by: c.answer_by.map(|t| t.to_rfc3339()),
        next_deadline: next_deadline.map(|t| t.to_rfc3339()),
        seconds_left: next_deadline.map(|t| t.unix() - now.unix()),
        waiting_on,
        overdue,
        statements: c.steps.len(),
        last_index: c.steps.last().map_or(0, |s| s.index),
    }
}

/// The deadline that applies to a case now, if any.
fn next_deadline(c: &Case) -> Option<Timestamp> {
    match c.phase {
        Phase::Sent | Phase::Delivered => c.ack_by.or(c.answer_by),
        Phase::Acknowledged | Phase::InfoRequested => c.answer_by,
        _ => None,
    }
}

/// The party expected to act next in a case.
fn waiting_on(c: &Case) -> Option<&PartyId> {
    match c.phase {
        Phase::Sent | Phase::Delivered | Phase::Acknowledged => Some(&c.responder),
        Phase::InfoRequested => Some(&c.requester),
        _ => None,
    }
}

/// Sort key for "most urgent first": open cases waiting on the caller before others, then by
/// time left, then by priority, newest first. Computed from the case itself, so that a page of
/// the inbox formats only the cases it shows.
fn urgency(c: &Case, caller: &PartyId, now: Timestamp) -> (u8, i64, u8, std::cmp::Reverse<u64>) {
    let deadline = next_deadline(c);
    let open = deadline.is_some() || matches!(c.phase, Phase::Sent | Phase::Delivered);
    let mine = waiting_on(c) == Some(caller);
    let bucket = match (open, mine) {
        (true, true) => 0,
        (true, false) => 1,
        _ => 2,
    };
    let prio = match c.priority {
        hotline_core::vocab::Priority::Emergency => 0,
        hotline_core::vocab::Priority::Urgent => 1,
        hotline_core::vocab::Priority::Routine => 2,
    };
    (
        bucket,
        deadline.map_or(i64::MAX, |t| t.unix() - now.unix()),
        prio,
        std::cmp::Reverse(c.steps.last().map_or(0, |s| s.index)),
    )
}

/// The inbox.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct InboxDto {
    /// The caller.
    pub party: String,
    /// Server time the deadlines were computed at.
    pub now: String,
    /// Cases, most urgent first (one page of them when `page` was given).
    pub cases: Vec<CaseSummaryDto>,
    /// How many cases match the query in all (every page).
    #[serde(default)]
    pub total: usize,
    /// The page returned (1-based), if the query asked for one.
    #[serde(default)]
    pub page: Option<usize>,
    /// Cases per page, if the query asked for a page.
    #[serde(default)]
    pub per_page: Option<usize>,
}

/// Query of `GET /api/v1/inbox`.
#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct InboxQuery {
    /// `responder` (what others sent you: the inbox proper), `requester` (what you sent: the
    /// outbox) or `all` (the default).
    pub role: Option<String>,
    /// 1-based page number; without it, every case.
    pub page: Option<usize>,
    /// Cases per page, 1–500 (default 50).
    pub per_page: Option<usize>,
}

/// Most cases one inbox page may hold.
pub const MAX_PER_PAGE: usize = 500;

#[utoipa::path(
    get,
    path = "/api/v1/inbox",
    params(
        ("role" = Option<String>, Query, description = "`responder`: cases opened with you (inbox); `requester`: cases you opened (outbox); `all` (default)"),
        ("page" = Option<usize>, Query, description = "1-based page number; without it every case is returned"),
        ("per_page" = Option<usize>, Query, description = "cases per page, 1-500 (default 50)")
    ),
    responses(
        (status = 200, description = "the caller's cases, most urgent first", body = InboxDto),
        (status = 400, description = "malformed input; the message names the problem", body = ErrorDto),
        (status = 401, description = "no, malformed, unknown or revoked API token", body = ErrorDto)
    )
)]
async fn inbox(
    State(s): State<Arc<HotlineService>>,
    Caller(caller): Caller,
    query: Result<axum::extract::Query<InboxQuery>, axum::extract::rejection::QueryRejection>,
) -> ApiResult<Json<InboxDto>> {
    let axum::extract::Query(q) =
        query.map_err(|e| ApiFailure(ServiceError::BadRequest(e.body_text())))?;
    let role = match q.role.as_deref() {
        None | Some("all") => None,
        Some(r @ ("requester" | "responder")) => Some(r),
        Some(other) => {
            return Err(ApiFailure(ServiceError::BadRequest(format!(
                "role must be responder, requester or all, not {:?}",
                other.chars().take(40).collect::<String>()
            ))));
        }
    };
    let per_page = q.per_page.unwrap_or(50);
    if q.page == Some(0) || !(1..=MAX_PER_PAGE).contains(&per_page) {
        return Err(ApiFailure(ServiceError::BadRequest(format!(
            "page counts from 1 and per_page must be 1-{MAX_PER_PAGE}"
        ))));
    }
    let now = s.now();
    let me = caller.to_string();
    let page = q.page;
    let (cases, total) = s.read(|h| {
        let mut keyed: Vec<_> = h
            .cases()
            .filter(|c| match role {
                None => caller.is_operator() || c.role_of(&caller).is_some(),
                Some("requester") => c.requester == caller,
                Some(_) => c.responder == caller,
            })
            .map(|c| (urgency(c, &caller, now), c))
            .collect();
        let total = keyed.len();
        let shown: &mut [_] = match page {
            // Only the page is needed in order: select it, then sort just those.
            Some(p) => {
                let start = (p - 1).saturating_mul(per_page).min(total);
                let end = start.saturating_add(per_page).min(total);
                if start < total {
                    keyed.select_nth_unstable_by_key(start, |(k, _)| *k);
                }
                let rest = &mut keyed[start..];
                let len = end - start;
                if len < rest.len() {
                    rest.select_nth_unstable_by_key(len, |(k, _)| *k);
                }
                &mut rest[..len]
            }
            None => &mut keyed[..],
        };
        shown.sort_by_key(|(k, _)| *k);
        let cases: Vec<CaseSummaryDto> = shown
            .iter()
            .map(|(_, c)| summary(c, &caller, now))
            .collect();
        (cases, total)
    });
    let (page, per) = match page {
        Some(p) => (Some(p), Some(per_page)),
        None => (None, None),
    };
    Ok(Json(InboxDto {
        party: me,
        now: now.to_rfc3339(),
        cases,
        total,
        page,
        per_page: per,
    }))
}

/// One step of a case.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct StepDto {
    /// Log index.
    pub index: u64,
    /// Statement id, base64.
    pub id: String,
    /// Statement id, hex.
    pub id_hex: String,
    /// Kind.
    pub kind: String,
    /// Author.
    pub author: String,
    /// Time the author gave.
    pub time: String,
    /// Whether it carries a payload.
    pub has_payload: bool,
}

/// A case with its timeline.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct CaseDto {
    /// Summary.
    #[serde(flatten)]
    pub summary: CaseSummaryDto,
    /// Every statement, in log order.
    pub timeline: Vec<StepDto>,
    /// The statement kinds the caller may make in the case now.
    #[serde(default)]
    pub allowed: Vec<String>,
}

#[utoipa::path(
    get,
    path = "/api/v1/cases/{case}",
    params(("case" = String, Path, description = "case id: YYYYMMDD- and 12 lowercase hex digits")),
    responses(
        (status = 200, description = "the case and its timeline", body = CaseDto),
        (status = 400, description = "malformed input; the message names the problem", body = ErrorDto),
        (status = 401, description = "no, malformed, unknown or revoked API token", body = ErrorDto),
        (status = 404, description = "nothing there, or nothing the caller may see", body = ErrorDto)
    )
)]
async fn case(
    State(s): State<Arc<HotlineService>>,
    Caller(caller): Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<CaseDto>> {
    let id = CaseId::new(&id).map_err(|e| ApiFailure(ServiceError::BadRequest(e.to_string())))?;
    // Read the published size first: steps applied but not yet durable are left out (they
    // have no proof yet); the next read shows them.
    let published = s.published_size();
    let c = s.case_for(&caller, &id)?;
    let role = c.role_of(&caller);
    let allowed = c
        .allowed()
        .into_iter()
        .filter(|(_, who)| match (who, role) {
            (
                hotline_core::lifecycle::Role::Either,
                Some(
                    hotline_core::lifecycle::Role::Requester
                    | hotline_core::lifecycle::Role::Responder,
                ),
            ) => true,
            (w, Some(r)) => *w == r,
            _ => false,
        })
        .map(|(k, _)| k.to_string())
        .collect();
    Ok(Json(CaseDto {
        allowed,
        summary: summary(&c, &caller, s.now()),
        timeline: c
            .steps
            .iter()
            .filter(|st| st.index < published)
            .map(|st| StepDto {
                index: st.index,
                id: st.id.to_base64(),
                id_hex: st.id.to_hex(),
                kind: st.kind.to_string(),
                author: st.author.to_string(),
                time: st.time.to_rfc3339(),
                has_payload: st.has_payload,
            })
            .collect(),
    }))
}

#[utoipa::path(
    post,
    path = "/api/v1/webhooks",
    request_body = crate::webhooks::NewWebhookDto,
    responses(
        (status = 201, description = "registered: the webhook with its signing secret (shown once)", body = crate::webhooks::WebhookDto),
        (status = 400, description = "malformed input; the message names the problem", body = ErrorDto),
        (status = 401, description = "no, malformed, unknown or revoked API token", body = ErrorDto),
        (status = 404, description = "this hotline keeps no webhooks", body = ErrorDto),
        (status = 409, description = "the party has as many webhooks as allowed", body = ErrorDto),
        (status = 415, description = "the body is not sent as application/json", body = ErrorDto)
    )
)]
async fn webhook_register(
    State(s): State<Arc<HotlineService>>,
    Caller(caller): Caller,
    body: Result<Json<crate::webhooks::NewWebhookDto>, JsonRejection>,
) -> ApiResult<(StatusCode, Json<crate::webhooks::WebhookDto>)> {
    let body = json_body(body)?;
    let hooks = s.webhooks()?.clone();
    let url = body.url;
    // The store blocks (and fsyncs): off the async workers.
    let dto = tokio::task::spawn_blocking(move || hooks.register(&caller, &url))
        .await
        .map_err(|e| ServiceError::Internal(e.to_string()))??;
    Ok((StatusCode::CREATED, Json(dto)))
}

#[utoipa::path(
    get,
    path = "/api/v1/webhooks",
    responses(
        (status = 200, description = "the caller's webhooks, without their secrets", body = Vec<crate::webhooks::WebhookDto>),
        (status = 401, description = "no, malformed, unknown or revoked API token", body = ErrorDto),
        (status = 404, description = "this hotline keeps no webhooks", body = ErrorDto)
    )
)]
async fn webhook_list(
    State(s): State<Arc<HotlineService>>,
    Caller(caller): Caller,
) -> ApiResult<Json<Vec<crate::webhooks::WebhookDto>>> {
    let hooks = s.webhooks()?.clone();
    let list = tokio::task::spawn_blocking(move || hooks.list(&caller))
        .await
        .map_err(|e| ServiceError::Internal(e.to_string()))??;
    Ok(Json(list))
}

#[utoipa::path(
    delete,
    path = "/api/v1/webhooks/{webhook}",
    params(("webhook" = String, Path, description = "webhook id")),
    responses(
        (status = 204, description = "deleted; no further attempts are made for it"),
        (status = 401, description = "no, malformed, unknown or revoked API token", body = ErrorDto),
        (status = 404, description = "no such webhook of the caller's", body = ErrorDto)
    )
)]
async fn webhook_delete(
    State(s): State<Arc<HotlineService>>,
    Caller(caller): Caller,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    let hooks = s.webhooks()?.clone();
    tokio::task::spawn_blocking(move || hooks.delete(&caller, &id))
        .await
        .map_err(|e| ServiceError::Internal(e.to_string()))??;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(
    get,
    path = "/api/v1/webhooks/deliveries",
    responses(
        (status = 200, description = "every delivery attempt to the caller's webhooks (the latest 1,000), latest first", body = Vec<crate::webhooks::DeliveryDto>),
        (status = 401, description = "no, malformed, unknown or revoked API token", body = ErrorDto),
        (status = 404, description = "this hotline keeps no webhooks", body = ErrorDto)
    )
)]
async fn webhook_deliveries(
    State(s): State<Arc<HotlineService>>,
    Caller(caller): Caller,
) -> ApiResult<Json<Vec<crate::webhooks::DeliveryDto>>> {
    let hooks = s.webhooks()?.clone();
    let log = tokio::task::spawn_blocking(move || hooks.deliveries(&caller))
        .await
        .map_err(|e| ServiceError::Internal(e.to_string()))??;
    Ok(Json(log))
}

#[utoipa::path(
    get,
    path = "/api/v1/openapi.json",
    responses((status = 200, description = "this document", content_type = "application/json"))
)]
async fn openapi_json() -> Response {
    static DOC: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let doc = DOC.get_or_init(|| {
        openapi()
            .to_pretty_json()
            .unwrap_or_else(|e| format!("{{\"error\": \"the OpenAPI document: {e}\"}}"))
    });
    ([(header::CONTENT_TYPE, "application/json")], doc.clone()).into_response()
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "hotline API",
        description = "The JSON API of a hotline: signed statements between parties, their \
                       encrypted payloads, cases and the party directory. Statement format: \
                       docs/statements.md. The log itself is served under /log/ as \
                       c2sp.org/tlog-tiles."
    ),
    paths(
        hotline_info,
        parties,
        register,
        rotate,
        revoke,
        submit,
        statement,
        receipt,
        cose_receipt,
        payload,
        inbox,
        case,
        webhook_register,
        webhook_list,
        webhook_delete,
        webhook_deliveries,
        openapi_json
    )
)]
struct ApiDoc;

/// Name of the bearer-token security scheme in the OpenAPI document.
pub const BEARER_SCHEME: &str = "bearer";

/// The OpenAPI 3 document of the API: schemas, parameters and responses derived by `utoipa`
/// from the DTOs and handlers; summaries and security requirements from [`ROUTES`]
/// (`Party` and `Operator` routes need the bearer token, `Public` ones nothing).
pub fn openapi() -> utoipa::openapi::OpenApi {
    use utoipa::openapi::security::{
        HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme,
    };
    let mut doc = ApiDoc::openapi();
    let components = doc.components.get_or_insert_with(Default::default);
    components.add_security_scheme(
        BEARER_SCHEME,
        SecurityScheme::Http(
            HttpBuilder::new()
                .scheme(HttpAuthScheme::Bearer)
                .description(Some("a party's API token, issued at its registration"))
                .build(),
        ),
    );
    for spec in ROUTES {
        let Some(item) = doc.paths.paths.get_mut(spec.path) else {
            continue;
        };
        let op = match spec.method {
            "GET" => item.get.as_mut(),
            "POST" => item.post.as_mut(),
            "DELETE" => item.delete.as_mut(),
            _ => None,
        };
        let Some(op) = op else {
            continue;
        };
        op.summary = Some(spec.summary.to_owned());
        let (who, security) = match spec.access {
            Access::Public => ("anyone, without credentials", None),
            Access::Party => (
                "any registered, non-revoked party (the operator included), with its API token",
                Some(vec![SecurityRequirement::new::<_, _, &str>(
                    BEARER_SCHEME,
                    [],
                )]),
            ),
            Access::Operator => (
                "the operator only, with its API token",
                Some(vec![SecurityRequirement::new::<_, _, &str>(
                    BEARER_SCHEME,
                    [],
                )]),
            ),
        };
        op.description = Some(format!("Access: {who}."));
        op.security = security;
    }
    doc
}

/// Kinds a party submits itself (for clients' help texts).
pub fn party_kinds() -> Vec<Kind> {
    Kind::ALL
        .iter()
        .copied()
        .filter(|k| !k.is_operator_kind())
        .collect()
}

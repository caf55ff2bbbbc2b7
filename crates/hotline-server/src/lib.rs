//! # hotline-server
//!
//! The HTTP face of hotline. This crate is the only owner of wire DTOs.
//!
//! - `/log/checkpoint`, `/log/tile/<L>/<N>[.p/<W>]`, `/log/tile/entries/<N>[.p/<W>]`:
//!   c2sp.org/tlog-tiles, with the spec's content types and caching;
//! - `/log/proof/inclusion`, `/log/proof/consistency`: JSON proofs for clients that do not
//!   want to fetch tiles.
//!
//! - `/taxii2/`: TAXII 2.1 ([`taxii`]) for a hotline (not a bare log).
//!
//! With a witness policy (`DIR/witnesses.toml`, see [`witnessing`]), `/log/checkpoint` serves
//! the latest checkpoint cosigned by enough witnesses (persisted in `DIR/cosigned.checkpoint`
//! and restored at start; 503 until there is one) rather than the latest signed one; without
//! it, the latest signed checkpoint.
//!
//! Bad input never produces a 500: malformed or unknown paths are 404 with a one-line reason,
//! bad query parameters 400.

pub mod api;
pub mod cluster;
pub mod console;
pub mod forward;
pub mod service;
pub mod taxii;
pub mod webhooks;
pub mod witnessing;

use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use hotline_store::StoreError;
use hotline_store::reader::{LogView, TileReadError};
use hotline_store::sequencer::SequencerHandle;
use hotline_tlog::Hash;
use hotline_tlog::tile::TileId;
use hotline_tlog::tree::ProofError;
use serde::{Deserialize, Serialize};

/// Shared state of the server.
pub struct AppState {
    /// Read access to the log.
    pub view: Arc<LogView>,
    /// The sequencer, if this process sequences.
    pub sequencer: Option<SequencerHandle>,
    /// The hotline service (statements, cases, directory), if this is a hotline and not a
    /// bare log.
    pub service: Option<Arc<service::HotlineService>>,
    /// Witness cosigning, if the log has a witness policy (`DIR/witnesses.toml`): then
    /// `/log/checkpoint` serves the latest checkpoint with enough cosignatures.
    pub witnessing: Option<Arc<witnessing::Witnessing>>,
}

/// Cache policy of immutable tile resources.
const IMMUTABLE: &str = "public, max-age=31536000, immutable";
/// Cache policy of the checkpoint: revalidate every time.
const MUTABLE: &str = "no-cache";

/// The router for all of hotline's HTTP endpoints.
pub fn router(state: Arc<AppState>) -> Router {
    let api = state
        .service
        .clone()
        .map(|s| api::routes(s.clone()).merge(taxii::routes(s)));
    let console = console::routes(state.clone());
    let log = Router::new()
        .route("/healthz", get(healthz))
        .route("/log/checkpoint", get(checkpoint))
        .route("/log/tile/{*path}", get(tile))
        .route("/log/proof/inclusion", get(inclusion))
        .route("/log/proof/consistency", get(consistency))
        .fallback(not_found)
        .with_state(state)
        .merge(console);
    let app = match api {
        Some(api) => log.merge(api),
        None => log,
    };
    // Each request as a span (method, URI, status, latency) at debug level: never headers or
    // bodies, which hold tokens and ciphertext (`HOTLINE_LOG=debug` shows them).
    app.layer(tower_http::compression::CompressionLayer::new().gzip(true))
        .layer(tower_http::trace::TraceLayer::new_for_http())
}

/// An error response: status and a one-line reason, as text or JSON.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    message: String,
}

impl ApiError {
    fn new(status: StatusCode, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            message: message.into(),
        }
    }

    fn internal(e: impl std::fmt::Display) -> ApiError {
        tracing::error!(error = %e, "request failed");
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("internal error: {e}"),
        )
    }
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    error: &'a str,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = serde_json::to_string(&ErrorBody {
            error: &self.message,
        })
        .unwrap_or_else(|_| "{\"error\":\"unprintable error\"}".to_owned());
        (
            self.status,
            [(header::CONTENT_TYPE, "application/json")],
            body + "\n",
        )
            .into_response()
    }
}

pub(crate) fn text_404(reason: String) -> Response {
    (
        StatusCode::NOT_FOUND,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        reason + "\n",
    )
        .into_response()
}

async fn healthz(State(state): State<Arc<AppState>>) -> Response {
    // One of several frontends: what it does, and whether it can take writes.
    if let Some(f) = state.service.as_ref().and_then(|s| s.frontend()) {
        let (ok, line) = f.describe();
        let status = if ok {
            StatusCode::OK
        } else {
            StatusCode::SERVICE_UNAVAILABLE
        };
        return (status, line + "\n").into_response();
    }
    if let Some(reason) = state.sequencer.as_ref().and_then(|s| s.stopped_reason()) {
        return ApiError::new(StatusCode::SERVICE_UNAVAILABLE, reason.to_string()).into_response();
    }
    (StatusCode::OK, "ok\n").into_response()
}

async fn not_found() -> Response {
    text_404("not found: see / for the endpoints this server offers".to_owned())
}

async fn checkpoint(State(state): State<Arc<AppState>>) -> Response {
    if let Some(w) = &state.witnessing {
        return match w.latest() {
            Some(cp) => (
                [
                    (
                        header::CONTENT_TYPE,
                        HeaderValue::from_static("text/plain; charset=utf-8"),
                    ),
                    (header::CACHE_CONTROL, HeaderValue::from_static(MUTABLE)),
                ],
                cp.note.clone(),
            )
                .into_response(),
            None => ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                format!(
                    "no checkpoint has been cosigned by {} of the log's witnesses yet",
                    w.policy().required
                ),
            )
            .into_response(),
        };
    }
    match state.view.snapshot().checkpoint.clone() {
        Some(cp) => (
            [
                (
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("text/plain; charset=utf-8"),
                ),
                (header::CACHE_CONTROL, HeaderValue::from_static(MUTABLE)),
            ],
            cp.note.clone(),
        )
            .into_response(),
        None => text_404("the log is empty: no checkpoint has been signed yet".to_owned()),
    }
}

async fn tile(
    State(state): State<Arc<AppState>>,
    path: Result<Path<String>, axum::extract::rejection::PathRejection>,
) -> Response {
    let Ok(Path(path)) = path else {
        return text_404("malformed tile path: not valid UTF-8 once decoded".to_owned());
    };
    let id = match TileId::parse(&format!("tile/{path}")) {
        Ok(id) => id,
        Err(e) => return text_404(e.to_string()),
    };
    let view = state.view.clone();
    let result = tokio::task::spawn_blocking(move || {
        let snap = view.snapshot();
        view.tile_resource(&snap, &id)
    })
    .await;
    match result {
        Ok(Ok(bytes)) => (
            [
                (
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("application/octet-stream"),
                ),
                (header::CACHE_CONTROL, HeaderValue::from_static(IMMUTABLE)),
            ],
            bytes,
        )
            .into_response(),
        Ok(Err(TileReadError::NotFound(path, size))) => {
            text_404(format!("{path} does not exist in the tree of size {size}"))
        }
        Ok(Err(TileReadError::Store(e))) => ApiError::internal(e).into_response(),
        Err(e) => ApiError::internal(e).into_response(),
    }
}

/// Query of `/log/proof/inclusion`.
#[derive(Deserialize)]
pub struct InclusionQuery {
    /// Leaf index.
    pub index: Option<u64>,
    /// Leaf hash (base64 or hex), instead of the index.
    pub leaf_hash: Option<String>,
    /// Tree size (defaults to the latest checkpoint's).
    pub size: Option<u64>,
}

/// Response of `/log/proof/inclusion`.
#[derive(Serialize, Deserialize, Debug)]
pub struct InclusionProofDto {
    /// Leaf index.
    pub index: u64,
    /// Tree size the proof is for.
    pub tree_size: u64,
    /// Leaf hash, base64.
    pub leaf_hash: String,
    /// Proof hashes from the leaf's sibling up, base64.
    pub proof: Vec<String>,
    /// The latest signed checkpoint (note text with signatures); its size is at least
    /// `tree_size`.
    pub checkpoint: String,
}

/// Query of `/log/proof/consistency`.
#[derive(Deserialize)]
pub struct ConsistencyQuery {
    /// Older tree size.
    pub old: u64,
    /// Newer tree size (defaults to the latest checkpoint's).
    pub new: Option<u64>,
}

/// Response of `/log/proof/consistency`.
#[derive(Serialize, Deserialize, Debug)]
pub struct ConsistencyProofDto {
    /// Older tree size.
    pub old: u64,
    /// Newer tree size.
    pub new: u64,
    /// Proof hashes, base64.
    pub proof: Vec<String>,
    /// The latest signed checkpoint.
    pub checkpoint: String,
}

fn proof_error(e: ProofError<StoreError>) -> ApiError {
    match e {
        ProofError::Source(s) => ApiError::internal(s),
        other => ApiError::new(StatusCode::BAD_REQUEST, other.to_string()),
    }
}

/// The latest snapshot and its checkpoint, and the requested tree size (default: the
/// checkpoint's), refused if it lies beyond the checkpoint.
fn latest_at(
    view: &LogView,
    requested: Option<u64>,
    what: &str,
) -> Result<
    (
        Arc<hotline_store::reader::LogSnapshot>,
        Arc<hotline_store::reader::SignedCheckpoint>,
        u64,
    ),
    ApiError,
> {
    let snap = view.snapshot();
    let cp = snap
        .checkpoint
        .clone()
        .ok_or_else(|| ApiError::new(StatusCode::NOT_FOUND, "the log is empty"))?;
    let size = requested.unwrap_or(cp.size());
    if size > cp.size() {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            format!(
                "{what} {size} is beyond the latest checkpoint's size {}",
                cp.size()
            ),
        ));
    }
    Ok((snap, cp, size))
}

fn parse_hash(s: &str) -> Option<Hash> {
    Hash::from_hex(s)
        .or_else(|| Hash::from_base64(s))
        .or_else(|| Hash::from_base64(&s.replace('-', "+").replace('_', "/")))
}

async fn inclusion(
    State(state): State<Arc<AppState>>,
    query: Result<Query<InclusionQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<axum::Json<InclusionProofDto>, ApiError> {
    let Query(q) = query.map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, e.body_text()))?;
    let view = state.view.clone();
    tokio::task::spawn_blocking(move || {
        let (snap, cp, size) = latest_at(&view, q.size, "size")?;
        let index = match (q.index, q.leaf_hash.as_deref()) {
            (Some(i), None) => i,
            (None, Some(h)) => {
                let leaf = parse_hash(h).ok_or_else(|| {
                    ApiError::new(
                        StatusCode::BAD_REQUEST,
                        "leaf_hash must be a SHA-256 hash in hex or base64",
                    )
                })?;
                match view.find_leaf(&snap, &leaf).map_err(ApiError::internal)? {
                    Some(i) if i < size => i,
                    _ => {
                        return Err(ApiError::new(
                            StatusCode::NOT_FOUND,
                            format!(
                                "no entry with leaf hash {} in the tree of size {size}",
                                leaf
                            ),
                        ));
                    }
                }
            }
            _ => {
                return Err(ApiError::new(
                    StatusCode::BAD_REQUEST,
                    "give exactly one of index or leaf_hash",
                ));
            }
        };
        let proof = view
            .inclusion_proof(&snap, index, size)
            .map_err(proof_error)?;
        let leaf = view.leaf_hash(&snap, index).map_err(ApiError::internal)?;
        Ok(axum::Json(InclusionProofDto {
            index,
            tree_size: size,
            leaf_hash: leaf.to_base64(),
            proof: proof.iter().map(Hash::to_base64).collect(),
            checkpoint: String::from_utf8_lossy(&cp.note).into_owned(),
        }))
    })
    .await
    .map_err(ApiError::internal)?
}

async fn consistency(
    State(state): State<Arc<AppState>>,
    query: Result<Query<ConsistencyQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<axum::Json<ConsistencyProofDto>, ApiError> {
    let Query(q) = query.map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, e.body_text()))?;
    let view = state.view.clone();
    tokio::task::spawn_blocking(move || {
        let (snap, cp, new) = latest_at(&view, q.new, "new size")?;
        let proof = view
            .consistency_proof(&snap, q.old, new)
            .map_err(proof_error)?;
        Ok(axum::Json(ConsistencyProofDto {
            old: q.old,
            new,
            proof: proof.iter().map(Hash::to_base64).collect(),
            checkpoint: String::from_utf8_lossy(&cp.note).into_owned(),
        }))
    })
    .await
    .map_err(ApiError::internal)?
}

//! The witness's HTTP interface (c2sp.org/tlog-witness): `POST /add-checkpoint` and the
//! monitoring `GET /<origin hash>/checkpoint`. Binds nothing: the caller serves [`router`].

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};

use crate::witness::{AddError, Witness};

/// Largest accepted `add-checkpoint` body: the old size line, 63 proof lines and a checkpoint
/// with its signatures fit many times over.
pub const MAX_BODY: usize = 64 * 1024;

/// `Content-Type` of a 409 response, whose body is the recorded tree size.
pub const CONTENT_TYPE_SIZE: &str = "text/x.tlog.size";

/// `Content-Type` of the other responses (cosignature lines, checkpoints, error reasons).
pub const CONTENT_TYPE_TEXT: &str = "text/plain; charset=utf-8";

/// The witness's routes: `POST /add-checkpoint` (the submission prefix) and
/// `GET /{sha256(origin) in lowercase hex}/checkpoint` (the monitoring prefix), both at the
/// root; nest the router to serve them under a prefix.
pub fn router(witness: Arc<Witness>) -> Router {
    Router::new()
        .route("/add-checkpoint", post(add_checkpoint))
        .route("/{origin_hash}/checkpoint", get(checkpoint))
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .with_state(witness)
}

fn text(status: StatusCode, content_type: &'static str, body: String) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, HeaderValue::from_static(content_type))],
        body,
    )
        .into_response()
}

async fn add_checkpoint(State(witness): State<Arc<Witness>>, body: Bytes) -> Response {
    let result = tokio::task::spawn_blocking(move || witness.add_checkpoint(&body)).await;
    let result = match result {
        Ok(r) => r,
        Err(e) => {
            tracing::error!(error = %e, "add-checkpoint task failed");
            return text(
                StatusCode::INTERNAL_SERVER_ERROR,
                CONTENT_TYPE_TEXT,
                "internal error\n".to_owned(),
            );
        }
    };
    match result {
        Ok(cosigned) => {
            tracing::info!(origin = %cosigned.origin, size = cosigned.size, "cosigned");
            text(StatusCode::OK, CONTENT_TYPE_TEXT, cosigned.body())
        }
        Err(AddError::Conflict { recorded, .. }) => text(
            StatusCode::CONFLICT,
            CONTENT_TYPE_SIZE,
            format!("{recorded}\n"),
        ),
        Err(e) => {
            let status =
                StatusCode::from_u16(e.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            if status.is_server_error() {
                tracing::error!(error = %e, "add-checkpoint failed");
                text(status, CONTENT_TYPE_TEXT, "internal error\n".to_owned())
            } else {
                tracing::debug!(error = %e, status = status.as_u16(), "add-checkpoint refused");
                text(status, CONTENT_TYPE_TEXT, format!("{e}\n"))
            }
        }
    }
}

async fn checkpoint(
    State(witness): State<Arc<Witness>>,
    Path(origin_hash): Path<String>,
) -> Response {
    let not_found = || {
        text(
            StatusCode::NOT_FOUND,
            CONTENT_TYPE_TEXT,
            "no cosigned checkpoint for this origin hash\n".to_owned(),
        )
    };
    let Some(hash) = parse_lower_hex(&origin_hash) else {
        return not_found();
    };
    let result =
        tokio::task::spawn_blocking(move || witness.latest_checkpoint_by_origin_hash(&hash)).await;
    match result {
        Ok(Ok(Some(note))) => {
            let mut r = text(
                StatusCode::OK,
                CONTENT_TYPE_TEXT,
                String::from_utf8_lossy(&note).into_owned(),
            );
            r.headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
            r
        }
        Ok(Ok(None)) => not_found(),
        Ok(Err(e)) => {
            tracing::error!(error = %e, "reading the latest checkpoint failed");
            text(
                StatusCode::INTERNAL_SERVER_ERROR,
                CONTENT_TYPE_TEXT,
                "internal error\n".to_owned(),
            )
        }
        Err(e) => {
            tracing::error!(error = %e, "checkpoint task failed");
            text(
                StatusCode::INTERNAL_SERVER_ERROR,
                CONTENT_TYPE_TEXT,
                "internal error\n".to_owned(),
            )
        }
    }
}

/// 64 lowercase hex digits ("hex encoded, in lowercase").
fn parse_lower_hex(s: &str) -> Option<[u8; 32]> {
    let b = s.as_bytes();
    if b.len() != 64 {
        return None;
    }
    let digit = |c: u8| match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        _ => None,
    };
    let mut out = [0u8; 32];
    for (o, pair) in out.iter_mut().zip(b.chunks_exact(2)) {
        *o = digit(pair[0])? << 4 | digit(pair[1])?;
    }
    Some(out)
}

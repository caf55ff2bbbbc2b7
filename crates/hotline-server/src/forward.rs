//! Forwarding what needs the sequencer from a following frontend to the frontend that
//! sequences (see [`crate::cluster`] for the model and why forwarding).
//!
//! [`layer`] wraps a frontend's router:
//!
//! - `/log/…`, `/healthz` and `/` are always served here (the log view is followed locally);
//! - a request that another frontend forwarded (header [`FORWARDED`]) is served here too, never
//!   forwarded again; the answer carries the log size after it ([`LOG_SIZE`]);
//! - reads (`GET`, `HEAD`) are served here; if the handler needs the sequencer (a recipient's
//!   first payload download makes the operator sign `delivered`) it answers 503 marked
//!   [`NOT_SEQUENCER`], and the same request goes to the sequencer;
//! - writes are served here when this frontend sequences, refused (503 with the reason) when
//!   it cannot back them (its state is being rebuilt, or it has lost the database), and
//!   otherwise sent to the sequencer named by the lease.
//!
//! A forwarded request is sent again to the next sequencer while the lease changes hands (for
//! at most the forwarder's patience) when nothing was done (the target refused it as not the
//! sequencer, or could not be reached), and — statement submissions and reads only — also when
//! the outcome is unknown (the sequencer died while handling it): resubmitting the same
//! statement is idempotent. Other writes with an unknown outcome answer 503 saying so. A
//! successful answer is relayed once this frontend has itself followed the log that far (at
//! most [`crate::cluster::FOLLOW_WAIT`]), so that a client reading from the frontend it wrote
//! to sees its own write.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, Uri, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use hotline_store::reader::LogView;

use crate::api::ErrorDto;
use crate::cluster::{FOLLOW_WAIT, FrontendStatus, Role};

/// Set on a request one frontend forwards to another (its value: the forwarding frontend).
pub const FORWARDED: HeaderName = HeaderName::from_static("x-hotline-forwarded");
/// Set on a 503 answer that means "this frontend does not sequence; nothing was done".
pub const NOT_SEQUENCER: HeaderName = HeaderName::from_static("x-hotline-not-sequencer");
/// Set on the answer to a forwarded request: the log size the sequencer had published then.
pub const LOG_SIZE: HeaderName = HeaderName::from_static("x-hotline-log-size");

/// Request headers a forwarded request keeps.
const KEPT_REQUEST_HEADERS: [HeaderName; 3] =
    [header::AUTHORIZATION, header::CONTENT_TYPE, header::ACCEPT];

/// Forwards requests of one frontend to the sequencer.
pub struct Forwarder {
    status: Arc<FrontendStatus>,
    view: Arc<LogView>,
    http: reqwest::Client,
    patience: Duration,
}

impl Forwarder {
    /// A forwarder for the frontend with `status` whose log is `view`; a forwarded request is
    /// retried for at most `patience` while the lease changes hands.
    pub fn new(
        status: Arc<FrontendStatus>,
        view: Arc<LogView>,
        patience: Duration,
    ) -> Result<Arc<Forwarder>, reqwest::Error> {
        let http = reqwest::Client::builder()
            .no_proxy()
            .tcp_nodelay(true)
            .connect_timeout(Duration::from_secs(2))
            .timeout(Duration::from_secs(60))
            .pool_max_idle_per_host(256)
            .build()?;
        Ok(Arc::new(Forwarder {
            status,
            view,
            http,
            patience,
        }))
    }
}

/// The middleware (see the module docs): `router.layer(axum::middleware::from_fn_with_state(
/// forwarder, forward::layer))`.
pub async fn layer(State(fwd): State<Arc<Forwarder>>, req: Request, next: Next) -> Response {
    let path = req.uri().path();
    if path.starts_with("/log/") || path == "/healthz" || path == "/" {
        return next.run(req).await;
    }
    if req.headers().contains_key(&FORWARDED) {
        let mut resp = next.run(req).await;
        let size = fwd.view.snapshot().size();
        resp.headers_mut().insert(LOG_SIZE, HeaderValue::from(size));
        return resp;
    }
    if matches!(*req.method(), Method::GET | Method::HEAD) {
        let (method, uri, headers) = (
            req.method().clone(),
            req.uri().clone(),
            req.headers().clone(),
        );
        let resp = next.run(req).await;
        if !resp.headers().contains_key(&NOT_SEQUENCER) {
            return resp;
        }
        return fwd.to_sequencer(method, uri, headers, Bytes::new()).await;
    }
    match fwd.route().await {
        Route::Here => next.run(req).await,
        Route::Refuse(why) => unavailable(why),
        Route::Sequencer => {
            let (parts, body) = req.into_parts();
            let body = match axum::body::to_bytes(body, crate::api::MAX_BODY).await {
                Ok(b) => b,
                Err(_) => {
                    return error(
                        StatusCode::PAYLOAD_TOO_LARGE,
                        format!(
                            "request body larger than the {} bytes allowed, or cut off",
                            crate::api::MAX_BODY
                        ),
                    );
                }
            };
            fwd.to_sequencer(parts.method, parts.uri, parts.headers, body)
                .await
        }
    }
}

enum Route {
    Here,
    Sequencer,
    Refuse(String),
}

fn error(status: StatusCode, message: String) -> Response {
    (
        status,
        axum::Json(ErrorDto {
            error: message,
            phase: None,
        }),
    )
        .into_response()
}

fn unavailable(message: String) -> Response {
    error(StatusCode::SERVICE_UNAVAILABLE, message)
}

impl Forwarder {
    /// Where a write goes, waiting while this frontend takes over as sequencer.
    async fn route(&self) -> Route {
        let deadline = Instant::now() + self.patience;
        loop {
            match self.status.role() {
                Role::Sequencer { .. } => return Route::Here,
                Role::Follower => {
                    return match self.status.check_database() {
                        Ok(()) => Route::Sequencer,
                        Err(why) => Route::Refuse(why),
                    };
                }
                Role::Unavailable(why) => {
                    return Route::Refuse(format!(
                        "frontend {} accepts no writes now: {why}; try another frontend",
                        self.status.name()
                    ));
                }
                Role::TakingOver { .. } => {
                    if Instant::now() >= deadline {
                        return Route::Refuse(format!(
                            "frontend {} is still taking over as sequencer; try again in a \
                             moment",
                            self.status.name()
                        ));
                    }
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            }
        }
    }

    /// Sends the request to the sequencer and relays its answer (module docs).
    async fn to_sequencer(
        &self,
        method: Method,
        uri: Uri,
        headers: HeaderMap,
        body: Bytes,
    ) -> Response {
        if let Err(why) = self.status.check_database() {
            return unavailable(why);
        }
        let idempotent = matches!(method, Method::GET | Method::HEAD)
            || (method == Method::POST && uri.path() == "/api/v1/statements");
        let path = uri.path_and_query().map_or("/", |p| p.as_str());
        let deadline = Instant::now() + self.patience;
        let mut last = "no frontend holds the sequencer lease".to_owned();
        loop {
            if Instant::now() >= deadline {
                return unavailable(format!(
                    "no sequencer took this request within {:.0} s ({last}); try again in a \
                     moment",
                    self.patience.as_secs_f64()
                ));
            }
            if let Err(why) = self.status.check_database() {
                return unavailable(why);
            }
            let Some(leader) = self.status.leader() else {
                self.status.kick();
                tokio::time::sleep(Duration::from_millis(25)).await;
                continue;
            };
            let mut req = self
                .http
                .request(
                    method.clone(),
                    format!("{}{path}", leader.url.trim_end_matches('/')),
                )
                .header(
                    FORWARDED,
                    HeaderValue::from_str(self.status.name())
                        .unwrap_or(HeaderValue::from_static("frontend")),
                )
                .body(body.clone());
            for name in &KEPT_REQUEST_HEADERS {
                if let Some(v) = headers.get(name) {
                    req = req.header(name, v);
                }
            }
            let answer = match req.send().await {
                Ok(r) => {
                    let status = r.status();
                    let headers = r.headers().clone();
                    r.bytes().await.map(|b| (status, headers, b))
                }
                Err(e) => Err(e),
            };
            let (status, answer_headers, bytes) = match answer {
                Ok(a) => a,
                Err(e) if e.is_connect() || idempotent => {
                    // Nothing done (not reached), or safe to send again.
                    last = format!("{} at {}: {e}", leader.name, leader.url);
                    self.status.leader_failed(leader.epoch);
                    continue;
                }
                Err(e) => {
                    return unavailable(format!(
                        "the sequencer {} did not answer ({e}); whether this request took effect \
                         is unknown: check before sending it again",
                        leader.name
                    ));
                }
            };
            if status == StatusCode::SERVICE_UNAVAILABLE
                && (answer_headers.contains_key(&NOT_SEQUENCER) || idempotent)
            {
                // It does not (or no longer) sequence, or it is stepping down: try the next.
                last = format!(
                    "{} answered: {}",
                    leader.name,
                    String::from_utf8_lossy(&bytes[..bytes.len().min(200)]).trim()
                );
                self.status.leader_failed(leader.epoch);
                continue;
            }
            if status.is_success()
                && let Some(size) = answer_headers
                    .get(&LOG_SIZE)
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.parse::<u64>().ok())
            {
                // Read-your-writes on this frontend; relayed anyway after the bound.
                self.status.wait_followed(size, FOLLOW_WAIT).await;
            }
            let mut resp = Response::new(Body::from(bytes));
            *resp.status_mut() = status;
            for (name, value) in &answer_headers {
                if is_relayed(name) {
                    resp.headers_mut().append(name.clone(), value.clone());
                }
            }
            return resp;
        }
    }
}

/// Answer headers relayed to the client: not hop-by-hop, not the body's framing (the body is
/// relayed whole), not the frontends' own.
fn is_relayed(name: &HeaderName) -> bool {
    !matches!(
        name.as_str(),
        "connection"
            | "keep-alive"
            | "transfer-encoding"
            | "content-length"
            | "content-encoding"
            | "te"
            | "trailer"
            | "upgrade"
            | "x-hotline-log-size"
            | "x-hotline-not-sequencer"
    )
}

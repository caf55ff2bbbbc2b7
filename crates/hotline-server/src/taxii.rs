//! TAXII 2.1 at `/taxii2/`: discovery, one API root (`/taxii2/hotline/`), its collections,
//! objects (GET and POST), an object and its versions, manifests and status resources.
//!
//! Collections (ids derived from the log's origin, so they are stable and anyone can compute
//! them, [`collection_id`]):
//!
//! - `shared`: every registered party reads and writes (TLP:CLEAR and TLP:GREEN);
//! - `public`: anyone reads without credentials, parties write (TLP:CLEAR only);
//! - one per party, for its own publications: every party reads, only the owner writes
//!   (TLP:CLEAR and TLP:GREEN).
//!
//! The operator reads every collection and writes none. Credentials: HTTP Basic with the
//! party id as user name and its API token as password, or `Authorization: Bearer <token>`.
//!
//! Every accepted POST is a `shared` statement in the log committing to the SHA-256 of the
//! body (docs/statements.md): the party's own when the request carries it in the
//! `Hotline-Statement` header (base64 of the signed note; `hotline share` does this), otherwise
//! one the operator signs naming the authenticated party. The objects are stored as side data
//! of that statement in the same durable commit and served only once it is durable. A POST
//! is all or nothing: one invalid or unshareable object refuses the whole request, and nothing
//! is stored.
//!
//! Paging: `limit` (default and maximum [`TaxiiConfig::max_page`]) and an opaque `next`
//! cursor; `date_added` values are unique and grow with the log, so a page never repeats or
//! skips an object. Filters: `added_after` (strictly after), `match[id]`, `match[type]`,
//! `match[version]` (`last` by default, `first`, `all` or timestamps), `match[spec_version]`.

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, get};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD as B64, URL_SAFE_NO_PAD as B64URL};
use hotline_core::PartyId;
use hotline_core::statement::ObjectsCommitment;
use hotline_core::vocab::{Collection, Tlp};
use hotline_store::taxii::{
    TaxiiObject, TaxiiPublication, TaxiiQuery, TaxiiRow, VersionFilter, format_timestamp_us,
    parse_timestamp_us, version_key,
};
use hotline_tlog::Hash;
use serde_json::{Value, json};
use sha2::Digest as _;

use crate::service::{HotlineService, Publication, ServiceError};

/// The TAXII 2.1 media type, sent on every response and required on POST bodies.
pub const MEDIA_TYPE_TAXII: &str = "application/taxii+json;version=2.1";
/// The STIX 2.1 media type, named in manifests and collections.
pub const MEDIA_TYPE_STIX: &str = "application/stix+json;version=2.1";
/// The name of hotline's one API root: `/taxii2/hotline/`.
pub const API_ROOT: &str = "hotline";
/// The request header carrying a party's own signed `shared` statement (base64).
pub const STATEMENT_HEADER: &str = "hotline-statement";

/// TAXII settings of a server.
#[derive(Clone, Debug)]
pub struct TaxiiConfig {
    /// The largest POST body accepted, bytes (the API root's `max_content_length`).
    pub max_content_length: usize,
    /// The deepest nesting of arrays and objects accepted in a POST body.
    pub max_depth: usize,
    /// The largest page (and the default `limit`).
    pub max_page: usize,
}

impl Default for TaxiiConfig {
    fn default() -> Self {
        TaxiiConfig {
            max_content_length: 10 * 1024 * 1024,
            max_depth: 32,
            max_page: 1000,
        }
    }
}

/// Shared state of the TAXII routes.
struct Taxii {
    service: Arc<HotlineService>,
    config: TaxiiConfig,
    origin: String,
}

/// A collection of this hotline.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CollectionRef {
    /// Every party reads and writes.
    Shared,
    /// Anyone reads; TLP:CLEAR only.
    Public,
    /// One party's own publications.
    Party(PartyId),
}

impl CollectionRef {
    fn name(&self) -> String {
        match self {
            CollectionRef::Shared => "shared".into(),
            CollectionRef::Public => "public".into(),
            CollectionRef::Party(p) => format!("party:{p}"),
        }
    }

    /// The statement's `collection` value when `publisher` writes here.
    fn statement_value(&self) -> Collection {
        match self {
            CollectionRef::Shared => Collection::Shared,
            CollectionRef::Public => Collection::Public,
            CollectionRef::Party(_) => Collection::Own,
        }
    }
}

/// The id of a collection of the hotline with log origin `origin`: a UUID (version 8, RFC
/// 9562) made of the first 16 bytes of SHA-256(`"hotline TAXII collection\n" origin "\n"
/// name`), where name is `shared`, `public` or `party:<party id>`.
pub fn collection_id(origin: &str, c: &CollectionRef) -> String {
    let h = sha2::Sha256::digest(format!("hotline TAXII collection\n{origin}\n{}", c.name()));
    uuid_v8(&h[..16])
}

/// The id of the status resource of the `shared` statement with leaf hash `id`: a UUID
/// (version 8) of the first 16 bytes of SHA-256(`"hotline TAXII status\n"` id).
pub fn status_id(statement: &Hash) -> String {
    let mut input = b"hotline TAXII status\n".to_vec();
    input.extend_from_slice(&statement.0);
    let h = sha2::Sha256::digest(&input);
    uuid_v8(&h[..16])
}

fn uuid_v8(b: &[u8]) -> String {
    let mut u = [0u8; 16];
    u.copy_from_slice(&b[..16]);
    u[6] = (u[6] & 0x0f) | 0x80;
    u[8] = (u[8] & 0x3f) | 0x80;
    let h = hex(&u);
    format!(
        "{}-{}-{}-{}-{}",
        &h[..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..]
    )
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// A TAXII error resource with its HTTP status.
#[derive(Debug)]
pub struct TaxiiError {
    status: StatusCode,
    title: String,
    description: String,
    details: Option<Value>,
    /// This frontend does not sequence: marked so that the forwarding layer asks the one that
    /// does ([`crate::forward::NOT_SEQUENCER`]).
    not_sequencer: bool,
}

impl TaxiiError {
    fn new(status: StatusCode, title: &str, description: impl Into<String>) -> TaxiiError {
        TaxiiError {
            status,
            title: title.to_owned(),
            description: description.into(),
            details: None,
            not_sequencer: false,
        }
    }

    fn bad_request(description: impl Into<String>) -> TaxiiError {
        TaxiiError::new(StatusCode::BAD_REQUEST, "Bad request", description)
    }

    fn not_found(description: impl Into<String>) -> TaxiiError {
        TaxiiError::new(StatusCode::NOT_FOUND, "Not found", description)
    }

    fn internal(e: impl std::fmt::Display) -> TaxiiError {
        tracing::error!(error = %e, "TAXII request failed");
        TaxiiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Internal error",
            format!("storage failed: {e}"),
        )
    }
}

impl From<ServiceError> for TaxiiError {
    fn from(e: ServiceError) -> Self {
        let (status, title) = match &e {
            ServiceError::BadRequest(_) => (StatusCode::BAD_REQUEST, "Bad request"),
            ServiceError::Unauthorized(_) => (StatusCode::UNAUTHORIZED, "Unauthorized"),
            ServiceError::Forbidden(_) => (StatusCode::FORBIDDEN, "Forbidden"),
            ServiceError::NotFound(_) => (StatusCode::NOT_FOUND, "Not found"),
            ServiceError::Conflict { .. } => (StatusCode::CONFLICT, "Conflict"),
            ServiceError::TooLarge(_) => (StatusCode::PAYLOAD_TOO_LARGE, "Request too large"),
            ServiceError::UnsupportedMediaType(_) => {
                (StatusCode::UNSUPPORTED_MEDIA_TYPE, "Unsupported media type")
            }
            ServiceError::Unavailable(_) => (StatusCode::SERVICE_UNAVAILABLE, "Unavailable"),
            ServiceError::NotSequencer(_) => {
                let mut err = TaxiiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "Unavailable",
                    e.to_string(),
                );
                err.not_sequencer = true;
                return err;
            }
            ServiceError::Internal(m) => return TaxiiError::internal(m),
        };
        TaxiiError::new(status, title, e.to_string())
    }
}

impl IntoResponse for TaxiiError {
    fn into_response(self) -> Response {
        let mut body = json!({
            "title": self.title,
            "description": self.description,
            "http_status": self.status.as_u16().to_string(),
        });
        if let (Some(d), Some(o)) = (self.details, body.as_object_mut()) {
            o.insert("details".into(), d);
        }
        let mut resp = (
            self.status,
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static(MEDIA_TYPE_TAXII),
            )],
            body.to_string(),
        )
            .into_response();
        if self.status == StatusCode::UNAUTHORIZED {
            resp.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"hotline TAXII\", Bearer"),
            );
        }
        if self.not_sequencer {
            resp.headers_mut()
                .insert(crate::forward::NOT_SEQUENCER, HeaderValue::from_static("1"));
        }
        resp
    }
}

type TaxiiResult = Result<Response, TaxiiError>;

/// The TAXII routes, to merge into the server's router.
pub fn routes(service: Arc<HotlineService>) -> Router {
    let origin = service.origin();
    let config = service.taxii_config().clone();
    let state = Arc::new(Taxii {
        service,
        config: config.clone(),
        origin,
    });
    let root = format!("/taxii2/{API_ROOT}");
    let mut r = Router::new();
    // Every resource answers with and without its trailing slash: TAXII URLs end in one, but
    // clients build some (taxii2-client's status URL) without.
    let mut add = |path: String, m: MethodRouter<Arc<Taxii>>| {
        let trimmed = path.trim_end_matches('/').to_owned();
        r = std::mem::take(&mut r)
            .route(&path, m.clone())
            .route(&trimmed, m);
    };
    add("/taxii2/".into(), get(discovery).fallback(not_allowed));
    add(format!("{root}/"), get(api_root).fallback(not_allowed));
    add(
        format!("{root}/collections/"),
        get(collections).fallback(not_allowed),
    );
    add(
        format!("{root}/collections/{{cid}}/"),
        get(collection).fallback(not_allowed),
    );
    add(
        format!("{root}/collections/{{cid}}/objects/"),
        get(get_objects).post(post_objects).fallback(not_allowed),
    );
    add(
        format!("{root}/collections/{{cid}}/objects/{{oid}}/"),
        get(get_object).fallback(not_allowed),
    );
    add(
        format!("{root}/collections/{{cid}}/objects/{{oid}}/versions/"),
        get(get_versions).fallback(not_allowed),
    );
    add(
        format!("{root}/collections/{{cid}}/manifest/"),
        get(get_manifest).fallback(not_allowed),
    );
    add(
        format!("{root}/status/{{sid}}/"),
        get(get_status).fallback(not_allowed),
    );
    r.route("/taxii2/{*rest}", axum::routing::any(unknown))
        // The body limit is checked by the handler (a TAXII error, not axum's text): let
        // axum read one byte more than allowed so the handler sees the excess.
        .layer(axum::extract::DefaultBodyLimit::max(
            config.max_content_length.saturating_add(1),
        ))
        .with_state(state)
}

async fn unknown() -> TaxiiError {
    TaxiiError::not_found(format!(
        "no such TAXII resource: the API root is /taxii2/{API_ROOT}/ (discovery at /taxii2/)"
    ))
}

async fn not_allowed() -> TaxiiError {
    TaxiiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "Method not allowed",
        "this TAXII resource does not take that method (objects are added with POST to a \
         collection's objects/ and are never deleted: the log keeps them)",
    )
}

/// What a caller may do with a collection.
struct Access {
    read: bool,
    write: bool,
}

fn access(caller: Option<&PartyId>, c: &CollectionRef) -> Access {
    match (caller, c) {
        (None, CollectionRef::Public) => Access {
            read: true,
            write: false,
        },
        (None, _) => Access {
            read: false,
            write: false,
        },
        (Some(p), _) if p.is_operator() => Access {
            read: true,
            write: false,
        },
        (Some(p), CollectionRef::Party(owner)) => Access {
            read: true,
            write: p == owner,
        },
        (Some(_), _) => Access {
            read: true,
            write: true,
        },
    }
}

/// The caller, from HTTP Basic (party id and API token) or a bearer token; `None` without an
/// `Authorization` header.
fn caller(t: &Taxii, headers: &HeaderMap) -> Result<Option<PartyId>, TaxiiError> {
    let Some(h) = headers.get(header::AUTHORIZATION) else {
        return Ok(None);
    };
    let unauthorized = |m: &str| TaxiiError::new(StatusCode::UNAUTHORIZED, "Unauthorized", m);
    let h = h
        .to_str()
        .map_err(|_| unauthorized("the Authorization header is not ASCII"))?;
    let (scheme, rest) = h.split_once(' ').unwrap_or((h, ""));
    let party = if scheme.eq_ignore_ascii_case("bearer") {
        t.service.authenticate(rest.trim())
    } else if scheme.eq_ignore_ascii_case("basic") {
        let decoded = B64
            .decode(rest.trim())
            .ok()
            .and_then(|d| String::from_utf8(d).ok())
            .ok_or_else(|| {
                unauthorized("HTTP Basic credentials must be base64 of user:password")
            })?;
        let (user, token) = decoded.split_once(':').ok_or_else(|| {
            unauthorized("HTTP Basic credentials must be base64 of user:password")
        })?;
        t.service.authenticate(token).filter(|p| p.as_str() == user)
    } else {
        return Err(unauthorized(
            "use HTTP Basic (party id and API token) or Authorization: Bearer <API token>",
        ));
    };
    party
        .map(Some)
        .ok_or_else(|| unauthorized("unknown or revoked credentials (user: the party id; password or bearer token: its API token)"))
}

/// Whether the `Accept` header admits the TAXII 2.1 media type (absent, `*/*` and
/// `application/*` do; `application/taxii+json` without a version means the latest, 2.1).
fn check_accept(headers: &HeaderMap) -> Result<(), TaxiiError> {
    let Some(accept) = headers.get(header::ACCEPT) else {
        return Ok(());
    };
    let accept = accept.to_str().unwrap_or("");
    let ok = accept.split(',').any(|item| {
        let mut parts = item.split(';').map(str::trim);
        let ty = parts.next().unwrap_or("").to_ascii_lowercase();
        let params: Vec<String> = parts
            .map(|p| p.replace(' ', "").to_ascii_lowercase())
            .collect();
        let version_ok = params
            .iter()
            .filter(|p| p.starts_with("version="))
            .all(|p| p == "version=2.1");
        match ty.as_str() {
            "*/*" | "application/*" => true,
            "application/taxii+json" => version_ok,
            _ => false,
        }
    });
    if ok {
        Ok(())
    } else {
        Err(TaxiiError::new(
            StatusCode::NOT_ACCEPTABLE,
            "Not acceptable",
            format!(
                "this server answers in {MEDIA_TYPE_TAXII} only; the request's Accept header \
                 ({accept:?}) does not admit it"
            ),
        ))
    }
}

fn ok_json(status: StatusCode, body: impl IntoResponse) -> Response {
    (
        status,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static(MEDIA_TYPE_TAXII),
        )],
        body,
    )
        .into_response()
}

/// The absolute URL of a path on this server, from the request's `Host` (and
/// `X-Forwarded-Proto`, for a server behind a TLS proxy).
fn absolute(headers: &HeaderMap, path: &str) -> String {
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("localhost");
    let scheme = headers
        .get("x-forwarded-proto")
        .and_then(|h| h.to_str().ok())
        .filter(|s| *s == "https" || *s == "http")
        .unwrap_or("http");
    format!("{scheme}://{host}{path}")
}

async fn discovery(State(t): State<Arc<Taxii>>, headers: HeaderMap) -> TaxiiResult {
    check_accept(&headers)?;
    caller(&t, &headers)?;
    let root = absolute(&headers, &format!("/taxii2/{API_ROOT}/"));
    Ok(ok_json(
        StatusCode::OK,
        json!({
            "title": format!("hotline {}", t.origin),
            "description": "Indicators and other STIX 2.1 objects shared over hotline. Every \
                            publication is a signed `shared` statement in the hotline's \
                            transparency log (/log/), which proves who published what, and when.",
            "default": root,
            "api_roots": [root],
        })
        .to_string(),
    ))
}

async fn api_root(State(t): State<Arc<Taxii>>, headers: HeaderMap) -> TaxiiResult {
    check_accept(&headers)?;
    caller(&t, &headers)?;
    Ok(ok_json(
        StatusCode::OK,
        json!({
            "title": format!("hotline {}", t.origin),
            "description": "Collections: shared (every party), public (anyone, TLP:CLEAR) and \
                            one per party for its own publications.",
            "versions": [MEDIA_TYPE_TAXII],
            "max_content_length": t.config.max_content_length,
        })
        .to_string(),
    ))
}

/// Every collection, with what it is.
fn all_collections(t: &Taxii) -> Vec<(CollectionRef, String, String)> {
    let mut out = vec![
        (
            CollectionRef::Shared,
            "Shared by all parties".to_owned(),
            "Objects any registered party published for all parties: TLP:CLEAR and TLP:GREEN."
                .to_owned(),
        ),
        (
            CollectionRef::Public,
            "Public".to_owned(),
            "TLP:CLEAR objects, readable by anyone without credentials.".to_owned(),
        ),
    ];
    let parties: Vec<(PartyId, String)> = t.service.read(|h| {
        h.directory()
            .iter()
            .filter(|p| !p.id.is_operator())
            .map(|p| (p.id.clone(), p.name.clone()))
            .collect()
    });
    for (id, name) in parties {
        out.push((
            CollectionRef::Party(id.clone()),
            format!("Publications of {name} ({id})"),
            format!(
                "Objects {id} published itself: TLP:CLEAR and TLP:GREEN; every party reads, \
                 only {id} writes."
            ),
        ));
    }
    out
}

fn collection_json(
    t: &Taxii,
    who: Option<&PartyId>,
    (c, title, description): &(CollectionRef, String, String),
) -> Value {
    let a = access(who, c);
    let mut v = json!({
        "id": collection_id(&t.origin, c),
        "title": title,
        "description": description,
        "can_read": a.read,
        "can_write": a.write,
        "media_types": [MEDIA_TYPE_STIX],
    });
    if let (CollectionRef::Party(p), Some(o)) = (c, v.as_object_mut()) {
        o.insert("alias".into(), Value::String(p.to_string()));
    } else if let Some(o) = v.as_object_mut() {
        o.insert("alias".into(), Value::String(c.name()));
    }
    v
}

/// The collection with this id, and the caller's access to it (404 if unknown; 401 or 403 if
/// the caller may not read it).
fn find_collection(
    t: &Taxii,
    cid: &str,
    who: Option<&PartyId>,
) -> Result<(CollectionRef, Access), TaxiiError> {
    let c = all_collections(t)
        .into_iter()
        .map(|(c, _, _)| c)
        .find(|c| collection_id(&t.origin, c) == cid)
        .ok_or_else(|| {
            TaxiiError::not_found(format!(
                "no collection {:?} on this API root (GET /taxii2/{API_ROOT}/collections/ lists them)",
                cid.chars().take(80).collect::<String>()
            ))
        })?;
    let a = access(who, &c);
    if !a.read {
        return Err(TaxiiError::new(
            StatusCode::UNAUTHORIZED,
            "Unauthorized",
            "this collection is for registered parties: authenticate with HTTP Basic (party id \
             and API token) or a bearer token",
        ));
    }
    Ok((c, a))
}

async fn collections(State(t): State<Arc<Taxii>>, headers: HeaderMap) -> TaxiiResult {
    check_accept(&headers)?;
    let who = caller(&t, &headers)?;
    let list: Vec<Value> = all_collections(&t)
        .iter()
        .filter(|c| access(who.as_ref(), &c.0).read)
        .map(|c| collection_json(&t, who.as_ref(), c))
        .collect();
    Ok(ok_json(
        StatusCode::OK,
        json!({ "collections": list }).to_string(),
    ))
}

async fn collection(
    State(t): State<Arc<Taxii>>,
    headers: HeaderMap,
    Path(cid): Path<String>,
) -> TaxiiResult {
    check_accept(&headers)?;
    let who = caller(&t, &headers)?;
    let (c, _) = find_collection(&t, &cid, who.as_ref())?;
    let entry = all_collections(&t)
        .into_iter()
        .find(|x| x.0 == c)
        .ok_or_else(|| TaxiiError::not_found("no such collection"))?;
    Ok(ok_json(
        StatusCode::OK,
        collection_json(&t, who.as_ref(), &entry).to_string(),
    ))
}

/// Parsed query parameters of the paged endpoints.
struct Filters {
    after_us: Option<i64>,
    ids: Vec<String>,
    types: Vec<String>,
    versions: VersionFilter,
    spec_versions: Vec<String>,
    limit: usize,
}

/// The opaque paging cursor: the `date_added` of the last object of the previous page.
fn encode_next(date_added_us: i64) -> String {
    B64URL.encode(format!("hotline-next-v1:{date_added_us}"))
}

fn decode_next(s: &str) -> Option<i64> {
    let raw = B64URL.decode(s).ok()?;
    let text = String::from_utf8(raw).ok()?;
    text.strip_prefix("hotline-next-v1:")?.parse().ok()
}

/// Reads the query string; `allowed` lists the `match[…]` fields this endpoint takes.
fn filters(t: &Taxii, query: Option<&str>, allowed: &[&str]) -> Result<Filters, TaxiiError> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query.unwrap_or(""))
        .map_err(|e| TaxiiError::bad_request(format!("the query string is malformed: {e}")))?;
    let mut f = Filters {
        after_us: None,
        ids: Vec::new(),
        types: Vec::new(),
        versions: VersionFilter::default(),
        spec_versions: Vec::new(),
        limit: t.config.max_page,
    };
    let list = |v: &str| -> Vec<String> {
        v.split(',')
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty())
            .collect()
    };
    let mut cursor = None;
    for (k, v) in &pairs {
        let field = k.strip_prefix("match[").and_then(|r| r.strip_suffix(']'));
        match (k.as_str(), field) {
            ("added_after", _) => {
                f.after_us = Some(parse_timestamp_us(v).ok_or_else(|| {
                    TaxiiError::bad_request(format!(
                        "added_after must be a timestamp like 2021-07-03T10:00:00.000Z, not {v:?}"
                    ))
                })?);
            }
            ("limit", _) => {
                let n: usize = v.parse().ok().filter(|n| *n > 0).ok_or_else(|| {
                    TaxiiError::bad_request(format!("limit must be a positive integer, not {v:?}"))
                })?;
                f.limit = n.min(t.config.max_page);
            }
            ("next", _) => {
                cursor = Some(decode_next(v).ok_or_else(|| {
                    TaxiiError::bad_request(
                        "next is not a cursor this server handed out (take it from the \
                         previous page's `next`)",
                    )
                })?);
            }
            (_, Some(name)) if allowed.contains(&name) => match name {
                "id" => f.ids.extend(list(v)),
                "type" => f.types.extend(list(v)),
                "spec_version" => f.spec_versions.extend(list(v)),
                "version" => {
                    for item in list(v) {
                        match item.as_str() {
                            "all" => f.versions.all = true,
                            "first" => f.versions.first = true,
                            "last" => f.versions.last = true,
                            ts if parse_timestamp_us(ts).is_some() => {
                                f.versions.exact.push(version_key(ts))
                            }
                            other => {
                                return Err(TaxiiError::bad_request(format!(
                                    "match[version] takes last, first, all or timestamps, not \
                                     {other:?}"
                                )));
                            }
                        }
                    }
                }
                _ => {}
            },
            _ => {
                return Err(TaxiiError::bad_request(format!(
                    "unknown query parameter {:?}: this endpoint takes added_after, limit, next{}",
                    k.chars().take(60).collect::<String>(),
                    allowed
                        .iter()
                        .map(|a| format!(", match[{a}]"))
                        .collect::<String>()
                )));
            }
        }
    }
    if let Some(c) = cursor {
        f.after_us = Some(f.after_us.map_or(c, |a| a.max(c)));
    }
    Ok(f)
}

/// Runs a query against the published part of the log: up to `limit` rows, and whether there
/// are more.
async fn query(
    t: &Taxii,
    collection: &CollectionRef,
    f: &Filters,
    id: Option<&str>,
    with_json: bool,
) -> Result<(Vec<TaxiiRow>, bool), TaxiiError> {
    let mut q = TaxiiQuery {
        collection: collection_id(&t.origin, collection),
        below_index: t.service.published_size(),
        after_us: f.after_us,
        ids: f.ids.clone(),
        types: f.types.clone(),
        versions: f.versions.clone(),
        spec_versions: f.spec_versions.clone(),
        limit: f.limit + 1,
    };
    if let Some(id) = id {
        q.ids = vec![id.to_owned()];
    }
    let view = t.service.view().clone();
    let mut rows = tokio::task::spawn_blocking(move || match view.reader().taxii() {
        Some(r) => r.taxii_objects(&q, with_json),
        None => Ok(Vec::new()),
    })
    .await
    .map_err(TaxiiError::internal)?
    .map_err(TaxiiError::internal)?;
    let more = rows.len() > f.limit;
    rows.truncate(f.limit);
    Ok((rows, more))
}

/// A paged response with the `X-TAXII-Date-Added-First` / `-Last` headers.
fn paged(rows: &[TaxiiRow], body: impl IntoResponse) -> Response {
    let mut resp = ok_json(StatusCode::OK, body);
    if let (Some(first), Some(last)) = (rows.first(), rows.last()) {
        for (name, us) in [
            ("x-taxii-date-added-first", first.date_added_us),
            ("x-taxii-date-added-last", last.date_added_us),
        ] {
            if let Ok(v) = HeaderValue::from_str(&format_timestamp_us(us)) {
                resp.headers_mut().insert(name, v);
            }
        }
    }
    resp
}

/// An envelope of the rows' objects, written from the stored JSON texts without re-parsing.
/// The texts were checked to be UTF-8 JSON when they were added; they are checked to be UTF-8
/// again (the ASCII fast path of `str::from_utf8`; a lossy conversion walked them byte by
/// byte, 7 % of a page's CPU) so that damaged storage is an error, never a garbled page.
fn envelope(rows: &[TaxiiRow], more: bool) -> Result<Vec<u8>, TaxiiError> {
    let size: usize = rows.iter().map(|r| r.json.len() + 1).sum();
    let mut out = Vec::with_capacity(size + 128);
    out.extend_from_slice(b"{\"more\":");
    out.extend_from_slice(if more { b"true" } else { b"false" });
    if more && let Some(last) = rows.last() {
        out.extend_from_slice(b",\"next\":\"");
        out.extend_from_slice(encode_next(last.date_added_us).as_bytes());
        out.push(b'"');
    }
    if !rows.is_empty() {
        out.extend_from_slice(b",\"objects\":[");
        for (i, r) in rows.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            if std::str::from_utf8(&r.json).is_err() {
                return Err(TaxiiError::internal(format!(
                    "the stored text of object {} (date_added {}) is not UTF-8",
                    r.id,
                    format_timestamp_us(r.date_added_us)
                )));
            }
            out.extend_from_slice(&r.json);
        }
        out.push(b']');
    }
    out.push(b'}');
    Ok(out)
}

async fn get_objects(
    State(t): State<Arc<Taxii>>,
    headers: HeaderMap,
    Path(cid): Path<String>,
    RawQuery(q): RawQuery,
) -> TaxiiResult {
    check_accept(&headers)?;
    let who = caller(&t, &headers)?;
    let (c, _) = find_collection(&t, &cid, who.as_ref())?;
    let f = filters(&t, q.as_deref(), &["id", "type", "version", "spec_version"])?;
    let (rows, more) = query(&t, &c, &f, None, true).await?;
    Ok(paged(&rows, envelope(&rows, more)?))
}

async fn get_manifest(
    State(t): State<Arc<Taxii>>,
    headers: HeaderMap,
    Path(cid): Path<String>,
    RawQuery(q): RawQuery,
) -> TaxiiResult {
    check_accept(&headers)?;
    let who = caller(&t, &headers)?;
    let (c, _) = find_collection(&t, &cid, who.as_ref())?;
    let f = filters(&t, q.as_deref(), &["id", "type", "version", "spec_version"])?;
    let (rows, more) = query(&t, &c, &f, None, false).await?;
    let mut body = json!({ "more": more });
    if let Some(o) = body.as_object_mut() {
        if more && let Some(last) = rows.last() {
            o.insert(
                "next".into(),
                Value::String(encode_next(last.date_added_us)),
            );
        }
        if !rows.is_empty() {
            let objects: Vec<Value> = rows
                .iter()
                .map(|r| {
                    json!({
                        "id": r.id,
                        "date_added": format_timestamp_us(r.date_added_us),
                        "version": r.version,
                        "media_type": MEDIA_TYPE_STIX,
                    })
                })
                .collect();
            o.insert("objects".into(), Value::Array(objects));
        }
    }
    Ok(paged(&rows, body.to_string()))
}

fn check_object_id(oid: &str) -> Result<(), TaxiiError> {
    if hotline_stix::StixId::parse(oid).is_none() {
        return Err(TaxiiError::bad_request(format!(
            "{:?} is not a STIX identifier (<type>--<UUID>)",
            oid.chars().take(80).collect::<String>()
        )));
    }
    Ok(())
}

async fn get_object(
    State(t): State<Arc<Taxii>>,
    headers: HeaderMap,
    Path((cid, oid)): Path<(String, String)>,
    RawQuery(q): RawQuery,
) -> TaxiiResult {
    check_accept(&headers)?;
    let who = caller(&t, &headers)?;
    let (c, _) = find_collection(&t, &cid, who.as_ref())?;
    check_object_id(&oid)?;
    let f = filters(&t, q.as_deref(), &["version", "spec_version"])?;
    let (rows, more) = query(&t, &c, &f, Some(&oid), true).await?;
    if rows.is_empty() && f.after_us.is_none() {
        return Err(TaxiiError::not_found(format!(
            "no object {oid} (in the versions asked for) in this collection"
        )));
    }
    Ok(paged(&rows, envelope(&rows, more)?))
}

async fn get_versions(
    State(t): State<Arc<Taxii>>,
    headers: HeaderMap,
    Path((cid, oid)): Path<(String, String)>,
    RawQuery(q): RawQuery,
) -> TaxiiResult {
    check_accept(&headers)?;
    let who = caller(&t, &headers)?;
    let (c, _) = find_collection(&t, &cid, who.as_ref())?;
    check_object_id(&oid)?;
    let mut f = filters(&t, q.as_deref(), &["spec_version"])?;
    f.versions = VersionFilter {
        all: true,
        ..VersionFilter::default()
    };
    let (rows, more) = query(&t, &c, &f, Some(&oid), false).await?;
    if rows.is_empty() && f.after_us.is_none() {
        return Err(TaxiiError::not_found(format!(
            "no object {oid} in this collection"
        )));
    }
    let mut body = json!({ "more": more });
    if let Some(o) = body.as_object_mut() {
        if more && let Some(last) = rows.last() {
            o.insert(
                "next".into(),
                Value::String(encode_next(last.date_added_us)),
            );
        }
        if !rows.is_empty() {
            o.insert(
                "versions".into(),
                Value::Array(
                    rows.iter()
                        .map(|r| Value::String(r.version.clone()))
                        .collect(),
                ),
            );
        }
    }
    Ok(paged(&rows, body.to_string()))
}

async fn get_status(
    State(t): State<Arc<Taxii>>,
    headers: HeaderMap,
    Path(sid): Path<String>,
) -> TaxiiResult {
    check_accept(&headers)?;
    let Some(who) = caller(&t, &headers)? else {
        return Err(TaxiiError::new(
            StatusCode::UNAUTHORIZED,
            "Unauthorized",
            "status resources are for registered parties: authenticate with HTTP Basic or a \
             bearer token",
        ));
    };
    let view = t.service.view().clone();
    let key = sid.clone();
    let found = tokio::task::spawn_blocking(move || match view.reader().taxii() {
        Some(r) => r.taxii_status(&key),
        None => Ok(None),
    })
    .await
    .map_err(TaxiiError::internal)?
    .map_err(TaxiiError::internal)?;
    // A status lists what one request added to a collection, so it is shown only to callers
    // who may read that collection; the one who posted always may (status_readers_include_writers).
    // Status ids are derived from public log entries, so they are no secret: a caller who may
    // not see one is told there is none, never that it exists.
    match found {
        Some(st)
            if st.index < t.service.published_size()
                && may_read_collection(&t, &who, &st.collection) =>
        {
            Ok(ok_json(StatusCode::OK, st.status))
        }
        _ => Err(TaxiiError::not_found(format!(
            "no status {:?} on this API root that you may read",
            sid.chars().take(80).collect::<String>()
        ))),
    }
}

/// Whether `who` may read the collection with id `collection` (false for an id that names
/// no collection of this hotline).
fn may_read_collection(t: &Taxii, who: &PartyId, collection: &str) -> bool {
    all_collections(t)
        .iter()
        .find(|(c, _, _)| collection_id(&t.origin, c) == collection)
        .is_some_and(|(c, _, _)| access(Some(who), c).read)
}

/// Whether a Content-Type is the TAXII 2.1 media type (`version=2.1`, or no version: the
/// latest).
fn is_taxii_content_type(headers: &HeaderMap) -> bool {
    let Some(ct) = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let mut parts = ct.split(';').map(str::trim);
    let ty = parts.next().unwrap_or("").to_ascii_lowercase();
    ty == "application/taxii+json"
        && parts.all(|p| {
            let p = p.replace(' ', "").to_ascii_lowercase();
            !p.starts_with("version=") || p == "version=2.1"
        })
}

#[derive(serde::Deserialize)]
struct RawEnvelope<'a> {
    #[serde(borrow)]
    objects: Vec<&'a serde_json::value::RawValue>,
}

async fn post_objects(
    State(t): State<Arc<Taxii>>,
    headers: HeaderMap,
    Path(cid): Path<String>,
    body: Result<Bytes, axum::extract::rejection::BytesRejection>,
) -> TaxiiResult {
    let who = caller(&t, &headers)?;
    let (c, access) = find_collection(&t, &cid, who.as_ref())?;
    let Some(party) = who else {
        return Err(TaxiiError::new(
            StatusCode::UNAUTHORIZED,
            "Unauthorized",
            "adding objects needs a party's credentials: HTTP Basic (party id and API token) \
             or a bearer token",
        ));
    };
    if !access.write {
        return Err(TaxiiError::new(
            StatusCode::FORBIDDEN,
            "Forbidden",
            if party.is_operator() {
                "the operator publishes nothing: parties write to collections".to_owned()
            } else {
                format!(
                    "{party} may read this collection but not write to it: a party's own \
                     collection is written by that party only"
                )
            },
        ));
    }
    if !is_taxii_content_type(&headers) {
        return Err(TaxiiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "Unsupported media type",
            format!(
                "send the objects as Content-Type: {MEDIA_TYPE_TAXII} (a TAXII envelope or a \
                 STIX bundle), not {:?}",
                headers
                    .get(header::CONTENT_TYPE)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("nothing")
            ),
        ));
    }
    check_accept(&headers)?;
    let max = t.config.max_content_length;
    let too_large = || {
        TaxiiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "Request too large",
            format!("the body is larger than this API root's max_content_length, {max} bytes"),
        )
    };
    let body = body.map_err(|e| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            too_large()
        } else {
            TaxiiError::bad_request(format!("the body could not be read: {}", e.body_text()))
        }
    })?;
    if body.len() > max {
        return Err(too_large());
    }
    if let Err(e) = std::str::from_utf8(&body) {
        return Err(TaxiiError::bad_request(format!(
            "the body is not UTF-8: invalid bytes at offset {}",
            e.valid_up_to()
        )));
    }
    let value = hotline_stix::parse_json_strict(&body, t.config.max_depth)
        .map_err(|e| TaxiiError::bad_request(format!("the body is not valid JSON: {e}")))?;
    let bundle = hotline_stix::Bundle::from_envelope(&value).map_err(|errs| {
        let list: Vec<Value> = errs
            .errors()
            .iter()
            .map(|e| {
                json!({
                    "object": e.subject.to_string(),
                    "path": e.path,
                    "rule": e.rule.to_string(),
                })
            })
            .collect();
        let mut err = TaxiiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "Invalid STIX 2.1",
            format!(
                "{} rule(s) broken; nothing was added. First: {}",
                list.len(),
                errs.errors()
                    .first()
                    .map(ToString::to_string)
                    .unwrap_or_default()
            ),
        );
        err.details = Some(json!({ "errors": list }));
        err
    })?;
    // Only TLP:CLEAR and TLP:GREEN may be shared, and only TLP:CLEAR may be public; marking
    // and extension definitions describe, they are not intelligence.
    let public = c == CollectionRef::Public;
    let mut refused = Vec::new();
    let mut tlp = Tlp::Clear;
    for o in &bundle.objects {
        use hotline_stix::Category;
        if o.category == Category::MarkingDefinition || o.object_type == "extension-definition" {
            continue;
        }
        match bundle.object_tlp(o) {
            Some(hotline_stix::Tlp::Clear) => {}
            Some(hotline_stix::Tlp::Green) if !public => tlp = Tlp::Green,
            other => refused.push(json!({
                "object": o.id.as_str(),
                "tlp": other.map_or("none".to_owned(), |t| t.tlp2_name().to_owned()),
            })),
        }
    }
    if !refused.is_empty() {
        let mut err = TaxiiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "Objects may not be shared here",
            format!(
                "{} object(s) are not marked {}; nothing was added. Mark every object with a \
                 TLP 2.0 marking (object_marking_refs); first refused: {}",
                refused.len(),
                if public {
                    "TLP:CLEAR (the public collection takes nothing else)"
                } else {
                    "TLP:CLEAR or TLP:GREEN"
                },
                refused[0]
            ),
        );
        err.details = Some(json!({ "refused": refused }));
        return Err(err);
    }
    // Each object's text as sent, to serve it byte for byte.
    let raw: RawEnvelope<'_> = serde_json::from_slice(&body)
        .map_err(|e| TaxiiError::bad_request(format!("the body is not valid JSON: {e}")))?;
    if raw.objects.len() != bundle.objects.len() {
        return Err(TaxiiError::internal(
            "object count changed between two reads",
        ));
    }
    let objects: Vec<TaxiiObject> = bundle
        .objects
        .iter()
        .zip(&raw.objects)
        .map(|(o, text)| {
            let version = o
                .json
                .get("modified")
                .or_else(|| o.json.get("created"))
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_owned();
            TaxiiObject {
                id: o.id.as_str().to_owned(),
                object_type: o.object_type.clone(),
                version_key: version_key(&version),
                version,
                spec_version: "2.1".to_owned(),
                date_added_us: 0,
                json: text.get().as_bytes().to_vec(),
            }
        })
        .collect();
    let party_statement = match headers.get(STATEMENT_HEADER) {
        None => None,
        Some(v) => Some(
            v.to_str()
                .ok()
                .and_then(|s| B64.decode(s.trim()).ok())
                .ok_or_else(|| {
                    TaxiiError::bad_request(
                        "the Hotline-Statement header must be the base64 of a signed statement",
                    )
                })?,
        ),
    };
    let commitment = ObjectsCommitment {
        sha256: hotline_core::payload::sha256(&body),
        size: body.len() as u64,
        count: objects.len() as u64,
    };
    let now = format_timestamp_us(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_micros()).unwrap_or(0)),
    );
    let publication = Publication {
        party: party.clone(),
        collection: c.statement_value(),
        tlp,
        objects: commitment,
        party_statement,
        side: TaxiiPublication {
            collection: collection_id(&t.origin, &c),
            status_id: String::new(),
            body: body.to_vec(),
            status: Vec::new(),
            objects,
        },
        status: Box::new(move |statement: &Hash, objects: &[TaxiiObject]| {
            let id = status_id(statement);
            let successes: Vec<Value> = objects
                .iter()
                .map(|o| json!({ "id": o.id, "version": o.version }))
                .collect();
            let status = json!({
                "id": id,
                "status": "complete",
                "request_timestamp": now,
                "total_count": successes.len(),
                "success_count": successes.len(),
                "successes": successes,
                "failure_count": 0,
                "pending_count": 0,
            });
            (id, status.to_string().into_bytes())
        }),
    };
    let (submitted, status) = t.service.publish(publication).await?;
    let mut resp = ok_json(
        StatusCode::ACCEPTED,
        String::from_utf8_lossy(&status).into_owned(),
    );
    if let Ok(v) = HeaderValue::from_str(&submitted.id.to_base64()) {
        resp.headers_mut().insert("hotline-statement-id", v);
    }
    if let Ok(v) = HeaderValue::from_str(&submitted.receipt.index.to_string()) {
        resp.headers_mut().insert("hotline-log-index", v);
    }
    Ok(resp)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// Whoever may write to a collection may read it, so the party that posted may always
    /// read the status of its request (`get_status` checks read access only).
    #[test]
    fn status_readers_include_writers() {
        let a = PartyId::new("us-cisa").unwrap();
        let b = PartyId::new("ru-nkcki").unwrap();
        let op = PartyId::operator();
        let callers = [None, Some(&op), Some(&a), Some(&b)];
        let collections = [
            CollectionRef::Shared,
            CollectionRef::Public,
            CollectionRef::Party(a.clone()),
            CollectionRef::Party(b.clone()),
        ];
        let mut writes = 0;
        for who in callers {
            for c in &collections {
                let x = access(who, c);
                assert!(
                    !x.write || x.read,
                    "{who:?} may write {c:?} but not read it"
                );
                writes += usize::from(x.write);
            }
        }
        // Parties write shared, public and their own; nobody else writes.
        assert_eq!(writes, 6);
        assert!(!access(None, &CollectionRef::Shared).read);
        assert!(access(None, &CollectionRef::Public).read);
    }
}

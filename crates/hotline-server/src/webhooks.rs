//! Alerts for duty officers: a party registers webhook URLs, and the hotline POSTs a signed
//! JSON notification when a notice or request arrives for it (`statement.arrived`) and when
//! one of its deadlines is an hour away (`deadline.near`).
//!
//! # Signatures (Standard Webhooks)
//!
//! Each webhook has its own secret, `whsec_` + base64 of 32 random bytes, returned once when
//! it is registered. Every POST carries
//!
//! - `webhook-id`: the event's id (the same on every retry of that event, for deduplication);
//! - `webhook-timestamp`: Unix seconds when the attempt was made;
//! - `webhook-signature`: `v1,` + base64 of HMAC-SHA256, keyed with the secret's 32 bytes, over
//!   `{webhook-id}.{webhook-timestamp}.{body}`.
//!
//! A receiver recomputes the HMAC, compares in constant time, and refuses timestamps far from
//! its clock. HMAC with a per-webhook secret rather than the operator's signed-note key:
//! receivers verify it with any HMAC library (the Standard Webhooks format has them in many
//! languages), and a leaked secret concerns one webhook only. Notifications hold only what the
//! public log already shows (kinds, parties, case ids, deadlines): never content.
//!
//! # Delivery
//!
//! Only the process that sequences sends notifications ([`spawn`] runs in every frontend and
//! does nothing while its frontend does not sequence). Registrations, the notifier's progress
//! (the last log index examined, the deadlines announced), its outbox and the delivery log
//! are kept in the store beside the log ([`hotline_store::webhooks`]: the SQLite file, or the
//! PostgreSQL database every frontend shares), so every frontend lists the same webhooks and
//! deliveries, and a restart or a fail-over neither skips nor forgets an event.
//!
//! Delivery is at least once. Examining new log entries queues their events in the same
//! transaction that moves the progress on, so a notifier that dies leaves either both or
//! neither, and the next one — after a restart, or another frontend that took over
//! sequencing — examines the same entries and makes the same events, with the same ids (the
//! id of an arrival is its log index, that of a deadline its case, kind and due time). An
//! attempt is recorded after it was made; one that was in flight when its sender died is
//! made again, with the same `webhook-id`, which is what a receiver deduplicates on.
//!
//! An attempt succeeds on any 2xx answer within 10 s; otherwise it is retried after 1 s,
//! 2 s, 4 s, … (doubling, at most 5 minutes apart) up to [`RetryPolicy::attempts`] attempts
//! in all, then given up. Every attempt is recorded in the delivery log, the latest 1,000 per
//! party readable through `GET /api/v1/webhooks/deliveries`.
//!
//! A hotline that kept its webhooks in files (`DIR/webhooks.json`,
//! `DIR/webhook-deliveries.jsonl`, before they moved into the store) has them imported once
//! when it starts ([`Webhooks::import_files`]); the files are then renamed `*.imported`.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use hmac::{KeyInit as _, Mac as _};
use hotline_core::SignedStatement;
use hotline_core::lifecycle::Phase;
use hotline_core::vocab::{Kind, PartyId, Timestamp};
use hotline_store::webhooks::{
    Announcement, Delivery, Pending, Webhook, WebhookData, WebhookStore,
};
use serde::{Deserialize, Serialize};
use sha2::Digest as _;
use utoipa::ToSchema;

use crate::service::{HotlineService, ServiceError};

/// Most webhooks one party may register.
pub const MAX_WEBHOOKS_PER_PARTY: usize = 10;
/// Delivery attempts kept per party (older ones are deleted).
pub const DELIVERIES_KEPT: usize = hotline_store::webhooks::DELIVERIES_KEPT;
/// How long before a deadline `deadline.near` is sent.
pub const NEAR_DEADLINE_SECS: i64 = 3_600;
/// Longest URL accepted.
pub const MAX_URL_LEN: usize = 2_048;
/// Most log entries examined for arrivals in one round (a long backlog is worked off over
/// several rounds).
const MAX_SCAN: u64 = 65_536;
/// Most queued events taken for delivery in one round.
const MAX_DUE: usize = 256;
/// The legacy files of a data directory (imported once, then renamed `*.imported`).
pub const LEGACY_FILE: &str = "webhooks.json";
/// The legacy delivery log of a data directory.
pub const LEGACY_DELIVERIES_FILE: &str = "webhook-deliveries.jsonl";

/// How often and how patiently a notification is retried.
#[derive(Clone, Debug)]
pub struct RetryPolicy {
    /// Attempts in all, the first included.
    pub attempts: u32,
    /// Wait before the second attempt; doubled before each further one.
    pub first_delay: Duration,
    /// Longest wait between two attempts.
    pub max_delay: Duration,
    /// Timeout of one attempt.
    pub timeout: Duration,
    /// How often the dispatcher looks for new statements, near deadlines and attempts due.
    pub tick: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            attempts: 6,
            first_delay: Duration::from_secs(1),
            max_delay: Duration::from_secs(300),
            timeout: Duration::from_secs(10),
            tick: Duration::from_secs(1),
        }
    }
}

impl RetryPolicy {
    /// The wait after failed attempt number `attempt` (1 for the first).
    fn delay_after(&self, attempt: u32) -> Duration {
        let doublings = attempt.saturating_sub(1).min(30);
        self.first_delay
            .saturating_mul(1u32 << doublings)
            .min(self.max_delay)
    }
}

/// A webhook as its party sees it (without the secret).
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct WebhookDto {
    /// Id.
    pub id: String,
    /// Where notifications are POSTed.
    pub url: String,
    /// When it was registered.
    pub created: String,
    /// The signing secret: only in the answer to the registration.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
}

/// A webhook to register.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewWebhookDto {
    /// An `http://` or `https://` URL.
    pub url: String,
}

/// One delivery attempt.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct DeliveryDto {
    /// The webhook.
    pub webhook: String,
    /// The party notified.
    pub party: String,
    /// The event's id (`webhook-id`).
    pub event_id: String,
    /// `statement.arrived` or `deadline.near`.
    pub event: String,
    /// The case.
    pub case: String,
    /// 1 for the first attempt.
    pub attempt: u32,
    /// When the attempt was made.
    pub time: String,
    /// The receiver's HTTP status, if it answered.
    pub status: Option<u16>,
    /// What went wrong, if anything.
    pub error: Option<String>,
    /// Whether this attempt delivered the notification.
    pub delivered: bool,
    /// Whether another attempt will follow.
    pub will_retry: bool,
}

impl From<Delivery> for DeliveryDto {
    fn from(d: Delivery) -> Self {
        DeliveryDto {
            webhook: d.webhook,
            party: d.party,
            event_id: d.event_id,
            event: d.event,
            case: d.case_id,
            attempt: d.attempt,
            time: d.time,
            status: d.status,
            error: d.error,
            delivered: d.delivered,
            will_retry: d.will_retry,
        }
    }
}

impl From<DeliveryDto> for Delivery {
    fn from(d: DeliveryDto) -> Self {
        Delivery {
            webhook: d.webhook,
            party: d.party,
            event_id: d.event_id,
            event: d.event,
            case_id: d.case,
            attempt: d.attempt,
            time: d.time,
            status: d.status,
            error: d.error,
            delivered: d.delivered,
            will_retry: d.will_retry,
        }
    }
}

/// A registration as `webhooks.json` kept it.
#[derive(Deserialize)]
struct LegacyWebhook {
    id: String,
    party: String,
    url: String,
    secret: String,
    created: String,
}

/// What `webhooks.json` held.
#[derive(Default, Deserialize)]
struct Legacy {
    hooks: Vec<LegacyWebhook>,
    /// Log entries below this index had been examined for arrivals.
    next_index: Option<u64>,
    /// `case/deadline/due` of every deadline already announced.
    announced: BTreeSet<String>,
}

/// What [`Webhooks::import_files`] brought into the store.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Imported {
    /// Registrations in the file.
    pub hooks: usize,
    /// Delivery attempts in the files (at most the latest 1,000 per party are kept).
    pub deliveries: usize,
    /// Whether this file was imported now (`false`: it had been, before the files were
    /// renamed; they are renamed now).
    pub fresh: bool,
}

/// The webhooks of a hotline: registrations, the notifier and its delivery log, kept in a
/// [`WebhookStore`].
pub struct Webhooks {
    store: Arc<dyn WebhookStore>,
    retry: RetryPolicy,
    http: reqwest::Client,
    /// Events being delivered by this process, `(event id, webhook id)`.
    in_flight: Mutex<HashSet<(String, String)>>,
    /// Deadlines this process knows to be announced, with their due time.
    announced: Mutex<HashMap<String, i64>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    match m.lock() {
        Ok(g) => g,
        Err(p) => p.into_inner(),
    }
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

fn to_dto(h: Webhook) -> WebhookDto {
    WebhookDto {
        id: h.id,
        url: h.url,
        created: h.created,
        secret: None,
    }
}

impl Webhooks {
    /// The webhooks kept in `store`.
    pub fn open(
        store: Arc<dyn WebhookStore>,
        retry: RetryPolicy,
    ) -> Result<Webhooks, ServiceError> {
        let http = reqwest::Client::builder()
            .timeout(retry.timeout)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| ServiceError::Internal(format!("an HTTP client: {e}")))?;
        Ok(Webhooks {
            store,
            retry,
            http,
            in_flight: Mutex::new(HashSet::new()),
            announced: Mutex::new(HashMap::new()),
        })
    }

    /// The store behind these webhooks.
    pub fn store(&self) -> &Arc<dyn WebhookStore> {
        &self.store
    }

    /// Imports the webhooks a data directory kept in files (`webhooks.json` and
    /// `webhook-deliveries.jsonl`) into the store, once: a file whose digest the store has
    /// seen is not imported again. With `rename`, the files are then renamed `*.imported`
    /// (they still hold the secrets: mode 0600, delete them once the import is checked).
    /// `None` if there is no `webhooks.json`. Blocks.
    pub fn import_files(&self, dir: &Path, rename: bool) -> Result<Option<Imported>, ServiceError> {
        let file = dir.join(LEGACY_FILE);
        let bytes = match std::fs::read(&file) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => {
                return Err(ServiceError::Internal(format!(
                    "reading {}: {e}",
                    file.display()
                )));
            }
        };
        let legacy: Legacy = serde_json::from_slice(&bytes).map_err(|e| {
            ServiceError::Internal(format!(
                "{} is damaged ({e}); repair it, or move it aside to start without the \
                 webhooks it holds",
                file.display()
            ))
        })?;
        let log_file = dir.join(LEGACY_DELIVERIES_FILE);
        let mut deliveries = Vec::new();
        match std::fs::read_to_string(&log_file) {
            Ok(text) => {
                let mut unreadable = 0usize;
                for line in text.lines().filter(|l| !l.trim().is_empty()) {
                    match serde_json::from_str::<DeliveryDto>(line) {
                        Ok(d) => deliveries.push(Delivery::from(d)),
                        Err(_) => unreadable += 1,
                    }
                }
                if unreadable > 0 {
                    tracing::warn!(
                        file = %log_file.display(),
                        unreadable,
                        "skipped unreadable lines of the webhook delivery log"
                    );
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => {
                return Err(ServiceError::Internal(format!(
                    "reading {}: {e}",
                    log_file.display()
                )));
            }
        }
        let found = deliveries.len();
        let data = WebhookData {
            hooks: legacy
                .hooks
                .into_iter()
                .map(|h| Webhook {
                    id: h.id,
                    party: h.party,
                    url: h.url,
                    secret: h.secret,
                    created: h.created,
                })
                .collect(),
            next_index: legacy.next_index,
            announced: legacy
                .announced
                .into_iter()
                .map(|k| {
                    let due = k
                        .rsplit('/')
                        .next()
                        .and_then(|d| d.parse::<i64>().ok())
                        .unwrap_or(0);
                    (k, due)
                })
                .collect(),
            pending: Vec::new(),
            deliveries: hotline_store::webhooks::keep_latest(deliveries),
            imports: Vec::new(),
        };
        let digest: String = sha2::Sha256::digest(&bytes)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        let hooks = data.hooks.len();
        let fresh = self.store.import(&format!("sha256:{digest}"), &data)?;
        if rename {
            for f in [&log_file, &file] {
                if f.exists() {
                    let to = aside(f);
                    std::fs::rename(f, &to).map_err(|e| {
                        ServiceError::Internal(format!(
                            "imported the webhooks of {}, but could not rename it to {}: {e}",
                            f.display(),
                            to.display()
                        ))
                    })?;
                }
            }
            if let Ok(d) = std::fs::File::open(dir) {
                let _ = d.sync_all();
            }
        }
        Ok(Some(Imported {
            hooks,
            deliveries: found,
            fresh,
        }))
    }

    /// Registers a webhook for `party`; the answer holds its secret, shown this once. Blocks.
    pub fn register(&self, party: &PartyId, url: &str) -> Result<WebhookDto, ServiceError> {
        let url = url.trim();
        if url.len() > MAX_URL_LEN {
            return Err(ServiceError::BadRequest(format!(
                "the webhook URL is longer than {MAX_URL_LEN} characters"
            )));
        }
        let parsed = reqwest::Url::parse(url)
            .map_err(|e| ServiceError::BadRequest(format!("the webhook URL is not a URL: {e}")))?;
        if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() {
            return Err(ServiceError::BadRequest(
                "the webhook URL must be http:// or https:// with a host".into(),
            ));
        }
        if !parsed.username().is_empty() || parsed.password().is_some() {
            return Err(ServiceError::BadRequest(
                "the webhook URL may not hold credentials; use the signature to authenticate"
                    .into(),
            ));
        }
        let mut secret = [0u8; 32];
        rand::fill(&mut secret);
        let mut id = [0u8; 8];
        rand::fill(&mut id);
        let hook = Webhook {
            id: format!("wh_{}", hex(&id)),
            party: party.to_string(),
            url: parsed.to_string(),
            secret: format!("whsec_{}", B64.encode(secret)),
            created: Timestamp::now().to_rfc3339(),
        };
        if !self.store.add_hook(&hook, MAX_WEBHOOKS_PER_PARTY)? {
            return Err(ServiceError::Conflict {
                message: format!(
                    "{party} already has {MAX_WEBHOOKS_PER_PARTY} webhooks; delete one first"
                ),
                phase: None,
            });
        }
        Ok(WebhookDto {
            id: hook.id,
            url: hook.url,
            created: hook.created,
            secret: Some(hook.secret),
        })
    }

    /// The webhooks of `party`. Blocks.
    pub fn list(&self, party: &PartyId) -> Result<Vec<WebhookDto>, ServiceError> {
        Ok(self
            .store
            .hooks(Some(party.as_str()))?
            .into_iter()
            .map(to_dto)
            .collect())
    }

    /// Deletes one of `party`'s webhooks (and the events queued for it). Blocks.
    pub fn delete(&self, party: &PartyId, id: &str) -> Result<(), ServiceError> {
        if !self.store.delete_hook(party.as_str(), id)? {
            return Err(ServiceError::NotFound(format!(
                "no webhook {:?} of yours",
                id.chars().take(40).collect::<String>()
            )));
        }
        Ok(())
    }

    /// `party`'s delivery log, latest first (the latest [`DELIVERIES_KEPT`]). Blocks.
    pub fn deliveries(&self, party: &PartyId) -> Result<Vec<DeliveryDto>, ServiceError> {
        Ok(self
            .store
            .deliveries(party.as_str(), DELIVERIES_KEPT)?
            .into_iter()
            .map(DeliveryDto::from)
            .collect())
    }

    /// Runs `f` on the store on a blocking thread.
    async fn blocking<T: Send + 'static>(
        &self,
        f: impl FnOnce(&dyn WebhookStore) -> hotline_store::Result<T> + Send + 'static,
    ) -> Result<T, ServiceError> {
        let store = self.store.clone();
        tokio::task::spawn_blocking(move || f(&*store))
            .await
            .map_err(|e| ServiceError::Internal(e.to_string()))?
            .map_err(ServiceError::from)
    }

    /// One round, on the frontend that sequences: arrivals since the last examined entry and
    /// deadlines an hour away are queued, then the events due are sent.
    async fn tick(self: &Arc<Self>, service: &Arc<HotlineService>) -> Result<(), ServiceError> {
        if !service.is_sequencer() {
            return Ok(());
        }
        let hooks = self.blocking(|s| s.hooks(None)).await?;
        let mut by_party: HashMap<String, Vec<Webhook>> = HashMap::new();
        for h in &hooks {
            by_party.entry(h.party.clone()).or_default().push(h.clone());
        }
        self.queue_arrivals(service, &by_party).await?;
        self.queue_deadlines(service, &by_party).await?;
        self.send_due(service, hooks).await
    }

    /// Queues an event for every notice and request that arrived since the last examined
    /// entry, moving the progress on in the same transaction.
    async fn queue_arrivals(
        &self,
        service: &Arc<HotlineService>,
        by_party: &HashMap<String, Vec<Webhook>>,
    ) -> Result<(), ServiceError> {
        let published = service.published_size();
        let Some(from) = self.blocking(|s| s.next_index()).await? else {
            // First start: announce from now on, not the log's history.
            self.blocking(move |s| s.advance(None, published, &[]))
                .await?;
            return Ok(());
        };
        if from >= published {
            return Ok(());
        }
        let to = published.min(from.saturating_add(MAX_SCAN));
        let view = service.view().clone();
        let arrivals = tokio::task::spawn_blocking(move || {
            let snap = view.snapshot();
            let mut out = Vec::new();
            view.for_each_entry(&snap, from, to, |index, entry| {
                if let Ok(s) = SignedStatement::parse(entry)
                    && matches!(s.statement.kind, Kind::Notice | Kind::Request)
                {
                    out.push((index, s));
                }
                Ok(())
            })
            .map(|()| out)
        })
        .await
        .map_err(|e| ServiceError::Internal(e.to_string()))??;
        let now = now_ms();
        let mut events = Vec::new();
        for (index, s) in arrivals {
            let st = &s.statement;
            let (Some(case), Some(recipient)) = (&st.case, &st.recipient) else {
                continue;
            };
            let Some(hooks) = by_party.get(recipient.as_str()) else {
                continue;
            };
            let body = serde_json::json!({
                "type": "statement.arrived",
                "party": recipient.as_str(),
                "case": case.as_str(),
                "kind": st.kind.as_str(),
                "from": st.author.as_str(),
                "index": index,
                "statement_id": s.id.to_base64(),
                "priority": st.priority.map(|p| p.as_str()),
                "request_type": st.request_type.map(|t| t.as_str()),
                "ack_by": st.ack_by.map(|t| t.to_rfc3339()),
                "answer_by": st.answer_by.map(|t| t.to_rfc3339()),
                "time": st.time.to_rfc3339(),
            })
            .to_string()
            .into_bytes();
            for h in hooks {
                events.push(Pending {
                    event_id: format!("evt_arrived_{index}"),
                    webhook: h.id.clone(),
                    party: recipient.to_string(),
                    event: "statement.arrived".into(),
                    case_id: case.to_string(),
                    body: body.clone(),
                    attempts: 0,
                    next_at_ms: now,
                });
            }
        }
        // Another notifier that moved the progress meanwhile queued the same events.
        self.blocking(move |s| s.advance(Some(from), to, &events))
            .await?;
        Ok(())
    }

    /// Queues a `deadline.near` event for every deadline an hour away not yet announced.
    async fn queue_deadlines(
        &self,
        service: &Arc<HotlineService>,
        by_party: &HashMap<String, Vec<Webhook>>,
    ) -> Result<(), ServiceError> {
        let now = service.now();
        let near: Vec<(String, String, &'static str, Timestamp)> = service.read(|h| {
            h.cases()
                .filter_map(|c| {
                    let (which, due) = match c.phase {
                        Phase::Sent | Phase::Delivered => ("ack", c.ack_by?),
                        Phase::Acknowledged | Phase::InfoRequested => ("answer", c.answer_by?),
                        _ => return None,
                    };
                    let left = due.unix() - now.unix();
                    (left > 0 && left <= NEAR_DEADLINE_SECS)
                        .then(|| (c.id.to_string(), c.responder.to_string(), which, due))
                })
                .collect()
        });
        let at = now_ms();
        let fresh: Vec<Announcement> = {
            let known = lock(&self.announced);
            near.into_iter()
                .map(|(case, party, which, due)| {
                    (
                        format!("{case}/{which}/{}", due.unix()),
                        case,
                        party,
                        which,
                        due,
                    )
                })
                .filter(|(key, ..)| !known.contains_key(key))
                .map(|(key, case, party, which, due)| {
                    let body = serde_json::json!({
                        "type": "deadline.near",
                        "party": party,
                        "case": case,
                        "deadline": which,
                        "due": due.to_rfc3339(),
                        "seconds_left": due.unix() - now.unix(),
                    })
                    .to_string()
                    .into_bytes();
                    let events = by_party
                        .get(&party)
                        .into_iter()
                        .flatten()
                        .map(|h| Pending {
                            event_id: format!("evt_deadline_{}", key.replace('/', "_")),
                            webhook: h.id.clone(),
                            party: party.clone(),
                            event: "deadline.near".into(),
                            case_id: case.clone(),
                            body: body.clone(),
                            attempts: 0,
                            next_at_ms: at,
                        })
                        .collect();
                    Announcement {
                        key,
                        due: due.unix(),
                        events,
                    }
                })
                .collect()
        };
        // Deadlines passed a day ago can never be near again.
        let forget_before = now.unix() - 86_400;
        if fresh.is_empty() {
            return Ok(());
        }
        let keys: Vec<(String, i64)> = fresh.iter().map(|a| (a.key.clone(), a.due)).collect();
        self.blocking(move |s| s.announce(&fresh, forget_before))
            .await?;
        let mut known = lock(&self.announced);
        known.retain(|_, due| *due >= forget_before);
        known.extend(keys);
        Ok(())
    }

    /// Starts an attempt for every queued event that is due and not already being sent.
    async fn send_due(
        self: &Arc<Self>,
        service: &Arc<HotlineService>,
        hooks: Vec<Webhook>,
    ) -> Result<(), ServiceError> {
        let now = now_ms();
        let due = self.blocking(move |s| s.due(now, MAX_DUE)).await?;
        let hooks: HashMap<String, Webhook> =
            hooks.into_iter().map(|h| (h.id.clone(), h)).collect();
        for p in due {
            // A webhook deleted meanwhile took its queued events with it.
            let Some(hook) = hooks.get(&p.webhook) else {
                continue;
            };
            if !lock(&self.in_flight).insert((p.event_id.clone(), p.webhook.clone())) {
                continue;
            }
            tokio::spawn(self.clone().attempt(service.clone(), hook.clone(), p));
        }
        Ok(())
    }

    /// Makes one attempt to deliver `p` to `hook` and records it.
    async fn attempt(self: Arc<Self>, service: Arc<HotlineService>, hook: Webhook, p: Pending) {
        struct Done<'a>(&'a Webhooks, (String, String));
        impl Drop for Done<'_> {
            fn drop(&mut self) {
                lock(&self.0.in_flight).remove(&self.1);
            }
        }
        let _done = Done(&self, (p.event_id.clone(), p.webhook.clone()));
        // A frontend that stopped sequencing leaves the event to the one that took over.
        if !service.is_sequencer() {
            return;
        }
        let attempt = p.attempts.saturating_add(1);
        let ts = Timestamp::now().unix();
        let sig = signature(&hook.secret, &p.event_id, ts, &p.body);
        let result = self
            .http
            .post(&hook.url)
            .header("content-type", "application/json")
            .header("webhook-id", &p.event_id)
            .header("webhook-timestamp", ts.to_string())
            .header("webhook-signature", sig)
            .body(p.body.clone())
            .send()
            .await;
        let (status, error, delivered) = match result {
            Ok(r) if r.status().is_success() => (Some(r.status().as_u16()), None, true),
            Ok(r) => (
                Some(r.status().as_u16()),
                Some(format!("the receiver answered {}", r.status())),
                false,
            ),
            Err(e) => (None, Some(describe(&e)), false),
        };
        let will_retry = !delivered && attempt < self.retry.attempts;
        let next_at = will_retry.then(|| {
            now_ms().saturating_add(
                i64::try_from(self.retry.delay_after(attempt).as_millis()).unwrap_or(i64::MAX),
            )
        });
        let d = Delivery {
            webhook: hook.id.clone(),
            party: p.party.clone(),
            event_id: p.event_id.clone(),
            event: p.event.clone(),
            case_id: p.case_id.clone(),
            attempt,
            time: Timestamp::from_unix(ts).to_rfc3339(),
            status,
            error,
            delivered,
            will_retry,
        };
        match self.blocking(move |s| s.attempted(&d, next_at)).await {
            Ok(true) => {}
            // Another sender (a frontend that took over meanwhile) recorded it first.
            Ok(false) => {}
            Err(e) => tracing::warn!(
                error = %e,
                webhook = %hook.id,
                event = %p.event_id,
                "could not record a webhook delivery attempt; it will be made again"
            ),
        }
    }
}

/// The name a legacy file is renamed to once imported.
fn aside(f: &Path) -> PathBuf {
    let mut to = f.as_os_str().to_owned();
    to.push(".imported");
    let to = PathBuf::from(to);
    if !to.exists() {
        return to;
    }
    let mut to = f.as_os_str().to_owned();
    to.push(format!(".imported-{}", Timestamp::now().unix()));
    PathBuf::from(to)
}

/// The `webhook-signature` header: `v1,` + base64 HMAC-SHA256 of `id.timestamp.body`.
pub fn signature(secret: &str, id: &str, timestamp: i64, body: &[u8]) -> String {
    let key = secret
        .strip_prefix("whsec_")
        .and_then(|s| B64.decode(s).ok())
        .unwrap_or_default();
    let Ok(mut mac) = hmac::Hmac::<sha2::Sha256>::new_from_slice(&key) else {
        return String::new();
    };
    mac.update(format!("{id}.{timestamp}.").as_bytes());
    mac.update(body);
    format!("v1,{}", B64.encode(mac.finalize().into_bytes()))
}

fn describe(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        "the receiver did not answer in time".to_owned()
    } else if e.is_connect() {
        "could not connect to the receiver".to_owned()
    } else {
        format!("sending failed: {e}")
    }
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// Runs the dispatcher until the task is aborted. Every frontend may run it: it acts only
/// while its service sequences.
pub fn spawn(webhooks: Arc<Webhooks>, service: Arc<HotlineService>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut every = tokio::time::interval(webhooks.retry.tick);
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut last_warning: Option<std::time::Instant> = None;
        loop {
            every.tick().await;
            if let Err(e) = webhooks.tick(&service).await
                && last_warning.is_none_or(|t| t.elapsed() > Duration::from_secs(10))
            {
                tracing::warn!(error = %e, "webhooks: could not examine the log or send");
                last_warning = Some(std::time::Instant::now());
            }
        }
    })
}

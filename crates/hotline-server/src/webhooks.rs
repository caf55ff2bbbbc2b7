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
//! Only the process that sequences runs the dispatcher ([`spawn`]). An attempt succeeds on any
//! 2xx answer within 10 s; otherwise it is retried after 1 s, 2 s, 4 s, … (doubling, at most
//! 5 minutes apart) up to [`RetryPolicy::attempts`] attempts in all, then given up. Every
//! attempt is recorded in the delivery log (`DIR/webhook-deliveries.jsonl`, the latest 1,000
//! per party readable through `GET /api/v1/webhooks/deliveries`). Registrations, the last log
//! index examined and the deadlines already announced are kept in `DIR/webhooks.json` (mode
//! 0600, it holds the secrets; written to a temporary file, synced, renamed), so a restart
//! neither repeats nor skips an announcement.

use std::collections::{BTreeSet, HashMap, VecDeque};
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use hmac::{KeyInit as _, Mac as _};
use hotline_core::SignedStatement;
use hotline_core::lifecycle::Phase;
use hotline_core::vocab::{Kind, PartyId, Timestamp};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::service::{HotlineService, ServiceError};

/// Most webhooks one party may register.
pub const MAX_WEBHOOKS_PER_PARTY: usize = 10;
/// Deliveries kept in memory per party (older ones stay in the file only).
pub const DELIVERIES_KEPT: usize = 1_000;
/// How long before a deadline `deadline.near` is sent.
pub const NEAR_DEADLINE_SECS: i64 = 3_600;
/// Longest URL accepted.
pub const MAX_URL_LEN: usize = 2_048;

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
    /// How often the dispatcher looks for new statements and near deadlines.
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

/// A registered webhook.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct Webhook {
    id: String,
    party: String,
    url: String,
    secret: String,
    created: String,
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

/// What is persisted in `webhooks.json`.
#[derive(Default, Serialize, Deserialize)]
struct Persisted {
    hooks: Vec<Webhook>,
    /// Log entries below this index have been examined for arrivals.
    next_index: Option<u64>,
    /// `case/deadline/due` of every deadline already announced.
    announced: BTreeSet<String>,
}

struct State {
    persisted: Persisted,
    deliveries: HashMap<String, VecDeque<DeliveryDto>>,
}

/// The webhooks of a hotline and their delivery log.
pub struct Webhooks {
    file: PathBuf,
    log_file: PathBuf,
    state: Mutex<State>,
    retry: RetryPolicy,
    http: reqwest::Client,
}

/// A notification to send.
#[derive(Clone, Debug)]
struct Event {
    id: String,
    party: String,
    kind: &'static str,
    case: String,
    body: Vec<u8>,
}

fn lock(m: &Mutex<State>) -> MutexGuard<'_, State> {
    match m.lock() {
        Ok(g) => g,
        Err(p) => p.into_inner(),
    }
}

impl Webhooks {
    /// Opens (or starts) the webhooks kept in `dir`.
    pub fn open(dir: &Path, retry: RetryPolicy) -> Result<Webhooks, ServiceError> {
        let file = dir.join("webhooks.json");
        let log_file = dir.join("webhook-deliveries.jsonl");
        let persisted = match std::fs::read(&file) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| {
                ServiceError::Internal(format!("{} is damaged: {e}", file.display()))
            })?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Persisted::default(),
            Err(e) => {
                return Err(ServiceError::Internal(format!(
                    "reading {}: {e}",
                    file.display()
                )));
            }
        };
        let mut deliveries: HashMap<String, VecDeque<DeliveryDto>> = HashMap::new();
        if let Ok(text) = std::fs::read_to_string(&log_file) {
            for line in text.lines() {
                if let Ok(d) = serde_json::from_str::<DeliveryDto>(line) {
                    let q = deliveries.entry(d.party.clone()).or_default();
                    q.push_back(d);
                    if q.len() > DELIVERIES_KEPT {
                        q.pop_front();
                    }
                }
            }
        }
        let http = reqwest::Client::builder()
            .timeout(retry.timeout)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| ServiceError::Internal(format!("an HTTP client: {e}")))?;
        Ok(Webhooks {
            file,
            log_file,
            state: Mutex::new(State {
                persisted,
                deliveries,
            }),
            retry,
            http,
        })
    }

    fn save(&self, p: &Persisted) -> Result<(), ServiceError> {
        let bytes = serde_json::to_vec_pretty(p)
            .map_err(|e| ServiceError::Internal(format!("encoding webhooks: {e}")))?;
        let tmp = self.file.with_extension("json.tmp");
        let write = || -> std::io::Result<()> {
            let mut opts = std::fs::OpenOptions::new();
            opts.write(true).create(true).truncate(true);
            #[cfg(unix)]
            {
                use std::os::unix::fs::OpenOptionsExt as _;
                opts.mode(0o600);
            }
            let mut f = opts.open(&tmp)?;
            f.write_all(&bytes)?;
            f.sync_all()?;
            std::fs::rename(&tmp, &self.file)?;
            if let Some(dir) = self.file.parent() {
                std::fs::File::open(dir)?.sync_all()?;
            }
            Ok(())
        };
        write().map_err(|e| ServiceError::Internal(format!("writing {}: {e}", self.file.display())))
    }

    /// Registers a webhook for `party`; the answer holds its secret, shown this once.
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
        let mut st = lock(&self.state);
        let count = st
            .persisted
            .hooks
            .iter()
            .filter(|h| h.party == party.as_str())
            .count();
        if count >= MAX_WEBHOOKS_PER_PARTY {
            return Err(ServiceError::Conflict {
                message: format!(
                    "{party} already has {MAX_WEBHOOKS_PER_PARTY} webhooks; delete one first"
                ),
                phase: None,
            });
        }
        st.persisted.hooks.push(hook.clone());
        if let Err(e) = self.save(&st.persisted) {
            st.persisted.hooks.pop();
            return Err(e);
        }
        Ok(WebhookDto {
            id: hook.id,
            url: hook.url,
            created: hook.created,
            secret: Some(hook.secret),
        })
    }

    /// The webhooks of `party`.
    pub fn list(&self, party: &PartyId) -> Vec<WebhookDto> {
        lock(&self.state)
            .persisted
            .hooks
            .iter()
            .filter(|h| h.party == party.as_str())
            .map(|h| WebhookDto {
                id: h.id.clone(),
                url: h.url.clone(),
                created: h.created.clone(),
                secret: None,
            })
            .collect()
    }

    /// Deletes one of `party`'s webhooks.
    pub fn delete(&self, party: &PartyId, id: &str) -> Result<(), ServiceError> {
        let mut st = lock(&self.state);
        let before = st.persisted.hooks.clone();
        st.persisted
            .hooks
            .retain(|h| !(h.id == id && h.party == party.as_str()));
        if st.persisted.hooks.len() == before.len() {
            return Err(ServiceError::NotFound(format!(
                "no webhook {:?} of yours",
                id.chars().take(40).collect::<String>()
            )));
        }
        if let Err(e) = self.save(&st.persisted) {
            st.persisted.hooks = before;
            return Err(e);
        }
        Ok(())
    }

    /// `party`'s delivery log, latest first.
    pub fn deliveries(&self, party: &PartyId) -> Vec<DeliveryDto> {
        lock(&self.state)
            .deliveries
            .get(party.as_str())
            .map(|q| q.iter().rev().cloned().collect())
            .unwrap_or_default()
    }

    fn record(&self, d: DeliveryDto) {
        if let Ok(line) = serde_json::to_string(&d) {
            let append = || -> std::io::Result<()> {
                let mut opts = std::fs::OpenOptions::new();
                opts.create(true).append(true);
                #[cfg(unix)]
                {
                    use std::os::unix::fs::OpenOptionsExt as _;
                    opts.mode(0o600);
                }
                let mut f = opts.open(&self.log_file)?;
                f.write_all(format!("{line}\n").as_bytes())
            };
            if let Err(e) = append() {
                tracing::warn!(error = %e, "could not append to the webhook delivery log");
            }
        }
        let mut st = lock(&self.state);
        let q = st.deliveries.entry(d.party.clone()).or_default();
        q.push_back(d);
        if q.len() > DELIVERIES_KEPT {
            q.pop_front();
        }
    }

    fn hooks_of(&self, party: &str) -> Vec<Webhook> {
        lock(&self.state)
            .persisted
            .hooks
            .iter()
            .filter(|h| h.party == party)
            .cloned()
            .collect()
    }

    /// Delivers one event to one webhook, with retries; records every attempt.
    async fn deliver(self: Arc<Self>, hook: Webhook, event: Event) {
        let mut delay = self.retry.first_delay;
        for attempt in 1..=self.retry.attempts {
            let ts = Timestamp::now().unix();
            let sig = signature(&hook.secret, &event.id, ts, &event.body);
            let result = self
                .http
                .post(&hook.url)
                .header("content-type", "application/json")
                .header("webhook-id", &event.id)
                .header("webhook-timestamp", ts.to_string())
                .header("webhook-signature", sig)
                .body(event.body.clone())
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
            self.record(DeliveryDto {
                webhook: hook.id.clone(),
                party: event.party.clone(),
                event_id: event.id.clone(),
                event: event.kind.to_owned(),
                case: event.case.clone(),
                attempt,
                time: Timestamp::from_unix(ts).to_rfc3339(),
                status,
                error,
                delivered,
                will_retry,
            });
            if !will_retry {
                return;
            }
            // A webhook deleted meanwhile gets no more attempts.
            if !self.hooks_of(&event.party).iter().any(|h| h.id == hook.id) {
                return;
            }
            tokio::time::sleep(delay).await;
            delay = (delay * 2).min(self.retry.max_delay);
        }
    }

    fn emit(self: &Arc<Self>, event: Event) {
        for hook in self.hooks_of(&event.party) {
            tokio::spawn(self.clone().deliver(hook, event.clone()));
        }
    }

    /// One round: arrivals since the last examined entry, then deadlines an hour away.
    async fn tick(self: &Arc<Self>, service: &Arc<HotlineService>) -> Result<(), ServiceError> {
        let published = service.published_size();
        let from = {
            let mut st = lock(&self.state);
            match st.persisted.next_index {
                Some(i) => i,
                None => {
                    // First start: announce from now on, not the log's history.
                    st.persisted.next_index = Some(published);
                    let p = std::mem::take(&mut st.persisted);
                    let r = self.save(&p);
                    st.persisted = p;
                    r?;
                    published
                }
            }
        };
        if from < published {
            let view = service.view().clone();
            let arrivals = tokio::task::spawn_blocking(move || {
                let snap = view.snapshot();
                let mut out = Vec::new();
                view.for_each_entry(&snap, from, published, |index, entry| {
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
            for (index, s) in arrivals {
                let st = &s.statement;
                let (Some(case), Some(to)) = (&st.case, &st.recipient) else {
                    continue;
                };
                let body = serde_json::json!({
                    "type": "statement.arrived",
                    "party": to.as_str(),
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
                });
                self.emit(Event {
                    id: format!("evt_arrived_{index}"),
                    party: to.to_string(),
                    kind: "statement.arrived",
                    case: case.to_string(),
                    body: body.to_string().into_bytes(),
                });
            }
            let mut st = lock(&self.state);
            st.persisted.next_index = Some(published);
            let p = std::mem::take(&mut st.persisted);
            let r = self.save(&p);
            st.persisted = p;
            r?;
        }
        // Deadlines within the hour, each announced once.
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
        let mut fresh = Vec::new();
        {
            let mut st = lock(&self.state);
            for (case, party, which, due) in near {
                let key = format!("{case}/{which}/{}", due.unix());
                if st.persisted.announced.insert(key.clone()) {
                    fresh.push((case, party, which, due, key));
                }
            }
            if !fresh.is_empty() {
                let p = std::mem::take(&mut st.persisted);
                let r = self.save(&p);
                st.persisted = p;
                r?;
            }
        }
        for (case, party, which, due, key) in fresh {
            let body = serde_json::json!({
                "type": "deadline.near",
                "party": party,
                "case": case,
                "deadline": which,
                "due": due.to_rfc3339(),
                "seconds_left": due.unix() - now.unix(),
            });
            self.emit(Event {
                id: format!("evt_deadline_{}", key.replace('/', "_")),
                party,
                kind: "deadline.near",
                case,
                body: body.to_string().into_bytes(),
            });
        }
        Ok(())
    }
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

/// Runs the dispatcher until the task is aborted: only the process that sequences calls this.
pub fn spawn(webhooks: Arc<Webhooks>, service: Arc<HotlineService>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut every = tokio::time::interval(webhooks.retry.tick);
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            every.tick().await;
            if let Err(e) = webhooks.tick(&service).await {
                tracing::warn!(error = %e, "webhooks: could not examine the log");
            }
        }
    })
}

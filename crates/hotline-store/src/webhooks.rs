//! Webhooks kept beside the log: each party's registrations, the notifier's progress and
//! its outbox, and the delivery log. The server (`hotline_server::webhooks`) decides what to
//! send and sends it; this module only keeps it durable, the same way in every backend, so
//! that any frontend of a hotline on PostgreSQL sees the same registrations and whichever
//! frontend sequences resumes the notifier where the last one stopped.
//!
//! Unlike the TAXII tables these rows are not side data of log entries: nothing here is in
//! the log or proved by it, and the rows change (a webhook is deleted, an attempt recorded).
//! They are written by their own connection ([`SqliteWebhooks`](crate::sqlite::SqliteWebhooks),
//! [`PgWebhooks`](crate::postgres::PgWebhooks)), never by the sequencer's writer, in short
//! transactions of their own.
//!
//! Tables, the same in every backend (SQLite types shown):
//!
//! - `webhooks(id, party, url, secret, created)`: registrations. `secret` is the signing
//!   secret, shown to the party once; it is never logged, and [`Webhook`]'s `Debug` hides it.
//! - `webhook_progress(id = 1, next_index)`: one row, the log index below which every entry
//!   has been examined for arrivals (NULL until the notifier first ran: it then starts from
//!   the log as it stands, not from its history).
//! - `webhook_announced(key, due)`: the deadlines already announced (`case/which/due`), each
//!   with its due time, forgotten once it is long past.
//! - `webhook_pending(event_id, webhook, party, event, case_id, body, attempts, next_at_ms)`:
//!   the outbox, one row per event and webhook until it is delivered or given up.
//! - `webhook_deliveries(seq, party, webhook, event_id, event, case_id, attempt, time,
//!   status, error, delivered, will_retry)`: every attempt, the latest [`DELIVERIES_KEPT`]
//!   per party.
//! - `webhook_imports(digest, imported_ms)`: the digests of the `webhooks.json` files
//!   imported from a data directory, so that one is never imported twice.
//!
//! **At least once, with stable ids.** Examining new entries moves `next_index` forward and
//! queues the events found in *one* transaction, as a compare-and-set on the `next_index`
//! read before ([`WebhookStore::advance`]); a deadline is marked announced and its events
//! queued in one transaction too ([`WebhookStore::announce`]). So a notifier that dies at
//! any point leaves either both or neither, and its successor examines the same entries
//! again, making the same events with the same ids (an event's id derives from the log index
//! or the deadline). An attempt is recorded after it was made ([`WebhookStore::attempted`]),
//! so one that was in flight when its sender died is made again — with the same id, which is
//! what a receiver deduplicates on.
//!
//! The tables have their own version (`meta` key [`SCHEMA_META_KEY`]) and are created, if
//! missing, when the log is created, when a writer opens it (SQLite; PostgreSQL: by the
//! migrations run under the writers' lock) and when a webhook store opens it, so a log
//! written before webhooks were kept here gains them without touching the main schema's
//! version.

use crate::error::Result;

/// `meta` key recording the version of the webhook tables.
pub const SCHEMA_META_KEY: &str = "webhooks_schema_version";
/// Version of the webhook tables written by this build.
pub const SCHEMA_VERSION: u32 = 1;
/// Delivery attempts kept per party; older ones are deleted as new ones are recorded.
pub const DELIVERIES_KEPT: usize = 1_000;

/// A registered webhook.
#[derive(Clone, PartialEq, Eq)]
pub struct Webhook {
    /// Its id (`wh_…`).
    pub id: String,
    /// The party it alerts.
    pub party: String,
    /// Where notifications are POSTed.
    pub url: String,
    /// The signing secret (`whsec_…`).
    pub secret: String,
    /// When it was registered (RFC 3339).
    pub created: String,
}

impl std::fmt::Debug for Webhook {
    // Never the secret.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Webhook")
            .field("id", &self.id)
            .field("party", &self.party)
            .field("url", &self.url)
            .field("secret", &"(hidden)")
            .field("created", &self.created)
            .finish()
    }
}

/// An event waiting to be delivered to one webhook (a row of the outbox).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pending {
    /// The event's id (`webhook-id`), the same for every webhook and every attempt.
    pub event_id: String,
    /// The webhook's id.
    pub webhook: String,
    /// The party notified.
    pub party: String,
    /// `statement.arrived` or `deadline.near`.
    pub event: String,
    /// The case.
    pub case_id: String,
    /// The JSON body sent.
    pub body: Vec<u8>,
    /// Attempts made so far.
    pub attempts: u32,
    /// When the next attempt is due, milliseconds since the Unix epoch.
    pub next_at_ms: i64,
}

/// One delivery attempt, as recorded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Delivery {
    /// The webhook's id.
    pub webhook: String,
    /// The party notified.
    pub party: String,
    /// The event's id.
    pub event_id: String,
    /// `statement.arrived` or `deadline.near`.
    pub event: String,
    /// The case.
    pub case_id: String,
    /// 1 for the first attempt.
    pub attempt: u32,
    /// When it was made (RFC 3339).
    pub time: String,
    /// The receiver's HTTP status, if it answered.
    pub status: Option<u16>,
    /// What went wrong, if anything.
    pub error: Option<String>,
    /// Whether it delivered the event.
    pub delivered: bool,
    /// Whether another attempt follows.
    pub will_retry: bool,
}

/// Everything the webhook tables hold: what `hotline migrate` copies and what an import from
/// a data directory's files brings in.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct WebhookData {
    /// Registrations, in the order they were made.
    pub hooks: Vec<Webhook>,
    /// The notifier's progress (see the module docs).
    pub next_index: Option<u64>,
    /// Deadlines announced: `(key, due in Unix seconds)`, by key.
    pub announced: Vec<(String, i64)>,
    /// The outbox, by event and webhook.
    pub pending: Vec<Pending>,
    /// The delivery log, oldest first.
    pub deliveries: Vec<Delivery>,
    /// Digests of imported files, by digest.
    pub imports: Vec<String>,
}

/// A deadline about to be announced, with the events it makes (one per webhook of its
/// party).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Announcement {
    /// `case/which/due`.
    pub key: String,
    /// Its due time, Unix seconds.
    pub due: i64,
    /// Its events.
    pub events: Vec<Pending>,
}

/// The webhook tables of one log. Every method is one short transaction; the store is shared
/// by the request handlers and the notifier (`Send + Sync`), and blocks: async callers reach
/// it through `spawn_blocking`.
pub trait WebhookStore: Send + Sync {
    /// The registrations of `party` (of every party with `None`), in the order made.
    fn hooks(&self, party: Option<&str>) -> Result<Vec<Webhook>>;
    /// Registers `hook` unless its party already has `max_per_party` (then `false`).
    fn add_hook(&self, hook: &Webhook, max_per_party: usize) -> Result<bool>;
    /// Deletes `party`'s webhook `id` and its queued events; `false` if it has none such.
    fn delete_hook(&self, party: &str, id: &str) -> Result<bool>;
    /// The notifier's progress.
    fn next_index(&self) -> Result<Option<u64>>;
    /// Sets the progress to `to` and queues `events` (those already queued are kept as
    /// they are), if the progress is still `from`; otherwise changes nothing and answers
    /// `false` (another notifier moved it).
    fn advance(&self, from: Option<u64>, to: u64, events: &[Pending]) -> Result<bool>;
    /// Marks each deadline announced and queues its events, unless it already was; forgets
    /// deadlines due before `forget_before` (Unix seconds). Returns the keys newly announced.
    fn announce(&self, deadlines: &[Announcement], forget_before: i64) -> Result<Vec<String>>;
    /// Up to `limit` queued events due at `now_ms`, earliest first.
    fn due(&self, now_ms: i64, limit: usize) -> Result<Vec<Pending>>;
    /// Records an attempt, then dequeues its event (`next_at_ms` `None`: delivered or given
    /// up) or reschedules it, if the event is still queued with `attempt - 1` attempts
    /// (`false` otherwise: another sender recorded it first). Keeps the party's latest
    /// [`DELIVERIES_KEPT`] attempts.
    fn attempted(&self, delivery: &Delivery, next_at_ms: Option<i64>) -> Result<bool>;
    /// `party`'s latest `limit` attempts, latest first.
    fn deliveries(&self, party: &str, limit: usize) -> Result<Vec<Delivery>>;
    /// Adds `data` as an import of a file with this digest, unless that digest was imported
    /// before (`false`): registrations and events already stored are kept, the progress is
    /// set only if there is none, announcements and attempts are added.
    fn import(&self, digest: &str, data: &WebhookData) -> Result<bool>;
    /// Everything stored.
    fn export(&self) -> Result<WebhookData>;
}

/// Keeps the latest [`DELIVERIES_KEPT`] deliveries of each party in `deliveries` (oldest
/// first), as the tables do.
pub fn keep_latest(deliveries: Vec<Delivery>) -> Vec<Delivery> {
    let mut per_party: std::collections::HashMap<String, usize> = Default::default();
    let mut keep = vec![false; deliveries.len()];
    for (i, d) in deliveries.iter().enumerate().rev() {
        let n = per_party.entry(d.party.clone()).or_default();
        if *n < DELIVERIES_KEPT {
            *n += 1;
            keep[i] = true;
        }
    }
    deliveries
        .into_iter()
        .zip(keep)
        .filter_map(|(d, k)| k.then_some(d))
        .collect()
}

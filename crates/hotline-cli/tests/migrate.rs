//! `hotline migrate`: SQLite → PostgreSQL → SQLite keeps every row and the root, and the copy
//! serves — the log alone, and a hotline with TAXII collections, whose copies (and the
//! PostgreSQL database in between) serve every TAXII resource byte for byte as the original.
#![allow(clippy::unwrap_used, missing_docs)]

mod util;

use std::path::Path;
use std::sync::Arc;

use hotline_store::reader::LogView;
use hotline_store::sequencer::{self, SequencerConfig};
use hotline_store::{EntrySide, LogReader, LogWriter};
use hotline_tlog::Ed25519Signer;
use util::Sandbox;
use util::pg::Schema;

/// More payload rows than one batch of the copy to PostgreSQL holds.
const ENTRIES: usize = 2_000;

/// Appends [`ENTRIES`] entries in several batches; every third has a payload.
fn fill(reader: Arc<dyn LogReader>, writer: Box<dyn LogWriter>, signer: Ed25519Signer) {
    let view = Arc::new(LogView::new(reader).unwrap());
    let seq = sequencer::start(writer, view, signer, SequencerConfig::default()).unwrap();
    for chunk in (0..ENTRIES).collect::<Vec<_>>().chunks(100) {
        let pending: Vec<_> = chunk
            .iter()
            .map(|&i| {
                let side = EntrySide {
                    payload: (i % 3 == 0).then(|| format!("payload {i}").into_bytes()),
                    credential: None,
                    taxii: None,
                };
                seq.submit_with(format!("migrated entry {i:05}").into_bytes(), side)
                    .unwrap()
            })
            .collect();
        for p in pending {
            p.wait().unwrap();
        }
    }
    seq.shutdown();
}

#[test]
fn sqlite_to_postgres_to_sqlite_keeps_the_root_and_serves() {
    let Some(schema) = Schema::new() else { return };
    let sb = Sandbox::new();
    sb.run_ok(&[
        "init",
        "--dir",
        "d",
        "--log-only",
        "--origin",
        "migrate.test/log",
    ]);
    let skey = std::fs::read_to_string(sb.path("d/log.key")).unwrap();
    let signer = Ed25519Signer::from_skey(skey.trim()).unwrap();
    let db = sb.path("d/hotline.db");
    fill(
        Arc::new(hotline_store::sqlite::SqliteReader::open(&db).unwrap()),
        Box::new(hotline_store::sqlite::SqliteWriter::open(&db).unwrap()),
        signer,
    );

    let there = sb.run_ok(&["migrate", "--from", "d", "--to", &schema.url, "--json"]);
    let v: serde_json::Value = serde_json::from_str(there.trim()).unwrap();
    assert_eq!(v["ok"], true, "{there}");
    assert_eq!(v["size"], ENTRIES as u64, "{there}");
    assert_eq!(v["payloads"], ENTRIES.div_ceil(3) as u64, "{there}");
    let root = v["root_before"].as_str().unwrap().to_owned();
    assert_eq!(v["root_after"], root.as_str(), "{there}");

    // A destination that holds a log is refused.
    let err = sb.run_err(&["migrate", "--from", "d", "--to", &schema.url]);
    assert!(err.contains("already holds a hotline log"), "{err}");

    let back = sb.run_ok(&["migrate", "--from", &schema.url, "--to", "d2"]);
    assert!(back.contains(&format!("root before: {root}")), "{back}");
    assert!(back.contains(&format!("root after:  {root}")), "{back}");
    let err = sb.run_err(&["migrate", "--from", &schema.url, "--to", "d2"]);
    assert!(err.contains("already holds a hotline database"), "{err}");

    // Same rows: the fsck reports agree, and the copy serves once it has the log key.
    let a = sb.run_ok(&["fsck", "--dir", "d", "--json"]);
    let b = sb.run_ok(&["fsck", "--dir", "d2", "--json"]);
    let (a, b): (serde_json::Value, serde_json::Value) = (
        serde_json::from_str(a.trim()).unwrap(),
        serde_json::from_str(b.trim()).unwrap(),
    );
    for k in [
        "entries",
        "bundles",
        "tiles",
        "checkpoints",
        "payloads",
        "root",
    ] {
        assert_eq!(a[k], b[k], "{k}");
    }
    std::fs::copy(sb.path("d/log.key"), sb.path("d2/log.key")).unwrap();
    let server = sb.serve("d2");
    let out = sb.run_ok(&[
        "log",
        "verify",
        "--url",
        &server.url,
        "--vkey",
        "d2/log.vkey",
    ]);
    assert!(out.contains(&format!("size {ENTRIES}")), "{out}");
}

const CLEAR: &str = "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487";
const TAXII: &str = "application/taxii+json;version=2.1";

/// An indicator with a fixed id per `n` and version `modified`.
fn indicator(n: u32, modified: &str) -> serde_json::Value {
    serde_json::json!({
        "type": "indicator",
        "spec_version": "2.1",
        "id": format!("indicator--{n:08x}-8e4a-4e1a-9f61-7c9b0b1c2d3e"),
        "created": "2021-07-01T10:00:00.000Z",
        "modified": modified,
        "name": format!("REvil C2 {n}"),
        "pattern": format!("[ipv4-addr:value = '198.51.100.{}']", n % 250),
        "pattern_type": "stix",
        "valid_from": "2021-07-03T10:00:00Z",
        "object_marking_refs": [CLEAR],
    })
}

/// One TAXII resource as served: path, HTTP status, the TAXII headers, body.
type Served = (String, u16, Vec<String>, Vec<u8>);

/// A hotline's TAXII side as a client sees it.
struct Taxii {
    url: String,
    user: String,
    token: String,
}

impl Taxii {
    fn new(url: &str, sb: &Sandbox, party: &str) -> Taxii {
        Taxii {
            url: url.to_owned(),
            user: party.to_owned(),
            token: std::fs::read_to_string(sb.path(&format!("{party}/token")))
                .unwrap()
                .trim()
                .to_owned(),
        }
    }

    /// GET `path`: status, the TAXII headers and the body, as served.
    fn get(&self, path: &str) -> (u16, Vec<String>, Vec<u8>) {
        let r = reqwest::blocking::Client::new()
            .get(format!("{}{path}", self.url))
            .basic_auth(&self.user, Some(&self.token))
            .header("accept", TAXII)
            .send()
            .unwrap();
        let headers = [
            "content-type",
            "x-taxii-date-added-first",
            "x-taxii-date-added-last",
        ]
        .iter()
        .map(|h| {
            let v = r.headers().get(*h).map(|v| v.to_str().unwrap().to_owned());
            format!("{h}: {}", v.unwrap_or_default())
        })
        .collect();
        (r.status().as_u16(), headers, r.bytes().unwrap().to_vec())
    }

    fn post(&self, collection: &str, objects: Vec<serde_json::Value>) -> serde_json::Value {
        let r = reqwest::blocking::Client::new()
            .post(format!(
                "{}/taxii2/hotline/collections/{collection}/objects/",
                self.url
            ))
            .basic_auth(&self.user, Some(&self.token))
            .header("accept", TAXII)
            .header("content-type", TAXII)
            .body(serde_json::to_vec(&serde_json::json!({ "objects": objects })).unwrap())
            .send()
            .unwrap();
        let status = r.status().as_u16();
        let body: serde_json::Value = r.json().unwrap();
        assert_eq!(status, 202, "{body}");
        body
    }

    fn collections(&self) -> Vec<(String, String)> {
        let (status, _, body) = self.get("/taxii2/hotline/collections/");
        assert_eq!(status, 200);
        let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
        v["collections"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| {
                (
                    c["alias"].as_str().unwrap().to_owned(),
                    c["id"].as_str().unwrap().to_owned(),
                )
            })
            .collect()
    }

    /// Every TAXII resource of every collection, as served: the collections, each one's
    /// pages (7 objects a page, following `next`) with each version filter, the manifest,
    /// each object and its versions, and the status resources `statuses`. Returns them with
    /// the number of distinct objects seen.
    fn everything(&self, statuses: &[String]) -> (Vec<Served>, usize) {
        let mut out = Vec::new();
        let mut record = |path: String| {
            let (status, headers, body) = self.get(&path);
            assert_eq!(status, 200, "{path}: {}", String::from_utf8_lossy(&body));
            out.push((path, status, headers, body.clone()));
            serde_json::from_slice::<serde_json::Value>(&body).unwrap()
        };
        record("/taxii2/hotline/collections/".to_owned());
        let mut ids = std::collections::BTreeSet::new();
        for (_, c) in self.collections() {
            let base = format!("/taxii2/hotline/collections/{c}");
            record(format!("{base}/"));
            for filter in ["", "&match[version]=all", "&match[version]=first"] {
                let mut next = String::new();
                loop {
                    let page = record(format!("{base}/objects/?limit=7{filter}{next}"));
                    for o in page["objects"].as_array().into_iter().flatten() {
                        ids.insert((c.clone(), o["id"].as_str().unwrap().to_owned()));
                    }
                    match page["next"].as_str() {
                        Some(n) if page["more"] == true => next = format!("&next={n}"),
                        _ => break,
                    }
                }
            }
            record(format!("{base}/manifest/?match[version]=all"));
        }
        for (c, id) in &ids {
            let base = format!("/taxii2/hotline/collections/{c}/objects/{id}");
            record(format!("{base}/?match[version]=all"));
            record(format!("{base}/versions/"));
        }
        for sid in statuses {
            record(format!("/taxii2/hotline/status/{sid}/"));
        }
        (out, ids.len())
    }
}

fn json_of(out: &str) -> serde_json::Value {
    serde_json::from_str(out.trim()).unwrap_or_else(|e| panic!("{e}: {out}"))
}

#[test]
fn a_hotline_with_taxii_collections_migrates_there_and_back_and_serves_the_same_bytes() {
    let Some(schema) = Schema::new() else { return };
    let sb = Sandbox::new();
    sb.run_ok(&["init", "--dir", "hl", "--origin", "migrate-taxii.test/log"]);
    let server = sb.serve("hl");
    util::register_party(&sb, &server.url, "us-cisa", "US");
    util::register_party(&sb, &server.url, "ru-nkcki", "RU");
    let cisa = Taxii::new(&server.url, &sb, "us-cisa");
    let nkcki = Taxii::new(&server.url, &sb, "ru-nkcki");
    let ids: std::collections::HashMap<String, String> = cisa.collections().into_iter().collect();

    // The party's own signed statement (hotline share) and the operator's records of plain
    // TAXII POSTs; versions added out of order, and one repeated, so the version marks matter.
    let green = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../interop/taxii/cases/indicator-tlp2-green.json");
    sb.run_ok(&[
        "--config",
        "us-cisa/config.toml",
        "share",
        green.to_str().unwrap(),
        "--collection",
        "own",
    ]);
    let (v0, v1, v2) = (
        "2021-07-02T10:00:00.000Z",
        "2021-07-03T10:00:00.000Z",
        "2021-07-04T10:00:00.000Z",
    );
    let mut statuses = Vec::new();
    let mut post = |who: &Taxii, alias: &str, objects| {
        let status = who.post(&ids[alias], objects);
        statuses.push(status["id"].as_str().unwrap().to_owned());
    };
    post(&cisa, "shared", (0..30).map(|n| indicator(n, v1)).collect());
    post(&nkcki, "shared", (0..5).map(|n| indicator(n, v2)).collect());
    post(
        &nkcki,
        "shared",
        (3..8)
            .map(|n| indicator(n, v0))
            .chain([indicator(9, v1)])
            .collect(),
    );
    post(
        &cisa,
        "public",
        (100..103).map(|n| indicator(n, v1)).collect(),
    );
    post(
        &nkcki,
        "ru-nkcki",
        (200..210).map(|n| indicator(n, v1)).collect(),
    );
    let (before, objects) = cisa.everything(&statuses);
    assert_eq!(objects, 2 + 30 + 3 + 10, "distinct objects per collection");
    server.stop();
    let fsck_before = json_of(&sb.run_ok(&["fsck", "--dir", "hl", "--json"]));
    assert_eq!(fsck_before["ok"], true, "{fsck_before}");
    assert_eq!(fsck_before["taxii_publications"], 6, "{fsck_before}");
    // 2 + 30 + 5 + (5 older versions + 1 repeat, kept once) + 3 + 10 rows.
    assert_eq!(
        fsck_before["taxii_objects"],
        2 + 30 + 5 + 5 + 3 + 10,
        "{fsck_before}"
    );

    // There: the copy in PostgreSQL passes fsck (migrate checks it) with every TAXII row.
    let there = json_of(&sb.run_ok(&["migrate", "--from", "hl", "--to", &schema.url, "--json"]));
    assert_eq!(there["ok"], true, "{there}");
    assert_eq!(there["taxii_publications"], 6, "{there}");
    assert_eq!(
        there["taxii_objects"], fsck_before["taxii_objects"],
        "{there}"
    );
    // A hotline served from that database (a data directory naming it) serves the same bytes.
    std::fs::create_dir(sb.path("pg")).unwrap();
    for f in ["log.key", "log.vkey", "operator.key", "operator.token"] {
        std::fs::copy(sb.path(&format!("hl/{f}")), sb.path(&format!("pg/{f}"))).unwrap();
    }
    std::fs::write(sb.path("pg/database.url"), format!("{}\n", schema.url)).unwrap();
    for f in [
        "pg",
        "pg/log.key",
        "pg/operator.key",
        "pg/operator.token",
        "pg/database.url",
    ] {
        let mode = if f == "pg" { 0o700 } else { 0o600 };
        std::fs::set_permissions(
            sb.path(f),
            std::os::unix::fs::PermissionsExt::from_mode(mode),
        )
        .unwrap();
    }
    let server = sb.serve("pg");
    let (on_pg, _) = Taxii::new(&server.url, &sb, "us-cisa").everything(&statuses);
    assert_same(&before, &on_pg, "PostgreSQL");
    server.stop();

    // And back: a new data directory, checked, serving the same bytes once it has the keys.
    let back = json_of(&sb.run_ok(&["migrate", "--from", &schema.url, "--to", "hl2", "--json"]));
    assert_eq!(back["ok"], true, "{back}");
    assert_eq!(back["root_after"], there["root_before"], "{back}");
    assert_eq!(
        back["taxii_objects"], fsck_before["taxii_objects"],
        "{back}"
    );
    let fsck_after = json_of(&sb.run_ok(&["fsck", "--dir", "hl2", "--json"]));
    for k in [
        "ok",
        "entries",
        "payloads",
        "root",
        "taxii_publications",
        "taxii_objects",
    ] {
        assert_eq!(fsck_after[k], fsck_before[k], "{k}");
    }
    for f in ["log.key", "operator.key", "operator.token"] {
        std::fs::copy(sb.path(&format!("hl/{f}")), sb.path(&format!("hl2/{f}"))).unwrap();
    }
    let server = sb.serve("hl2");
    let cisa2 = Taxii::new(&server.url, &sb, "us-cisa");
    let (after, _) = cisa2.everything(&statuses);
    assert_same(&before, &after, "SQLite, back");

    // The copy keeps working: a newer version of an object becomes its last one.
    let v3 = "2021-07-05T10:00:00.000Z";
    cisa2.post(&ids["shared"], vec![indicator(4, v3)]);
    let (_, _, body) = cisa2.get(&format!(
        "/taxii2/hotline/collections/{}/objects/{}/",
        ids["shared"],
        indicator(4, v3)["id"].as_str().unwrap()
    ));
    let page: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(page["objects"].as_array().unwrap().len(), 1, "{page}");
    assert_eq!(page["objects"][0]["modified"], v3, "{page}");
    server.stop();
    let fsck_last = json_of(&sb.run_ok(&["fsck", "--dir", "hl2", "--json"]));
    assert_eq!(fsck_last["ok"], true, "{fsck_last}");
}

/// The same resources, byte for byte (status, TAXII headers and body), in the same order.
fn assert_same(a: &[Served], b: &[Served], what: &str) {
    assert_eq!(a.len(), b.len(), "{what}: another number of resources");
    for (x, y) in a.iter().zip(b) {
        assert_eq!(x.0, y.0, "{what}");
        assert_eq!((x.1, &x.2), (y.1, &y.2), "{what}: {}", x.0);
        assert!(
            x.3 == y.3,
            "{what}: {} differs:\n{}\n---\n{}",
            x.0,
            String::from_utf8_lossy(&x.3),
            String::from_utf8_lossy(&y.3)
        );
    }
}

#[test]
fn webhooks_migrate_there_and_back_with_their_progress() {
    use std::os::unix::fs::PermissionsExt as _;
    let Some(schema) = Schema::new() else { return };
    let sb = Sandbox::new();
    sb.run_ok(&[
        "init",
        "--dir",
        "hl",
        "--origin",
        "migrate-webhooks.test/log",
    ]);
    assert_eq!(
        std::fs::metadata(sb.path("hl/hotline.db"))
            .unwrap()
            .permissions()
            .mode()
            & 0o777,
        0o600,
        "the database holds webhook secrets"
    );
    let server = sb.serve("hl");
    util::register_party(&sb, &server.url, "us-cisa", "US");
    util::register_party(&sb, &server.url, "ru-nkcki", "RU");
    let token = std::fs::read_to_string(sb.path("ru-nkcki/token"))
        .unwrap()
        .trim()
        .to_owned();
    // A receiver that is not there: attempts fail and are retried, so an event stays queued.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let http = reqwest::blocking::Client::new();
    let hook: serde_json::Value = http
        .post(format!("{}/api/v1/webhooks", server.url))
        .bearer_auth(&token)
        .json(&serde_json::json!({ "url": format!("http://127.0.0.1:{closed}/duty") }))
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert!(
        hook["secret"].as_str().unwrap().starts_with("whsec_"),
        "{hook}"
    );
    // The notifier's first round sets its progress; then a notice arrives.
    std::thread::sleep(std::time::Duration::from_millis(1500));
    sb.run_ok(&[
        "--config",
        "us-cisa/config.toml",
        "send",
        "--to",
        "ru-nkcki",
        "--title",
        "heads up",
        "-m",
        "fyi",
    ]);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let log: serde_json::Value = http
            .get(format!("{}/api/v1/webhooks/deliveries", server.url))
            .bearer_auth(&token)
            .send()
            .unwrap()
            .json()
            .unwrap();
        if !log.as_array().unwrap().is_empty() {
            assert_eq!(log[0]["will_retry"], true, "{log}");
            break;
        }
        assert!(std::time::Instant::now() < deadline, "no attempt in 20 s");
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    server.stop();
    let kept = hotline_store::sqlite::SqliteReader::open(&sb.path("hl/hotline.db"))
        .unwrap()
        .webhook_data()
        .unwrap()
        .unwrap();
    assert_eq!(kept.hooks.len(), 1);
    assert!(kept.next_index.is_some());
    assert_eq!(kept.pending.len(), 1, "{kept:?}");
    assert!(!kept.deliveries.is_empty());
    assert!(!format!("{kept:?}").contains("whsec_"), "a secret in Debug");

    // A registration an older build kept in a file, never imported: the copy gets it too.
    let legacy = serde_json::json!({
        "hooks": [{ "id": "wh_00000000000000aa", "party": "us-cisa",
                    "url": "https://duty.us-cisa.example/", "created": "2021-07-03T10:00:00Z",
                    "secret": "whsec_MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=" }],
        "next_index": 1,
        "announced": [],
    });
    std::fs::write(sb.path("hl/webhooks.json"), legacy.to_string()).unwrap();

    let there = json_of(&sb.run_ok(&["migrate", "--from", "hl", "--to", &schema.url, "--json"]));
    assert_eq!(there["ok"], true, "{there}");
    assert_eq!(there["webhooks"], 1, "{there}");
    assert_eq!(there["webhook_pending"], 1, "{there}");
    assert_eq!(
        there["webhook_deliveries"],
        kept.deliveries.len(),
        "{there}"
    );
    assert_eq!(
        there["webhook_next_index"],
        kept.next_index.unwrap(),
        "{there}"
    );
    assert_eq!(there["webhooks_imported_from_files"], 1, "{there}");
    assert!(
        sb.path("hl/webhooks.json").exists(),
        "the source's file was moved"
    );
    let on_pg = hotline_store::postgres::PgReader::open(&schema.url)
        .unwrap()
        .webhook_data()
        .unwrap()
        .unwrap();
    let mut expected = kept.clone();
    expected.hooks.push(on_pg.hooks[1].clone());
    expected.imports = on_pg.imports.clone();
    assert_eq!(on_pg, expected);
    assert_eq!(on_pg.hooks[1].id, "wh_00000000000000aa");
    assert_eq!(on_pg.imports.len(), 1);

    let back = json_of(&sb.run_ok(&["migrate", "--from", &schema.url, "--to", "hl2", "--json"]));
    assert_eq!(back["ok"], true, "{back}");
    assert_eq!(back["webhooks"], 2, "{back}");
    let db2 = sb.path("hl2/hotline.db");
    assert_eq!(
        hotline_store::sqlite::SqliteReader::open(&db2)
            .unwrap()
            .webhook_data()
            .unwrap()
            .unwrap(),
        on_pg
    );
    assert_eq!(
        std::fs::metadata(&db2).unwrap().permissions().mode() & 0o777,
        0o600
    );
}

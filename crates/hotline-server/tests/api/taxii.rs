//! TAXII 2.1 at `/taxii2/` (issue 5) against a real hotline: collections and who may do what,
//! POST → status → paged GET with every filter, manifest, versions, the `shared` statement
//! each POST becomes (operator-recorded, or the party's own through `Hotline-Statement`), and
//! every kind of bad input refused with a TAXII error resource while nothing stored changes.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use hotline_core::statement::{ObjectsCommitment, SignedStatement, Statement};
use hotline_core::vocab::{Collection, Kind, PartyId};
use hotline_server::taxii::{CollectionRef, MEDIA_TYPE_TAXII, collection_id};
use serde_json::{Value, json};

use crate::fixture::*;

const GREEN: &str = "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb";
const CLEAR: &str = "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487";
const AMBER: &str = "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421";

fn uuid4() -> String {
    let mut b: [u8; 16] = rand::random();
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &h[..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..]
    )
}

/// An indicator for IPv4 address 198.51.100.`n`, marked `marking`, version `modified`.
fn indicator(id: &str, n: u32, marking: &str, modified: &str) -> Value {
    json!({
        "type": "indicator",
        "spec_version": "2.1",
        "id": id,
        "created": "2021-07-03T10:00:00.000Z",
        "modified": modified,
        "name": format!("REvil C2 {n}"),
        "pattern": format!("[ipv4-addr:value = '198.51.100.{}']", n % 250),
        "pattern_type": "stix",
        "valid_from": "2021-07-03T10:00:00Z",
        "object_marking_refs": [marking],
    })
}

fn envelope(objects: Vec<Value>) -> Vec<u8> {
    serde_json::to_vec(&json!({ "objects": objects })).unwrap()
}

/// A TAXII request: credentials as `(user, token)` for Basic or `("", token)` for Bearer.
struct Req<'a> {
    method: &'a str,
    path: String,
    auth: Option<(&'a str, &'a str)>,
    accept: Option<&'a str>,
    content_type: Option<&'a str>,
    statement: Option<String>,
    body: Vec<u8>,
}

impl<'a> Req<'a> {
    fn get(path: impl Into<String>, auth: Option<(&'a str, &'a str)>) -> Req<'a> {
        Req {
            method: "GET",
            path: path.into(),
            auth,
            accept: Some(MEDIA_TYPE_TAXII),
            content_type: None,
            statement: None,
            body: Vec::new(),
        }
    }

    fn post(path: impl Into<String>, auth: Option<(&'a str, &'a str)>, body: Vec<u8>) -> Req<'a> {
        Req {
            method: "POST",
            content_type: Some(MEDIA_TYPE_TAXII),
            body,
            ..Req::get(path, auth)
        }
    }

    fn send(self, h: &TestHotline) -> Resp {
        let client = reqwest::blocking::Client::new();
        let method = reqwest::Method::from_bytes(self.method.as_bytes()).unwrap();
        let mut r = client.request(method, format!("http://{}{}", h.addr, self.path));
        match self.auth {
            Some(("", token)) => r = r.bearer_auth(token),
            Some((user, token)) => r = r.basic_auth(user, Some(token)),
            None => {}
        }
        if let Some(a) = self.accept {
            r = r.header("accept", a);
        }
        if let Some(c) = self.content_type {
            r = r.header("content-type", c);
        }
        if let Some(s) = self.statement {
            r = r.header("hotline-statement", s);
        }
        let resp = r.body(self.body).send().unwrap();
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        Resp {
            status,
            headers,
            body: resp.bytes().unwrap().to_vec(),
        }
    }
}

fn taxii_json(r: &Resp) -> Value {
    assert_eq!(
        r.headers.get("content-type").unwrap(),
        MEDIA_TYPE_TAXII,
        "{}",
        r.text()
    );
    r.json()
}

struct World {
    h: TestHotline,
    cisa: Party,
    nkcki: Party,
}

impl World {
    fn new() -> World {
        let h = TestHotline::start();
        let cisa = h.register("us-cisa");
        let nkcki = h.register("ru-nkcki");
        World { h, cisa, nkcki }
    }

    fn objects_path(&self, c: &CollectionRef) -> String {
        format!(
            "/taxii2/hotline/collections/{}/objects/",
            collection_id(&self.h.origin, c)
        )
    }

    /// Everything a TAXII reader could see, and the log: compared around refused requests.
    fn snapshot(&self) -> (u64, Vec<Value>) {
        let auth = Some(("us-cisa", self.cisa.token.as_str()));
        let mut all = Vec::new();
        for c in [
            CollectionRef::Shared,
            CollectionRef::Public,
            CollectionRef::Party(self.cisa.id.clone()),
        ] {
            let r = Req::get(
                format!("{}?match[version]=all", self.objects_path(&c)),
                auth,
            )
            .send(&self.h)
            .expect(200);
            all.push(taxii_json(&r));
        }
        (self.h.log_size(), all)
    }

    /// `req` must be refused with `status` and a TAXII error resource whose title or
    /// description contains `phrase`; nothing stored changes.
    #[track_caller]
    fn refuses(&self, what: &str, status: u16, phrase: &str, req: Req<'_>) {
        let before = self.snapshot();
        let r = req.send(&self.h);
        assert_eq!(r.status, status, "{what}: {}", r.text());
        let e = taxii_json(&r);
        assert_eq!(e["http_status"], status.to_string(), "{what}");
        let said = format!("{} {}", e["title"], e["description"]);
        assert!(
            said.contains(phrase),
            "{what}: the error does not say {phrase:?}: {said}"
        );
        assert_eq!(self.snapshot(), before, "{what}: something stored changed");
    }
}

#[test]
fn discovery_api_root_and_collections_show_what_each_caller_may_do() {
    let w = World::new();
    let cisa = Some(("us-cisa", w.cisa.token.as_str()));
    let d = taxii_json(&Req::get("/taxii2/", None).send(&w.h).expect(200));
    let root = format!("http://{}/taxii2/hotline/", w.h.addr);
    assert_eq!(d["default"], root.as_str());
    assert_eq!(d["api_roots"], json!([root]));
    let r = taxii_json(&Req::get("/taxii2/hotline/", cisa).send(&w.h).expect(200));
    assert_eq!(r["versions"], json!([MEDIA_TYPE_TAXII]));
    assert_eq!(r["max_content_length"], 10 * 1024 * 1024);

    // Anonymous callers see the public collection only.
    let anon = taxii_json(
        &Req::get("/taxii2/hotline/collections/", None)
            .send(&w.h)
            .expect(200),
    );
    let ids: Vec<&str> = anon["collections"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        vec![collection_id(&w.h.origin, &CollectionRef::Public)]
    );
    // A party sees shared, public and every party's own; it writes all but the others' own.
    let list = taxii_json(
        &Req::get("/taxii2/hotline/collections/", cisa)
            .send(&w.h)
            .expect(200),
    );
    let by_alias = |alias: &str| {
        list["collections"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["alias"] == alias)
            .unwrap_or_else(|| panic!("no collection {alias}: {list}"))
            .clone()
    };
    assert_eq!(by_alias("shared")["can_write"], true);
    assert_eq!(by_alias("public")["can_write"], true);
    assert_eq!(by_alias("us-cisa")["can_write"], true);
    assert_eq!(by_alias("ru-nkcki")["can_write"], false);
    assert_eq!(by_alias("ru-nkcki")["can_read"], true);
    assert!(
        !list.to_string().contains("\"alias\":\"operator\""),
        "the operator has no collection"
    );
    // The operator reads everything and writes nothing; Bearer works like Basic.
    let op = taxii_json(
        &Req::get(
            "/taxii2/hotline/collections/",
            Some(("", w.h.operator_token.as_str())),
        )
        .send(&w.h)
        .expect(200),
    );
    assert!(
        op["collections"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["can_read"] == true && c["can_write"] == false)
    );
    // One collection by id; unknown ids are 404, private ones need credentials.
    let shared = collection_id(&w.h.origin, &CollectionRef::Shared);
    let one = taxii_json(
        &Req::get(format!("/taxii2/hotline/collections/{shared}/"), cisa)
            .send(&w.h)
            .expect(200),
    );
    assert_eq!(one["id"], shared.as_str());
    Req::get(format!("/taxii2/hotline/collections/{shared}/"), None)
        .send(&w.h)
        .expect(401);
    // Wrong password for the right user, or a token under another party's name.
    Req::get("/taxii2/hotline/collections/", Some(("us-cisa", "nope")))
        .send(&w.h)
        .expect(401);
    Req::get(
        "/taxii2/hotline/collections/",
        Some(("ru-nkcki", w.cisa.token.as_str())),
    )
    .send(&w.h)
    .expect(401);
}

#[test]
fn status_resources_are_shown_to_callers_who_may_read_the_collection() {
    let w = World::new();
    let cisa = Some(("us-cisa", w.cisa.token.as_str()));
    let nkcki = Some(("ru-nkcki", w.nkcki.token.as_str()));
    let operator = Some(("", w.h.operator_token.as_str()));
    let v1 = "2021-07-03T10:00:00.000Z";
    let mut statuses = Vec::new();
    for c in [
        CollectionRef::Shared,
        CollectionRef::Public,
        CollectionRef::Party(PartyId::new("us-cisa").unwrap()),
    ] {
        let id = format!("indicator--{}", uuid4());
        let r = Req::post(
            w.objects_path(&c),
            cisa,
            envelope(vec![indicator(&id, 7, CLEAR, v1)]),
        )
        .send(&w.h)
        .expect(202);
        let status = taxii_json(&r);
        // Status ids are derived from the statement's id, which the public log shows.
        let statement = r.headers.get("hotline-statement-id").unwrap();
        let leaf = hotline_tlog::Hash::from_base64(statement.to_str().unwrap()).unwrap();
        assert_eq!(
            status["id"],
            hotline_server::taxii::status_id(&leaf).as_str()
        );
        statuses.push((c, status));
    }
    for (c, status) in &statuses {
        let path = format!("/taxii2/hotline/status/{}/", status["id"].as_str().unwrap());
        // The poster, another party and the operator may read every one of these collections.
        for who in [cisa, nkcki, operator] {
            assert_eq!(
                &taxii_json(&Req::get(&path, who).send(&w.h).expect(200)),
                status,
                "{c:?} {who:?}"
            );
        }
        // Without credentials, none: not even for the public collection (statuses are the
        // API of clients that publish, and anyone can compute their ids from the log).
        let e = taxii_json(&Req::get(&path, None).send(&w.h).expect(401));
        assert_eq!(e["title"], "Unauthorized", "{c:?}");
    }
    // An id that names no status, and one of a statement not in the log, look alike.
    for id in [
        uuid4(),
        hotline_server::taxii::status_id(&hotline_tlog::Hash([7; 32])),
    ] {
        let e = taxii_json(
            &Req::get(format!("/taxii2/hotline/status/{id}/"), nkcki)
                .send(&w.h)
                .expect(404),
        );
        assert!(
            e["description"].as_str().unwrap().contains("no status"),
            "{e}"
        );
    }
}

#[test]
fn post_status_and_paged_get_with_every_filter() {
    let w = World::new();
    let cisa = Some(("us-cisa", w.cisa.token.as_str()));
    let nkcki = Some(("", w.nkcki.token.as_str()));
    let shared = w.objects_path(&CollectionRef::Shared);
    let ids: Vec<String> = (0..25).map(|_| format!("indicator--{}", uuid4())).collect();
    let v1 = "2021-07-03T10:00:00.000Z";
    let v2 = "2021-07-04T10:00:00.000Z";
    let objects: Vec<Value> = ids
        .iter()
        .enumerate()
        .map(|(i, id)| indicator(id, i as u32, GREEN, v1))
        .collect();
    let size_before = w.h.log_size();
    let r = Req::post(&shared, cisa, envelope(objects))
        .send(&w.h)
        .expect(202);
    let status = taxii_json(&r);
    assert_eq!(status["status"], "complete");
    assert_eq!(status["total_count"], 25);
    assert_eq!(status["success_count"], 25);
    assert_eq!(status["failure_count"], 0);
    assert_eq!(status["pending_count"], 0);
    assert_eq!(status["successes"][0]["id"], ids[0].as_str());
    assert_eq!(status["successes"][0]["version"], v1);
    // The status resource can be fetched again, with and without the trailing slash.
    let sid = status["id"].as_str().unwrap();
    for path in [
        format!("/taxii2/hotline/status/{sid}/"),
        format!("/taxii2/hotline/status/{sid}"),
    ] {
        assert_eq!(
            taxii_json(&Req::get(path, nkcki).send(&w.h).expect(200)),
            status
        );
    }
    // The POST is a shared statement in the log, signed by the operator, naming the party.
    assert_eq!(w.h.log_size(), size_before + 1);
    let entries = w.h.entries();
    let s = SignedStatement::parse(entries.last().unwrap()).unwrap();
    assert_eq!(s.statement.kind, Kind::Shared);
    assert!(s.statement.author.is_operator());
    assert_eq!(s.statement.party.as_ref().unwrap().as_str(), "us-cisa");
    assert_eq!(s.statement.collection, Some(Collection::Shared));
    assert_eq!(s.statement.objects.as_ref().unwrap().count, 25);
    assert_eq!(
        r.headers.get("hotline-statement-id").unwrap(),
        s.id.to_base64().as_str()
    );
    w.h.audit();

    // A second version of the first three, later.
    let newer: Vec<Value> = ids[..3]
        .iter()
        .enumerate()
        .map(|(i, id)| indicator(id, i as u32, GREEN, v2))
        .collect();
    Req::post(&shared, nkcki, envelope(newer))
        .send(&w.h)
        .expect(202);

    // Paging 10 at a time walks every object exactly once, last versions only by default.
    let mut seen = Vec::new();
    let mut next: Option<String> = None;
    let mut pages = 0;
    loop {
        let q = match &next {
            None => format!("{shared}?limit=10"),
            Some(n) => format!("{shared}?limit=10&next={n}"),
        };
        let r = Req::get(q, cisa).send(&w.h).expect(200);
        let env = taxii_json(&r);
        let objs = env["objects"].as_array().unwrap();
        assert!(r.headers.get("x-taxii-date-added-first").is_some());
        assert!(r.headers.get("x-taxii-date-added-last").is_some());
        for o in objs {
            seen.push((o["id"].as_str().unwrap().to_owned(), o["modified"].clone()));
        }
        pages += 1;
        if env["more"] == true {
            assert_eq!(objs.len(), 10);
            next = Some(env["next"].as_str().unwrap().to_owned());
        } else {
            assert!(env.get("next").is_none());
            break;
        }
    }
    assert_eq!(pages, 3);
    assert_eq!(seen.len(), 25);
    let mut distinct: Vec<&String> = seen.iter().map(|(i, _)| i).collect();
    distinct.sort();
    distinct.dedup();
    assert_eq!(distinct.len(), 25, "each object once");
    assert_eq!(
        seen.iter().filter(|(_, m)| *m == v2).count(),
        3,
        "the newer versions"
    );

    // Manifest: every version with its date_added; added_after is strictly after.
    let m = taxii_json(
        &Req::get(
            format!(
                "{}manifest/?match[version]=all",
                &shared[..shared.len() - 8]
            ),
            cisa,
        )
        .send(&w.h)
        .expect(200),
    );
    let rows = m["objects"].as_array().unwrap();
    assert_eq!(rows.len(), 28);
    assert!(
        rows.iter()
            .all(|r| r["media_type"] == "application/stix+json;version=2.1")
    );
    let cut = rows[24]["date_added"].as_str().unwrap();
    let after = taxii_json(
        &Req::get(
            format!("{shared}?added_after={cut}&match[version]=all"),
            cisa,
        )
        .send(&w.h)
        .expect(200),
    );
    assert_eq!(after["objects"].as_array().unwrap().len(), 3);
    assert!(
        after["objects"]
            .as_array()
            .unwrap()
            .iter()
            .all(|o| o["modified"] == v2)
    );

    // match[id], match[type], match[version], match[spec_version].
    let one = taxii_json(
        &Req::get(
            format!("{shared}?match[id]={}&match[version]=all", ids[0]),
            cisa,
        )
        .send(&w.h)
        .expect(200),
    );
    assert_eq!(one["objects"].as_array().unwrap().len(), 2);
    let first = taxii_json(
        &Req::get(
            format!("{shared}?match[id]={}&match[version]=first", ids[0]),
            cisa,
        )
        .send(&w.h)
        .expect(200),
    );
    assert_eq!(first["objects"][0]["modified"], v1);
    let exact = taxii_json(
        &Req::get(format!("{shared}?match[version]={v2}"), cisa)
            .send(&w.h)
            .expect(200),
    );
    assert_eq!(exact["objects"].as_array().unwrap().len(), 3);
    let none = taxii_json(
        &Req::get(format!("{shared}?match[type]=malware"), cisa)
            .send(&w.h)
            .expect(200),
    );
    assert!(none.get("objects").is_none() && none["more"] == false);
    let typed = taxii_json(
        &Req::get(
            format!("{shared}?match[type]=indicator,malware&match[spec_version]=2.1"),
            cisa,
        )
        .send(&w.h)
        .expect(200),
    );
    assert_eq!(typed["objects"].as_array().unwrap().len(), 25);
    let old_spec = taxii_json(
        &Req::get(format!("{shared}?match[spec_version]=2.0"), cisa)
            .send(&w.h)
            .expect(200),
    );
    assert!(old_spec.get("objects").is_none());

    // One object, its versions.
    let obj = taxii_json(
        &Req::get(format!("{shared}{}/", ids[1]), cisa)
            .send(&w.h)
            .expect(200),
    );
    assert_eq!(obj["objects"][0]["modified"], v2);
    let versions = taxii_json(
        &Req::get(format!("{shared}{}/versions/", ids[1]), cisa)
            .send(&w.h)
            .expect(200),
    );
    assert_eq!(versions["versions"], json!([v1, v2]));
    Req::get(format!("{shared}indicator--{}/", uuid4()), cisa)
        .send(&w.h)
        .expect(404);

    // Objects are served byte for byte as they were posted.
    let posted = serde_json::to_string(&indicator(&ids[7], 7, GREEN, v1)).unwrap();
    let got = Req::get(format!("{shared}{}/", ids[7]), cisa)
        .send(&w.h)
        .expect(200);
    assert!(got.text().contains(&posted), "{}", got.text());

    // After a restart everything is still there and new objects come after the old ones.
    let World {
        h,
        cisa: c,
        nkcki: n,
    } = w;
    let w = World {
        h: h.restart(),
        cisa: c,
        nkcki: n,
    };
    let cisa = Some(("us-cisa", w.cisa.token.as_str()));
    let before = taxii_json(
        &Req::get(format!("{shared}?match[version]=all"), cisa)
            .send(&w.h)
            .expect(200),
    );
    assert_eq!(before["objects"].as_array().unwrap().len(), 28);
    let last = Req::get(format!("{shared}?match[version]=all"), cisa)
        .send(&w.h)
        .headers
        .get("x-taxii-date-added-last")
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    let late = format!("indicator--{}", uuid4());
    Req::post(
        &shared,
        cisa,
        envelope(vec![indicator(&late, 1, CLEAR, v1)]),
    )
    .send(&w.h)
    .expect(202);
    let newest = taxii_json(
        &Req::get(format!("{shared}?added_after={last}"), cisa)
            .send(&w.h)
            .expect(200),
    );
    assert_eq!(newest["objects"][0]["id"], late.as_str());
    assert_eq!(newest["objects"].as_array().unwrap().len(), 1);
}

#[test]
fn public_and_own_collections_and_the_partys_own_statement() {
    let w = World::new();
    let cisa = Some(("us-cisa", w.cisa.token.as_str()));
    let public = w.objects_path(&CollectionRef::Public);
    let own = w.objects_path(&CollectionRef::Party(w.cisa.id.clone()));
    let id = format!("indicator--{}", uuid4());
    Req::post(
        &public,
        cisa,
        envelope(vec![indicator(&id, 1, CLEAR, "2021-07-03T10:00:00Z")]),
    )
    .send(&w.h)
    .expect(202);
    // Anyone reads the public collection without credentials.
    let anon = taxii_json(&Req::get(&public, None).send(&w.h).expect(200));
    assert_eq!(anon["objects"][0]["id"], id.as_str());

    // hotline share: the party signs the statement itself and sends it with the body.
    let body = envelope(vec![indicator(
        &format!("indicator--{}", uuid4()),
        2,
        GREEN,
        "2021-07-03T10:00:00Z",
    )]);
    let mut st = Statement::new(&w.h.origin, Kind::Shared, w.cisa.id.clone(), w.h.now());
    st.tlp = Some(hotline_core::vocab::Tlp::Green);
    st.collection = Some(Collection::Own);
    st.objects = Some(ObjectsCommitment {
        sha256: hotline_core::payload::sha256(&body),
        size: body.len() as u64,
        count: 1,
    });
    let signed = w.cisa.sign(st.clone());
    let header = B64.encode(&signed.bytes);
    let mut req = Req::post(&own, cisa, body.clone());
    req.statement = Some(header.clone());
    let r = req.send(&w.h).expect(202);
    let entries = w.h.entries();
    let logged = SignedStatement::parse(entries.last().unwrap()).unwrap();
    assert_eq!(
        logged.bytes, signed.bytes,
        "the party's statement is logged as signed"
    );
    assert_eq!(
        r.headers.get("hotline-statement-id").unwrap(),
        signed.id.to_base64().as_str()
    );
    // The same statement and body again: nothing new, the same status.
    let size = w.h.log_size();
    let mut again = Req::post(&own, cisa, body.clone());
    again.statement = Some(header);
    let r2 = again.send(&w.h).expect(202);
    assert_eq!(r2.body, r.body);
    assert_eq!(w.h.log_size(), size);
    // ru-nkcki reads cisa's collection but may not write it.
    let nk = Some(("ru-nkcki", w.nkcki.token.as_str()));
    assert_eq!(
        taxii_json(&Req::get(&own, nk).send(&w.h).expect(200))["objects"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    w.refuses(
        "another party's own collection",
        403,
        "may read this collection but not write",
        Req::post(&own, nk, body.clone()),
    );
    // A statement that does not match the body, or is not the caller's.
    let mut other = st.clone();
    other.objects = Some(ObjectsCommitment {
        sha256: hotline_core::payload::sha256(b"something else"),
        size: body.len() as u64,
        count: 1,
    });
    let mut req = Req::post(&own, cisa, body.clone());
    req.statement = Some(B64.encode(w.cisa.sign(other).bytes));
    w.refuses(
        "a statement for other bytes",
        400,
        "the statement says objects",
        req,
    );
    let mut wrong_collection = st.clone();
    wrong_collection.collection = Some(Collection::Shared);
    let mut req = Req::post(&own, cisa, body.clone());
    req.statement = Some(B64.encode(w.cisa.sign(wrong_collection).bytes));
    w.refuses("a statement for another collection", 400, "collection", req);
    let mut by_nkcki = st.clone();
    by_nkcki.author = w.nkcki.id.clone();
    let mut req = Req::post(w.objects_path(&CollectionRef::Shared), nk, body.clone());
    by_nkcki.collection = Some(Collection::Shared);
    req.statement = Some(B64.encode(w.cisa.sign(by_nkcki).bytes));
    w.refuses(
        "a statement signed with another party's key",
        400,
        "signature",
        req,
    );
    let mut req = Req::post(&own, cisa, body.clone());
    req.statement = Some("not base64!".into());
    w.refuses("a header that is not base64", 400, "Hotline-Statement", req);
    w.h.audit();
}

#[test]
fn bad_input_is_refused_with_a_taxii_error_and_changes_nothing() {
    let w = World::new();
    let cisa = Some(("us-cisa", w.cisa.token.as_str()));
    let shared = w.objects_path(&CollectionRef::Shared);
    let public = w.objects_path(&CollectionRef::Public);
    let good = |marking: &str| {
        envelope(vec![indicator(
            &format!("indicator--{}", uuid4()),
            9,
            marking,
            "2021-07-03T10:00:00Z",
        )])
    };

    // Exactly max_content_length is accepted; one byte more is 413.
    let max = 10 * 1024 * 1024;
    let pad = |extra: usize| {
        let mut b = good(GREEN);
        b.pop(); // the final '}'
        b.resize(max - 1 + extra, b' ');
        b.push(b'}');
        assert_eq!(b.len(), max + extra);
        b
    };
    Req::post(&shared, cisa, pad(0)).send(&w.h).expect(202);
    w.refuses(
        "one byte over max_content_length",
        413,
        "max_content_length",
        Req::post(&shared, cisa, pad(1)),
    );

    w.refuses(
        "invalid JSON",
        400,
        "not valid JSON",
        Req::post(&shared, cisa, b"{\"objects\": [".to_vec()),
    );
    let dup = format!(
        "{{\"objects\": [{{\"type\": \"indicator\", \"type\": \"malware\", \"id\": \"indicator--{}\"}}]}}",
        uuid4()
    );
    w.refuses(
        "duplicate keys",
        400,
        "duplicate key",
        Req::post(&shared, cisa, dup.into_bytes()),
    );
    let mut bad_utf8 = good(GREEN);
    let at = bad_utf8.len() / 2;
    bad_utf8[at] = 0xff;
    w.refuses(
        "invalid UTF-8",
        400,
        "not UTF-8",
        Req::post(&shared, cisa, bad_utf8),
    );
    let deep = format!("{{\"objects\": [{}{}]}}", "[".repeat(100), "]".repeat(100));
    w.refuses(
        "nesting past the limit",
        400,
        "nesting deeper than 32",
        Req::post(&shared, cisa, deep.into_bytes()),
    );
    w.refuses(
        "unknown collection",
        404,
        "no collection",
        Req::post(
            format!("/taxii2/hotline/collections/{}/objects/", uuid4()),
            cisa,
            good(GREEN),
        ),
    );
    let mut wrong_ct = Req::post(&shared, cisa, good(GREEN));
    wrong_ct.content_type = Some("application/json");
    w.refuses("wrong content type", 415, "Content-Type", wrong_ct);
    let mut old_ct = Req::post(&shared, cisa, good(GREEN));
    old_ct.content_type = Some("application/taxii+json;version=2.0");
    w.refuses(
        "TAXII 2.0 content type",
        415,
        "Unsupported media type",
        old_ct,
    );
    let mut wrong_accept = Req::post(&shared, cisa, good(GREEN));
    wrong_accept.accept = Some("application/json");
    w.refuses("wrong Accept on POST", 406, "Accept", wrong_accept);
    let mut accept_20 = Req::get(&shared, cisa);
    accept_20.accept = Some("application/taxii+json;version=2.0");
    w.refuses("TAXII 2.0 Accept on GET", 406, "Not acceptable", accept_20);
    w.refuses(
        "no credentials",
        401,
        "authenticate",
        Req::post(&shared, None, good(GREEN)),
    );
    w.refuses(
        "the operator posting",
        403,
        "operator publishes nothing",
        Req::post(
            &shared,
            Some(("", w.h.operator_token.as_str())),
            good(GREEN),
        ),
    );
    w.refuses(
        "TLP:AMBER into shared",
        422,
        "not marked TLP:CLEAR or TLP:GREEN",
        Req::post(&shared, cisa, good(AMBER)),
    );
    w.refuses(
        "TLP:GREEN into public",
        422,
        "TLP:CLEAR (the public collection",
        Req::post(&public, cisa, good(GREEN)),
    );
    let mut unmarked = indicator(
        &format!("indicator--{}", uuid4()),
        3,
        GREEN,
        "2021-07-03T10:00:00Z",
    );
    unmarked
        .as_object_mut()
        .unwrap()
        .remove("object_marking_refs");
    w.refuses(
        "an unmarked object",
        422,
        "not marked",
        Req::post(&shared, cisa, envelope(vec![unmarked])),
    );
    // One bad object among good ones refuses them all, naming object, path and rule.
    let mut broken = indicator(
        &format!("indicator--{}", uuid4()),
        4,
        GREEN,
        "2021-07-03T10:00:00Z",
    );
    broken["pattern"] = json!("[ipv4-addr:value = ");
    let id = broken["id"].as_str().unwrap().to_owned();
    let r = Req::post(
        &shared,
        cisa,
        envelope(vec![
            indicator(
                &format!("indicator--{}", uuid4()),
                5,
                GREEN,
                "2021-07-03T10:00:00Z",
            ),
            broken.clone(),
        ]),
    )
    .send(&w.h);
    assert_eq!(r.status, 422, "{}", r.text());
    let e = taxii_json(&r);
    assert_eq!(e["title"], "Invalid STIX 2.1");
    assert_eq!(e["details"]["errors"][0]["object"], id.as_str());
    assert_eq!(e["details"]["errors"][0]["path"], "objects[1].pattern");
    assert!(
        e["details"]["errors"][0]["rule"]
            .as_str()
            .unwrap()
            .contains("§9")
    );
    w.refuses(
        "invalid STIX",
        422,
        "Invalid STIX",
        Req::post(&shared, cisa, envelope(vec![broken])),
    );
    w.refuses(
        "an empty envelope",
        422,
        "non-empty list of objects",
        Req::post(&shared, cisa, b"{\"objects\": []}".to_vec()),
    );
    // Bad queries.
    w.refuses(
        "bad limit",
        400,
        "limit",
        Req::get(format!("{shared}?limit=0"), cisa),
    );
    w.refuses(
        "bad next",
        400,
        "cursor",
        Req::get(format!("{shared}?next=xyz"), cisa),
    );
    w.refuses(
        "bad added_after",
        400,
        "added_after",
        Req::get(format!("{shared}?added_after=yesterday"), cisa),
    );
    w.refuses(
        "bad match[version]",
        400,
        "match[version]",
        Req::get(format!("{shared}?match[version]=newest"), cisa),
    );
    w.refuses(
        "unknown filter",
        400,
        "unknown query parameter",
        Req::get(format!("{shared}?match[color]=red"), cisa),
    );
    w.refuses(
        "bad object id",
        400,
        "not a STIX identifier",
        Req::get(format!("{shared}nope/"), cisa),
    );
    w.refuses(
        "DELETE",
        405,
        "Method not allowed",
        Req {
            method: "DELETE",
            ..Req::get(format!("{shared}indicator--{}/", uuid4()), cisa)
        },
    );
    w.refuses(
        "unknown resource",
        404,
        "no such TAXII resource",
        Req::get("/taxii2/other/", cisa),
    );
    w.refuses(
        "unknown status",
        404,
        "no status",
        Req::get(format!("/taxii2/hotline/status/{}/", uuid4()), cisa),
    );
    // A shared statement cannot go through the statements API (it needs its objects).
    let mut st = Statement::new(
        &w.h.origin,
        Kind::Shared,
        PartyId::new("us-cisa").unwrap(),
        w.h.now(),
    );
    st.tlp = Some(hotline_core::vocab::Tlp::Green);
    st.collection = Some(Collection::Shared);
    st.objects = Some(ObjectsCommitment {
        sha256: hotline_core::payload::sha256(b"x"),
        size: 1,
        count: 1,
    });
    let s = w.cisa.sign(st);
    let r = w.h.submit(Some(&w.cisa.token), &s, None);
    assert_eq!(r.status, 400, "{}", r.text());
    assert!(r.text().contains("TAXII"), "{}", r.text());
}

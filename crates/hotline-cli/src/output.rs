//! What the commands print: a few lines for people, or JSON (`--json`) for scripts.

use std::path::Path;

use anyhow::Result;
use hotline_crypto::PartyKeys;
use hotline_server::api::{InboxDto, PartyDto, ReceiptDto, RegisteredDto};
use hotline_tlog::note::NoteVerifier;
use hotline_tlog::{Ed25519Verifier, TlogProof};
use serde::Serialize;

use crate::officer::{FetchedDocument, Officer, SentReport, VerifiedReceipt};
use crate::verify::VerifyReport;

fn print_json<T: Serialize>(v: &T) -> Result<()> {
    println!("{}", serde_json::to_string_pretty(v)?);
    Ok(())
}

/// `hotline init`.
pub fn init(json: bool, dir: &Path, origin: &str, vkey: &str, token: Option<&Path>) -> Result<()> {
    if json {
        return print_json(&serde_json::json!({
            "dir": dir, "origin": origin, "log_vkey": vkey, "operator_token_file": token,
        }));
    }
    println!("created hotline in {}", dir.display());
    println!("log origin:       {origin}");
    println!("log verifier key: {vkey}");
    println!(
        "(also in {}; the signing key is {}, readable only by you)",
        dir.join(crate::datadir::LOG_VKEY).display(),
        dir.join(crate::datadir::LOG_KEY).display()
    );
    if let Some(t) = token {
        println!(
            "operator API token in {} (mode 0600): use it with `hotline party add --token-file`",
            t.display()
        );
    }
    Ok(())
}

/// `hotline keygen`.
pub fn keygen(json: bool, keys: &PartyKeys, out: &Path, public: &Path) -> Result<()> {
    let p = keys.public();
    if json {
        return print_json(&serde_json::json!({
            "party": p.party, "vkey": p.vkey, "age_recipient": p.age_recipient,
            "key_file": out, "public_file": public,
        }));
    }
    println!(
        "created keys for {} in {} (mode 0600)",
        p.party,
        out.display()
    );
    println!("signing (verifier) key: {}", p.vkey);
    println!("age recipient:          {}", p.age_recipient);
    println!("public file:            {}", public.display());
    println!(
        "next: `hotline party request --key {} --server URL --name … --jurisdiction … --kind … --contact …` and give the output to the operator",
        out.display()
    );
    Ok(())
}

/// A statement sent.
pub fn sent(json: bool, r: &SentReport) -> Result<()> {
    if json {
        return print_json(r);
    }
    let what = if r.new { "sent" } else { "already in the log:" };
    println!(
        "{what} {} in case {} — log index {}",
        r.kind, r.case, r.index
    );
    println!("receipt: {}", r.receipt_file.display());
    Ok(())
}

fn human_left(secs: i64) -> String {
    let (sign, s) = if secs < 0 {
        ("overdue by ", -secs)
    } else {
        ("", secs)
    };
    let text = if s >= 86_400 {
        format!("{}d {}h", s / 86_400, (s % 86_400) / 3600)
    } else if s >= 3600 {
        format!("{}h {}m", s / 3600, (s % 3600) / 60)
    } else {
        format!("{}m {}s", s / 60, s % 60)
    };
    format!("{sign}{text}")
}

/// `hotline inbox`.
pub fn inbox(json: bool, inbox: &InboxDto) -> Result<()> {
    if json {
        return print_json(inbox);
    }
    if inbox.cases.is_empty() {
        println!("no cases for {}", inbox.party);
        return Ok(());
    }
    println!(
        "{:<22} {:<9} {:<14} {:<10} {:<16} {:<22} WAITING ON",
        "CASE", "ROLE", "WITH", "PRIORITY", "PHASE", "TIME LEFT"
    );
    for c in &inbox.cases {
        let with = if c.role == "requester" {
            &c.responder
        } else {
            &c.requester
        };
        let left = c.seconds_left.map(human_left).unwrap_or_else(|| "-".into());
        let mut phase = c.phase.clone();
        if !c.overdue.is_empty() {
            phase.push_str(" (late)");
        }
        println!(
            "{:<22} {:<9} {:<14} {:<10} {:<16} {:<22} {}",
            c.id,
            c.role,
            with,
            c.priority,
            phase,
            left,
            c.waiting_on.as_deref().unwrap_or("-")
        );
    }
    Ok(())
}

/// A step of `hotline show`, with its proof status.
#[derive(Serialize)]
struct ShownStep {
    index: u64,
    time: String,
    author: String,
    kind: String,
    has_payload: bool,
    id: String,
    proof: String,
}

/// `hotline show`: each statement's receipt is fetched and verified against the log key.
pub fn show(json: bool, o: &Officer, case: &str) -> Result<()> {
    let c = o.case(case)?;
    let log_key = Ed25519Verifier::from_vkey(&o.hotline.log_vkey)?;
    let mut steps = Vec::new();
    for s in &c.timeline {
        let st = o.client.statement(&s.id_hex)?;
        let proof = match TlogProof::parse(st.receipt.receipt.as_bytes()) {
            Ok(p) => {
                let leaf = hotline_tlog::leaf_hash(st.statement.as_bytes());
                match p.verify(&leaf, &o.hotline.origin, &[&log_key as &dyn NoteVerifier]) {
                    Ok((cp, _)) if leaf.to_base64() == s.id => {
                        format!("included (checkpoint {})", cp.size)
                    }
                    Ok(_) => "statement does not match its id".into(),
                    Err(e) => format!("FAILED: {e}"),
                }
            }
            Err(e) => format!("FAILED: {e}"),
        };
        steps.push(ShownStep {
            index: s.index,
            time: s.time.clone(),
            author: s.author.clone(),
            kind: s.kind.clone(),
            has_payload: s.has_payload,
            id: s.id.clone(),
            proof,
        });
    }
    if json {
        return print_json(&serde_json::json!({ "case": c.summary, "timeline": steps }));
    }
    let sm = &c.summary;
    let what = match &sm.request_type {
        Some(t) => format!("{} request ({t})", sm.priority),
        None => format!("{} {}", sm.priority, sm.kind),
    };
    println!(
        "case {} — {what} from {} to {}, {}",
        sm.id, sm.requester, sm.responder, sm.phase
    );
    if let (Some(d), Some(left)) = (&sm.next_deadline, sm.seconds_left) {
        println!("next deadline {d} ({})", human_left(left));
    }
    if !sm.overdue.is_empty() {
        println!("missed deadlines recorded: {}", sm.overdue.join(", "));
    }
    for s in &steps {
        println!(
            "  #{:<8} {}  {:<14} {:<13} {}{}",
            s.index,
            s.time,
            s.author,
            s.kind,
            s.proof,
            if s.has_payload { "  [payload]" } else { "" }
        );
    }
    Ok(())
}

/// `hotline receipts`.
pub fn receipts(
    json: bool,
    case: &str,
    cosigned: bool,
    receipts: &[crate::officer::FetchedReceipt],
) -> Result<()> {
    if json {
        return print_json(
            &serde_json::json!({ "case": case, "cosigned": cosigned, "receipts": receipts }),
        );
    }
    for r in receipts {
        let witnesses = match (&r.witnesses, cosigned) {
            (Some(w), _) => format!("cosigned by {} (checked against the policy)", w.join(", ")),
            (None, true) => format!(
                "{} cosignature line(s), not checked: give --witness-policy to check them",
                r.cosignature_lines
            ),
            (None, false) => "log signature and inclusion verified".to_owned(),
        };
        println!(
            "#{} {} by {} — proved in the tree of size {}; {witnesses}",
            r.index, r.kind, r.author, r.tree_size
        );
        println!("  saved {}", r.file.display());
    }
    Ok(())
}

/// `hotline fetch`.
pub fn fetched(json: bool, case: &str, docs: &[FetchedDocument]) -> Result<()> {
    if json {
        return print_json(&serde_json::json!({ "case": case, "documents": docs }));
    }
    for d in docs {
        println!(
            "#{} {} by {} — commitments checked",
            d.index, d.kind, d.author
        );
        println!("  title:   {}", d.document.title);
        if !d.document.summary.is_empty() {
            for line in d.document.summary.lines() {
                println!("  | {line}");
            }
        }
        for a in &d.document.requested_actions {
            println!("  action:  {a}");
        }
        if let Some(e) = &d.document.evidence {
            let n = e
                .get("objects")
                .and_then(|o| o.as_array())
                .map_or(0, Vec::len);
            println!("  evidence: STIX bundle with {n} objects");
        }
        for a in &d.document.attachments {
            println!("  attachment: {} ({})", a.name, a.media_type);
        }
    }
    Ok(())
}

/// `hotline verify`.
pub fn verified(json: bool, v: &VerifiedReceipt) -> Result<()> {
    if json {
        return print_json(v);
    }
    println!(
        "verified: {} by {}{} at {}, log index {}, included in the checkpoint of size {} (root {})",
        v.kind,
        v.author,
        v.recipient
            .as_deref()
            .map(|r| format!(" to {r}"))
            .unwrap_or_default(),
        v.time,
        v.index,
        v.tree_size,
        v.root
    );
    if let Some(c) = &v.case {
        println!("case {c}");
    }
    println!(
        "author's signature: {}",
        if v.author_signature_checked {
            "verified"
        } else {
            "not checked (give --party-key)"
        }
    );
    if let Some(w) = &v.witnesses {
        println!(
            "witness policy met: cosigned by {} ({})",
            w.len(),
            w.join(", ")
        );
    }
    Ok(())
}

/// `hotline log verify`.
pub fn log_verified(json: bool, report: &VerifyReport) -> Result<()> {
    if json {
        return print_json(report);
    }
    println!(
        "verified log {} at size {}: root {}",
        report.origin, report.size, report.root
    );
    println!(
        "  {} entries hashed, {} tiles recomputed and compared, {} requests, {} bytes, {:.2} s",
        report.entries_checked, report.tiles_checked, report.requests, report.bytes, report.seconds
    );
    if let Some(c) = &report.consistent_with {
        println!(
            "  extends the checkpoint seen before (size {}, root {})",
            c.size, c.root
        );
    }
    Ok(())
}

/// `hotline party add`.
pub fn registered(json: bool, r: &RegisteredDto, token_file: Option<&Path>) -> Result<()> {
    if json {
        let mut v = serde_json::to_value(r)?;
        if token_file.is_some() {
            v["token"] = serde_json::Value::Null;
            v["token_file"] = serde_json::json!(token_file);
        }
        return print_json(&v);
    }
    println!("registered — log index {}", r.receipt.index);
    match token_file {
        Some(f) => println!("the party's API token is in {} (mode 0600)", f.display()),
        None => {
            println!(
                "the party's API token (shown once; give it to the party's officer securely):"
            );
            println!("{}", r.token);
        }
    }
    Ok(())
}

/// A directory statement's receipt.
pub fn receipt(json: bool, what: &str, r: &ReceiptDto) -> Result<()> {
    if json {
        return print_json(r);
    }
    println!("{what} — log index {}", r.index);
    Ok(())
}

/// `hotline party list`.
pub fn parties(json: bool, parties: &[PartyDto]) -> Result<()> {
    if json {
        return print_json(&parties);
    }
    for p in parties {
        let status = match &p.revoked {
            Some((i, r)) => format!("revoked at #{i} ({r})"),
            None => "active".into(),
        };
        println!(
            "{:<14} {:<3} {:<22} {:<40} {}",
            p.id, p.jurisdiction, p.kind, p.name, status
        );
    }
    Ok(())
}

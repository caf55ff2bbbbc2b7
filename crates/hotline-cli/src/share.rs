//! `hotline share`: publish STIX 2.1 objects to one of the hotline's TAXII collections with a
//! `shared` statement signed by the party itself (docs/statements.md).
//!
//! The file is checked here first (STIX 2.1 by `hotline-stix`, every object marked TLP:CLEAR or
//! TLP:GREEN, CLEAR only for the public collection), then its exact bytes are hashed into the
//! statement, which the officer's key signs; the server stores the objects only together with
//! that statement. Plain TAXII clients can post too, but then the log records the
//! publication under the operator's signature; `share` makes it the party's own,
//! non-repudiable claim.

use std::path::PathBuf;

use anyhow::{Context as _, Result, anyhow, bail};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use hotline_core::statement::{ObjectsCommitment, SignedStatement, Statement};
use hotline_core::vocab::{Collection, Kind, PartyId, Timestamp, Tlp};
use hotline_server::taxii::{CollectionRef, collection_id};
use serde::Serialize;

use crate::officer::Officer;

/// Arguments of `hotline share`.
#[derive(clap::Args, Debug)]
pub struct ShareArgs {
    /// A STIX 2.1 bundle or a TAXII 2.1 envelope (JSON file); sent byte for byte.
    pub file: PathBuf,
    /// The collection: shared (every party reads), public (anyone reads; TLP:CLEAR only) or
    /// own (your party's collection: every party reads, only you write).
    #[arg(long, default_value = "shared")]
    pub collection: String,
}

/// What `share` reports.
#[derive(Serialize, Debug)]
pub struct ShareReport {
    /// The collection's TAXII id.
    pub collection_id: String,
    /// Objects published.
    pub objects: u64,
    /// The most restrictive TLP of the objects.
    pub tlp: String,
    /// The statement's id (base64).
    pub statement_id: String,
    /// Its log index.
    pub index: u64,
    /// The TAXII status resource's id.
    pub status_id: String,
    /// Where the receipt was saved.
    pub receipt_file: PathBuf,
    /// Values outside STIX open vocabularies: published as they are, but worth knowing
    /// (`hotline_stix::StixNote`).
    pub notes: Vec<String>,
}

/// Runs `hotline share`.
pub fn run(officer: &Officer, args: &ShareArgs) -> Result<ShareReport> {
    let collection: Collection = args
        .collection
        .parse()
        .map_err(|e| anyhow!("--collection: {e}"))?;
    let body =
        std::fs::read(&args.file).with_context(|| format!("reading {}", args.file.display()))?;
    let value = hotline_stix::parse_json_strict(&body, 32)
        .map_err(|e| anyhow!("{}: not valid JSON: {e}", args.file.display()))?;
    let bundle = hotline_stix::Bundle::from_envelope(&value).map_err(|errs| {
        anyhow!(
            "{} is not valid STIX 2.1 ({} rule(s) broken; nothing was sent):\n{errs}",
            args.file.display(),
            errs.errors().len()
        )
    })?;
    let public = collection == Collection::Public;
    let mut tlp = Tlp::Clear;
    let mut refused = Vec::new();
    for o in &bundle.objects {
        if o.category == hotline_stix::Category::MarkingDefinition
            || o.object_type == "extension-definition"
        {
            continue;
        }
        match bundle.object_tlp(o) {
            Some(hotline_stix::Tlp::Clear) => {}
            Some(hotline_stix::Tlp::Green) if !public => tlp = Tlp::Green,
            other => refused.push(format!(
                "{} ({})",
                o.id.as_str(),
                other.map_or("no TLP marking".to_owned(), |t| t.to_string())
            )),
        }
    }
    if !refused.is_empty() {
        bail!(
            "only {} objects may go to the {collection} collection; nothing was sent. Refused: {}",
            if public {
                "TLP:CLEAR"
            } else {
                "TLP:CLEAR and TLP:GREEN"
            },
            refused.join(", ")
        );
    }
    let me = PartyId::new(officer.keys.party()).map_err(|e| anyhow!("{e}"))?;
    let mut st = Statement::new(
        &officer.hotline.origin,
        Kind::Shared,
        me.clone(),
        Timestamp::now(),
    );
    st.tlp = Some(tlp);
    st.collection = Some(collection);
    st.objects = Some(ObjectsCommitment {
        sha256: hotline_core::payload::sha256(&body),
        size: body.len() as u64,
        count: bundle.objects.len() as u64,
    });
    let signed = SignedStatement::sign(st, &[officer.keys.signer()])?;
    let target = match collection {
        Collection::Shared => CollectionRef::Shared,
        Collection::Public => CollectionRef::Public,
        Collection::Own => CollectionRef::Party(me),
    };
    let cid = collection_id(&officer.hotline.origin, &target);
    let status = officer
        .client
        .post_taxii(&cid, body, &B64.encode(&signed.bytes))?;
    let receipt = officer.client.statement(&signed.id.to_hex())?;
    let receipt_file = officer.keep_receipt(&signed, &receipt.receipt)?;
    Ok(ShareReport {
        collection_id: cid,
        objects: bundle.objects.len() as u64,
        tlp: tlp.to_string(),
        statement_id: signed.id.to_base64(),
        index: receipt.receipt.index,
        status_id: status["id"].as_str().unwrap_or_default().to_owned(),
        receipt_file,
        notes: bundle.notes().iter().map(ToString::to_string).collect(),
    })
}

//! Keys and the directory: `keygen`, `init` of a hotline, and `party request|add|list|rotate|
//! revoke`. A party's private keys never leave the officer's machine: the officer signs a
//! registration (or rotation) statement with them, and the operator adds its own signature.

use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result, anyhow, bail};
use hotline_core::DeadlinePolicy;
use hotline_core::statement::{PartyFields, SignedStatement, Statement};
use hotline_core::vocab::{Kind, PartyId, PartyKind, Timestamp};
use hotline_crypto::PartyKeys;
use hotline_tlog::note::NoteSigner;

use crate::client::ApiClient;
use crate::datadir::{self, DataDir, Store};
use crate::serve::{OpenLog, POLICY_META};

/// Creates a party's keys in `out` (mode 0600) and its public file next to it.
pub fn keygen(party: &str, out: &Path) -> Result<(PartyKeys, PathBuf)> {
    if !hotline_crypto::is_valid_party_id(party) {
        bail!("{party:?} is not a party id: 1-63 lowercase letters, digits and '-'");
    }
    let keys = PartyKeys::generate(party)?;
    if let Some(dir) = out.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    hotline_crypto::write_key_file(out, &keys)?;
    let public = out.with_extension("pub");
    hotline_crypto::write_public_file(&public, &keys.public())?;
    Ok((keys, public))
}

/// What `hotline init` knows about the operator.
#[derive(clap::Args, Debug, Clone)]
pub struct OperatorArgs {
    /// The operator's display name.
    #[arg(long, default_value = "hotline operator")]
    pub name: String,
    /// The operator's jurisdiction (ISO 3166-1 alpha-2).
    #[arg(long, default_value = "CH")]
    pub jurisdiction: String,
    /// How to reach the operator.
    #[arg(long, default_value = "operator@hotline.invalid")]
    pub contact: String,
    /// Deadline policy, e.g. `emergency=1h:24h,urgent=24h:7d,routine=72h:30d` (the defaults).
    /// Fixed for the hotline's life.
    #[arg(long)]
    pub deadlines: Option<String>,
}

/// Creates a hotline: log key, operator keys, database, the operator's registration (the
/// first statement) and the operator's API token. Resumes an `init` that was interrupted.
pub fn init_hotline(dir: &DataDir, origin: &str, op: &OperatorArgs) -> Result<String> {
    let token_file = dir.path().join(datadir::OPERATOR_TOKEN);
    if token_file.exists() {
        bail!(
            "{} already holds a hotline; refusing to overwrite it (choose another --dir)",
            dir.path().display()
        );
    }
    let policy: DeadlinePolicy = match &op.deadlines {
        Some(p) => p.parse().map_err(|e| anyhow!("--deadlines: {e}"))?,
        None => DeadlinePolicy::default(),
    };
    if !dir.is_initialised() {
        dir.init(origin)?;
    }
    let op_key = dir.path().join(datadir::OPERATOR_KEY);
    if !op_key.exists() {
        let keys = PartyKeys::generate(hotline_core::vocab::OPERATOR)?;
        hotline_crypto::write_key_file(&op_key, &keys)?;
    }
    {
        use hotline_store::LogReader as _;
        let store = dir.store()?;
        let existing = match &store {
            Store::Sqlite(db) => {
                hotline_store::sqlite::SqliteReader::open(db)?.meta(POLICY_META)?
            }
            Store::Postgres(url) => {
                hotline_store::postgres::PgReader::open(url)?.meta(POLICY_META)?
            }
        };
        match existing {
            None => match &store {
                Store::Sqlite(db) => {
                    hotline_store::sqlite::set_meta(db, POLICY_META, &policy.to_string())?;
                }
                Store::Postgres(url) => {
                    hotline_store::postgres::set_meta(url, POLICY_META, &policy.to_string())?;
                }
            },
            Some(existing) if existing == policy.to_string() => {}
            Some(existing) => bail!(
                "this hotline's deadline policy is already {existing}; an interrupted init must \
                 be resumed with the same --deadlines"
            ),
        }
    }
    let log = OpenLog::open(dir, hotline_store::sequencer::SequencerConfig::default())?;
    let service = log
        .service
        .clone()
        .ok_or_else(|| anyhow!("{} does not hold a hotline", dir.path().display()))?;
    let keys = dir.operator_keys()?;
    let rt = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    let token = rt
        .block_on(service.bootstrap(
            &op.name,
            &op.jurisdiction,
            &op.contact,
            &keys.recipient().to_string(),
        ))
        .map_err(|e| anyhow!("registering the operator: {e}"))?;
    drop(service);
    let OpenLog {
        sequencer, service, ..
    } = log;
    drop(service);
    sequencer.shutdown();
    hotline_crypto::write_secret(&token_file, &token)?;
    Ok(token)
}

/// Options of `hotline party request`.
#[derive(clap::Args, Debug)]
pub struct RequestArgs {
    /// The party's key file (from `hotline keygen`).
    #[arg(long)]
    pub key: PathBuf,
    /// The hotline's server, to learn its origin (or give --origin).
    #[arg(long)]
    pub server: Option<String>,
    /// The hotline's origin.
    #[arg(long)]
    pub origin: Option<String>,
    /// Display name.
    #[arg(long)]
    pub name: String,
    /// ISO 3166-1 alpha-2 code.
    #[arg(long)]
    pub jurisdiction: String,
    /// national-cert, law-enforcement-24-7, isac, company or other.
    #[arg(long)]
    pub kind: String,
    /// How to reach the duty officer.
    #[arg(long)]
    pub contact: String,
    /// Where to write the signed registration (default: standard output).
    #[arg(long)]
    pub out: Option<PathBuf>,
}

fn origin_of(server: Option<&str>, origin: Option<&str>) -> Result<String> {
    match (origin, server) {
        (Some(o), _) => Ok(o.to_owned()),
        (None, Some(s)) => Ok(ApiClient::new(s, None)?.hotline()?.origin),
        (None, None) => bail!("give --server (to ask the hotline its origin) or --origin"),
    }
}

/// Builds a party's registration statement, signed by the party's own key, for the operator to
/// countersign with `hotline party add`.
pub fn party_request(args: &RequestArgs) -> Result<Vec<u8>> {
    let keys = hotline_crypto::read_key_file(&args.key)?;
    let origin = origin_of(args.server.as_deref(), args.origin.as_deref())?;
    let kind: PartyKind = args.kind.parse().map_err(|e| anyhow!("--kind: {e}"))?;
    let party = PartyId::new(keys.party()).map_err(|e| anyhow!("{e}"))?;
    let mut st = Statement::new(
        &origin,
        Kind::PartyRegistered,
        PartyId::operator(),
        Timestamp::now(),
    );
    st.party = Some(party);
    st.party_fields = PartyFields {
        name: Some(args.name.clone()),
        jurisdiction: Some(args.jurisdiction.clone()),
        kind: Some(kind),
        key: Some(keys.verifier().to_vkey()),
        recipients: vec![keys.recipient().to_string()],
        contact: Some(args.contact.clone()),
    };
    let signed = SignedStatement::sign(st, &[keys.signer() as &dyn NoteSigner])?;
    Ok(signed.bytes)
}

/// Builds a key rotation: the new keys, signed by the new key and (if given) the old one.
pub fn party_rotation(
    new_key: &Path,
    old_key: Option<&Path>,
    server: Option<&str>,
    origin: Option<&str>,
) -> Result<Vec<u8>> {
    let new = hotline_crypto::read_key_file(new_key)?;
    let origin = origin_of(server, origin)?;
    let party = PartyId::new(new.party()).map_err(|e| anyhow!("{e}"))?;
    let mut st = Statement::new(
        &origin,
        Kind::KeyRotated,
        PartyId::operator(),
        Timestamp::now(),
    );
    st.party = Some(party);
    st.party_fields.key = Some(new.verifier().to_vkey());
    st.party_fields.recipients = vec![new.recipient().to_string()];
    let old = old_key.map(hotline_crypto::read_key_file).transpose()?;
    if let Some(o) = &old
        && o.party() != new.party()
    {
        bail!(
            "the old key is for {}, the new one for {}",
            o.party(),
            new.party()
        );
    }
    let mut signers: Vec<&dyn NoteSigner> = vec![new.signer()];
    if let Some(o) = &old {
        signers.push(o.signer());
    }
    Ok(SignedStatement::sign(st, &signers)?.bytes)
}

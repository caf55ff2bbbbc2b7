// The cryptography of the console, in the browser: c2sp.org/signed-note with Ed25519, hotline
// statements (byte for byte as hotline-core writes them, docs/statements.md), key files
// (docs/key-files.md), age-encryption.org/v1 payloads, RFC 6962 inclusion proofs and
// c2sp.org/tlog-checkpoint and tlog-cosignature/v1 verification. Nothing here talks to the
// network; private keys live only in the objects this module returns.
import { ed25519 } from "@noble/curves/ed25519.js";
import { sha256 } from "@noble/hashes/sha2.js";
import { Encrypter, Decrypter, identityToRecipient } from "age-encryption";

const enc = new TextEncoder();
const dec = new TextDecoder("utf-8", { fatal: true });

export const ALG_ED25519 = 0x01;
export const ALG_COSIGNATURE_V1 = 0x04;
export const FORMAT_LINE = "hotline/statement/v1";
export const DOCUMENT_FORMAT = "hotline/case-document/v1";

export function utf8(s) { return enc.encode(s); }
export function fromUtf8(b) { return dec.decode(b); }

export function b64(bytes) {
  let s = "";
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(s);
}

export function unb64(s) {
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(s) || s.length % 4 !== 0) throw new Error("not base64: " + s.slice(0, 20));
  const bin = atob(s);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

export function hex(bytes) { return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join(""); }

function concat(...parts) {
  const n = parts.reduce((a, p) => a + p.length, 0);
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) { out.set(p, o); o += p.length; }
  return out;
}

export function sha256Bytes(b) { return sha256(b); }

/** The signed-note key ID: the first 4 bytes of SHA-256(name || "\n" || alg || key), big-endian. */
export function keyId(name, alg, key) {
  const h = sha256(concat(utf8(name + "\n"), new Uint8Array([alg]), key));
  return ((h[0] << 24) >>> 0) + (h[1] << 16) + (h[2] << 8) + h[3];
}

function idHex(id) { return id.toString(16).padStart(8, "0"); }

function validKeyName(name) {
  return name.length > 0 && !/[\s+]/.test(name) && !/[\u0000-\u001f\u007f]/.test(name);
}

/** Parses a verifier key `name+hexid+base64(alg || key)`. */
/** Splits `name+hexid+base64` (the base64 may itself hold `+`). */
function splitKey(s, what) {
  const i = s.indexOf("+");
  const j = i < 0 ? -1 : s.indexOf("+", i + 1);
  if (i < 0 || j < 0) throw new Error(`${what} has the form name+keyid+base64`);
  return [s.slice(0, i), s.slice(i + 1, j), s.slice(j + 1)];
}

export function parseVkey(vkey) {
  const [name, id, data] = splitKey(vkey.trim(), "a verifier key");
  if (!validKeyName(name) || !/^[0-9a-f]{8}$/.test(id)) throw new Error("malformed verifier key");
  const raw = unb64(data);
  if (raw.length !== 33) throw new Error("a verifier key holds one type byte and 32 key bytes");
  const alg = raw[0];
  const key = raw.subarray(1);
  if (keyId(name, alg, key) !== parseInt(id, 16)) throw new Error("the verifier key's ID does not match its key");
  return { name, alg, key, id: parseInt(id, 16) };
}

/** A signer from a private key `PRIVATE+KEY+name+hexid+base64(0x01 || seed)`. */
export function parseSkey(skey) {
  if (!skey.startsWith("PRIVATE+KEY+")) throw new Error("a signer key starts with PRIVATE+KEY+");
  const [name, id, data] = splitKey(skey.slice(12), "a signer key after PRIVATE+KEY+");
  const raw = unb64(data);
  if (raw.length !== 33 || raw[0] !== ALG_ED25519) throw new Error("the signing key is not an Ed25519 key");
  const seed = raw.slice(1);
  const pub = ed25519.getPublicKey(seed);
  const kid = keyId(name, ALG_ED25519, pub);
  if (!/^[0-9a-f]{8}$/.test(id) || kid !== parseInt(id, 16)) throw new Error("the signing key's ID does not match its key");
  return {
    name, id: kid, publicKey: pub,
    vkey: `${name}+${idHex(kid)}+${b64(concat(new Uint8Array([ALG_ED25519]), pub))}`,
    sign: (msg) => ed25519.sign(msg, seed),
  };
}

/** Parses a party's private key file (docs/key-files.md). Errors never repeat a secret line. */
export async function parseKeyFile(text) {
  const fields = {};
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].replace(/\r$/, "").replace(/\s+$/, "");
    if (line === "" || line.startsWith("#")) continue;
    const sp = line.indexOf(" ");
    const k = sp < 0 ? line : line.slice(0, sp);
    const v = sp < 0 ? "" : line.slice(sp + 1);
    if (!["party", "signing-key", "age-identity"].includes(k)) throw new Error(`line ${i + 1}: unknown keyword (a hotline key file has party, signing-key and age-identity)`);
    if (fields[k] !== undefined) throw new Error(`line ${i + 1}: ${k} appears twice`);
    if (v === "" || v.includes(" ")) throw new Error(`line ${i + 1}: ${k} needs one value without spaces`);
    fields[k] = v;
  }
  for (const k of ["party", "signing-key", "age-identity"]) if (fields[k] === undefined) throw new Error(`the key file has no ${k} line`);
  const signer = parseSkey(fields["signing-key"]);
  if (signer.name !== fields.party) throw new Error(`the signing key belongs to "${signer.name}", but this file is for party "${fields.party}"`);
  const identity = fields["age-identity"];
  if (!identity.startsWith("AGE-SECRET-KEY-1")) throw new Error("age-identity must be an AGE-SECRET-KEY-1… identity");
  const recipient = await identityToRecipient(identity);
  return { party: fields.party, signer, identity, recipient };
}

/** A statement's text, in the fixed line order of hotline-core (`Statement::to_text`). */
export function statementText(st) {
  const out = [FORMAT_LINE];
  const line = (k, v) => { if (v !== undefined && v !== null) out.push(`${k} ${v}`); };
  line("origin", st.origin);
  line("kind", st.kind);
  line("case", st.case);
  line("author", st.author);
  line("recipient", st.recipient);
  line("time", st.time);
  line("priority", st.priority);
  line("request-type", st.requestType);
  line("justification", st.justification);
  line("handling", st.handling);
  line("tlp", st.tlp);
  line("ack-by", st.ackBy);
  line("answer-by", st.answerBy);
  line("reason", st.reason);
  for (const r of st.refs || []) line("ref", r);
  if (st.payload) {
    line("payload-sha256", st.payload.sha256);
    line("payload-size", String(st.payload.size));
    line("plaintext-sha256", st.payload.plaintextSha256);
  }
  for (const l of out) if (/[\u0000-\u001f\u007f]/.test(l)) throw new Error("a statement line may not hold control characters");
  return out.join("\n") + "\n";
}

/** Signs a note text: `text` + blank line + `— name base64(keyid || signature)`. */
export function signNote(text, signers) {
  if (!text.endsWith("\n")) throw new Error("a note's text ends with a newline");
  const msg = utf8(text);
  let note = text + "\n";
  for (const s of signers) {
    const id = new Uint8Array([s.id >>> 24, (s.id >>> 16) & 255, (s.id >>> 8) & 255, s.id & 255]);
    note += `\u2014 ${s.name} ${b64(concat(id, s.sign(msg)))}\n`;
  }
  return note;
}

/** Splits a signed note into its text and signature lines. */
export function parseNote(note) {
  const i = note.lastIndexOf("\n\n");
  if (i < 0) throw new Error("not a signed note: no blank line before the signatures");
  const text = note.slice(0, i + 1);
  const sigs = note.slice(i + 2).split("\n").filter((l) => l !== "").map((l) => {
    const m = /^\u2014 (\S+) ([A-Za-z0-9+/=]+)$/.exec(l);
    if (!m) throw new Error("not a signed note: malformed signature line");
    const raw = unb64(m[2]);
    if (raw.length < 5) throw new Error("not a signed note: short signature");
    return { name: m[1], id: ((raw[0] << 24) >>> 0) + (raw[1] << 16) + (raw[2] << 8) + raw[3], sig: raw.subarray(4) };
  });
  return { text, sigs };
}

/** Verifies an Ed25519 signature (RFC 8032, canonical encodings only). */
export function ed25519Verify(sig, msg, pub) {
  try { return ed25519.verify(sig, msg, pub, { zip215: false }); } catch { return false; }
}

/** Whether `note` carries a valid signature by the Ed25519 verifier key `vkey`. */
export function noteSignedBy(note, vkey) {
  const k = parseVkey(vkey);
  if (k.alg !== ALG_ED25519) throw new Error("not an Ed25519 verifier key");
  const { text, sigs } = parseNote(note);
  return sigs.some((s) => s.name === k.name && s.id === k.id && s.sig.length === 64 && ed25519Verify(s.sig, utf8(text), k.key));
}

/** The timestamp of a valid cosignature/v1 on a checkpoint note by witness key `vkey`, or null. */
export function cosignatureTime(note, vkey) {
  const k = parseVkey(vkey);
  if (k.alg !== ALG_COSIGNATURE_V1) return null;
  const { text, sigs } = parseNote(note);
  for (const s of sigs) {
    if (s.name !== k.name || s.id !== k.id || s.sig.length !== 72) continue;
    let ts = 0n;
    for (let i = 0; i < 8; i++) ts = (ts << 8n) | BigInt(s.sig[i]);
    const msg = utf8(`cosignature/v1\ntime ${ts}\n` + text);
    if (ed25519Verify(s.sig.subarray(8), msg, k.key)) return Number(ts);
  }
  return null;
}

/** Parses a checkpoint body: origin, size, root (c2sp.org/tlog-checkpoint). */
export function parseCheckpoint(text) {
  const lines = text.split("\n");
  if (lines.length < 4 || !/^[0-9]+$/.test(lines[1])) throw new Error("not a checkpoint");
  const root = unb64(lines[2]);
  if (root.length !== 32) throw new Error("not a checkpoint: the root is not 32 bytes");
  return { origin: lines[0], size: BigInt(lines[1]), root };
}

/** RFC 6962 leaf hash: SHA-256(0x00 || entry). */
export function leafHash(entry) { return sha256(concat(new Uint8Array([0]), entry)); }
function nodeHash(l, r) { return sha256(concat(new Uint8Array([1]), l, r)); }

/** Root from an RFC 6962 / RFC 9162 §2.1.3.2 inclusion proof. */
export function rootFromInclusion(index, size, leaf, proof) {
  let fn = BigInt(index);
  let sn = BigInt(size) - 1n;
  if (fn > sn) throw new Error("index beyond the tree");
  let r = leaf;
  for (const p of proof) {
    if (sn === 0n) throw new Error("proof too long");
    if ((fn & 1n) === 1n || fn === sn) {
      r = nodeHash(p, r);
      if ((fn & 1n) === 0n) { while ((fn & 1n) === 0n && fn !== 0n) { fn >>= 1n; sn >>= 1n; } }
    } else {
      r = nodeHash(r, p);
    }
    fn >>= 1n; sn >>= 1n;
  }
  if (sn !== 0n) throw new Error("proof too short");
  return r;
}

function equal(a, b) { return a.length === b.length && a.every((x, i) => x === b[i]); }

/**
 * Verifies that `entry` (bytes) is at `index` in the tree of the signed `checkpoint` note,
 * signed by `logVkey` for `origin`. Returns the checkpoint; throws naming the failed check.
 */
export function verifyInclusion({ entry, index, proof, checkpoint, logVkey, origin }) {
  if (!noteSignedBy(checkpoint, logVkey)) throw new Error("checkpoint-signature");
  const cp = parseCheckpoint(parseNote(checkpoint).text);
  if (origin && cp.origin !== origin) throw new Error("checkpoint-origin");
  const root = rootFromInclusion(index, cp.size, leafHash(entry), proof.map(unb64));
  if (!equal(root, cp.root)) throw new Error("proof-root");
  return cp;
}

/** Parses a c2sp.org/tlog-proof receipt: index, proof hashes, checkpoint note, extra. */
export function parseTlogProof(text) {
  const lines = text.split("\n");
  if (lines[0] !== "c2sp.org/tlog-proof@v1") throw new Error("not a tlog-proof");
  let i = 1;
  let extra = null;
  if (lines[i].startsWith("extra ")) { extra = unb64(lines[i].slice(6)); i++; }
  const m = /^index (\d+)$/.exec(lines[i++] || "");
  if (!m) throw new Error("tlog-proof: no index line");
  const proof = [];
  while (i < lines.length && lines[i] !== "") proof.push(lines[i++]);
  const checkpoint = lines.slice(i + 1).join("\n");
  return { index: BigInt(m[1]), proof, checkpoint, extra };
}

/** A fresh case id: YYYYMMDD- and 12 lowercase hex digits. */
export function newCaseId(now) {
  const r = new Uint8Array(6);
  crypto.getRandomValues(r);
  return now.toISOString().slice(0, 10).replaceAll("-", "") + "-" + hex(r);
}

/** A statement time: RFC 3339 UTC, whole seconds. */
export function stamp(date) { return date.toISOString().replace(/\.\d{3}Z$/, "Z"); }

/** A case document (hotline-core `CaseDocument`) with a fresh 32-byte salt. */
export function caseDocument({ title, summary, actions, evidence, attachments }) {
  const salt = new Uint8Array(32);
  crypto.getRandomValues(salt);
  const doc = { format: DOCUMENT_FORMAT, salt: b64(salt), title, summary: summary || "" };
  if (actions && actions.length) doc.requested_actions = actions;
  if (evidence) doc.evidence = evidence;
  if (attachments && attachments.length) doc.attachments = attachments;
  return doc;
}

/** Encrypts bytes with age to recipients (`age1…`). */
export async function ageEncrypt(plaintext, recipients) {
  const e = new Encrypter();
  for (const r of recipients) e.addRecipient(r);
  return await e.encrypt(plaintext);
}

/** Decrypts an age file with an identity (`AGE-SECRET-KEY-1…`). */
export async function ageDecrypt(ciphertext, identity) {
  const d = new Decrypter();
  d.addIdentity(identity);
  return await d.decrypt(ciphertext, "uint8array");
}

/** Seals a case document: ciphertext and the three commitments a statement carries. */
export async function seal(doc, recipients) {
  const plaintext = utf8(JSON.stringify(doc, null, 2));
  const ciphertext = await ageEncrypt(plaintext, recipients);
  return {
    ciphertext,
    payload: { sha256: b64(sha256(ciphertext)), size: ciphertext.length, plaintextSha256: b64(sha256(plaintext)) },
  };
}

/** Opens a payload: checks its commitments, decrypts, checks the plaintext, parses. */
export async function open(ciphertext, commitment, identity) {
  if (ciphertext.length !== commitment.size || b64(sha256(ciphertext)) !== commitment.sha256) throw new Error("payload-commitment");
  const plaintext = await ageDecrypt(ciphertext, identity);
  if (b64(sha256(plaintext)) !== commitment.plaintextSha256) throw new Error("plaintext-commitment");
  const doc = JSON.parse(fromUtf8(plaintext));
  if (doc.format !== DOCUMENT_FORMAT) throw new Error("not-a-case-document");
  return doc;
}

/** The payload commitment lines of a statement text, if any. */
export function commitmentOf(statementNote) {
  const get = (k) => { const m = new RegExp(`^${k} (.+)$`, "m").exec(statementNote); return m ? m[1] : null; };
  const sha = get("payload-sha256");
  if (!sha) return null;
  return { sha256: sha, size: Number(get("payload-size")), plaintextSha256: get("plaintext-sha256") };
}

// The officer views: load a key file and API token (kept in this page's memory only, never
// uploaded or stored), then inbox and outbox, a case with its verified timeline, decryption of
// payloads, the follow-up actions and composing a notice or request. Statements are built and
// signed here exactly as the CLI's officer.rs does; the server receives only signed statements
// and age ciphertext.
import * as c from "./crypto.js";
import { stixProblems } from "./stix.js";

let session = null; // { keys, token, hotline, parties }
const PER_PAGE = 25;

function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "class") e.className = v;
    else if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v === true ? "" : v);
  }
  for (const ch of children.flat()) if (ch !== null && ch !== undefined) e.append(ch instanceof Node ? ch : String(ch));
  return e;
}

export function startOfficer(t) {
  const root = document.getElementById("officer");
  const app = document.getElementById("app");
  const login = document.getElementById("login");
  const statusEl = document.getElementById("status");
  // The reader's own locale for the page's language (ar-EG, en-GB…): its digits and date order.
  const pageLang = document.documentElement.lang;
  const lang = (navigator.languages || []).find((l) => l.split("-")[0].toLowerCase() === pageLang) || pageLang;
  const num = new Intl.NumberFormat(lang);
  const dateFmt = new Intl.DateTimeFormat(lang, { dateStyle: "medium", timeStyle: "short" });
  const rel = new Intl.RelativeTimeFormat(lang, { numeric: "always" });
  const origin = root.dataset.origin;
  const logVkey = root.dataset.logVkey;
  const witnessPolicy = JSON.parse(root.dataset.witnesses || '{"required":0,"witnesses":[]}');

  const say = (msg, cls = "") => { statusEl.textContent = msg; statusEl.className = cls; };
  const when = (iso) => { const d = new Date(iso); return el("time", { datetime: iso }, dateFmt.format(d)); };
  const label = (group, v) => (v ? t(`${group}.${v}`) : "—");
  function left(secs) {
    if (secs === null || secs === undefined) return el("span", {}, "—");
    const a = Math.abs(secs);
    const [n, u] = a >= 86400 ? [secs / 86400, "day"] : a >= 3600 ? [secs / 3600, "hour"] : [secs / 60, "minute"];
    const text = rel.format(Math.trunc(n), u);
    const cls = secs < 0 ? "overdue" : secs < 3600 ? "soon" : "";
    return el("span", { class: cls }, secs < 0 ? `${t("case.overdue_by")} ${text}` : text);
  }

  async function api(path, opts = {}) {
    const headers = { Authorization: `Bearer ${session.token}` };
    if (opts.body) headers["Content-Type"] = "application/json";
    const r = await fetch(path, { method: opts.method || "GET", headers, body: opts.body ? JSON.stringify(opts.body) : undefined });
    if (opts.raw && r.ok) return new Uint8Array(await r.arrayBuffer());
    const text = await r.text();
    let body = null;
    try { body = JSON.parse(text); } catch { body = { error: text }; }
    if (!r.ok) { const e = new Error(body.error || `HTTP ${r.status}`); e.status = r.status; throw e; }
    return body;
  }
  const pub = async (path) => { const r = await fetch(path); if (!r.ok) throw new Error(`${path}: HTTP ${r.status}`); return r.json(); };

  document.getElementById("login-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    say(t("login.checking"));
    try {
      const file = document.getElementById("key-file").files[0];
      if (!file) throw new Error(t("login.no_file"));
      const keys = await c.parseKeyFile(await file.text());
      const token = document.getElementById("token").value.trim();
      if (!/^hotline_[A-Za-z0-9_-]{43}$/.test(token)) throw new Error(t("login.bad_token"));
      session = { keys, token };
      session.hotline = await pub("/api/v1/hotline");
      session.parties = await pub("/api/v1/parties");
      const me = session.parties.find((p) => p.id === keys.party);
      if (!me) throw new Error(t("login.unknown_party"));
      if (me.vkey !== keys.signer.vkey) throw new Error(t("login.key_mismatch"));
      await api("/api/v1/inbox?page=1&per_page=1");
      document.getElementById("key-file").value = "";
      document.getElementById("token").value = "";
      login.hidden = true;
      app.hidden = false;
      say(t("login.ok").replace("{party}", keys.party), "ok");
      if (!location.hash || location.hash === "#") location.hash = "#inbox"; else route();
    } catch (e) {
      session = null;
      say(`${t("login.failed")} ${e.message}`, "error");
    }
  });
  window.addEventListener("hashchange", () => route());

  function shell(title, ...content) {
    app.replaceChildren(
      el("nav", { class: "tabs", "aria-label": t("officer.views") },
        el("a", { href: "#inbox", "aria-current": location.hash.startsWith("#inbox") ? "page" : null }, t("officer.inbox")),
        el("a", { href: "#outbox", "aria-current": location.hash.startsWith("#outbox") ? "page" : null }, t("officer.outbox")),
        el("a", { href: "#compose", "aria-current": location.hash === "#compose" ? "page" : null }, t("officer.compose")),
        el("button", { type: "button", class: "secondary", onclick: logout }, t("officer.logout"))),
      el("h2", { id: "view-title", tabindex: "-1" }, title),
      ...content.filter((x) => x !== null && x !== undefined));
    document.getElementById("view-title").focus();
  }

  function logout() {
    session = null;
    app.replaceChildren();
    app.hidden = true;
    login.hidden = false;
    location.hash = "";
    say(t("officer.logged_out"));
  }

  async function route() {
    if (!session) return;
    const h = location.hash.slice(1);
    try {
      if (h.startsWith("case/")) await showCase(decodeURIComponent(h.slice(5)));
      else if (h === "compose") showCompose();
      else if (h.startsWith("outbox")) await showList("requester", h);
      else await showList("responder", h);
    } catch (e) {
      say(`${t("error.failed")} ${e.message}`, "error");
    }
  }

  async function showList(role, h) {
    const page = Math.max(1, parseInt(new URLSearchParams(h.split("?")[1] || "").get("page") || "1", 10) || 1);
    const base = role === "responder" ? "inbox" : "outbox";
    const data = await api(`/api/v1/inbox?role=${role}&page=${page}&per_page=${PER_PAGE}`);
    const pages = Math.max(1, Math.ceil(data.total / PER_PAGE));
    const rows = data.cases.map((cs) => el("tr", {},
      el("td", {}, el("a", { href: `#case/${cs.id}` }, el("code", {}, cs.id))),
      el("td", {}, role === "responder" ? cs.requester : cs.responder),
      el("td", {}, label("kind", cs.kind), cs.request_type ? el("br") : null, cs.request_type ? label("request_type", cs.request_type) : null),
      el("td", {}, label("phase", cs.phase)),
      el("td", {}, label("priority", cs.priority)),
      el("td", {}, cs.handling || "—", " ", cs.tlp ? el("span", { class: "badge" }, `TLP:${cs.tlp.toUpperCase()}`) : null),
      el("td", {}, cs.next_deadline ? left(cs.seconds_left) : "—", cs.overdue.length ? el("div", { class: "overdue" }, t("case.missed") + " " + cs.overdue.map((d) => t(`deadline.${d}`)).join(", ")) : null)));
    const title = role === "responder" ? t("officer.inbox") : t("officer.outbox");
    shell(`${title} (${num.format(data.total)})`,
      data.total === 0 ? el("p", {}, t("list.empty")) :
        el("table", { id: "cases" },
          el("caption", {}, t("list.caption").replace("{page}", num.format(page)).replace("{pages}", num.format(pages))),
          el("thead", {}, el("tr", {}, ...["list.case", role === "responder" ? "list.from" : "list.to", "list.type", "list.state", "list.priority", "list.handling", "list.time_left"].map((k) => el("th", { scope: "col" }, t(k))))),
          el("tbody", {}, rows)),
      el("nav", { class: "pager", "aria-label": t("pager.label") },
        page > 1 ? el("a", { href: `#${base}?page=${page - 1}`, rel: "prev" }, t("pager.prev")) : null,
        page < pages ? el("a", { href: `#${base}?page=${page + 1}`, rel: "next" }, t("pager.next")) : null));
    say(t("list.loaded").replace("{n}", num.format(data.cases.length)));
  }

  /** Verifies a step's receipt in the browser: statement signature by its author's key, inclusion under the log key. */
  async function proofStatus(step, stmt) {
    const out = el("span", {}, t("proof.checking"));
    (async () => {
      try {
        const r = await api(`/api/v1/statements/${step.id_hex}/receipt`);
        const p = c.parseTlogProof(r.receipt);
        const entry = c.utf8(stmt.statement);
        const cp = c.verifyInclusion({ entry, index: p.index, proof: p.proof, checkpoint: p.checkpoint, logVkey, origin });
        const author = session.parties.find((x) => x.id === step.author);
        const authorOk = Boolean(author && author.vkey && c.noteSignedBy(stmt.statement, author.vkey));
        out.className = authorOk ? "ok" : "warn";
        out.textContent = (authorOk ? t("proof.verified") : t("proof.included_only")).replace("{size}", num.format(cp.size));
      } catch (e) {
        out.className = "bad";
        out.textContent = `${t("proof.failed")} ${t("verify.fail." + e.message) === "verify.fail." + e.message ? e.message : t("verify.fail." + e.message)}`;
      }
    })();
    return out;
  }

  // The size of the latest checkpoint the witnesses cosigned (`/log/checkpoint` serves it under a
  // witness policy), or -1 while there is none. Asking for a cosigned receipt only once it covers
  // a step keeps the console free of refused requests.
  async function cosignedSize() {
    const r = await fetch("/log/checkpoint", { cache: "no-store" });
    if (!r.ok) return -1n;
    return c.parseCheckpoint(c.parseNote(await r.text()).text).size;
  }

  // A step's witness cosignatures, verified here: the receipt against the latest cosigned
  // checkpoint (log key and inclusion, as the proof column does) and each witness's
  // cosignature/v1 on that checkpoint. A step the witnesses have not cosigned yet is looked at
  // again every second, for half a minute.
  function cosignStatus(step, stmt) {
    const out = el("span", {}, witnessPolicy.witnesses.length ? t("witness.checking") : t("witness.none"));
    if (!witnessPolicy.witnesses.length) return out;
    (async () => {
      try {
        for (let attempt = 0; ; attempt++) {
          if (attempt > 0 && !out.isConnected) return; // the page moved on
          if ((await cosignedSize()) > BigInt(step.index)) break;
          out.className = "warn";
          out.textContent = t("witness.pending");
          if (attempt >= 30) return;
          await new Promise((ok) => setTimeout(ok, 1000));
        }
        const r = await api(`/api/v1/statements/${step.id_hex}/receipt?cosigned=1`);
        const p = c.parseTlogProof(r.receipt);
        const cp = c.verifyInclusion({ entry: c.utf8(stmt.statement), index: p.index, proof: p.proof, checkpoint: p.checkpoint, logVkey, origin });
        const names = witnessPolicy.witnesses.filter((w) => c.cosignatureTime(p.checkpoint, w.vkey) !== null).map((w) => w.name);
        out.className = names.length >= witnessPolicy.required ? "ok" : "warn";
        out.textContent = names.length
          ? t("witness.cosigned_by").replace("{names}", names.join(", ")).replace("{size}", num.format(cp.size))
          : t("witness.none_valid");
      } catch (e) {
        out.className = e.status === 409 ? "warn" : "bad";
        out.textContent = e.status === 409 ? t("witness.pending") : `${t("witness.failed")} ${t("verify.fail." + e.message) === "verify.fail." + e.message ? e.message : t("verify.fail." + e.message)}`;
      }
    })();
    return out;
  }

  function renderDocument(doc, step) {
    const ev = doc.evidence;
    return el("article", { class: "doc", "aria-label": `${t("doc.of")} ${num.format(step.index)}` },
      el("h4", {}, doc.title),
      el("p", {}, el("small", {}, `${label("kind", step.kind)} · ${step.author} · #${num.format(step.index)} · ${t("doc.checked")}`)),
      doc.summary ? el("pre", {}, doc.summary) : null,
      doc.requested_actions && doc.requested_actions.length ? el("div", {}, el("h5", {}, t("doc.actions")), el("ul", {}, doc.requested_actions.map((a) => el("li", {}, a)))) : null,
      ev ? el("div", { class: "evidence" }, el("h5", {}, t("doc.evidence")),
        el("table", {}, el("caption", {}, t("doc.evidence_caption").replace("{n}", num.format((ev.objects || []).length))),
          el("thead", {}, el("tr", {}, el("th", { scope: "col" }, t("doc.stix_type")), el("th", { scope: "col" }, t("doc.stix_name")))),
          el("tbody", {}, (ev.objects || []).map((o) => el("tr", {}, el("td", {}, o.type), el("td", {}, o.name || o.pattern || o.value || o.id)))))) : null,
      doc.attachments && doc.attachments.length ? el("p", {}, `${t("doc.attachments")} ${doc.attachments.map((a) => a.name).join(", ")}`) : null);
  }

  async function showCase(id, opts = {}) {
    const cs = await api(`/api/v1/cases/${encodeURIComponent(id)}`);
    const me = session.keys.party;
    const stmts = new Map();
    for (const st of cs.timeline) stmts.set(st.id_hex, await api(`/api/v1/statements/${st.id_hex}`));
    const docs = el("div", { id: "documents", "aria-live": "polite" });
    const steps = el("tbody", {});
    for (const st of cs.timeline) {
      steps.append(el("tr", {},
        el("td", {}, num.format(st.index)),
        el("td", {}, label("kind", st.kind)),
        el("td", {}, st.author),
        el("td", {}, when(st.time)),
        el("td", {}, await proofStatus(st, stmts.get(st.id_hex))),
        el("td", {}, cosignStatus(st, stmts.get(st.id_hex)))));
    }
    const counterpart = cs.requester === me ? cs.responder : cs.requester;
    const decrypt = async () => {
      say(t("case.decrypting"));
      docs.replaceChildren();
      for (const st of cs.timeline.filter((s) => s.has_payload)) {
        const stmt = stmts.get(st.id_hex);
        const commitment = c.commitmentOf(stmt.statement);
        const ct = await api(`/api/v1/statements/${st.id_hex}/payload`, { raw: true });
        const doc = await c.open(ct, commitment, session.keys.identity);
        docs.append(renderDocument(doc, st));
      }
      say(t("case.decrypted"), "ok");
      // The first download by the responder is recorded as delivered: show what it allows now.
      if (cs.phase === "sent" && cs.role === "responder" && !opts.decrypted) await showCase(id, { decrypt: true, decrypted: true });
    };
    const actions = el("div", { class: "actions", role: "group", "aria-label": t("case.actions") },
      cs.timeline.some((s) => s.has_payload) ? el("button", { type: "button", id: "decrypt", onclick: () => decrypt().catch((e) => say(`${t("error.failed")} ${e.message}`, "error")) }, t("case.decrypt")) : null,
      ...cs.allowed.map((k) => el("button", { type: "button", class: "secondary", "data-kind": k, onclick: () => followUpForm(cs, k, counterpart) }, t(`action.${k}`))));
    shell(`${t("case.title")} ${cs.id}`,
      el("dl", { class: "facts" },
        ...[["case.kind", label("kind", cs.kind)], ["case.state", label("phase", cs.phase)], ["case.priority", label("priority", cs.priority)],
          ["case.request_type", label("request_type", cs.request_type)], ["case.from", cs.requester], ["case.to", cs.responder],
          ["list.handling", `${cs.handling || "—"} ${cs.tlp ? "TLP:" + cs.tlp.toUpperCase() : ""}`]]
          .map(([k, v]) => el("div", {}, el("dt", {}, t(k)), el("dd", { "data-field": k }, v))),
        el("div", {}, el("dt", {}, t("case.ack_by")), el("dd", {}, cs.ack_by ? when(cs.ack_by) : "—")),
        el("div", {}, el("dt", {}, t("case.answer_by")), el("dd", {}, cs.answer_by ? when(cs.answer_by) : "—")),
        el("div", {}, el("dt", {}, t("list.time_left")), el("dd", {}, cs.next_deadline ? left(cs.seconds_left) : "—"))),
      cs.phase === "sent" && cs.responder === me ? el("p", { class: "warn" }, t("case.take_delivery")) : null,
      actions,
      el("div", { id: "action-form" }),
      el("h3", {}, t("case.timeline")),
      el("table", { id: "timeline" },
        el("caption", {}, t("case.timeline_caption")),
        el("thead", {}, el("tr", {}, ...["step.index", "step.kind", "step.author", "step.time", "step.proof", "step.witnesses"].map((k) => el("th", { scope: "col" }, t(k))))),
        steps),
      docs);
    say(t("case.loaded"));
    if (opts.decrypt) await decrypt();
  }

  function labelsFields(prefix) {
    return [
      el("div", { class: "field" }, el("label", { for: `${prefix}-handling` }, t("form.handling")),
        el("select", { id: `${prefix}-handling` }, ["H0", "H1", "H2", "H3"].map((h) => el("option", { value: h, selected: h === "H2" }, `${h} — ${t("handling." + h)}`)))),
      el("div", { class: "field" }, el("label", { for: `${prefix}-tlp` }, t("form.tlp")),
        el("select", { id: `${prefix}-tlp` }, ["clear", "green", "amber", "amber+strict", "red"].map((v) => el("option", { value: v, selected: v === "amber" }, `TLP:${v.toUpperCase()}`)))),
    ];
  }

  async function readEvidence(input) {
    const f = input.files[0];
    if (!f) return null;
    let bundle;
    try { bundle = JSON.parse(await f.text()); } catch { throw new Error(t("form.evidence_not_json")); }
    const problems = stixProblems(bundle);
    if (problems.length) throw new Error(`${t("form.evidence_invalid")} ${problems.slice(0, 10).join("; ")}`);
    return bundle;
  }

  async function recipientsOf(party) {
    session.parties = await pub("/api/v1/parties");
    const p = session.parties.find((x) => x.id === party);
    if (!p) throw new Error(t("form.unknown_party"));
    if (p.revoked) throw new Error(t("form.revoked_party"));
    return [...p.recipients, session.keys.recipient];
  }

  async function submit(st, sealed) {
    const note = c.signNote(c.statementText(st), [session.keys.signer]);
    const body = { statement: note };
    if (sealed) body.payload = c.b64(sealed.ciphertext);
    const r = await api("/api/v1/statements", { method: "POST", body });
    // The receipt is checked here, as the CLI does, before it is reported.
    const p = c.parseTlogProof(r.receipt);
    c.verifyInclusion({ entry: c.utf8(note), index: p.index, proof: p.proof, checkpoint: p.checkpoint, logVkey, origin });
    return r;
  }

  function followUpForm(cs, kind, counterpart) {
    const holder = document.getElementById("action-form");
    const needs = ["update", "need-info", "answer"].includes(kind);
    const form = el("form", { id: "follow-up", "aria-labelledby": "h-follow" },
      el("h3", { id: "h-follow" }, t(`action.${kind}`)),
      kind === "declined" ? el("div", { class: "field" }, el("label", { for: "fu-reason" }, t("form.reason")),
        el("select", { id: "fu-reason" }, ["not-competent", "insufficient-information", "legal-obstacle", "no-dual-criminality", "resources", "duplicate", "other"].map((r) => el("option", { value: r }, t(`reason.${r}`))))) : null,
      el("div", { class: "field" }, el("label", { for: "fu-message" }, needs ? t("form.message") : t("form.message_optional")),
        el("textarea", { id: "fu-message", rows: 5, required: needs })),
      el("div", { class: "field" }, el("label", { for: "fu-evidence" }, t("form.evidence")), el("input", { id: "fu-evidence", type: "file", accept: ".json,application/json" })),
      ...labelsFields("fu"),
      el("button", { type: "submit" }, t("form.sign_send")));
    form.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      try {
        say(t("form.sending"));
        const me = session.keys.party;
        let fresh = cs;
        const replies = ["acknowledged", "declined", "update", "need-info", "answer"].includes(kind);
        if (cs.role === "responder" && replies) {
          // Replying means having read it: download what was not delivered yet.
          for (const st of cs.timeline) {
            if (st.has_payload && st.author !== me) {
              const s = await api(`/api/v1/statements/${st.id_hex}`);
              if (!s.delivered) await api(`/api/v1/statements/${st.id_hex}/payload`, { raw: true });
            }
          }
          fresh = await api(`/api/v1/cases/${cs.id}`);
        }
        const last = fresh.timeline[fresh.timeline.length - 1];
        const refs = [last.id];
        if (kind === "acknowledged" && fresh.timeline[0].id !== last.id) refs.unshift(fresh.timeline[0].id);
        const message = document.getElementById("fu-message").value;
        const evidence = await readEvidence(document.getElementById("fu-evidence"));
        const st = { origin, kind, case: cs.id, author: me, recipient: counterpart, time: c.stamp(new Date()), refs };
        if (kind === "declined") st.reason = document.getElementById("fu-reason").value;
        let sealed = null;
        if (needs || message.trim() !== "" || evidence) {
          if (needs && message.trim() === "" && !evidence) throw new Error(t("form.needs_message"));
          const doc = c.caseDocument({ title: `${kind} in case ${cs.id}`, summary: message, evidence });
          sealed = await c.seal(doc, await recipientsOf(counterpart));
          st.handling = document.getElementById("fu-handling").value;
          st.tlp = document.getElementById("fu-tlp").value;
          st.payload = sealed.payload;
        }
        const r = await submit(st, sealed);
        say(t("form.sent").replace("{kind}", t(`kind.${kind}`)).replace("{index}", num.format(r.index)), "ok");
        await showCase(cs.id);
        say(t("form.sent").replace("{kind}", t(`kind.${kind}`)).replace("{index}", num.format(r.index)), "ok");
      } catch (e) {
        say(`${t("error.failed")} ${e.message}`, "error");
      }
    });
    holder.replaceChildren(form);
    document.getElementById("fu-message").focus();
  }

  function showCompose() {
    const me = session.keys.party;
    const others = session.parties.filter((p) => p.id !== me && p.id !== "operator" && !p.revoked);
    const types = ["preservation", "subscriber-info", "traffic-data", "takedown", "investigation", "emergency", "mla-follow-up"];
    const form = el("form", { id: "compose-form" },
      el("div", { class: "field" }, el("label", { for: "to" }, t("form.to")),
        el("select", { id: "to", required: true }, others.map((p) => el("option", { value: p.id }, `${p.name} (${p.id})`)))),
      el("fieldset", {}, el("legend", {}, t("form.kind")),
        el("label", {}, el("input", { type: "radio", name: "kind", value: "request", checked: true }), " ", t("kind.request")), " ",
        el("label", {}, el("input", { type: "radio", name: "kind", value: "notice" }), " ", t("kind.notice"))),
      el("div", { class: "field" }, el("label", { for: "request-type" }, t("case.request_type")),
        el("select", { id: "request-type" }, types.map((v) => el("option", { value: v }, t(`request_type.${v}`))))),
      el("div", { class: "field" }, el("label", { for: "justification" }, t("form.justification")),
        el("select", { id: "justification" }, ["imminent-risk-to-life", "imminent-risk-to-safety"].map((v) => el("option", { value: v }, t(`justification.${v}`))))),
      el("div", { class: "field" }, el("label", { for: "priority" }, t("case.priority")),
        el("select", { id: "priority" }, ["emergency", "urgent", "routine"].map((v) => el("option", { value: v, selected: v === "routine" }, t(`priority.${v}`))))),
      ...labelsFields("co"),
      el("div", { class: "field" }, el("label", { for: "title" }, t("form.title")), el("input", { id: "title", type: "text", required: true })),
      el("div", { class: "field" }, el("label", { for: "message" }, t("form.message")), el("textarea", { id: "message", rows: 6 })),
      el("div", { class: "field" }, el("label", { for: "actions" }, t("form.actions")), el("textarea", { id: "actions", rows: 3, "aria-describedby": "actions-help" }), el("small", { id: "actions-help" }, t("form.actions_help"))),
      el("div", { class: "field" }, el("label", { for: "evidence" }, t("form.evidence")), el("input", { id: "evidence", type: "file", accept: ".json,application/json", "aria-describedby": "evidence-help" }), el("small", { id: "evidence-help" }, t("form.evidence_help"))),
      el("button", { type: "submit" }, t("form.sign_send")));
    form.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      try {
        say(t("form.sending"));
        const to = document.getElementById("to").value;
        const kind = form.querySelector('input[name="kind"]:checked').value;
        const priority = document.getElementById("priority").value;
        const evidence = await readEvidence(document.getElementById("evidence"));
        const now = new Date();
        const st = { origin, kind, case: c.newCaseId(now), author: me, recipient: to, time: c.stamp(now), priority,
          handling: document.getElementById("co-handling").value, tlp: document.getElementById("co-tlp").value };
        if (kind === "request") {
          st.requestType = document.getElementById("request-type").value;
          if (st.requestType === "emergency") st.justification = document.getElementById("justification").value;
          const [ack, ans] = session.hotline.policy[priority];
          st.ackBy = c.stamp(new Date(now.getTime() - (now.getTime() % 1000) + ack * 1000));
          st.answerBy = c.stamp(new Date(now.getTime() - (now.getTime() % 1000) + ans * 1000));
        }
        const actions = document.getElementById("actions").value.split("\n").map((a) => a.trim()).filter(Boolean);
        const doc = c.caseDocument({ title: document.getElementById("title").value, summary: document.getElementById("message").value, actions, evidence });
        const sealed = await c.seal(doc, await recipientsOf(to));
        st.payload = sealed.payload;
        const r = await submit(st, sealed);
        location.hash = `#case/${r.case}`;
        say(t("form.sent").replace("{kind}", t(`kind.${kind}`)).replace("{index}", num.format(r.index)), "ok");
      } catch (e) {
        say(`${t("error.failed")} ${e.message}`, "error");
      }
    });
    shell(t("officer.compose"), form);
  }
}

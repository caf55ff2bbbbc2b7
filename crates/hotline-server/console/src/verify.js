// In-browser verification of one log entry (the public entry page): the checkpoint's signature
// by the log key the reader gives (pre-filled from the server; an auditor should paste the key
// they trust), the entry's leaf hash, and its inclusion proof up to the checkpoint's root. It
// says "verified" only when every check passed.
import { utf8, unb64, verifyInclusion } from "./crypto.js";

export function setupVerify(t) {
  const form = document.getElementById("verify-form");
  const out = document.getElementById("verify-result");
  const button = document.getElementById("verify-button");
  if (!form || !out || !button) return;
  button.disabled = false;
  out.textContent = t("verify.ready");
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    const proofEl = document.getElementById("proof");
    try {
      const entry = utf8(document.getElementById("statement").textContent);
      const proof = Array.from(proofEl.querySelectorAll("code"), (c) => c.textContent.trim());
      proof.forEach(unb64);
      const cp = verifyInclusion({
        entry,
        index: BigInt(proofEl.dataset.index),
        proof,
        checkpoint: document.getElementById("checkpoint").textContent,
        logVkey: document.getElementById("vkey").value.trim(),
        origin: form.dataset.origin,
      });
      out.className = "result ok";
      out.textContent = t("verify.ok").replace("{size}", new Intl.NumberFormat((navigator.languages || []).find((l) => l.split("-")[0].toLowerCase() === document.documentElement.lang) || document.documentElement.lang).format(cp.size));
    } catch (e) {
      out.className = "result bad";
      const key = "verify.fail." + e.message;
      const msg = t(key);
      out.textContent = t("verify.failed") + " " + (msg === key ? e.message : msg);
    }
  });
}

// The console's browser test, driven by `cargo xtask console-browser` (which starts the hotline,
// registers the parties, sends the scenario request with the CLI, and checks afterwards what
// this script did with Go's note, the age binary and a scan of the server's files).
//
// Debian's chromium, headless, through playwright-core (which never downloads a browser):
// an officer of ru-nkcki loads a key, reads the inbox, opens the scenario case, decrypts its
// evidence, acknowledges and answers, and sees every step cosigned by the policy's witnesses
// (checked in the browser, in English and Arabic); us-cisa sees the answer; an auditor views the charts and
// verifies an entry in the browser; every page is screenshotted in English and in Arabic; no
// page may log a console error. Also runs the age interop payloads through the bundle.
//
// Usage: node browser.mjs CONFIG.json   (prints one JSON line of results on success)
import { chromium } from "playwright-core";
import { readFileSync, writeFileSync, mkdirSync } from "node:fs";
import { join } from "node:path";

const cfg = JSON.parse(readFileSync(process.argv[2], "utf8"));
const out = cfg.screenshots;
mkdirSync(out, { recursive: true });
const TIMEOUT = 20000;
const errors = [];
const shots = [];

function log(msg) { console.error(`browser: ${msg}`); }

const browser = await chromium.launch({
  executablePath: cfg.chromium,
  headless: true,
  args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--no-first-run", "--disable-default-apps", "--disable-extensions"],
  // playwright gives every launch a fresh temporary profile (--user-data-dir) of its own.
});

async function context(locale) {
  const ctx = await browser.newContext({ locale, viewport: { width: 1280, height: 900 } });
  ctx.setDefaultTimeout(TIMEOUT);
  return ctx;
}

let current = null;
async function newPage(ctx, label) {
  const page = await ctx.newPage();
  current = page;
  page.on("console", (m) => { if (m.type() === "error") errors.push(`${label}: console error: ${m.text()}`); });
  page.on("pageerror", (e) => errors.push(`${label}: uncaught: ${e.message}`));
  page.on("requestfailed", (r) => errors.push(`${label}: request failed: ${r.url()} ${r.failure()?.errorText}`));
  return page;
}

async function shot(page, name) {
  const file = join(out, `${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  shots.push(file);
}

async function login(page, who) {
  await page.goto(`${cfg.base}/officer`);
  await page.setInputFiles("#key-file", cfg[who].keyFile);
  await page.fill("#token", cfg[who].token);
  await page.getByRole("button", { name: /Load keys|حمّل المفاتيح/ }).click();
  await page.waitForSelector("#app:not([hidden])");
}

async function openCase(page) {
  await page.click(`a[href="#case/${cfg.caseId}"]`);
  await page.waitForSelector("#timeline");
  // Every step's proof verified in the browser.
  await page.waitForFunction(() => {
    const cells = [...document.querySelectorAll("#timeline tbody tr td:nth-child(5)")];
    return cells.length > 0 && cells.every((c) => c.firstElementChild?.className === "ok");
  });
}

// Every step of the timeline cosigned by every witness of the policy, verified in the browser
// (the receipt against the cosigned checkpoint, each cosignature under its witness's key).
async function waitCosigned(page) {
  await page.waitForFunction((names) => {
    const cells = [...document.querySelectorAll("#timeline tbody tr td:nth-child(6)")];
    return cells.length > 0 && cells.every((c) => c.firstElementChild?.className === "ok"
      && names.every((n) => c.textContent.includes(n)));
  }, cfg.witnesses, { timeout: 40000 });
  return page.$$eval("#timeline tbody tr td:nth-child(6)", (cells) => cells.map((c) => c.textContent));
}

async function act(page, kind, message, state) {
  await page.click(`button[data-kind="${kind}"]`);
  await page.waitForSelector("#follow-up");
  if (message) await page.fill("#fu-message", message);
  await page.evaluate(() => { const s = document.getElementById("status"); s.textContent = ""; s.className = ""; });
  await page.click("#follow-up button[type=submit]");
  // The case page is shown again once the statement's receipt verified, in its new state.
  await page.waitForFunction(([st]) => {
    const s = document.getElementById("status");
    const d = document.querySelector('[data-field="case.state"]');
    return s.className === "ok" && /log index/.test(s.textContent) && d && d.textContent === st;
  }, [state]);
}

const results = {};
try {
  // 1. The responder's officer, in English.
  const en = await context("en-GB");
  const ru = await newPage(en, "ru-nkcki");
  await ru.goto(`${cfg.base}/officer`);
  await shot(ru, "en-officer-login");
  await login(ru, "ru");
  await ru.waitForSelector("#cases");
  const row = await ru.textContent("#cases tbody");
  if (!row.includes(cfg.caseId)) throw new Error(`the inbox does not list ${cfg.caseId}`);
  if (!/emergency/.test(row)) throw new Error("the inbox does not show the priority");
  await shot(ru, "en-officer-inbox");
  log("ru-nkcki: inbox lists the scenario case");
  await openCase(ru);
  await ru.click("#decrypt");
  // Decrypting takes delivery; the page comes back with the replies it now allows, decrypted.
  await ru.waitForFunction(() => document.querySelector('button[data-kind="acknowledged"]')
    && document.getElementById("status").className === "ok" && document.querySelector("#documents .evidence"));
  const docText = await ru.textContent("#documents");
  if (!docText.includes(cfg.title)) throw new Error("the decrypted request does not hold its title");
  if (!docText.includes(cfg.evidenceMarker)) throw new Error(`the decrypted evidence does not list ${cfg.evidenceMarker}`);
  await ru.waitForSelector('button[data-kind="acknowledged"]');
  await shot(ru, "en-officer-case-decrypted");
  log("ru-nkcki: evidence decrypted in the browser");
  await act(ru, "acknowledged", cfg.ackText, "acknowledged");
  log("ru-nkcki: acknowledged");
  await act(ru, "answer", cfg.answerText, "answered");
  const state = await ru.textContent('[data-field="case.state"]');
  if (!/answered/.test(state)) throw new Error(`after answering, the case is ${state}`);
  await shot(ru, "en-officer-case-answered");
  log("ru-nkcki: answered");
  // The steps just made are cosigned within seconds; the page shows it without a reload.
  const cosigned = await waitCosigned(ru);
  if (!cosigned.every((c) => /verified in your browser/.test(c))) throw new Error(`cosignatures: ${cosigned}`);
  results.cosigned = cosigned;
  await shot(ru, "en-officer-case-cosigned");
  log(`ru-nkcki: ${cosigned.length} steps cosigned by ${cfg.witnesses.join(" and ")}`);
  await ru.click('a[href="#compose"]');
  await ru.waitForSelector("#compose-form");
  await shot(ru, "en-officer-compose");
  // A bad evidence file is refused before anything is sent, naming the problem.
  await ru.fill("#title", "bad evidence");
  await ru.setInputFiles("#evidence", { name: "bad.json", mimeType: "application/json", buffer: Buffer.from(JSON.stringify({ type: "bundle", id: "bundle--1", objects: [{ type: "indicator", id: "indicator--x" }] })) });
  await ru.click("#compose-form button[type=submit]");
  await ru.waitForFunction(() => document.getElementById("status").className === "error");
  const refusal = await ru.textContent("#status");
  if (!/not valid STIX 2\.1/.test(refusal) || !/indicator--x/.test(refusal)) throw new Error(`bad evidence: ${refusal}`);
  results.badEvidence = refusal;
  // A request composed in the browser, with the scenario's evidence, to the other party.
  await ru.fill("#title", cfg.composeTitle);
  await ru.fill("#message", cfg.composeMessage);
  await ru.selectOption("#priority", "urgent");
  await ru.selectOption("#request-type", "takedown");
  await ru.setInputFiles("#evidence", cfg.evidenceFile);
  await ru.click("#compose-form button[type=submit]");
  await ru.waitForFunction(() => location.hash.startsWith("#case/") && document.getElementById("timeline"));
  results.composedCase = await ru.evaluate(() => decodeURIComponent(location.hash.slice(6)));
  await ru.waitForFunction(() => {
    const cells = [...document.querySelectorAll("#timeline tbody tr td:nth-child(5)")];
    return cells.length === 1 && cells[0].firstElementChild?.className === "ok";
  });
  log(`ru-nkcki: composed request ${results.composedCase}`);

  // 2. The requester sees the answer.
  const us = await newPage(await context("en-US"), "us-cisa");
  await login(us, "us");
  await us.click('a[href="#outbox"]');
  await us.waitForSelector("#cases");
  await openCase(us);
  const usState = await us.textContent('[data-field="case.state"]');
  if (!/answered/.test(usState)) throw new Error(`us-cisa sees the case as ${usState}`);
  await us.click("#decrypt");
  await us.waitForFunction((t) => document.getElementById("documents").textContent.includes(t), cfg.answerText);
  await shot(us, "en-officer-requester-sees-answer");
  log("us-cisa: sees and decrypts the answer");

  // 3. The auditor: charts, status, entries, in-browser verification.
  const audit = await newPage(await context("en-GB"), "auditor");
  for (const [path, name] of [["/", "home"], ["/status", "status"], ["/stats", "stats"], ["/entries", "entries"]]) {
    await audit.goto(cfg.base + path);
    await shot(audit, `en-${name}`);
  }
  await audit.goto(`${cfg.base}/stats`);
  const chart = await audit.textContent("figure svg title");
  if (!chart) throw new Error("the statistics page has no chart");
  const answeredBars = await audit.locator('rect title:text-matches("us-cisa → ru-nkcki · Answered: 1")').count();
  if (answeredBars !== 1) throw new Error("the pair chart does not show the answered case");
  await audit.goto(`${cfg.base}/entries/${cfg.verifyIndex}`);
  await audit.click("#verify-button");
  await audit.waitForFunction(() => document.getElementById("verify-result").className === "result ok");
  await shot(audit, "en-entry-verified");
  // A wrong key must not verify.
  await audit.fill("#vkey", cfg.otherVkey);
  await audit.click("#verify-button");
  await audit.waitForFunction(() => document.getElementById("verify-result").className === "result bad");
  log("auditor: charts shown; an entry verified in the browser; a wrong key refused");

  // 4. Arabic: every page again, right to left.
  const ar = await context("ar-EG");
  const arPage = await newPage(ar, "arabic");
  for (const [path, name] of [["/", "home"], ["/status", "status"], ["/stats", "stats"], ["/entries", "entries"], [`/entries/${cfg.verifyIndex}`, "entry"]]) {
    await arPage.goto(cfg.base + path);
    const dir = await arPage.getAttribute("html", "dir");
    if (dir !== "rtl") throw new Error(`${path} in Arabic is not right to left`);
    await shot(arPage, `ar-${name}`);
  }
  await arPage.click("#verify-button");
  await arPage.waitForFunction(() => document.getElementById("verify-result").className === "result ok");
  const arOfficer = await newPage(ar, "arabic officer");
  await arOfficer.goto(`${cfg.base}/officer`);
  await shot(arOfficer, "ar-officer-login");
  await login(arOfficer, "ru");
  await arOfficer.waitForSelector("#cases");
  await shot(arOfficer, "ar-officer-inbox");
  await arOfficer.click('a[href="#outbox"]');
  await arOfficer.waitForSelector("h2#view-title");
  await arOfficer.click('a[href="#inbox"]');
  await openCase(arOfficer);
  await arOfficer.click("#decrypt");
  await arOfficer.waitForFunction(() => document.getElementById("status").className === "ok" && document.querySelector("#documents .evidence"));
  await shot(arOfficer, "ar-officer-case");
  const arCosigned = await waitCosigned(arOfficer);
  if (!arCosigned.every((c) => /تم التحقق في متصفحك/.test(c))) throw new Error(`Arabic cosignatures: ${arCosigned}`);
  await shot(arOfficer, "ar-officer-case-cosigned");
  await arOfficer.click('a[href="#compose"]');
  await arOfficer.waitForSelector("#compose-form");
  await shot(arOfficer, "ar-officer-compose");
  log("arabic: every page right to left");

  // 5. Keyboard only: the login form is reachable and labelled.
  const kb = await newPage(await context("en-GB"), "keyboard");
  await kb.goto(`${cfg.base}/officer`);
  await kb.keyboard.press("Tab");
  const first = await kb.evaluate(() => document.activeElement.textContent);
  if (!/Skip to content/.test(first)) throw new Error(`the first Tab stop is ${first}`);
  const unlabelled = await kb.evaluate(() => [...document.querySelectorAll("input, select, textarea, button")]
    .filter((e) => !e.labels?.length && !e.getAttribute("aria-label") && !e.textContent.trim()).map((e) => e.id || e.outerHTML));
  if (unlabelled.length) throw new Error(`unlabelled controls: ${unlabelled}`);

  // 6. age interop through the bundle: encrypt for the age binary, decrypt what it encrypted.
  const io = await newPage(await context("en-GB"), "interop");
  await io.goto(`${cfg.base}/officer`);
  results.browserCiphertext = await io.evaluate(async ({ recipient, plaintext }) => {
    const ct = await window.hotline.ageEncrypt(new TextEncoder().encode(plaintext), [recipient]);
    return window.hotline.b64(ct);
  }, { recipient: cfg.interop.recipient, plaintext: cfg.interop.plaintext });
  results.decryptedFromAge = await io.evaluate(async ({ ciphertext, identity }) => {
    const pt = await window.hotline.ageDecrypt(window.hotline.unb64(ciphertext), identity);
    return new TextDecoder().decode(pt);
  }, { ciphertext: cfg.interop.ageCiphertext, identity: cfg.interop.identity });
} catch (e) {
  let status = "";
  if (current) {
    status = await current.evaluate(() => document.getElementById("status")?.textContent || "").catch(() => "");
    await current.screenshot({ path: join(out, "failure.png"), fullPage: true }).catch(() => {});
  }
  errors.push(`scenario: ${e.message.split("\n")[0]} (page status: ${status || "none"}; screenshot failure.png)`);
} finally {
  await browser.close();
}
results.screenshots = shots;
results.errors = errors;
writeFileSync(cfg.results, JSON.stringify(results, null, 2));
if (errors.length) {
  console.error(errors.join("\n"));
  process.exit(1);
}
console.log(`browser: OK (${shots.length} screenshots in ${out})`);

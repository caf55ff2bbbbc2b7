// The browser half of `hotline bench inbox --browser`: logs in once as the recipient, then shows
// the inbox page SAMPLES times; each sample is measured in the page, from the hash change that
// asks for the inbox to the table of cases in the DOM (request, JSON, rendering). Prints
// {"micros": [...]} on stdout.
// Environment: BASE, KEY_FILE, TOKEN, SAMPLES, CHROMIUM.
import { chromium } from "playwright-core";

const samples = parseInt(process.env.SAMPLES || "200", 10);
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  headless: true,
  args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--no-first-run", "--disable-default-apps", "--disable-extensions"],
});
const errors = [];
try {
  const page = await (await browser.newContext({ locale: "en-GB" })).newPage();
  page.on("pageerror", (e) => errors.push(e.message));
  page.on("console", (m) => { if (m.type() === "error") errors.push(m.text()); });
  await page.goto(`${process.env.BASE}/officer`);
  await page.setInputFiles("#key-file", process.env.KEY_FILE);
  await page.fill("#token", process.env.TOKEN);
  await page.click("#login-form button[type=submit]");
  await page.waitForSelector("#cases tbody tr", { timeout: 30000 });
  const micros = [];
  for (let i = 0; i <= samples; i++) {
    // Leave the inbox, then time coming back to it.
    await page.evaluate(() => { location.hash = "#compose"; });
    await page.waitForSelector("#compose-form");
    const ms = await page.evaluate(() => new Promise((resolve, reject) => {
      const t0 = performance.now();
      const done = new MutationObserver(() => {
        if (document.querySelector("#cases tbody tr")) {
          done.disconnect();
          resolve(performance.now() - t0);
        }
      });
      done.observe(document.getElementById("app"), { childList: true, subtree: true });
      setTimeout(() => reject(new Error("the inbox did not render within 10 s")), 10000);
      location.hash = "#inbox";
    }));
    if (i > 0) micros.push(Math.round(ms * 1000)); // the first is a warm-up
  }
  if (errors.length) throw new Error(errors.join("; "));
  console.log(JSON.stringify({ micros }));
} finally {
  await browser.close();
}

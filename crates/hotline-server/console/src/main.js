// Entry point of the console's one script (bundled by esbuild into assets/hotline-console.js).
import { setupVerify } from "./verify.js";
import { startOfficer } from "./app.js";
import * as crypto from "./crypto.js";
import { stixProblems } from "./stix.js";

const stringsEl = document.getElementById("i18n");
const strings = stringsEl ? JSON.parse(stringsEl.textContent) : {};
const t = (key) => (Object.prototype.hasOwnProperty.call(strings, key) ? strings[key] : key);

// For interoperability tests and for anyone who wants to check by hand from the devtools.
window.hotline = { ...crypto, stixProblems };

if (document.getElementById("verify-form")) setupVerify(t);
if (document.getElementById("officer")) startOfficer(t);

// Builds assets/hotline-console.js from src/ with esbuild (pinned in package-lock.json), and
// records its SHA-256 in assets/hotline-console.js.sha256. `--check` builds to memory and fails
// if the committed bundle differs. Run: npm ci && npm run build (or `cargo xtask console-assets`).
import { build } from "esbuild";
import { createHash } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const out = join(here, "assets", "hotline-console.js");
const check = process.argv.includes("--check");
const result = await build({
  entryPoints: [join(here, "src", "main.js")],
  bundle: true,
  format: "esm",
  target: "es2022",
  minify: true,
  legalComments: "eof",
  charset: "utf8",
  write: false,
  logLevel: "warning",
});
const bytes = result.outputFiles[0].contents;
const sha = createHash("sha256").update(bytes).digest("hex");
if (check) {
  const committed = readFileSync(out);
  if (!committed.equals(Buffer.from(bytes))) {
    console.error(`assets/hotline-console.js is not the build of src/ with the pinned packages (built ${sha}); run npm run build`);
    process.exit(1);
  }
  console.log(`assets/hotline-console.js matches its build: ${sha}`);
} else {
  writeFileSync(out, bytes);
  writeFileSync(out + ".sha256", `${sha}  hotline-console.js\n`);
  console.log(`wrote assets/hotline-console.js (${bytes.length} bytes, sha256 ${sha})`);
}

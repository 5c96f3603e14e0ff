// Verifies Standard Webhooks signatures with the reference npm package `standardwebhooks`, so
// the C++ signer is checked by an implementation we did not write.
//
// Usage: node verify_standard_webhooks.mjs <cases.json>
// cases.json: [{"name": "...", "secret": "whsec_...", "headers": {"webhook-id": ...,
//   "webhook-timestamp": ..., "webhook-signature": ...}, "body": "...", "mode": "verify"|"sign",
//   "expect": true|false}]
// mode "verify" runs Webhook.verify (which also checks the timestamp is within 5 minutes);
// mode "sign" recomputes the signature for the given timestamp (for fixed, old vectors).
// Prints one line per case and exits 0 only when every case came out as expected.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const { Webhook } = require("standardwebhooks");

const cases = JSON.parse(readFileSync(process.argv[2], "utf8"));
let failures = 0;
for (const c of cases) {
  let ok;
  let detail = "";
  try {
    const wh = new Webhook(c.secret);
    if (c.mode === "sign") {
      const ts = new Date(Number(c.headers["webhook-timestamp"]) * 1000);
      ok = wh.sign(c.headers["webhook-id"], ts, c.body) === c.headers["webhook-signature"];
    } else {
      wh.verify(c.body, c.headers);
      ok = true;
    }
  } catch (e) {
    ok = false;
    detail = ` (${e.message})`;
  }
  const as_expected = ok === c.expect;
  if (!as_expected) {
    failures++;
  }
  console.log(`${as_expected ? "ok" : "FAIL"} ${c.name}: ${ok ? "valid" : "invalid"}${detail}`);
}
console.log(`${cases.length - failures} of ${cases.length} cases as expected`);
process.exit(failures === 0 && cases.length > 0 ? 0 : 1);

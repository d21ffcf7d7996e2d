// Scores promptfoo itself gives bleu/gleu/rouge-n/meteor/word-count cases: the provenance of the figures pinned in
// tests/compat/test_metrics.py. Usage: node bench/metrics_oracle.mjs <promptfoo dist/src/index.js> < cases.json
// meteor: add `--import ./bench/metrics_oracle_natural.mjs` before the script (see that file).
// cases.json: [{"type": "bleu", "output": "...", "value": ..., "threshold": 0.5}, ...]
import { readFileSync } from "node:fs";
import { pathToFileURL } from "node:url";

const { assertions } = await import(pathToFileURL(process.argv[2]).href);
const cases = JSON.parse(readFileSync(0, "utf-8"));
const results = [];
for (const c of cases) {
  const assertion = { type: c.type, value: c.value };
  if (c.threshold !== undefined) assertion.threshold = c.threshold;
  try {
    const r = await assertions.runAssertion({ assertion, test: { vars: {} }, providerResponse: { output: c.output } });
    results.push({ pass: r.pass, score: r.score });
  } catch (err) {
    results.push({ error: String(err.message || err).split("\n")[0] });
  }
}
console.log(JSON.stringify(results));

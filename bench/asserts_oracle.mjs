// What promptfoo itself gives tool-call-f1, perplexity/perplexity-score and assert-set cases: the provenance of the
// figures pinned in tests/compat/test_assertions_more.py.
// Usage: node bench/asserts_oracle.mjs <promptfoo dist/src/index.js> < cases.json
// cases.json: [{"output": ..., "logProbs": [...], "assertion": {...}}            one assertion (runAssertion)
//              {"output": ..., "assert": [...], "threshold": 0.5}, ...]          a test's assertions (runAssertions)
import { readFileSync } from "node:fs";
import { pathToFileURL } from "node:url";

const { assertions } = await import(pathToFileURL(process.argv[2]).href);
const cases = JSON.parse(readFileSync(0, "utf-8"));
const results = [];
for (const c of cases) {
  const providerResponse = { output: c.output, ...(c.logProbs ? { logProbs: c.logProbs } : {}) };
  try {
    if (c.assertion) {
      const r = await assertions.runAssertion({ assertion: c.assertion, test: { vars: {} }, providerResponse });
      results.push({ pass: r.pass, score: r.score });
    } else {
      const test = { vars: {}, assert: c.assert, ...(c.threshold !== undefined ? { threshold: c.threshold } : {}) };
      const r = await assertions.runAssertions({ test, providerResponse });
      results.push({ pass: r.pass, score: r.score, namedScores: r.namedScores });
    }
  } catch (err) {
    results.push({ error: String(err.message || err).split("\n")[0] });
  }
}
console.log(JSON.stringify(results));

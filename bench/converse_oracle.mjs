// What promptfoo itself sends to Bedrock's Converse API and makes of its answer (`bedrock:converse:MODEL`): the
// provenance of the requests and outputs pinned in tests/compat/test_providers_converse.py.
// Usage: PROMPTFOO_CACHE_ENABLED=false node bench/converse_oracle.mjs <promptfoo dist/src/index.js> < cases.json
// cases.json: [{"provider": "bedrock:converse:MODEL", "config": {...}, "prompt": "...", "response": {...}}, ...]
// The AWS SDK is pointed at a loopback server (AWS_ENDPOINT_URL_BEDROCK_RUNTIME; HTTP/1.1, which the
// request handler promptfoo gives the SDK speaks) that records each request and gives the case's answer; the credentials are dummies and
// nothing leaves the machine.
import { createServer } from "node:http";
import { jsonAnswer, runOracle } from "./aws_oracle.mjs";

await runOracle({
  createServer,
  endpoint: "AWS_ENDPOINT_URL_BEDROCK_RUNTIME",
  record: (req, body) => ({ method: req.method, path: decodeURIComponent(req.url), body }),
  answer: jsonAnswer,
  result: (r) => ({ ...(r.error ? { error: String(r.error).split("\n")[0] } : {}), output: r.output ?? null }),
});

// What promptfoo itself sends and makes of a Bedrock knowledge base's answer (`bedrock:kb:MODEL`): the provenance of
// the requests and outputs pinned in tests/compat/test_providers_kb.py.
// Usage: PROMPTFOO_CACHE_ENABLED=false node bench/kb_oracle.mjs <promptfoo dist/src/index.js> < cases.json
// cases.json: [{"provider": "bedrock:kb:MODEL", "config": {...}, "prompt": "...", "status": 200, "response": {...}}, ...]
// The AWS SDK (its HTTP/2 client: cleartext h2c here) is pointed at a loopback HTTP/2 server (AWS_ENDPOINT_URL_BEDROCK_AGENT_RUNTIME) that records each request
// and gives the case's answer; the credentials are dummies and nothing leaves the machine.
import { createServer } from "node:http2";
import { jsonAnswer, runOracle, signedFor } from "./aws_oracle.mjs";

await runOracle({
  createServer,
  endpoint: "AWS_ENDPOINT_URL_BEDROCK_AGENT_RUNTIME",
  record: (req, body) => ({ method: req.method, path: req.url, body, signed_for: signedFor(req) }),
  answer: jsonAnswer,
  result: (r) => (r.error ? { error: String(r.error).split("\n")[0] } : { output: r.output, metadata: r.metadata }),
});

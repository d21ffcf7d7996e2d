// What promptfoo itself sends and makes of a Bedrock agent's answer (`bedrock-agent:AGENT_ID`): the provenance of
// the requests, outputs and metadata pinned in tests/compat/test_providers_agent.py.
// Usage: PROMPTFOO_CACHE_ENABLED=false node bench/agent_oracle.mjs <promptfoo dist/src/index.js> < cases.json
// cases.json: [{"provider": "bedrock-agent:ID", "config": {...}, "prompt": "...", "status": 200,
//               "headers": {...}, "body_base64": "<the answer: an AWS event stream>"}, ...]
// The AWS SDK (its HTTP/2 client: cleartext h2c here) is pointed at a loopback HTTP/2 server
// (AWS_ENDPOINT_URL_BEDROCK_AGENT_RUNTIME) that records each request and gives the case's answer; the credentials are
// dummies and nothing leaves the machine.
import { createServer } from "node:http2";
import { runOracle, signedFor } from "./aws_oracle.mjs";

await runOracle({
  createServer,
  endpoint: "AWS_ENDPOINT_URL_BEDROCK_AGENT_RUNTIME",
  record: (req, body) => ({ method: req.method, path: req.url, body, signed_for: signedFor(req) }),
  answer: (c, res) => {
    res.writeHead(c.status || 200, { "content-type": "application/vnd.amazon.eventstream", ...(c.headers || {}) });
    res.end(Buffer.from(c.body_base64, "base64"));
  },
  result: (r) => (r.error ? { error: String(r.error).split("\n")[0] } : { output: r.output, metadata: r.metadata }),
});

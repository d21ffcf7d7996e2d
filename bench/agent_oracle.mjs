// What promptfoo itself sends and makes of a Bedrock agent's answer (`bedrock-agent:AGENT_ID`): the provenance of
// the requests, outputs and metadata pinned in tests/compat/test_providers_agent.py.
// Usage: PROMPTFOO_CACHE_ENABLED=false node bench/agent_oracle.mjs <promptfoo dist/src/index.js> < cases.json
// cases.json: [{"provider": "bedrock-agent:ID", "config": {...}, "prompt": "...", "status": 200,
//               "headers": {...}, "body_base64": "<the answer: an AWS event stream>"}, ...]
// The AWS SDK (its HTTP/2 client: cleartext h2c here) is pointed at a loopback HTTP/2 server
// (AWS_ENDPOINT_URL_BEDROCK_AGENT_RUNTIME) that records each request and gives the case's answer; the credentials are
// dummies and nothing leaves the machine.
import { readFileSync } from "node:fs";
import { createServer } from "node:http2";
import { pathToFileURL } from "node:url";

const { loadApiProvider } = await import(pathToFileURL(process.argv[2]).href);
const cases = JSON.parse(readFileSync(0, "utf-8"));
let current = null;
let seen = null;
const server = createServer();
server.on("request", (req, res) => {
  const chunks = [];
  req.on("data", (c) => chunks.push(c));
  req.on("end", () => {
    const body = Buffer.concat(chunks).toString("utf-8");
    seen = { method: req.method, path: req.url, body: body ? JSON.parse(body) : null,
             signed_for: (/Credential=[^/]+\/\d{8}\/([^/]+)\/([^/]+)\//.exec(req.headers.authorization || "") || []).slice(1) };
    const headers = { "content-type": "application/vnd.amazon.eventstream", ...(current.headers || {}) };
    res.writeHead(current.status || 200, headers);
    res.end(Buffer.from(current.body_base64, "base64"));
  });
});
await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
process.env.AWS_ENDPOINT_URL_BEDROCK_AGENT_RUNTIME = `http://127.0.0.1:${server.address().port}`;
process.env.AWS_ACCESS_KEY_ID = "AKIDORACLE";
process.env.AWS_SECRET_ACCESS_KEY = "oracle-secret";
process.env.AWS_BEDROCK_MAX_RETRIES = "1";
const results = [];
for (const c of cases) {
  current = c;
  seen = null;
  try {
    const provider = await loadApiProvider(c.provider, { options: { config: c.config } });
    const r = await provider.callApi(c.prompt);
    results.push({ request: seen, ...(r.error ? { error: String(r.error).split("\n")[0] } : { output: r.output, metadata: r.metadata }) });
  } catch (err) {
    results.push({ request: seen, error: String(err.message || err).split("\n")[0] });
  }
}
server.close();
console.log(JSON.stringify(results));

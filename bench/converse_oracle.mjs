// What promptfoo itself sends to Bedrock's Converse API and makes of its answer (`bedrock:converse:MODEL`): the
// provenance of the requests and outputs pinned in tests/compat/test_providers_converse.py.
// Usage: PROMPTFOO_CACHE_ENABLED=false node bench/converse_oracle.mjs <promptfoo dist/src/index.js> < cases.json
// cases.json: [{"provider": "bedrock:converse:MODEL", "config": {...}, "prompt": "...", "response": {...}}, ...]
// The AWS SDK is pointed at a loopback server (AWS_ENDPOINT_URL_BEDROCK_RUNTIME; HTTP/1.1, which the
// request handler promptfoo gives the SDK speaks) that records each request and gives the case's answer; the credentials are dummies and
// nothing leaves the machine.
import { readFileSync } from "node:fs";
import { createServer } from "node:http";
import { pathToFileURL } from "node:url";

const { loadApiProvider } = await import(pathToFileURL(process.argv[2]).href);
const cases = JSON.parse(readFileSync(0, "utf-8"));
let current = null;
let seen = null;
const handle = (req, res) => {
  const chunks = [];
  req.on("data", (c) => chunks.push(c));
  req.on("end", () => {
    const body = Buffer.concat(chunks).toString("utf-8");
    seen = { method: req.method, path: decodeURIComponent(req.url), body: body ? JSON.parse(body) : null };
    const headers = { "content-type": "application/json" };
    if ((current.status || 200) !== 200) headers["x-amzn-errortype"] = "ValidationException";
    res.writeHead(current.status || 200, headers);
    res.end(JSON.stringify(current.response));
  });
};
const server = createServer();
server.on("request", handle);
await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
process.env.AWS_ENDPOINT_URL_BEDROCK_RUNTIME = `http://127.0.0.1:${server.address().port}`;
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
    results.push({ request: seen, ...(r.error ? { error: String(r.error).split("\n")[0] } : {}), output: r.output ?? null });
  } catch (err) {
    results.push({ request: seen, error: String(err.message || err).split("\n")[0] });
  }
}
server.close();
console.log(JSON.stringify(results));

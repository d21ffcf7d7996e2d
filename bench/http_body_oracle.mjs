// What promptfoo itself sends for an `http` provider's body: the provenance of the requests pinned in
// tests/compat/data/http_bodies.json (checked by tests/compat/test_http_body.py against bot/evals/http_body.py).
// Usage: PROMPTFOO_CACHE_ENABLED=false node bench/http_body_oracle.mjs <promptfoo dist/src/index.js> OUT.json < cases.json
// (the results go to OUT.json: promptfoo logs its warnings on standard output)
// cases.json: [{"name": "...", "config": {...the provider's config, without url}, "prompt": "...", "vars": {...}}, ...]
// Each request goes to a loopback HTTP server that records method, content type and body; nothing leaves the machine.
import { readFileSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import { pathToFileURL } from "node:url";

const { loadApiProvider } = await import(pathToFileURL(process.argv[2]).href);
const cases = JSON.parse(readFileSync(0, "utf-8"));
let seen = null;
const server = createServer((req, res) => {
  let body = "";
  req.setEncoding("utf-8");
  req.on("data", (chunk) => (body += chunk));
  req.on("end", () => {
    seen = { method: req.method, contentType: req.headers["content-type"] ?? null, body };
    res.writeHead(200, { "content-type": "application/json" });
    res.end('{"output": "ok"}');
  });
});
await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
const url = `http://127.0.0.1:${server.address().port}/generate`;
const results = [];
for (const c of cases) {
  seen = null;
  let error = null;
  try {
    const provider = await loadApiProvider("http", { options: { config: { url, ...c.config } } });
    const out = await provider.callApi(c.prompt, { vars: c.vars ?? {}, prompt: { raw: c.prompt, label: "p" } });
    error = out.error ?? null;
  } catch (err) {
    error = String(err);
  }
  results.push({ ...c, sent: seen, error });
}
server.close();
writeFileSync(process.argv[3], JSON.stringify(results, null, 1) + "\n");

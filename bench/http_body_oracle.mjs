// What promptfoo itself sends for an `http` provider's body: the provenance of the requests pinned in
// tests/compat/data/http_bodies.json (checked by tests/compat/test_http_body.py against bot/evals/http_body.py).
// Usage: PROMPTFOO_CACHE_ENABLED=false node bench/http_body_oracle.mjs <promptfoo dist/src/index.js> OUT.json < cases.json
// (the results go to OUT.json: promptfoo logs its warnings on standard output)
// cases.json: [{"name": "...", "config": {...the provider's config, without url}, "prompt": "...", "vars": {...},
// "path": "/generate" (optional: the URL's path; /fail… answers 500, /token… answers an OAuth token)}, ...]
// (ORIGIN in a config stands for the server's http://127.0.0.1:PORT, HOSTPORT for its 127.0.0.1:PORT)
// "files": {"relative/path": "text"} (optional) are written to a fresh folder, the config's folder for that case
// (a `request: file://…` is read from it), with ORIGIN and HOSTPORT replaced as in the config
// Each request goes to a loopback HTTP server that records method, path and query, content type, authorization and
// x-* headers and body (the last request as `sent`, every one in `requests`); nothing leaves the machine. `output` is
// what promptfoo's provider answered. The pins of tests/compat/data/http_config.json were made with
// PF_TOKEN=tok-env PF_USER=ann PF_PASS=pw in the environment.
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { createServer } from "node:http";
import { pathToFileURL } from "node:url";

const { loadApiProvider } = await import(pathToFileURL(process.argv[2]).href);
const cases = JSON.parse(readFileSync(0, "utf-8"));
let seen = null;
let requests = [];
const server = createServer((req, res) => {
  let body = "";
  req.setEncoding("utf-8");
  req.on("data", (chunk) => (body += chunk));
  req.on("end", () => {
    const headers = Object.fromEntries(Object.entries(req.headers).filter(([k]) => k === "authorization" || k.startsWith("x-")));
    seen = { method: req.method, contentType: req.headers["content-type"] ?? null, body, path: req.url, headers };
    requests.push(seen);
    const status = req.url.startsWith("/fail") ? 500 : 200;
    res.writeHead(status, { "content-type": "application/json" });
    res.end(req.url.startsWith("/token") ? `{"access_token": "tok-${requests.length}", "expires_in": 3600}`
      : status === 500 ? '{"error": "down"}' : '{"output": "ok"}');
  });
});
await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
const origin = `http://127.0.0.1:${server.address().port}`;
const results = [];
for (const c of cases) {
  seen = null;
  requests = [];
  let error = null;
  let output = null;
  try {
    const local = (text) => text.replaceAll("ORIGIN", origin).replaceAll("HOSTPORT", origin.slice("http://".length));
    const config = JSON.parse(local(JSON.stringify(c.config)));
    if (c.files) {  // promptfoo reads a config's files relative to its folder (here: the working directory)
      const folder = mkdtempSync(join(tmpdir(), "http-oracle-"));
      for (const [name, text] of Object.entries(c.files)) {
        mkdirSync(dirname(join(folder, name)), { recursive: true });
        writeFileSync(join(folder, name), local(text));
      }
      process.chdir(folder);
    }
    // a raw `request` says where it goes (its Host header): no url then, as promptfoo's examples write it
    const url = config.request ? {} : { url: origin + (c.path ?? "/generate") };
    const provider = await loadApiProvider("http", { options: { config: { ...url, ...config } } });
    for (let i = 0; i < (c.calls ?? 1); i++) {
      const out = await provider.callApi(c.prompt, { vars: c.vars ?? {}, prompt: { raw: c.prompt, label: "p" } });
      error = out.error ?? null;
      output = out.output ?? null;
    }
  } catch (err) {
    error = String(err);
  }
  results.push({ ...c, sent: seen, requests: requests.map((r) => ({ ...r, path: r.path })), output, error });
}
server.close();
writeFileSync(process.argv[3], JSON.stringify(results, null, 1) + "\n");

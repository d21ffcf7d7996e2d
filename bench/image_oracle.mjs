// What promptfoo itself sends and outputs for its image-generation providers (openai:image, xai:image,
// hyperbolic:image, google:image via the Gemini API, google:MODEL-image, replicate:image, fal:image, cometapi:image): the provenance of the image cases
// pinned in tests/compat/data/vendor_outputs.json (tests/compat/test_vendor_outputs.py).
// Usage: PROMPTFOO_CACHE_ENABLED=false node bench/image_oracle.mjs <promptfoo dist/src/index.js> < cases.json
// cases.json: [{"provider": "openai:image:dall-e-3", "config": {...}, "prompt": "...",
//               "answers": [{"status": 200, "body": {...the vendor's JSON answer}}, ...]}, ...]
// Every request promptfoo (or the fal client it loads) makes goes to a stand-in for fetch that answers with the
// case's answers in order and records the request; nothing leaves the machine, and no real host is contacted.
import { readFileSync } from "node:fs";
import { pathToFileURL } from "node:url";

const cases = JSON.parse(readFileSync(0, "utf-8"));
let answers = [];
let requests = [];
globalThis.fetch = async (input, init = {}) => {
  const url = typeof input === "string" ? input : input.url ?? String(input);
  let body = init.body;
  try {
    body = body === undefined || body === null ? null : JSON.parse(String(body));
  } catch {
    body = String(body);
  }
  const headers = Object.fromEntries(new Headers(init.headers || {}).entries());
  const u = new URL(url);
  requests.push({ method: (init.method || "GET").toUpperCase(), host: u.host, path: u.pathname + u.search, body,
                  auth: (headers.authorization || "").split(" ")[0] || (headers["x-goog-api-key"] ? "x-goog-api-key" : null) });
  const next = answers.shift() ?? { status: 500, body: { error: "the oracle ran out of answers" } };
  return new Response(JSON.stringify(next.body), { status: next.status ?? 200, headers: { "content-type": "application/json" } });
};
for (const name of ["OPENAI_API_KEY", "XAI_API_KEY", "HYPERBOLIC_API_KEY", "GEMINI_API_KEY", "REPLICATE_API_TOKEN", "FAL_KEY", "COMETAPI_KEY"]) {
  process.env[name] = "oracle";
}
delete process.env.GOOGLE_CLOUD_PROJECT;
delete process.env.GOOGLE_PROJECT_ID;
const { loadApiProvider } = await import(pathToFileURL(process.argv[2]).href);
const results = [];
for (const c of cases) {
  answers = [...c.answers];
  requests = [];
  try {
    const provider = await loadApiProvider(c.provider, { options: { config: c.config } });
    const r = await provider.callApi(c.prompt);
    const out = r.error ? { error: String(r.error).split("\n")[0] } : { output: r.output };
    if (r.cost !== undefined) out.cost = r.cost;
    results.push({ ...out, requests });
  } catch (err) {
    results.push({ error: String(err.message || err).split("\n")[0], requests });
  }
}
console.log(JSON.stringify(results));

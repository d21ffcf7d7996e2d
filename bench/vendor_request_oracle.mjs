// What promptfoo itself sends for the chat vendors of bot/evals/providers_vendors.py and for Anthropic's messages API
// (bot/evals/providers_anthropic.py): the provenance of the requests pinned in tests/compat/data/vendor_requests.json,
// tests/compat/data/anthropic_requests.json and tests/compat/data/ollama_requests.json (checked by
// tests/compat/test_providers_vendors.py, tests/compat/test_providers_anthropic.py and tests/compat/test_providers_ollama.py).
// Usage: PROMPTFOO_CACHE_ENABLED=false node bench/vendor_request_oracle.mjs <promptfoo dist/src/index.js> OUT.json < cases.json
// cases.json: [{"id": "github:openai/gpt-4.1", "config": {...}, "env": {"GITHUB_TOKEN": "k", ...}, "prompt"?: "hi"}, ...] —
// the entries of a pinned file without their `sent` and `error` (each file regenerates to itself); a case with
// "embedding": true is loaded as a grader's embedding model and asked for one embedding.
// fetch is replaced by a recorder that answers one chat completion (a responses API answer under /responses, an
// embedding under /embeddings, an Ollama generate answer or embedding under /api/generate and /api/embeddings, an
// Anthropic message under /v1/messages — the Anthropic SDK calls globalThis.fetch
// too): nothing leaves the machine. The Anthropic SDK's own platform headers (x-stainless-*, user-agent) are left out
// of the record.
import { readFileSync, writeFileSync } from "node:fs";
import { pathToFileURL } from "node:url";

const { loadApiProvider } = await import(pathToFileURL(process.argv[2]).href);
const cases = JSON.parse(readFileSync(0, "utf-8"));
const answer = JSON.stringify({
  id: "c1", object: "chat.completion", model: "m",
  choices: [{ index: 0, message: { role: "assistant", content: "pong" }, finish_reason: "stop" }],
  usage: { prompt_tokens: 3, completion_tokens: 1, total_tokens: 4 },
});
const answers = {
  // Ollama's generate and (older) embeddings APIs (tests/compat/data/ollama_requests.json); before OpenAI's /embeddings
  "/api/generate": JSON.stringify({ model: "m", response: "pong", done: true, done_reason: "stop", prompt_eval_count: 3, eval_count: 1 }),
  "/api/embeddings": JSON.stringify({ embedding: [0.5, 0.25] }),
  "/responses": JSON.stringify({
    id: "r1", object: "response", model: "m", status: "completed",
    output: [{ type: "message", role: "assistant", content: [{ type: "output_text", text: "pong" }] }],
    usage: { input_tokens: 3, output_tokens: 1, total_tokens: 4 },
  }),
  "/embeddings": JSON.stringify({ object: "list", data: [{ object: "embedding", index: 0, embedding: [0.5, 0.25] }],
                                  usage: { prompt_tokens: 1, total_tokens: 1 } }),
  "/v1/messages": JSON.stringify({
    id: "m1", type: "message", role: "assistant", model: "m", content: [{ type: "text", text: "pong" }],
    stop_reason: "end_turn", usage: { input_tokens: 3, output_tokens: 1 },
  }),
};
const platform = (name) => name.startsWith("x-stainless-") || name === "user-agent";
let seen = null;
globalThis.fetch = async (url, init = {}) => {
  seen = {
    url: String(url),
    headers: Object.fromEntries([...new Headers(init.headers || {}).entries()].filter(([k]) => !platform(k))),
    body: init.body ? JSON.parse(init.body) : null,
  };
  const path = new URL(String(url)).pathname;
  const body = Object.entries(answers).find(([end]) => path.endsWith(end))?.[1] ?? answer;
  return new Response(body, { status: 200, headers: { "content-type": "application/json" } });
};
const results = [];
for (const c of cases) {
  seen = null;
  let error = null;
  for (const [k, v] of Object.entries(c.env ?? {})) process.env[k] = v;
  try {
    const provider = await loadApiProvider(c.id, { options: { config: c.config ?? {} } });
    const prompt = c.prompt ?? "hi";  // a case may give its own prompt text
    const out = c.embedding ? await provider.callEmbeddingApi(prompt)
      : await provider.callApi(prompt, { vars: {}, prompt: { raw: prompt, label: "p" } });
    error = out.error ?? null;
  } catch (err) {
    error = String(err);
  }
  for (const k of Object.keys(c.env ?? {})) delete process.env[k];
  results.push({ ...c, sent: seen, error });
}
writeFileSync(process.argv[3], JSON.stringify(results, null, 1) + "\n");

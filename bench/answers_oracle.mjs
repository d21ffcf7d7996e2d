// The output promptfoo itself makes of an OpenAI-style answer (chat completions of OpenAI, Azure and Mistral, and
// the responses API): the provenance of the outputs pinned in tests/compat/test_vendor_outputs.py.
// Usage: PROMPTFOO_CACHE_ENABLED=false node bench/answers_oracle.mjs <promptfoo dist/src/index.js> < cases.json
// cases.json: [{"provider": "openai:chat:gpt-4.1-mini", "config": {...}, "response": {...the vendor's JSON answer}}, ...]
// Each answer is served from a loopback HTTP server the provider is pointed at; nothing leaves the machine.
import { readFileSync } from "node:fs";
import { createServer } from "node:http";
import { pathToFileURL } from "node:url";

const { loadApiProvider } = await import(pathToFileURL(process.argv[2]).href);
const cases = JSON.parse(readFileSync(0, "utf-8"));
let current = null;
const server = createServer((req, res) => {
  req.resume();
  req.on("end", () => {
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify(current));
  });
});
await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
const base = `http://127.0.0.1:${server.address().port}`;
process.env.OPENAI_API_KEY = "oracle";
process.env.MISTRAL_API_KEY = "oracle";
process.env.AZURE_API_KEY = "oracle";
process.env.ANTHROPIC_API_KEY = "oracle";
process.env.GEMINI_API_KEY = "oracle";
process.env.GROQ_API_KEY = "oracle";
process.env.DEEPSEEK_API_KEY = "oracle";
process.env.OPENROUTER_API_KEY = "oracle";
const results = [];
for (const c of cases) {
  current = c.response;
  const where = c.provider.startsWith("azure:") || c.provider.startsWith("anthropic:") || c.provider.startsWith("google:")
    || c.provider.startsWith("ollama:") ? { apiBaseUrl: base } : { apiBaseUrl: `${base}/v1` };
  process.env.OLLAMA_BASE_URL = base;
  try {
    const provider = await loadApiProvider(c.provider, { options: { config: { ...c.config, ...where } } });
    const r = await provider.callApi("hello");
    results.push(r.error ? { error: String(r.error).split("\n")[0] } : { output: r.output });
  } catch (err) {
    results.push({ error: String(err.message || err).split("\n")[0] });
  }
}
server.close();
console.log(JSON.stringify(results));

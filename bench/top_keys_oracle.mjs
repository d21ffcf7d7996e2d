// Which top-level keys of a suite file promptfoo itself defines, and what it does with one it does not: the
// provenance of tests/compat/data/top_level_keys.json (checked by tests/compat/test_top_level_keys.py against
// bot/evals/suite_models.py).
// Usage: node bench/top_keys_oracle.mjs <promptfoo dist/src/index.js> OUT.json < keys.json
// keys.json: ["x-chunk-config", "version", ...] — each is set (to the text "v") beside prompts, providers and tests,
// and the config is read by promptfoo's UnifiedConfigSchema: `valid` says whether it passes, `kept` whether the
// key is still in what promptfoo reads (a key dropped from a valid config changes nothing in its run).
import { readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { pathToFileURL } from "node:url";

const { UnifiedConfigSchema } = await import(pathToFileURL(process.argv[2]).href);
const keys = JSON.parse(readFileSync(0, "utf-8"));
const object = UnifiedConfigSchema.in ?? UnifiedConfigSchema;  // the object schema before its transform
const probed = {};
for (const key of keys) {
  const config = { prompts: ["{{q}}"], providers: ["openai:gpt-4o-mini"], tests: [{ vars: { q: "hi" } }], [key]: "v" };
  const read = UnifiedConfigSchema.safeParse(config);
  probed[key] = { valid: read.success, kept: read.success && Object.prototype.hasOwnProperty.call(read.data, key) };
}
const { version } = JSON.parse(readFileSync(join(dirname(process.argv[2]), "..", "..", "package.json"), "utf-8"));
writeFileSync(process.argv[3], JSON.stringify({ promptfoo: version, defined: Object.keys(object.shape).sort(), probed }, null, 2) + "\n");

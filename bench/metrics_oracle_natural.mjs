// For meteor figures only: promptfoo 0.121.20's `await import("natural")` sees no named exports of that
// CommonJS package on Node 20, so every meteor assertion errors ("PorterStemmer should be loaded"). This
// resolve hook hands it natural's exports as named ones, so its own meteor code scores (WordNet included):
//   node --import ./bench/metrics_oracle_natural.mjs bench/metrics_oracle.mjs <dist/src/index.js> < cases.json
import { createRequire, register } from "node:module";
import { pathToFileURL } from "node:url";
export async function resolve(specifier, context, next) {
  if (specifier === "natural") {
    const path = createRequire(context.parentURL).resolve("natural");
    const source = `import n from ${JSON.stringify(pathToFileURL(path).href)}; export const PorterStemmer = n.PorterStemmer; export const WordNet = n.WordNet;`;
    return { url: "data:text/javascript," + encodeURIComponent(source), shortCircuit: true };
  }
  return next(specifier, context);
}

if (!import.meta.url.includes("?hook")) register(import.meta.url + "?hook");

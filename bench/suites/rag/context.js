// The passages a knowledge base cited, one a line (contextTransform: file://context.js).
module.exports = (output, context) => (context.metadata?.citations ?? [])
  .flatMap((c) => c.retrievedReferences ?? [])
  .map((r) => r.content?.text ?? "")
  .filter((t) => t.length > 0);

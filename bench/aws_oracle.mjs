// The loop the Bedrock oracles share (converse_oracle.mjs, agent_oracle.mjs, kb_oracle.mjs): promptfoo from the path in
// argv[2] calls each case of the JSON on stdin through the AWS SDK, pointed at a loopback server that records the
// request and gives the case's answer; dummy credentials, nothing leaves the machine. Prints the results as one JSON line.
import { readFileSync } from "node:fs";
import { pathToFileURL } from "node:url";

// The region and service a SigV4 Authorization header was signed for.
export const signedFor = (req) => (/Credential=[^/]+\/\d{8}\/([^/]+)\/([^/]+)\//.exec(req.headers.authorization || "") || []).slice(1);

// A case's JSON `response` with its `status` (default 200), typed as the SDK reads a failure.
export const jsonAnswer = (c, res) => {
  const headers = { "content-type": "application/json" };
  if ((c.status || 200) !== 200) headers["x-amzn-errortype"] = "ValidationException";
  res.writeHead(c.status || 200, headers);
  res.end(JSON.stringify(c.response));
};

// createServer: node:http's or node:http2's (the SDK's client decides); endpoint: the AWS_ENDPOINT_URL_* variable
// pointed at it; record(req, body): what the result keeps of a request; answer(c, res): the case's answer;
// result(r): what the result keeps of promptfoo's answer (beside the request).
export async function runOracle({ createServer, endpoint, record, answer, result }) {
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
      seen = record(req, body ? JSON.parse(body) : null);
      answer(current, res);
    });
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  process.env[endpoint] = `http://127.0.0.1:${server.address().port}`;
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
      results.push({ request: seen, ...result(r) });
    } catch (err) {
      results.push({ request: seen, error: String(err.message || err).split("\n")[0] });
    }
  }
  server.close();
  console.log(JSON.stringify(results));
}

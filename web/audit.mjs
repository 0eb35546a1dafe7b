// Runs graphql-http's GraphQL-over-HTTP server audits against a live endpoint; prints JSON.
// Usage: node audit.mjs http://127.0.0.1:8000/graphql
import { auditServer } from 'graphql-http';

const url = process.argv[2];
if (!url) {
  console.error('usage: node audit.mjs <graphql endpoint url>');
  process.exit(2);
}

const results = await auditServer({ url });
const report = { counts: { ok: 0, notice: 0, warn: 0, error: 0 }, results: [] };
for (const result of results) {
  report.counts[result.status] += 1;
  const entry = { id: result.id, name: result.name, status: result.status };
  if (result.status !== 'ok') {
    // A failure carries the Response; its status and body say why without re-running it.
    entry.reason = result.reason;
    entry.httpStatus = result.response.status;
    entry.contentType = result.response.headers.get('content-type');
    entry.body = (await result.response.text().catch(() => '')).slice(0, 500);
  }
  report.results.push(entry);
}
console.log(JSON.stringify(report, null, 2));

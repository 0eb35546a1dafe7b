// Runs one GraphQL operation through the npm graphql-sse client (distinct connections mode)
// against a live gateway and prints JSON: every result, and how the stream ended.
// Usage: node sse.mjs <url> <query> <headers JSON> [results to take, then unsubscribe]
import { createClient } from 'graphql-sse';

const [url, query, headers, take] = process.argv.slice(2);
if (!url || !query) {
  console.error('usage: node sse.mjs <url> <query> <headers JSON> [take]');
  process.exit(2);
}
const limit = take ? Number(take) : Infinity;
// No retries: a test wants to see a failure, not a client quietly trying again.
const client = createClient({ url, headers: JSON.parse(headers || '{}'), retryAttempts: 0 });
const results = [];
let ending = 'complete';
let error = null;
try {
  const iterator = client.iterate({ query });
  for await (const result of iterator) {
    results.push(result);
    if (results.length >= limit) {
      ending = 'unsubscribed';
      break; // return() on the iterator aborts the request, as an app unsubscribing does
    }
  }
} catch (caught) {
  ending = 'error';
  error = String(caught?.message ?? caught);
} finally {
  client.dispose();
}
console.log(JSON.stringify({ results, ending, error }));

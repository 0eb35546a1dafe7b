// Runs one subscription through Apollo Client 4's HttpLink (its native multipart HTTP
// subscriptions) against a live gateway and prints JSON: every result, and how it ended.
// Usage: node --conditions=development apollo-subscribe.mjs <url> <subscription> <headers JSON>
//        [results to take, then unsubscribe]
import { format } from 'node:util';
import { ApolloClient, HttpLink, InMemoryCache, gql } from '@apollo/client';
import { loadDevMessages, loadErrorMessages } from '@apollo/client/dev';

const [url, query, headers, take] = process.argv.slice(2);
if (!url || !query) {
  console.error('usage: node apollo-subscribe.mjs <url> <subscription> <headers JSON> [take]');
  process.exit(2);
}
const warnings = [];
for (const level of ['warn', 'error']) {
  console[level] = (...args) => warnings.push({ level, message: format(...args) });
}
loadDevMessages();
loadErrorMessages();

const limit = take ? Number(take) : Infinity;
const apollo = new ApolloClient({
  cache: new InMemoryCache(),
  link: new HttpLink({ uri: url, headers: JSON.parse(headers || '{}') }),
});

// GraphQL errors of a result (CombinedGraphQLErrors) or of the transport (CombinedProtocolErrors).
function describe(error) {
  if (!error) return null;
  return { name: error.constructor?.name, message: error.message, errors: error.errors ?? null };
}

const report = await new Promise((resolve) => {
  const results = [];
  const subscription = apollo.subscribe({ query: gql(query) }).subscribe({
    next(result) {
      results.push({ data: result.data ?? null, error: describe(result.error) });
      if (results.length >= limit) {
        subscription.unsubscribe(); // aborts the request, as an app leaving the screen does
        resolve({ results, ending: 'unsubscribed' });
      }
    },
    error(error) {
      resolve({ results, ending: 'error', error: describe(error) });
    },
    complete() {
      resolve({ results, ending: 'complete' });
    },
  });
});
apollo.stop();
console.log(JSON.stringify({ ...report, warnings }));

// Follows one visit with Apollo Client 4 over WebSocket (GraphQLWsLink on graphql-ws), its
// normalized InMemoryCache included, and prints each result as a JSON line: {"next": data},
// {"error": ...}, {"complete": true}; then {"warnings": [...]}, every console.warn/console.error
// Apollo made (cache warnings such as "Cache data may be lost"), captured, not printed.
// Usage: node --experimental-websocket apollo-ws.mjs <ws url> <token> <visit global id>
// Node 22+ has WebSocket built in; Node 20 needs --experimental-websocket (undici's).
import { format } from 'node:util';
import { ApolloClient, InMemoryCache, gql } from '@apollo/client';
import { loadDevMessages, loadErrorMessages } from '@apollo/client/dev';
import { GraphQLWsLink } from '@apollo/client/link/subscriptions';
import { createClient } from 'graphql-ws';

const [url, token, visitId] = process.argv.slice(2);
if (!visitId) {
  console.error('usage: node apollo-ws.mjs <ws url> <token> <visit global id>');
  process.exit(2);
}
const print = (message) => process.stdout.write(JSON.stringify(message) + '\n');
const warnings = [];
for (const level of ['warn', 'error']) {
  console[level] = (...args) => warnings.push({ level, message: format(...args) });
}
loadDevMessages();
loadErrorMessages();

const ws = createClient({
  url,
  webSocketImpl: globalThis.WebSocket,
  connectionParams: { 'X-ApiToken': token, 'X-AccountCode': 'vclinic' },
  retryAttempts: 0,
});
const apollo = new ApolloClient({ cache: new InMemoryCache(), link: new GraphQLWsLink(ws) });
const VISIT = gql`
  subscription VisitUpdates($id: ID!) {
    visitUpdated(id: $id) { id status provider { id fullName } }
  }
`;

await new Promise((resolve) => {
  apollo.subscribe({ query: VISIT, variables: { id: visitId } }).subscribe({
    next: (result) => {
      if (result.error) print({ error: String(result.error) });
      else print({ next: result.data });
    },
    error: (error) => {
      print({ error: String(error) });
      resolve();
    },
    complete: () => {
      print({ complete: true });
      resolve();
    },
  });
});
// The last state is in the cache, normalized under the visit's id.
print({ cached: apollo.cache.extract()[`Visit:${visitId}`] ?? null, warnings });
await ws.dispose();

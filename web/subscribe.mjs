// Runs one subscription with the graphql-ws client (graphql-transport-ws) and prints every
// message as a JSON line: {"next": payload}, {"error": ...}, {"complete": true}, {"closed": code}.
// Usage: node --experimental-websocket subscribe.mjs <ws url> <connectionParams JSON> <query>
//        [variables JSON]
// Node 22+ has WebSocket built in; Node 20 needs --experimental-websocket (undici's).
import { createClient } from 'graphql-ws';

const [url, params, query, variables] = process.argv.slice(2);
if (!url || !params || !query) {
  console.error('usage: node subscribe.mjs <ws url> <connectionParams JSON> <query> [variables JSON]');
  process.exit(2);
}
const print = (message) => process.stdout.write(JSON.stringify(message) + '\n');

const client = createClient({
  url,
  webSocketImpl: globalThis.WebSocket,
  connectionParams: JSON.parse(params),
  retryAttempts: 0,
  on: {
    closed: (event) => print({ closed: event?.code ?? null, reason: event?.reason ?? '' }),
  },
});

const done = new Promise((resolve) => {
  client.subscribe(
    { query, variables: variables ? JSON.parse(variables) : undefined },
    {
      next: (payload) => print({ next: payload }),
      error: (error) => {
        print({ error: error?.code ?? (Array.isArray(error) ? error : String(error)) });
        resolve();
      },
      complete: () => {
        print({ complete: true });
        resolve();
      },
    },
  );
});
await done;
await client.dispose();

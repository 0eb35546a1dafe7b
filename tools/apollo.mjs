// Runs every operation in operations/ through Apollo Client 4 with a normalized InMemoryCache
// against a live gateway, and reports what the cache warned about; prints JSON.
// Usage: node --conditions=development apollo.mjs <graphql url> <member token> <provider token>
//        <member global id>
// Any console.warn/console.error (Apollo's cache warnings such as "Cache data may be lost when
// replacing the ... field", missing fields on write) is captured and reported, not printed.
import { readFileSync, readdirSync } from 'node:fs';
import { format } from 'node:util';
import { ApolloClient, HttpLink, InMemoryCache, gql } from '@apollo/client';
import { loadDevMessages, loadErrorMessages } from '@apollo/client/dev';

const [url, memberToken, providerToken, memberId] = process.argv.slice(2);
if (!memberId) {
  console.error('usage: node apollo.mjs <url> <member token> <provider token> <member id>');
  process.exit(2);
}

const warnings = [];
for (const level of ['warn', 'error']) {
  console[level] = (...args) => warnings.push({ level, message: format(...args) });
}
loadDevMessages();
loadErrorMessages();

const operationsDir = new URL('../operations/', import.meta.url);
const documents = Object.fromEntries(
  readdirSync(operationsDir)
    .filter((name) => name.endsWith('.graphql'))
    .map((name) => [name.replace(/\.graphql$/, ''), gql(readFileSync(new URL(name, operationsDir), 'utf8'))]),
);

function client(token) {
  return new ApolloClient({
    cache: new InMemoryCache(),
    link: new HttpLink({ uri: url, headers: { 'X-ApiToken': token, 'X-AccountCode': 'vclinic' } }),
  });
}

const ran = [];
async function query(apollo, name, variables = {}) {
  const { data, error } = await apollo.query({ query: documents[name], variables, fetchPolicy: 'network-only' });
  if (error) throw new Error(`${name}: ${error.message}`);
  ran.push(name);
  return data;
}
async function mutate(apollo, name, variables) {
  const { data, error } = await apollo.mutate({ mutation: documents[name], variables });
  if (error) throw new Error(`${name}: ${error.message}`);
  ran.push(name);
  return data;
}

const iso = (ms) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
const now = Date.now();
const week = { start: iso(now), end: iso(now + 7 * 86400_000) };

// One cache per caller, as an app has: the member's screens, then the provider's.
const member = client(memberToken);
await query(member, 'MobileHome', week);
await query(member, 'HomeScreen', week);
const dashboard = await query(member, 'Dashboard', { first: 20 });
await query(member, 'DashboardScreen');
const visitId = dashboard.visits.edges[0]?.node.id;
if (!visitId) throw new Error('Dashboard: the member has no visits to open');
await query(member, 'VisitDetail', { id: visitId });
await query(member, 'VisitDetailScreen', { id: visitId });

// Booking: an intake, a slot from availability, the appointment; all into the same cache.
const slots = await query(member, 'BookingSlots', week);
const slot = slots.availability.find((s) => s.providerIds.length > 0);
if (!slot) throw new Error('BookingSlots: no open slot in the coming week');
const intake = await mutate(member, 'BookingIntake', {
  input: { reasonForVisit: 'Apollo cache check', type: 'APPOINTMENT', reset: true },
});
if (intake.createIntake.userErrors.length) throw new Error(JSON.stringify(intake.createIntake.userErrors));
const booked = await mutate(member, 'BookAppointment', {
  input: {
    memberId, start: slot.start, end: slot.end,
    intakeId: intake.createIntake.intakeId, providerId: slot.providerIds[0],
  },
});
if (booked.createAppointment.userErrors.length) throw new Error(JSON.stringify(booked.createAppointment.userErrors));
// The screens again over the now-populated cache: replacing cached objects is where Apollo warns.
await query(member, 'MobileHome', week);
await query(member, 'VisitDetail', { id: booked.createAppointment.visitId });

const provider = client(providerToken);
const providerDashboard = await query(provider, 'Dashboard', { first: 20 });
await query(provider, 'DashboardScreen');
const providerVisit = providerDashboard.visits.edges[0]?.node.id;
if (providerVisit) await query(provider, 'VisitDetailScreen', { id: providerVisit });

process.stdout.write(JSON.stringify({ ran, warnings }, null, 2) + '\n');

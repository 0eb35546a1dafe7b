// Apollo Server 5 + @apollo/datasource-rest over the VSee sandbox: the peer the gateway is measured
// against (benchmarks/peers.py). Written as a competent Apollo user would: the gateway's own SDL
// (schema.graphql), one RESTDataSource per request carrying the caller's credentials, per-request
// DataLoaders for objects fetched by id, and resolvers that convert only the fields selected.
//
//   VSEE_API=http://127.0.0.1:8000/vc/next/api_v3 PORT=4000 node apollo.mjs

import http from 'node:http';
import { readFileSync } from 'node:fs';
import { ApolloServer, HeaderMap } from '@apollo/server';
import { RESTDataSource } from '@apollo/datasource-rest';
import DataLoader from 'dataloader';
import { GraphQLError, GraphQLScalarType } from 'graphql';
import * as c from './vsee.mjs';

const API = process.env.VSEE_API;
const PORT = Number(process.env.PORT ?? 4000);
const HOST = process.env.HOST ?? '127.0.0.1';
const MAX_BODY = 1 << 20;
if (!API) throw new Error('set VSEE_API to the sandbox api_v3 base URL');
// Where attachments' relative paths resolve (none for an upstream on an internal address).
const FILES_BASE = c.publicFilesBase(API);

// The upstream pool: at most 100 connections, as the gateway's default pool, and idle ones
// closed after 4 s, before the sandbox (uvicorn, 5 s keep-alive) closes them under a request in
// flight (Node's default agent also waits 5 s, and then a reused socket fails with ECONNRESET).
const upstreamAgent = new http.Agent({ keepAlive: true, maxSockets: 100, timeout: 4000 });

// The same schema the gateway serves, so the same documents validate the same way.
const typeDefs = readFileSync(new URL('../../schema.graphql', import.meta.url), 'utf8');

// -- upstream ---------------------------------------------------------------------------------

class VSeeAPI extends RESTDataSource {
  baseURL = API.endsWith('/') ? API : API + '/';

  constructor(options) {
    super(options);
    this.token = options.token;
    this.account = options.account;
  }

  willSendRequest(_path, request) {
    request.agent = upstreamAgent;
    if (this.token) request.headers['x-apitoken'] = this.token;
    if (this.account) request.headers['x-accountcode'] = this.account;
  }

  // Answers are per caller: were one ever cacheable, its key carries the caller's credentials.
  cacheKeyFor(url, request) {
    return `${this.account}\u0000${this.token}\u0000${request.method ?? 'GET'} ${url}`;
  }

  async envelope(promise) {
    return (await promise) ?? {};
  }

  visits(params) {
    return this.envelope(this.get('visits', { params }));
  }
  async currentVisit() {
    try {
      return (await this.get('visits/current')).data ?? null;
    } catch (error) {
      if (status(error) === 404) return null;
      throw error;
    }
  }
  async visit(id) {
    return (await this.get(`visits/${encodeURIComponent(id)}`)).data;
  }
  async intake(id) {
    return (await this.get(`intakes/${encodeURIComponent(id)}`)).data;
  }
  async room(code) {
    return (await this.get(`rooms/${encodeURIComponent(code)}`)).data;
  }
  rooms(params) {
    return this.envelope(this.get('rooms', { params }));
  }
  async roomProviders(code) {
    return c.asList((await this.get(`rooms/${encodeURIComponent(code)}/providers`)).data);
  }
  async provider(code, id) {
    const path = `rooms/${encodeURIComponent(code)}/providers/${encodeURIComponent(id)}`;
    return (await this.get(path)).data;
  }
  async availability(params) {
    return c.asList((await this.get('availability', { params })).data);
  }
  async createIntake(body) {
    return (await this.post('intakes', { body })).data;
  }
  async createAppointment(body) {
    return (await this.post('appointments', { body })).data;
  }
}

const status = (error) => error?.extensions?.response?.status;

// VSee has no batch-by-ids endpoint: a batch fetches its distinct keys concurrently, and a key's
// failure stays in its own slot.
const loader = (fetchOne, options) =>
  new DataLoader((keys) => Promise.all(keys.map((key) => fetchOne(key).catch((e) => e))), options);

// Per request: the caller's REST data source, and DataLoaders created on first use (a request
// that reads no intake builds no intake loader).
class Loaders {
  constructor(api) {
    this.api = api;
  }
  get visit() {
    return (this._visit ??= loader((id) => this.api.visit(id)));
  }
  get intake() {
    return (this._intake ??= loader((id) => this.api.intake(id)));
  }
  get room() {
    return (this._room ??= loader((code) => this.api.room(code)));
  }
  get roomProviders() {
    return (this._roomProviders ??= loader((code) => this.api.roomProviders(code)));
  }
  get provider() {
    return (this._provider ??= loader(([code, id]) => this.api.provider(code, id), {
      cacheKeyFn: (k) => k.join('/'),
    }));
  }
}

function makeContext(req) {
  const token = req.headers['x-apitoken'];
  const account = req.headers['x-accountcode'];
  const api = new VSeeAPI({ cache: server.cache, token, account });
  const bearer = /^Bearer\s+\S/i.test(req.headers.authorization ?? '');
  // What the credentials say without asking VSee: never the token itself.
  const viewer = {
    accountCode: account || null,
    hasApiToken: Boolean(token) || bearer,
    hasApiKey: Boolean(req.headers['x-apikey']),
  };
  return { api, loaders: new Loaders(api), rooms: null, viewer };
}

// -- global ids: base64url("Type:vsee-id"), as the gateway gives them out ------------------------

const gid = (type, key) =>
  Buffer.from(`${type}:${key}`).toString('base64').replaceAll('+', '-').replaceAll('/', '_');

function vseeId(type, value, field) {
  const text = String(value ?? '').trim();
  const decoded = text && text.length <= 200 ? Buffer.from(text, 'base64url').toString() : '';
  const sep = decoded.indexOf(':');
  const found = sep > 0 ? decoded.slice(0, sep) : '';
  const key = sep > 0 ? decoded.slice(sep + 1) : '';
  if (!key || !/^[A-Za-z]+$/.test(found)) throw badInput(`\`${field}\` is not an id this API gave out`);
  if (found !== type) throw badInput(`\`${field}\` must be the id of a ${type}, not a ${found}`);
  if (!/^[A-Za-z0-9._~-]{1,64}$/.test(key)) throw badInput(`\`${field}\` is not an id this API gave out`);
  return key;
}

// -- resolvers ----------------------------------------------------------------------------------

const passThrough = (name) =>
  new GraphQLScalarType({
    name,
    serialize: (v) => v,
    parseValue: (v) => v,
    parseLiteral: (ast) => ast.value,
  });

const JSONScalar = new GraphQLScalarType({
  name: 'JSON',
  serialize: (v) => v,
  parseValue: (v) => v,
});

// An object some answer embeds in part (a list row, a visit's provider) carries, under MORE, how
// to read the rest: a field whose VSee keys the part lacks reads it through the request's
// DataLoaders (once per object and request), the others cost nothing. Symbols stay out of
// Object.keys, so custom fields and JSON passthroughs never see them.
const MORE = Symbol('more');
const VISIT = Symbol('visit');
const ROOM = Symbol('room');

function field(keys, convert) {
  const list = Array.isArray(keys) ? keys : [keys];
  return (raw, args, ctx, info) => {
    if (!raw[MORE] || list.some((k) => k in raw)) return convert(raw, info);
    return raw[MORE](ctx, info.fieldName).then((full) => convert(full ?? {}, info));
  };
}
const id = (key) => field(key, (raw) => c.asId(raw[key]));
const refGid = (type, key) => field(key, (raw) => {
  const value = c.asRefId(raw[key]);
  return value ? gid(type, value) : null;
});
const refId = (key) => field(key, (raw) => c.asRefId(raw[key]));
const text = (key) => field(key, (raw) => c.asText(raw[key]));
const str = (key) => field(key, (raw) => c.asStr(raw[key]));
const int = (key) => field(key, (raw) => c.asInt(raw[key]));
const bool = (key) => field(key, (raw) => c.asBool(raw[key]));
const time = (key) => field(key, (raw) => c.asDateTime(raw[key]));
const dict = (key) => field(key, (raw) => c.asDict(raw[key]));
const dicts = (value) => c.asList(value).filter((x) => c.asDict(x));
const NAME_KEYS = ['full_name', 'first_name', 'last_name'];
const fullName = field(NAME_KEYS, c.fullName);
const url = (key) => field(key, (raw) => c.asUrl(raw[key]));

const INVOICE_STATUSES = { 10: 'CODE_10' };
const PROVIDER_STATUSES = { 20: 'CODE_20' };
const PRESCRIPTION_STATUSES = { Current: 'CURRENT' };

const CURRENCIES = new Set(['USD', 'EUR', 'GBP', 'CAD', 'AUD', 'NZD', 'SGD', 'INR', 'JPY', 'MXN']);
function money(amount, currency) {
  const value = c.asDecimalStr(amount);
  if (value === null) return null;
  const code = c.asText(currency)?.toUpperCase() ?? null;
  return {
    amount: value,
    currency: code === null ? null : CURRENCIES.has(code) ? code : 'OTHER',
    currencyCode: code,
  };
}

function attachments(value) {
  if (typeof value === 'string') {
    return value
      .split(',')
      .map((part) => part.trim())
      .filter(Boolean)
      .map((part) => ({ _id: part }));
  }
  return c
    .asList(value)
    .filter((item) => c.asDict(item) || (typeof item === 'string' && item.trim()))
    .map((item) => (typeof item === 'string' ? { _id: item } : item));
}

const INTAKE_KNOWN_KEYS = new Set([
  'id', '_id', 'type', 'reason_for_visit', 'location', 'phone', 'consent', 'attachments',
  'consultation', 'medical_profile', 'member_id', 'provider_id', 'provider', 'room_code', 'room',
  'visit_id', 'invoice_id', 'created', 'modified', 'reset',
]);

// What GET /rooms/{code}/providers tells of a provider; anything more needs its detail.
const PROVIDER_LIST_FIELDS = new Set([
  '__typename', 'id', 'code', 'username', 'firstName', 'lastName', 'fullName', 'title', 'suffix',
  'subtype', 'vseeId', 'photo', 'status', 'statusCode', 'shortBio',
]);

function selectedNames(info) {
  const names = new Set();
  const walk = (set) => {
    for (const s of set?.selections ?? []) {
      if (s.kind === 'Field') names.add(s.name.value);
      else if (s.kind === 'InlineFragment') walk(s.selectionSet);
      else if (s.kind === 'FragmentSpread') walk(info.fragments[s.name.value]?.selectionSet);
    }
  };
  for (const node of info.fieldNodes) walk(node.selectionSet);
  return names;
}
const wantsDetail = (info) => [...selectedNames(info)].some((n) => !PROVIDER_LIST_FIELDS.has(n));

function upstreamError(error) {
  if (error instanceof GraphQLError && status(error) === undefined) return error;
  const code = status(error);
  const why = code === undefined ? ` (${error?.code ?? error?.name ?? 'no answer'})` : ` (${code})`;
  return new GraphQLError(code === 404 ? 'Not found' : `VSee refused the request${why}`, {
    extensions: { code: code === 404 ? 'NOT_FOUND' : 'UPSTREAM_ERROR', status: code },
  });
}

const loadOrNull = async (promise) => {
  try {
    return await promise;
  } catch (error) {
    if (status(error) === 404) return null;
    throw upstreamError(error);
  }
};

function badInput(message) {
  return new GraphQLError(message, { extensions: { code: 'BAD_USER_INPUT' } });
}

const PAGE_MAX = 100;
const MAX_CURSOR_OFFSET = 1_000_000;

function visitParams(filter) {
  if (!filter) return {};
  const params = {};
  let from = filter.startFrom ? c.toEpoch(filter.startFrom) : null;
  let to = filter.startTo ? c.toEpoch(filter.startTo) : null;
  if (filter.upcoming !== null && filter.upcoming !== undefined) {
    const now = Math.floor(Date.now() / 1000);
    if (filter.upcoming) from = Math.max(from ?? now, now);
    else to = Math.min(to ?? now, now);
  }
  if (from !== null && to !== null && from > to) throw badInput('startFrom must not be after startTo');
  if (filter.type) params.type = c.VISIT_TYPE_CODES[filter.type];
  const statuses = { WAITING: 10, SCHEDULED: 20, IN_PROGRESS: 30, COMPLETED: 40, CANCELLED: 50 };
  if (filter.status) params.status = statuses[filter.status];
  if (filter.memberId) params.member_id = vseeId('Member', filter.memberId, 'filter.memberId');
  if (filter.providerId) params.provider_id = vseeId('Provider', filter.providerId, 'filter.providerId');
  if (filter.roomCode) params.room_code = filter.roomCode;
  if (from !== null) params.from = from;
  if (to !== null) params.to = to;
  return params;
}

// The gateway's cursors: URL-safe base64 with padding (Python's urlsafe_b64encode).
const cursor = (kind, offset) => gid(kind, offset);
function offsetOf(kind, value, name) {
  const [found, number] = Buffer.from(value, 'base64url').toString().split(':');
  const offset = Number(number);
  if (found !== kind || !/^\d+$/.test(number ?? '') || !Number.isInteger(offset) || offset < 0 || offset > MAX_CURSOR_OFFSET) {
    throw badInput(`\`${name}\` is not a cursor this API gave out`);
  }
  return offset;
}

async function providersOfRoom(ctx, code) {
  return c.asList(await ctx.loaders.roomProviders.load(code));
}

// The account's rooms a provider is searched in, a page of 100 at a time, once per request.
const SEARCH_PAGE = 100;
const SEARCH_PAGES = 5;

async function searchedRooms(ctx) {
  const pages = [];
  for (let page = 1; page <= SEARCH_PAGES; page++) {
    const rows = dicts((await ctx.api.rooms({ page: String(page), limit: String(SEARCH_PAGE) })).data);
    pages.push(rows);
    if (rows.length < SEARCH_PAGE) return { codes: pages.flat().map((r) => c.asText(r.code)).filter(Boolean), more: false };
  }
  return { codes: pages.flat().map((r) => c.asText(r.code)).filter(Boolean), more: true };
}

async function providerAnywhere(ctx, providerId) {
  ctx.rooms ??= searchedRooms(ctx).catch((error) => {
    throw upstreamError(error);
  });
  const { codes, more } = await ctx.rooms;
  const lists = await ctx.loaders.roomProviders.loadMany(codes);
  for (let i = 0; i < codes.length; i++) {
    for (const provider of c.asList(lists[i])) {
      if (String(provider.id) === providerId) return { ...provider, [ROOM]: codes[i] };
    }
  }
  if (more) {
    throw new GraphQLError(`searched the account's first ${SEARCH_PAGE * SEARCH_PAGES} rooms only`, {
      extensions: { code: 'SEARCH_LIMIT_REACHED' },
    });
  }
  return null;
}

// A provider through the cheapest call that answers the selection: the room's list (one call
// for all its providers) when it holds every selected field, else the provider's detail.
async function providerRaw(ctx, providerId, roomCode, detail) {
  let room = roomCode;
  if (!room) {
    const listed = await providerAnywhere(ctx, providerId);
    if (!listed || !detail) return listed;
    room = listed[ROOM];
  } else if (!detail) {
    for (const row of await providersOfRoom(ctx, room)) if (String(row.id) === providerId) return row;
  }
  return loadOrNull(ctx.loaders.provider.load([room, providerId]));
}

// A provider a visit (or host entry) embeds in part: what it lacks of the selection is read
// once, from the room's list or, when the selection asks for more than the list holds, from
// the provider's detail.
function partialProvider(embedded, providerId, roomCode, detail) {
  let more;
  return {
    ...embedded,
    [MORE]: (ctx) =>
      (more ??= providerRaw(ctx, providerId, roomCode, detail).then((found) => ({ ...embedded, ...found }))),
  };
}

// A visit that may lack keys (a list row, a mutation's answer): the rest from its detail.
function partialVisit(raw) {
  const key = c.asId(raw.id) ?? c.asId(raw._id);
  if (key) raw[MORE] = (ctx) => ctx.loaders.visit.load(key).then((d) => ({ ...raw, ...d }));
  return raw;
}

const visitKey = (v) => c.asId(v.id) ?? c.asId(v._id) ?? '';
const visitDetail = (v, ctx) => (v[MORE] ? v[MORE](ctx) : Promise.resolve(v));

function slotProviders(slot, _, ctx, info) {
  const detail = wantsDetail(info);
  ctx.slotProviders ??= new Map();
  return Promise.all(
    slot.providerKeys.map((pid) => {
      const key = `${slot.roomCode}\u0000${pid}\u0000${detail}`;
      let found = ctx.slotProviders.get(key);
      if (!found) {
        found = providerRaw(ctx, pid, slot.roomCode, detail);
        ctx.slotProviders.set(key, found);
      }
      return found;
    }),
  ).then((list) => list.filter(Boolean));
}

// A connection window (`first`/`after` or `last`/`before`) read from VSee's `page`/`limit`
// pages that hold it, together: an offset between page boundaries spans two pages.
async function offsetPage(kind, { first, after, last, before }, fetchPage) {
  let offset;
  if (first !== null && first !== undefined && last !== null && last !== undefined) {
    throw badInput('give `first` or `last`, not both');
  }
  if (last !== null && last !== undefined) {
    if (before === null || before === undefined) throw badInput('`last` needs `before`');
    if (last < 1 || last > PAGE_MAX) throw badInput(`\`last\` must be between 1 and ${PAGE_MAX}`);
    const end = offsetOf(kind, before, 'before');
    offset = Math.max(0, end - last);
    first = end - offset;
    if (first === 0) {
      // An empty window still tells the total: the smallest page that carries it.
      const total = async () => c.asInt((await fetchPage(1, 1)).total);
      return { kind, rows: [], offset: 0, total, lastPageFull: true, empty: true };
    }
  } else {
    first ??= 20;
    if (first < 1 || first > PAGE_MAX) throw badInput(`\`first\` must be between 1 and ${PAGE_MAX}`);
    offset = after ? offsetOf(kind, after, 'after') + 1 : 0;
    if (before !== null && before !== undefined) throw badInput('`before` goes with `last`');
  }
  const page = Math.floor(offset / first);
  const skip = offset % first;
  const pages = skip === 0 ? [page + 1] : [page + 1, page + 2];
  let answers;
  try {
    answers = await Promise.all(pages.map((p) => fetchPage(p, first)));
  } catch (error) {
    throw upstreamError(error);
  }
  const rows = answers.flatMap((a) => dicts(a.data)).slice(skip, skip + first);
  const total = c.asInt(answers[0].total);
  return { kind, rows, offset, total, lastPageFull: dicts(answers.at(-1).data).length === first };
}

function visitsPage(ctx, args) {
  const params = visitParams(args.filter);
  return offsetPage('visit', args, (page, limit) =>
    ctx.api.visits({ ...params, page: String(page), limit: String(limit) }),
  ).then((conn) => ({ ...conn, rows: conn.rows.map(partialVisit) }));
}

const roomsPage = (ctx, args) =>
  offsetPage('room', args, (page, limit) => ctx.api.rooms({ page: String(page), limit: String(limit) }));

const connection = {
  totalCount: (conn) => (typeof conn.total === 'function' ? conn.total() : conn.total),
  nodes: (conn) => conn.rows,
  edges: (conn) => conn.rows.map((node, i) => ({ cursor: cursor(conn.kind, conn.offset + i), node })),
  pageInfo: (conn) => ({
    hasNextPage: conn.empty
      ? true
      : conn.total !== null ? conn.offset + conn.rows.length < conn.total : conn.lastPageFull,
    hasPreviousPage: conn.offset > 0,
    startCursor: conn.rows.length ? cursor(conn.kind, conn.offset) : null,
    endCursor: conn.rows.length ? cursor(conn.kind, conn.offset + conn.rows.length - 1) : null,
  }),
};

const resolvers = {
  DateTime: passThrough('DateTime'),
  Date: passThrough('Date'),
  Decimal: passThrough('Decimal'),
  JSON: JSONScalar,
  URL: passThrough('URL'),

  Node: {
    __resolveType: (obj) => obj.__typename,
  },

  Query: {
    visit: (_, args, ctx) => loadOrNull(ctx.loaders.visit.load(vseeId('Visit', args.id, 'id'))),
    visits: (_, args, ctx) => visitsPage(ctx, args),
    async currentVisit(_, __, ctx) {
      let raw;
      try {
        raw = await ctx.api.currentVisit();
      } catch (error) {
        throw upstreamError(error);
      }
      if (!c.asDict(raw) || Object.keys(raw).length === 0) return null;
      const key = visitKey(raw);
      if (key) ctx.loaders.visit.prime(key, raw);
      return raw;
    },
    intake: (_, args, ctx) => loadOrNull(ctx.loaders.intake.load(vseeId('Intake', args.id, 'id'))),
    room: (_, args, ctx) => loadOrNull(ctx.loaders.room.load(args.code)),
    rooms: (_, args, ctx) => roomsPage(ctx, args),
    viewer: (_, __, ctx) => ctx.viewer,
    provider: (_, args, ctx, info) =>
      providerRaw(ctx, vseeId('Provider', args.id, 'id'), null, wantsDetail(info)),
    node: (_, args, ctx, info) => node(args.id, ctx, info),
    nodes(_, { ids }, ctx, info) {
      if (ids.length > 100) throw badInput('at most 100 ids at once');
      return ids.map((each) => node(each, ctx, info).catch(() => null));
    },
    async availability(_, args, ctx) {
      const start = c.toEpoch(args.start);
      const end = c.toEpoch(args.end);
      if (args.first < 1 || args.first > 1000) throw badInput('`first` must be 1 to 1000');
      if (start === null || end === null) throw badInput('`start` and `end` must be date-times');
      if (end <= start) throw badInput('`end` must be after `start`');
      if (end - start > 31 * 86400) throw badInput('at most 31 days of availability at once');
      const duration = args.durationMinutes;
      if (duration !== null && duration !== undefined && (duration < 5 || duration > 480)) {
        throw badInput('`durationMinutes` must be 5 to 480');
      }
      const params = { start: String(start), end: String(end) };
      if (duration !== null && duration !== undefined) params.duration = String(duration);
      if (args.roomCode) params.room_code = args.roomCode;
      if (args.providerId) params.provider_id = vseeId('Provider', args.providerId, 'providerId');
      if (args.memberId) params.member_id = vseeId('Member', args.memberId, 'memberId');
      if (args.consultationId) params.consultation_id = args.consultationId;
      if (args.intakeId) params.intake_id = vseeId('Intake', args.intakeId, 'intakeId');
      let raw;
      try {
        raw = await ctx.api.availability(params);
      } catch (error) {
        throw upstreamError(error);
      }
      const slots = [];
      for (const slot of raw) {
        const s = c.asDateTime(slot.start);
        const e = c.asDateTime(slot.end);
        if (s === null || e === null) continue;
        const providerKeys = c.asList(slot.providers).filter((p) => p !== null).map(String);
        slots.push({
          start: s,
          end: e,
          durationMinutes: Math.floor((Date.parse(e) - Date.parse(s)) / 60000),
          providerIds: providerKeys.map((p) => gid('Provider', p)),
          providerKeys,
          roomCode: args.roomCode ?? null,
        });
        if (slots.length === args.first) break;
      }
      return slots;
    },
  },

  Mutation: {
    async createIntake(_, { input }, ctx) {
      const body = {};
      const put = (key, value) => {
        if (value !== null && value !== undefined && value !== '') body[key] = value;
      };
      const errors = [];
      if (input.reasonForVisit && input.reasonForVisit.length > 2000) {
        errors.push({ field: ['input', 'reasonForVisit'], message: 'input.reasonForVisit is longer than 2000 characters', code: 'TOO_LONG' });
      }
      let providerId = null;
      try {
        providerId = input.providerId ? vseeId('Provider', input.providerId, 'input.providerId') : null;
      } catch (error) {
        errors.push({ field: ['input', 'providerId'], message: error.message, code: 'INVALID' });
      }
      if (errors.length) return { intakeId: null, userErrors: errors };
      put('reason_for_visit', input.reasonForVisit);
      put('type', input.type ? c.INTAKE_TYPE_CODES[input.type] : null);
      put('provider_id', providerId && /^\d+$/.test(providerId) ? Number(providerId) : providerId);
      put('member_id', input.memberCode);
      put('room_code', input.roomCode);
      put('attachments', input.attachmentIds?.join(','));
      put('location', input.location);
      put('phone', input.phone);
      if (input.reset !== null && input.reset !== undefined) body.reset = input.reset;
      for (const [key, value] of Object.entries(input.customFields ?? {})) put(key, value);
      return write(ctx, () => ctx.api.createIntake(body), (data) => {
        const key = c.asId(data.id);
        if (!key) return { intakeId: null, userErrors: [] };
        // VSee answers only the id and custom fields: the rest is read back if selected.
        return { intakeId: gid('Intake', key), userErrors: [], intake: { ...data, [MORE]: (ctx2) =>
          ctx2.loaders.intake.load(key).then((d) => ({ ...data, ...d })) } };
      }, (userErrors) => ({ intakeId: null, userErrors }));
    },
    async createAppointment(_, { input }, ctx) {
      const errors = [];
      const ids = {};
      for (const [name, type] of [['memberId', 'Member'], ['intakeId', 'Intake'], ['providerId', 'Provider']]) {
        if (!input[name]) continue;
        try {
          ids[name] = vseeId(type, input[name], `input.${name}`);
        } catch (error) {
          errors.push({ field: ['input', name], message: error.message, code: 'INVALID' });
        }
      }
      const start = c.toEpoch(input.start);
      const end = c.toEpoch(input.end);
      if (start === null || end === null || end <= start) {
        errors.push({ field: ['input', 'end'], message: 'end must be after start', code: 'OUT_OF_RANGE' });
      } else if (end - start > 12 * 3600) {
        errors.push({ field: ['input', 'end'], message: 'a visit lasts at most 12 hours', code: 'OUT_OF_RANGE' });
      }
      if (start !== null && start < Date.now() / 1000) {
        errors.push({ field: ['input', 'start'], message: 'start is in the past', code: 'OUT_OF_RANGE' });
      }
      if (errors.length) return { visitId: null, userErrors: errors };
      const body = {
        member_id: ids.memberId,
        slot_start: start,
        slot_end: end,
        type: c.VISIT_TYPE_CODES[input.type] ?? 2,
        intakeId: ids.intakeId,
      };
      if (ids.providerId) body.provider_id = ids.providerId;
      if (input.roomCode) body.room_code = input.roomCode;
      return write(ctx, () => ctx.api.createAppointment(body), (data) => {
        const key = c.asId(data.id);
        if (!key) return { visitId: null, userErrors: [] };
        return { visitId: gid('Visit', key), userErrors: [], visit: partialVisit({ ...data }) };
      }, (userErrors) => ({ visitId: null, userErrors }), 'SLOT_TAKEN', ['input', 'start']);
    },
  },

  VisitConnection: connection,
  RoomConnection: connection,

  Visit: {
    id: field(['id', '_id'], (v) => gid('Visit', visitKey(v))),
    databaseId: field(['id', '_id'], visitKey),
    code: text('code'),
    type: field('type', (v) => c.visitType(v.type)),
    typeCode: int('type'),
    subtype: field(['subtype', 'subType'], (v) => c.asStr('subtype' in v ? v.subtype : v.subType)),
    status: field('status', (v) => c.visitStatus(v.status)),
    statusCode: int('status'),
    start: time('start'),
    end: time('end'),
    actualStart: time('actual_start'),
    actualEnd: time('actual_end'),
    expiry: time('expiry'),
    createdAt: time('created'),
    updatedAt: time('modified'),
    state: text('state'),
    accountCode: text('account_code'),
    roomCode: text('room_code'),
    memberId: refGid('Member', 'member_id'),
    providerId: refGid('Provider', 'provider_id'),
    intakeId: refGid('Intake', 'intake_id'),
    invoiceId: refId('invoice_id'),
    visitGroupId: (v) => c.asRefId(v.visit_group_id),
    relatedWalkinId: refGid('Visit', 'related_walkin_id'),
    isGroup: (v) => 'visit_group_id' in v,
    isTest: bool('is_test'),
    isEditExpired: bool('isEditExpired'),
    isUpcoming: field('start', (v) => {
      const start = c.asDateTime(v.start);
      return start !== null && Date.parse(start) > Date.now();
    }),
    payment: field('payment', (v) => {
      const payment = c.asDict(v.payment);
      return payment ? { ...payment, _currency: c.asDict(v.invoice)?.currency } : null;
    }),
    invoice: dict('invoice'),
    meeting: field('meeting', (v) => {
      const meeting = c.asDict(v.meeting);
      return meeting ? { ...meeting, [VISIT]: visitKey(v) } : null;
    }),
    postVisit: dict('postvisit'),
    callLog: dict('call_logs'),
    hosts: field('hosts', (v) =>
      dicts(v.hosts).map((h) => ({ ...h, [VISIT]: visitKey(v), [ROOM]: c.asText(v.room_code) })),
    ),
    creator: dict('creator'),
    account: dict('account'),
    prescriptions: field('prescriptions', (v) => dicts(v.prescriptions)),
    prescriptionsBeforeVisit: field('prescriptionsBeforeVisit', (v) => dicts(v.prescriptionsBeforeVisit)),
    oneTimeLinkToken: text('one_time_link_token'),
    isInCharge: bool('incharge'),
    pendingActions: field('pending_actions', (v) => c.asList(v.pending_actions)),
    hostIds: field('host_ids', (v) => idsOf(v.host_ids).map((p) => gid('Provider', p))),
    moreProviderIds: field('more_provider_ids', (v) =>
      v.more_provider_ids === null || v.more_provider_ids === undefined
        ? null
        : idsOf(v.more_provider_ids).map((p) => gid('Provider', p)),
    ),
    guestEmails: field('guest_emails', (v) => textsOf(v.guest_emails)),
    guestMobiles: field('guest_mobiles', (v) => textsOf(v.guest_mobiles)),
    reminderType: field('reminder_type', (v) => v.reminder_type ?? null),
    reminderTime: field('reminder_time', (v) => v.reminder_time ?? null),
    notifyList: field('notify_list', (v) => c.asList(v.notify_list)),
    specialtyId: refId('specialty_id'),
    completedBy: refId('completed_by'),
    rootVisit: dict('root_visit'),
    intake: field(['intake', 'intake_id'], (v) => {
      const embedded = c.asDict(v.intake);
      if (embedded && c.asId(embedded.id)) {
        if (!v[MORE]) return embedded;
        // A part of the intake: the visit's detail has it whole.
        return {
          ...embedded,
          [MORE]: (ctx) => v[MORE](ctx).then((d) => ({ ...embedded, ...c.asDict(d.intake) })),
        };
      }
      const intakeId = c.asRefId(v.intake_id);
      return intakeId ? (ctx) => loadOrNull(ctx.loaders.intake.load(intakeId)) : null;
    }),
    provider: field(['provider', 'provider_id'], (v, info) => {
      const embedded = c.asDict(v.provider);
      const providerId = c.asRefId(v.provider_id) ?? c.asId(embedded?.id);
      if (embedded && c.asId(embedded.id)) {
        return partialProvider(embedded, providerId, c.asText(v.room_code), wantsDetail(info));
      }
      if (!c.asRefId(v.provider_id)) return null;
      return (ctx, info) => providerRaw(ctx, providerId, c.asText(v.room_code), wantsDetail(info));
    }),
    member: field(['member', 'member_id'], (v) => {
      const embedded = c.asDict(v.member);
      if (embedded && c.asId(embedded.id)) {
        if (!v[MORE]) return embedded;
        return {
          ...embedded,
          [MORE]: (ctx) => v[MORE](ctx).then((d) => ({ ...embedded, ...c.asDict(d.member) })),
        };
      }
      const memberId = c.asRefId(v.member_id);
      return memberId ? { id: memberId } : null;
    }),
    room: field(['room', 'room_code'], (v) => {
      const embedded = c.asDict(v.room);
      const code = c.asText(embedded?.code) ?? c.asText(v.room_code);
      if (embedded && (embedded.code || embedded.id)) {
        if (!code) return null;
        return {
          ...embedded,
          code,
          [MORE]: (ctx) => ctx.loaders.room.load(code).then((d) => ({ ...embedded, ...d })),
        };
      }
      return code ? (ctx) => loadOrNull(ctx.loaders.room.load(code)) : null;
    }),
    relatedWalkin: field(['related_walkin', 'related_walkin_id'], (v) => {
      const embedded = c.asDict(v.related_walkin);
      if (embedded && c.asId(embedded.id)) return partialVisit({ ...embedded });
      const walkinId = c.asRefId(v.related_walkin_id);
      return walkinId ? (ctx) => loadOrNull(ctx.loaders.visit.load(walkinId)) : null;
    }),
  },

  Intake: {
    id: (i) => gid('Intake', c.asId(i.id) ?? ''),
    databaseId: (i) => c.asId(i.id) ?? '',
    type: field('type', (i) => c.intakeType(i.type)),
    reasonForVisit: text('reason_for_visit'),
    location: text('location'),
    phone: text('phone'),
    consent: bool('consent'),
    memberId: refGid('Member', 'member_id'),
    providerId: field(['provider_id', 'provider'], (i) => {
      const value = c.asRefId(i.provider_id) ?? c.asRefId(i.provider);
      return value ? gid('Provider', value) : null;
    }),
    roomCode: field(['room_code', 'room'], (i) => c.asText(i.room_code) ?? c.asText(i.room)),
    visitId: refGid('Visit', 'visit_id'),
    attachments: field('attachments', (i) => attachments(i.attachments)),
    consultation: dict('consultation'),
    createdAt: time('created'),
    updatedAt: time('modified'),
    medicalProfile: dict('medical_profile'),
    customFields: async (i, _, ctx) => {
      const full = i[MORE] ? await i[MORE](ctx) : i;
      return Object.fromEntries(Object.entries(full).filter(([key]) => !INTAKE_KNOWN_KEYS.has(key)));
    },
    member: field('member_id', (i) => {
      const memberId = c.asRefId(i.member_id);
      return memberId ? { id: memberId } : null;
    }),
    provider: field(['provider_id', 'provider'], (i) => {
      const providerId = c.asRefId(i.provider_id) ?? c.asRefId(i.provider);
      const room = c.asText(i.room_code) ?? c.asText(i.room);
      return providerId ? (ctx, info) => providerRaw(ctx, providerId, room, wantsDetail(info)) : null;
    }),
    room: field(['room_code', 'room'], (i) => {
      const code = c.asText(i.room_code) ?? c.asText(i.room);
      return code ? (ctx) => loadOrNull(ctx.loaders.room.load(code)) : null;
    }),
    visit: field('visit_id', (i) => {
      const visitId = c.asRefId(i.visit_id);
      return visitId ? (ctx) => loadOrNull(ctx.loaders.visit.load(visitId)) : null;
    }),
  },

  IntakePayload: {
    intake: (p, _, ctx) => p.intake ?? null,
  },
  VisitPayload: {
    visit: (p) => p.visit ?? null,
  },

  Provider: {
    id: field('id', (p) => gid('Provider', c.asId(p.id) ?? '')),
    databaseId: field('id', (p) => c.asId(p.id) ?? ''),
    code: text('code'),
    username: text('username'),
    firstName: text('first_name'),
    lastName: text('last_name'),
    fullName,
    title: text('title'),
    suffix: text('suffix'),
    email: text('email'),
    phone: text('phone'),
    subtype: text('subtype'),
    vseeId: text('vseeid'),
    photo: url('photo'),
    status: field('status', (p) => c.fromCode(PROVIDER_STATUSES, p.status)),
    // The raw text, but a code written as a number (20, 20.0) reads as VSee's "20".
    statusCode: field('status', (p) => {
      const code = c.asCode(p.status);
      return code === null ? c.asText(p.status) : String(code);
    }),
    shortBio: text('short_bio'),
  },

  Member: {
    id: field('id', (m) => gid('Member', c.asId(m.id) ?? '')),
    databaseId: field('id', (m) => c.asId(m.id) ?? ''),
    code: text('code'),
    firstName: text('first_name'),
    lastName: text('last_name'),
    fullName,
    username: text('username'),
    email: text('email'),
    phone: text('phone'),
    dob: field('dob', (m) => c.asDate(m.dob)),
    gender: field('gender', (m) => c.gender(m.gender)),
    vseeId: text('vseeid'),
    photo: url('photo'),
    isActive: bool('active'),
  },

  UserRef: {
    id: (u) => gid('UserRef', c.asId(u.id) ?? ''),
    databaseId: (u) => c.asId(u.id) ?? '',
    code: text('code'),
    vseeId: text('vseeid'),
    userType: (u) => ({ 200: 'MEMBER', 160: 'APP', 600: 'GUEST' })[c.asInt(u.type)] ?? 'UNKNOWN',
    userTypeCode: int('type'),
    firstName: text('first_name'),
    lastName: text('last_name'),
    accountCode: text('account_code'),
  },

  VisitHost: {
    id: (h) => gid('VisitHost', `${h[VISIT]}/${c.asId(h.id) ?? ''}`),
    role: text('role'),
    timezone: text('timezone'),
    provider: (h, _, __, info) => partialProvider(h, c.asId(h.id), h[ROOM], wantsDetail(info)),
  },

  Account: { code: text('code'), name: text('name'), domain: text('domain') },

  Payment: {
    databaseId: id('id'),
    amount: (p) => money(p.amount, p.currency || p._currency),
    durationMinutes: int('duration'),
    description: text('description'),
  },

  Invoice: {
    databaseId: id('id'),
    status: (i) => c.fromCode(INVOICE_STATUSES, i.status),
    statusCode: (i) => c.asCode(i.status),
    amountDue: (i) => money(i.amount_due, i.currency),
    isLive: bool('livemode'),
    createdAt: time('created'),
    updatedAt: time('modified'),
  },

  Meeting: {
    id: (m) => gid('Meeting', m[VISIT]),
    meetingId: text('meeting_id'),
    conferencePin: str('conference_pin'),
    expiry: time('expiry'),
    hosts: (m) =>
      c.asList(m.hosts).filter((h) => typeof h === 'string' || typeof h === 'number').map(String),
    phoneNumbers: (m) =>
      Object.entries(c.asDict(m.phone_numbers) ?? {}).flatMap(([country, numbers]) =>
        (Array.isArray(numbers) ? numbers : [numbers])
          .filter((n) => (typeof n === 'string' || typeof n === 'number') && n !== '')
          .map((n) => ({ country, number: String(n) })),
      ),
    recordingAutoStart: bool('recording_auto_start'),
  },

  Attachment: {
    id: (a) => {
      const key = c.asId(a._id) ?? c.asId(a.id);
      return key ? gid('Attachment', key) : null;
    },
    databaseId: (a) => c.asId(a._id) ?? c.asId(a.id),
    name: text('name'),
    path: text('path'),
    url: (a) => c.resolveFile(FILES_BASE, a.path),
    size: int('size'),
    ext: text('ext'),
    creatorId: id('creator_id'),
    remark: text('remark'),
    createdAt: time('created'),
    updatedAt: time('modified'),
  },

  PostVisit: {
    databaseId: id('id'),
    memberId: id('member_id'),
    visitId: id('visit_id'),
    isDraft: bool('draft'),
    modifiedBy: text('modifiedBy'),
    reasonForVisit: text('reason_for_visit'),
    physicalExam: text('physical_exam'),
    assessmentPlan: text('assessment_plan'),
    diagnosis: text('diagnosis'),
    patientInstructions: text('patient_instructions'),
    disposition: text('disposition'),
    attachments: (p) => attachments(p.attachments),
    createdAt: time('created'),
    updatedAt: time('modified'),
  },

  Prescription: {
    databaseId: (p) => c.asId(p.ID || p.id),
    drugId: text('DrugID'),
    ndc: text('NDC'),
    rxNormCode: text('RxNormCode'),
    drug: text('Drug'),
    directions: text('Directions'),
    quantity: (p) => (typeof p.Qty === 'number' ? p.Qty : null),
    quantityUnit: text('QtyQual'),
    refills: int('Refills'),
    daysSupply: int('DaysSupply'),
    status: (p) => c.fromTextCode(PRESCRIPTION_STATUSES, p.Status),
    statusCode: text('Status'),
    prescriberName: text('PrescriberName'),
    prescribedOn: time('PrescriptionDate'),
    raw: (p) => p,
  },

  CallLog: {
    totalStart: time('total_start'),
    totalEnd: time('total_end'),
    totalDurationSeconds: int('total_duration'),
    waitingSeconds: int('waiting_time'),
    source: text('source'),
    patients: (log) => c.asList(log.patients).filter((p) => typeof p === 'string' || typeof p === 'number').map(String),
    sourceIds: (log) => c.asList(log.source_ids).filter((p) => typeof p === 'string' || typeof p === 'number').map(String),
    segments: (log) =>
      Object.keys(log)
        .map((key) => /^call_start_(\d+)$/.exec(key))
        .filter(Boolean)
        .map((m) => Number(m[1]))
        .sort((a, b) => a - b)
        .map((n) => ({
          provider: c.asText(log[`provider_id_${n}`]),
          start: c.asDateTime(log[`call_start_${n}`]),
          durationSeconds: c.asInt(log[`call_duration_${n}`]),
          waitSeconds: c.asInt(log[`wait_time_${n}`]),
        })),
  },

  RootVisit: {
    id: (r) => {
      const key = c.asId(r.id);
      return key ? gid('Visit', key) : null;
    },
    groupChatId: (r) => c.asId(r.group_chat_id),
    participants: (r) => r.participants ?? null,
  },

  Consultation: {
    databaseId: id('id'),
    description: text('description'),
    durationMinutes: int('duration'),
    price: (x) => money(x.amount, x.currency || x._currency),
    charge: bool('charge'),
    group: bool('group'),
    slots: int('slots'),
    visibleToPatient: bool('visible_to_patient'),
  },

  MedicalProfile: {
    databaseId: (p) => c.asId(p._id || p.id),
    userId: id('user_id'),
    conditions: (p) => c.asDict(p.conditions),
    familyConditions: (p) => c.asDict(p.family_conditions),
    socialHistory: (p) => c.asDict(p.social_history),
    healthHabits: (p) => c.asDict(p.health_habits),
    surgeries: (p) => c.asDict(p.surgeries),
    medications: (p) => c.asDict(p.medications),
    allergies: (p) => c.asDict(p.allergies),
    createdAt: time('created'),
    updatedAt: time('modified'),
  },

  MedicalSection: {
    entries: (s) => dicts(s.data),
    updatedAt: time('modified'),
    modifiedBy: text('modifiedBy'),
  },

  Room: {
    id: (r) => gid('Room', c.asText(r.code) ?? ''),
    databaseId: id('id'),
    code: (r) => c.asText(r.code) ?? '',
    name: text('name'),
    slug: text('slug'),
    domain: text('domain'),
    createdAt: time('created'),
    updatedAt: time('modified'),
    specialties: async (r, _, ctx) =>
      dicts((await roomDetail(r, ctx)).specialties).map((s) => ({
        code: c.asText(s.code),
        name: c.asText(s.name),
        durationMinutes: c.asInt(s.duration),
      })),
    consultations: async (r, _, ctx) => {
      const payment = c.asDict((await roomDetail(r, ctx)).payment) ?? {};
      return dicts(payment.consultations).map((x) => ({ ...x, _currency: payment.currency }));
    },
    isClosed: async (r, _, ctx) => c.asBool(c.asDict((await roomDetail(r, ctx)).operation_settings)?.is_closed),
    closeMessage: async (r, _, ctx) =>
      c.asText(c.asDict((await roomDetail(r, ctx)).operation_settings)?.close_msg),
    timezone: async (r, _, ctx) =>
      c.asText(c.asDict((await roomDetail(r, ctx)).operation_settings)?.default_timezone),
    walkinEnabled: async (r, _, ctx) =>
      c.asBool(c.asDict(c.asDict((await roomDetail(r, ctx)).visits)?.walkin)?.enabled),
    appointmentEnabled: async (r, _, ctx) =>
      c.asBool(c.asDict(c.asDict((await roomDetail(r, ctx)).visits)?.appointment)?.enabled),
    providers: async (r, { first }, ctx) => {
      if (first < 1 || first > 200) throw badInput('`first` must be 1 to 200');
      const code = c.asText(r.code);
      return code ? (await providersOfRoom(ctx, code)).slice(0, first) : [];
    },
  },

  Slot: {
    providers: slotProviders,
  },
};

// Relations answered by a function of (ctx, info) are read when the field is resolved.
for (const type of Object.values(resolvers)) {
  if (type instanceof GraphQLScalarType) continue;
  for (const [name, resolve] of Object.entries(type)) {
    if (typeof resolve !== 'function' || name.startsWith('__')) continue;
    type[name] = (parent, args, ctx, info) => {
      const value = resolve(parent, args, ctx, info);
      if (typeof value === 'function') return value(ctx, info);
      if (value instanceof Promise) return value.then((v) => (typeof v === 'function' ? v(ctx, info) : v));
      return value;
    };
  }
}

function idsOf(value) {
  return c.asList(value).filter((x) => (typeof x === 'string' && x.trim()) || typeof x === 'number').map((x) => String(x).trim());
}
function textsOf(value) {
  if (value === null || value === undefined) return null;
  return c.asList(value).filter((x) => typeof x === 'string' && x.trim());
}

async function node(globalId, ctx, info) {
  const decoded = Buffer.from(String(globalId), 'base64url').toString();
  const type = decoded.slice(0, decoded.indexOf(':'));
  if (type === 'Visit') return tag('Visit', await loadOrNull(ctx.loaders.visit.load(vseeId('Visit', globalId, 'id'))));
  if (type === 'Intake') return tag('Intake', await loadOrNull(ctx.loaders.intake.load(vseeId('Intake', globalId, 'id'))));
  if (type === 'Room') return tag('Room', await loadOrNull(ctx.loaders.room.load(vseeId('Room', globalId, 'id'))));
  if (type === 'Provider') {
    return tag('Provider', await providerRaw(ctx, vseeId('Provider', globalId, 'id'), null, wantsDetail(info)));
  }
  if (type === 'Member') return null;
  throw badInput('`id` is not an id this API gave out');
}
const tag = (typename, raw) => (raw ? { ...raw, __typename: typename } : null);

async function roomDetail(room, ctx) {
  if ('payment' in room || 'operation_settings' in room || !room.code) return room;
  return (await loadOrNull(ctx.loaders.room.load(String(room.code)))) ?? {};
}

async function write(ctx, call, ok, refused, conflictCode = 'CONFLICT', conflictField = null) {
  let data;
  try {
    data = await call();
  } catch (error) {
    const code = status(error);
    const message = String(error?.extensions?.response?.body?.message ?? error.message);
    if (code === 409) return refused([{ field: conflictField, message, code: conflictCode }]);
    if (code === 404) return refused([{ field: null, message, code: 'NOT_FOUND' }]);
    if (code === 400 || code === 422) return refused([{ field: null, message, code: 'REJECTED' }]);
    throw upstreamError(error);
  }
  return ok(c.asDict(data) ?? {});
}

// -- HTTP -----------------------------------------------------------------------------------------

const server = new ApolloServer({ typeDefs, resolvers, includeStacktraceInErrorResponses: false });
await server.start();

function reply(res, code, body) {
  res.writeHead(code, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

// The minimal Node integration Apollo's docs describe (executeHTTPGraphQLRequest), plus /healthz.
http
  .createServer(async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (url.pathname === '/healthz') return reply(res, 200, { status: 'ok' });
    if (url.pathname !== '/graphql') return reply(res, 404, { error: 'not found' });
    let size = 0;
    const chunks = [];
    for await (const chunk of req) {
      size += chunk.length;
      if (size > MAX_BODY) return reply(res, 413, { error: 'body too large' });
      chunks.push(chunk);
    }
    let body;
    try {
      body = chunks.length ? JSON.parse(Buffer.concat(chunks).toString('utf8')) : undefined;
    } catch {
      return reply(res, 400, { errors: [{ message: 'malformed JSON body' }] });
    }
    const headers = new HeaderMap();
    for (const [key, value] of Object.entries(req.headers)) {
      if (value !== undefined) headers.set(key, Array.isArray(value) ? value.join(', ') : value);
    }
    const result = await server.executeHTTPGraphQLRequest({
      httpGraphQLRequest: { method: req.method.toUpperCase(), headers, search: url.search, body },
      context: async () => makeContext(req),
    });
    for (const [key, value] of result.headers) res.setHeader(key, value);
    res.statusCode = result.status ?? 200;
    if (result.body.kind === 'complete') return res.end(result.body.string);
    for await (const chunk of result.body.asyncIterator) res.write(chunk);
    res.end();
  })
  .listen(PORT, HOST, () => console.log(`apollo peer on http://${HOST}:${PORT}/graphql`));

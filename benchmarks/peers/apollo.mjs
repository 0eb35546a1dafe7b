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
  async rooms() {
    return c.asList((await this.get('rooms', { params: { limit: '100' } })).data);
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

function makeContext(req) {
  const token = req.headers['x-apitoken'];
  const account = req.headers['x-accountcode'];
  const api = new VSeeAPI({ cache: server.cache, token, account });
  return {
    api,
    loaders: {
      visit: loader((id) => api.visit(id)),
      intake: loader((id) => api.intake(id)),
      room: loader((code) => api.room(code)),
      roomProviders: loader((code) => api.roomProviders(code)),
      provider: loader(([code, id]) => api.provider(code, id), { cacheKeyFn: (k) => k.join('/') }),
    },
    rooms: null,
  };
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

const id = (key) => (raw) => c.asId(raw[key]);
const refId = (key) => (raw) => c.asRefId(raw[key]);
const text = (key) => (raw) => c.asText(raw[key]);
const int = (key) => (raw) => c.asInt(raw[key]);
const bool = (key) => (raw) => c.asBool(raw[key]);
const time = (key) => (raw) => c.asDateTime(raw[key]);
const money = (amount, currency) => {
  const text = c.asDecimalStr(amount);
  return text === null ? null : { amount: text, currency: c.asText(currency) };
};
const dicts = (value) => c.asList(value).filter((x) => c.asDict(x));

function attachments(value) {
  if (typeof value === 'string') {
    return value
      .split(',')
      .map((part) => part.trim())
      .filter(Boolean)
      .map((part) => ({ id: part }));
  }
  return c
    .asList(value)
    .filter((item) => c.asDict(item) || (typeof item === 'string' && item.trim()))
    .map((item) => (typeof item === 'string' ? { id: item } : item));
}

const INTAKE_KNOWN_KEYS = new Set([
  'id', '_id', 'type', 'reason_for_visit', 'location', 'phone', 'consent', 'attachments',
  'consultation', 'medical_profile', 'member_id', 'provider_id', 'provider', 'room_code', 'room',
  'visit_id', 'invoice_id', 'created', 'modified', 'reset',
]);

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

const PAGE_MAX = 100;

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
  if (filter.type && filter.type !== 'UNKNOWN') params.type = c.VISIT_TYPE_CODES[filter.type];
  const statuses = { WAITING: 10, SCHEDULED: 20, IN_PROGRESS: 30, COMPLETED: 40, CANCELLED: 50 };
  if (filter.status && statuses[filter.status]) params.status = statuses[filter.status];
  if (filter.memberId) params.member_id = filter.memberId;
  if (filter.providerId) params.provider_id = filter.providerId;
  if (filter.roomCode) params.room_code = filter.roomCode;
  if (from !== null) params.from = from;
  if (to !== null) params.to = to;
  return params;
}

// The gateway's cursors: URL-safe base64 with padding (Python's urlsafe_b64encode).
const cursor = (offset) =>
  Buffer.from(`visit:${offset}`).toString('base64').replaceAll('+', '-').replaceAll('/', '_');
function offsetOf(after) {
  const [kind, number] = Buffer.from(after, 'base64url').toString().split(':');
  const offset = Number(number);
  if (kind !== 'visit' || !Number.isInteger(offset) || offset < 0) {
    throw new GraphQLError('`after` is not a cursor this API gave out', {
      extensions: { code: 'BAD_USER_INPUT' },
    });
  }
  return offset;
}

function badInput(message) {
  return new GraphQLError(message, { extensions: { code: 'BAD_USER_INPUT' } });
}

async function providersOfRoom(ctx, code) {
  return c.asList(await ctx.loaders.roomProviders.load(code));
}

async function providerAnywhere(ctx, providerId) {
  ctx.rooms ??= ctx.api.rooms();
  const codes = (await ctx.rooms).map((room) => c.asText(room.code)).filter(Boolean);
  const lists = await ctx.loaders.roomProviders.loadMany(codes);
  for (const list of lists) {
    for (const provider of c.asList(list)) if (String(provider.id) === providerId) return provider;
  }
  return null;
}

const resolvers = {
  DateTime: passThrough('DateTime'),
  Date: passThrough('Date'),
  JSON: JSONScalar,

  Query: {
    visit: (_, args, ctx) => loadOrNull(ctx.loaders.visit.load(args.id)),
    async visits(_, { first, after, filter }, ctx) {
      if (first < 1 || first > PAGE_MAX) throw badInput(`\`first\` must be between 1 and ${PAGE_MAX}`);
      const offset = after ? offsetOf(after) + 1 : 0;
      const page = Math.floor(offset / first);
      const skip = offset % first;
      const pages = skip === 0 ? [page + 1] : [page + 1, page + 2];
      const params = visitParams(filter);
      let answers;
      try {
        answers = await Promise.all(
          pages.map((p) => ctx.api.visits({ ...params, page: String(p), limit: String(first) })),
        );
      } catch (error) {
        throw upstreamError(error);
      }
      const rows = answers.flatMap((a) => dicts(a.data)).slice(skip, skip + first);
      const total = c.asInt(answers[0].total);
      return { rows, offset, total, lastPageFull: dicts(answers.at(-1).data).length === first };
    },
    async currentVisit(_, __, ctx) {
      let raw;
      try {
        raw = await ctx.api.currentVisit();
      } catch (error) {
        throw upstreamError(error);
      }
      if (!c.asDict(raw) || Object.keys(raw).length === 0) return null;
      const visitId = c.asId(raw.id);
      if (visitId) ctx.loaders.visit.prime(visitId, raw);
      return raw;
    },
    intake: (_, args, ctx) => loadOrNull(ctx.loaders.intake.load(args.id)),
    room: (_, args, ctx) => loadOrNull(ctx.loaders.room.load(args.code)),
    async rooms(_, __, ctx) {
      ctx.rooms ??= ctx.api.rooms();
      return dicts(await ctx.rooms);
    },
    async availability(_, args, ctx) {
      const start = c.toEpoch(args.start);
      const end = c.toEpoch(args.end);
      if (start === null || end === null) throw badInput('`start` and `end` must be date-times');
      if (end <= start) throw badInput('`end` must be after `start`');
      if (end - start > 31 * 86400) throw badInput('at most 31 days of availability at once');
      if (args.durationMinutes < 5 || args.durationMinutes > 480) {
        throw badInput('`durationMinutes` must be 5 to 480');
      }
      const params = { start: String(start), end: String(end), duration: String(args.durationMinutes) };
      if (args.roomCode) params.room_code = args.roomCode;
      if (args.providerId) params.provider_id = args.providerId;
      if (args.memberId) params.member_id = args.memberId;
      if (args.consultationId) params.consultation_id = args.consultationId;
      if (args.intakeId) params.intake_id = args.intakeId;
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
        slots.push({
          start: s,
          end: e,
          durationMinutes: Math.floor((Date.parse(e) - Date.parse(s)) / 60000),
          providerIds: c.asList(slot.providers).filter((p) => p !== null).map(String),
          roomCode: args.roomCode ?? null,
        });
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
        errors.push({ field: 'input.reasonForVisit', message: 'at most 2000 characters', code: 'TOO_LONG' });
      }
      if (input.type === 'UNKNOWN') {
        errors.push({ field: 'input.type', message: 'type must be WALK_IN or SCHEDULED', code: 'INVALID' });
      }
      if (errors.length) return { intakeId: null, userErrors: errors };
      put('reason_for_visit', input.reasonForVisit);
      put('type', input.type ? c.INTAKE_TYPE_CODES[input.type] : null);
      put('provider_id', input.providerId);
      put('member_id', input.memberCode);
      put('room_code', input.roomCode);
      put('attachments', input.attachmentIds?.join(','));
      put('location', input.location);
      put('phone', input.phone);
      if (input.consultation) put('consultation', JSON.stringify(input.consultation));
      if (input.reset !== null && input.reset !== undefined) put('reset', input.reset);
      for (const [key, value] of Object.entries(input.customFields ?? {})) put(key, value);
      return write(ctx, () => ctx.api.createIntake(body), (data) => {
        const intakeId = c.asId(data.id);
        if (intakeId && Object.keys(data).length > 1) ctx.loaders.intake.clear(intakeId).prime(intakeId, data);
        return { intakeId, userErrors: [] };
      }, (userErrors) => ({ intakeId: null, userErrors }));
    },
    async createAppointment(_, { input }, ctx) {
      const start = c.toEpoch(input.start);
      const end = c.toEpoch(input.end);
      const errors = [];
      if (start === null || end === null || end <= start) {
        errors.push({ field: 'input.end', message: 'end must be after start', code: 'OUT_OF_RANGE' });
      } else if (start < Date.now() / 1000) {
        errors.push({ field: 'input.start', message: 'start is in the past', code: 'OUT_OF_RANGE' });
      }
      if (errors.length) return { visitId: null, userErrors: errors };
      const body = {
        member_id: input.memberId,
        slot_start: start,
        slot_end: end,
        type: c.VISIT_TYPE_CODES[input.type] ?? 2,
        intakeId: input.intakeId,
      };
      if (input.providerId) body.provider_id = input.providerId;
      if (input.roomCode) body.room_code = input.roomCode;
      return write(ctx, () => ctx.api.createAppointment(body), (data) => {
        const visitId = c.asId(data.id);
        if (visitId && Object.keys(data).length > 1) ctx.loaders.visit.clear(visitId).prime(visitId, data);
        return { visitId, userErrors: [] };
      }, (userErrors) => ({ visitId: null, userErrors }), 'SLOT_TAKEN');
    },
  },

  IntakePayload: {
    intake: (p, _, ctx) => (p.intakeId ? loadOrNull(ctx.loaders.intake.load(p.intakeId)) : null),
  },
  VisitPayload: {
    visit: (p, _, ctx) => (p.visitId ? loadOrNull(ctx.loaders.visit.load(p.visitId)) : null),
  },

  VisitConnection: {
    totalCount: (conn) => conn.total,
    nodes: (conn) => conn.rows,
    edges: (conn) => conn.rows.map((node, i) => ({ cursor: cursor(conn.offset + i), node })),
    pageInfo: (conn) => ({
      hasNextPage:
        conn.total !== null ? conn.offset + conn.rows.length < conn.total : conn.lastPageFull,
      hasPreviousPage: conn.offset > 0,
      startCursor: conn.rows.length ? cursor(conn.offset) : null,
      endCursor: conn.rows.length ? cursor(conn.offset + conn.rows.length - 1) : null,
    }),
  },

  Visit: {
    id: (v) => c.asId(v.id) ?? c.asId(v._id) ?? '',
    code: text('code'),
    type: (v) => c.visitType(v.type),
    typeCode: int('type'),
    subtype: (v) => c.asInt(v.subtype ?? v.subType),
    status: (v) => c.visitStatus(v.status),
    statusCode: int('status'),
    start: time('start'),
    end: time('end'),
    actualStart: time('actual_start'),
    actualEnd: time('actual_end'),
    expiry: time('expiry'),
    created: time('created'),
    modified: time('modified'),
    state: text('state'),
    accountCode: text('account_code'),
    roomCode: text('room_code'),
    memberId: refId('member_id'),
    providerId: refId('provider_id'),
    intakeId: refId('intake_id'),
    invoiceId: refId('invoice_id'),
    visitGroupId: refId('visit_group_id'),
    relatedWalkinId: refId('related_walkin_id'),
    isGroup: (v) => 'visit_group_id' in v,
    isTest: bool('is_test'),
    isEditExpired: bool('isEditExpired'),
    isUpcoming: (v) => {
      const start = c.asDateTime(v.start);
      return start !== null && Date.parse(start) > Date.now();
    },
    payment: (v) => {
      const payment = c.asDict(v.payment);
      return payment ? { ...payment, _currency: c.asDict(v.invoice)?.currency } : null;
    },
    invoice: (v) => c.asDict(v.invoice),
    meeting: (v) => c.asDict(v.meeting),
    postVisit: (v) => c.asDict(v.postvisit),
    callLog: (v) => c.asDict(v.call_logs),
    hosts: (v) => dicts(v.hosts),
    creator: (v) => c.asDict(v.creator),
    account: (v) => c.asDict(v.account),
    prescriptions: (v) => dicts(v.prescriptions),
    prescriptionsBeforeVisit: (v) => dicts(v.prescriptionsBeforeVisit),
    intake(v, _, ctx) {
      const embedded = c.asDict(v.intake);
      if (embedded && c.asId(embedded.id)) return embedded;
      const intakeId = c.asRefId(v.intake_id);
      return intakeId ? loadOrNull(ctx.loaders.intake.load(intakeId)) : null;
    },
    provider(v, _, ctx) {
      const embedded = c.asDict(v.provider);
      if (embedded && c.asId(embedded.id)) return embedded;
      const providerId = c.asRefId(v.provider_id);
      if (!providerId) return null;
      const room = c.asText(v.room_code);
      if (!room) return providerAnywhere(ctx, providerId);
      return loadOrNull(ctx.loaders.provider.load([room, providerId]));
    },
    member(v) {
      const embedded = c.asDict(v.member);
      if (embedded && c.asId(embedded.id)) return embedded;
      const memberId = c.asRefId(v.member_id);
      return memberId ? { id: memberId } : null;
    },
    room(v, _, ctx) {
      const embedded = c.asDict(v.room);
      if (embedded && (embedded.code || embedded.id)) return embedded;
      const code = c.asText(v.room_code);
      return code ? loadOrNull(ctx.loaders.room.load(code)) : null;
    },
  },

  Intake: {
    id: (i) => c.asId(i.id) ?? '',
    type: (i) => c.intakeType(i.type),
    reasonForVisit: text('reason_for_visit'),
    location: text('location'),
    phone: text('phone'),
    consent: bool('consent'),
    memberId: refId('member_id'),
    providerId: (i) => c.asRefId(i.provider_id) ?? c.asRefId(i.provider),
    roomCode: (i) => c.asText(i.room_code) ?? c.asText(i.room),
    visitId: refId('visit_id'),
    attachments: (i) => attachments(i.attachments),
    consultation: (i) => c.asDict(i.consultation),
    created: time('created'),
    modified: time('modified'),
    medicalProfile: (i) => c.asDict(i.medical_profile),
    customFields: (i) =>
      Object.fromEntries(Object.entries(i).filter(([key]) => !INTAKE_KNOWN_KEYS.has(key))),
    visit(i, _, ctx) {
      const visitId = c.asRefId(i.visit_id);
      return visitId ? loadOrNull(ctx.loaders.visit.load(visitId)) : null;
    },
  },

  Provider: {
    id: (p) => c.asId(p.id) ?? '',
    code: text('code'),
    username: text('username'),
    firstName: text('first_name'),
    lastName: text('last_name'),
    fullName: c.fullName,
    title: text('title'),
    suffix: text('suffix'),
    email: text('email'),
    phone: text('phone'),
    subtype: text('subtype'),
    vseeId: text('vseeid'),
    photo: text('photo'),
    status: (p) => c.asStr(p.status),
    shortBio: text('short_bio'),
  },

  Member: {
    id: (m) => c.asId(m.id) ?? '',
    code: text('code'),
    firstName: text('first_name'),
    lastName: text('last_name'),
    fullName: c.fullName,
    username: text('username'),
    email: text('email'),
    phone: text('phone'),
    dob: (m) => c.asDate(m.dob),
    gender: (m) => c.gender(m.gender),
    vseeId: text('vseeid'),
    photo: text('photo'),
    active: bool('active'),
  },

  UserRef: {
    id: (u) => c.asId(u.id) ?? '',
    code: text('code'),
    vseeId: text('vseeid'),
    userType: int('type'),
    firstName: text('first_name'),
    lastName: text('last_name'),
    accountCode: text('account_code'),
  },

  Host: {
    id: (h) => c.asId(h.id) ?? '',
    username: text('username'),
    email: text('email'),
    phone: text('phone'),
    fullName: c.fullName,
    title: text('title'),
    suffix: text('suffix'),
    timezone: text('timezone'),
    vseeId: text('vseeid'),
    role: text('role'),
  },

  Account: { code: text('code'), name: text('name'), domain: text('domain') },

  Payment: {
    id: id('id'),
    amount: (p) => money(p.amount, p.currency ?? p._currency),
    duration: int('duration'),
    description: text('description'),
  },

  Invoice: {
    id: id('id'),
    status: int('status'),
    amountDue: (i) => money(i.amount_due, i.currency),
    livemode: bool('livemode'),
    created: time('created'),
    modified: time('modified'),
  },

  Meeting: {
    meetingId: text('meeting_id'),
    conferencePin: (m) => c.asStr(m.conference_pin),
    expiry: time('expiry'),
    hosts: (m) => c.asList(m.hosts).filter((h) => typeof h === 'string' || typeof h === 'number').map(String),
    phoneNumbers: (m) => c.asDict(m.phone_numbers),
    recordingAutoStart: bool('recording_auto_start'),
  },

  Attachment: {
    id: (a) => c.asId(a._id) ?? c.asId(a.id) ?? '',
    name: text('name'),
    path: text('path'),
    size: int('size'),
    ext: text('ext'),
    creatorId: id('creator_id'),
    remark: text('remark'),
    created: time('created'),
    modified: time('modified'),
  },

  PostVisit: {
    id: id('id'),
    memberId: id('member_id'),
    visitId: id('visit_id'),
    draft: bool('draft'),
    modifiedBy: text('modifiedBy'),
    reasonForVisit: text('reason_for_visit'),
    physicalExam: text('physical_exam'),
    assessmentPlan: text('assessment_plan'),
    diagnosis: text('diagnosis'),
    patientInstructions: text('patient_instructions'),
    disposition: text('disposition'),
    attachments: (p) => attachments(p.attachments),
    created: time('created'),
    modified: time('modified'),
  },

  Prescription: {
    id: (p) => c.asId(p.ID || p.id),
    drugId: text('DrugID'),
    ndc: text('NDC'),
    rxNormCode: text('RxNormCode'),
    drug: text('Drug'),
    directions: text('Directions'),
    quantity: (p) => (typeof p.Qty === 'number' ? p.Qty : null),
    quantityUnit: text('QtyQual'),
    refills: int('Refills'),
    daysSupply: int('DaysSupply'),
    status: text('Status'),
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

  Consultation: {
    id: id('id'),
    description: text('description'),
    duration: int('duration'),
    price: (x) => money(x.amount, x.currency ?? x._currency),
    charge: bool('charge'),
    group: bool('group'),
    slots: int('slots'),
    visibleToPatient: bool('visible_to_patient'),
  },

  MedicalProfile: {
    id: (p) => c.asId(p._id || p.id),
    userId: id('user_id'),
    conditions: (p) => c.asDict(p.conditions),
    familyConditions: (p) => c.asDict(p.family_conditions),
    socialHistory: (p) => c.asDict(p.social_history),
    healthHabits: (p) => c.asDict(p.health_habits),
    surgeries: (p) => c.asDict(p.surgeries),
    medications: (p) => c.asDict(p.medications),
    allergies: (p) => c.asDict(p.allergies),
    created: time('created'),
    modified: time('modified'),
  },

  MedicalSection: {
    entries: (s) => dicts(s.data),
    modified: time('modified'),
    modifiedBy: text('modifiedBy'),
  },

  Room: {
    id: id('id'),
    code: text('code'),
    name: text('name'),
    slug: text('slug'),
    domain: text('domain'),
    created: time('created'),
    modified: time('modified'),
    specialties: async (r, _, ctx) =>
      dicts((await roomDetail(r, ctx)).specialties).map((s) => ({
        code: c.asText(s.code),
        name: c.asText(s.name),
        duration: c.asInt(s.duration),
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
    providers: async (r, _, ctx) => {
      const code = c.asText(r.code);
      return code ? providersOfRoom(ctx, code) : [];
    },
  },

  Slot: {
    async providers(slot, _, ctx) {
      if (slot.roomCode) {
        // One list call per room and request (DataLoader caches it) names every provider.
        const byId = new Map((await providersOfRoom(ctx, slot.roomCode)).map((p) => [String(p.id), p]));
        return slot.providerIds.map((pid) => byId.get(pid)).filter(Boolean);
      }
      const found = await Promise.all(slot.providerIds.map((pid) => providerAnywhere(ctx, pid)));
      return found.filter(Boolean);
    },
  },
};

async function roomDetail(room, ctx) {
  if ('payment' in room || 'operation_settings' in room || !room.code) return room;
  return (await loadOrNull(ctx.loaders.room.load(String(room.code)))) ?? {};
}

async function write(ctx, call, ok, refused, conflictCode = 'CONFLICT') {
  let data;
  try {
    data = await call();
  } catch (error) {
    const code = status(error);
    const message = String(error?.extensions?.response?.body?.message ?? error.message);
    if (code === 409) return refused([{ field: null, message, code: conflictCode }]);
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

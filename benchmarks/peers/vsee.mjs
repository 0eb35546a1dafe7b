// VSee's loosely typed JSON to GraphQL values, with the gateway's rules (gateway/schema/_convert.py):
// string-or-number ids, "" and "--" as absent, epoch seconds (or {sec, usec}) as ISO date-times.

const EPOCH_MAX = 32503680000; // year 3000; larger numbers are milliseconds

export function asId(value) {
  if (value === null || value === undefined || typeof value === 'boolean') return null;
  const text = String(value).trim();
  return text === '' ? null : text;
}

export function asRefId(value) {
  const text = asId(value);
  return text === null || text === '0' || text === '--' ? null : text;
}

export function asInt(value) {
  if (value === null || value === undefined || typeof value === 'boolean') return null;
  if (typeof value === 'number') return Number.isFinite(value) ? Math.trunc(value) : null;
  const text = String(value).trim();
  const number = Number(text);
  return text !== '' && Number.isFinite(number) ? Math.trunc(number) : null;
}

export function asFloat(value) {
  if (value === null || value === undefined || typeof value === 'boolean') return null;
  if (typeof value === 'number') return value;
  const text = String(value).trim();
  const number = Number(text);
  return text === '' || !Number.isFinite(number) ? null : number;
}

export function asStr(value) {
  if (typeof value === 'string') return value;
  if (typeof value === 'number') return String(value);
  return null;
}

export function asText(value) {
  const text = asStr(value);
  if (text === null) return null;
  const trimmed = text.trim();
  return trimmed === '' || trimmed === '--' ? null : text;
}

export function asBool(value) {
  if (value === null || value === undefined) return null;
  if (typeof value === 'boolean') return value;
  if (typeof value === 'number') return value !== 0;
  const text = String(value).trim().toLowerCase();
  if (['true', '1', 'yes', 'y'].includes(text)) return true;
  if (['false', '0', 'no', 'n', ''].includes(text)) return false;
  return null;
}

function isoFromEpoch(seconds) {
  if (seconds > EPOCH_MAX) seconds /= 1000;
  const date = new Date(seconds * 1000);
  if (Number.isNaN(date.getTime())) return null;
  // The gateway's DateTime: Python's isoformat() in UTC with a `Z` (no fraction when whole).
  const iso = date.toISOString();
  return (iso.endsWith('.000Z') ? iso.slice(0, 19) : iso.slice(0, 23) + '000') + 'Z';
}

export function asDateTime(value) {
  if (value === null || value === undefined || typeof value === 'boolean') return null;
  if (typeof value === 'object') {
    const sec = asFloat(value.sec);
    if (sec === null) return null;
    return isoFromEpoch(sec + (asFloat(value.usec) ?? 0) / 1e6);
  }
  const number = asFloat(value);
  if (number === null) {
    // ISO 8601 only, as Python's fromisoformat: Date.parse would read almost any text as a date.
    if (!/^\d{4}-\d{2}-\d{2}/.test(String(value).trim())) return null;
    const parsed = Date.parse(String(value).trim());
    if (Number.isNaN(parsed) || new Date(parsed).getUTCFullYear() < 1900) return null;
    return isoFromEpoch(parsed / 1000);
  }
  return number <= 0 ? null : isoFromEpoch(number);
}

export function asDate(value) {
  const text = asText(value);
  if (text === null) return null;
  const day = text.slice(0, 10);
  return /^\d{4}-\d{2}-\d{2}$/.test(day) ? day : null;
}

export function asDecimalStr(value) {
  if (value === null || value === undefined || typeof value === 'boolean') return null;
  const number = Number(String(value).trim());
  return String(value).trim() === '' || !Number.isFinite(number) ? null : number.toFixed(2);
}

export const asDict = (value) =>
  value !== null && typeof value === 'object' && !Array.isArray(value) ? value : null;
export const asList = (value) => (Array.isArray(value) ? value : []);

export function toEpoch(iso) {
  const ms = Date.parse(iso);
  if (Number.isNaN(ms)) return null;
  return Math.floor(ms / 1000);
}

export function fullName(raw) {
  const full = asText(raw.full_name);
  if (full) return full;
  const joined = [asText(raw.first_name), asText(raw.last_name)].filter(Boolean).join(' ');
  return joined || null;
}

const VISIT_TYPES = { 1: 'WALK_IN', 2: 'APPOINTMENT', 3: 'E_CONSULT' };
const VISIT_STATUSES = { 10: 'WAITING', 20: 'SCHEDULED', 30: 'IN_PROGRESS', 40: 'COMPLETED', 50: 'CANCELLED' };
const GENDERS = { 1: 'MALE', 2: 'FEMALE' };
const INTAKE_TYPES = { 1: 'WALK_IN', 2: 'APPOINTMENT' };
export const visitType = (v) => VISIT_TYPES[asInt(v)] ?? 'UNKNOWN';
export const visitStatus = (v) => VISIT_STATUSES[asInt(v)] ?? 'UNKNOWN';
export const gender = (v) => GENDERS[asInt(v)] ?? 'UNKNOWN';
export const intakeType = (v) => INTAKE_TYPES[asInt(v)] ?? 'UNKNOWN';
export const VISIT_TYPE_CODES = { WALK_IN: 1, APPOINTMENT: 2, E_CONSULT: 3 };
export const INTAKE_TYPE_CODES = { WALK_IN: 1, APPOINTMENT: 2 };

// -- codes and enums: the gateway's as_code / from_code / from_text_code ------------------------

const INT32 = 2 ** 31;

export const isAbsent = (value) =>
  value === null || value === undefined || (typeof value === 'string' && ['', '--'].includes(value.trim()));

// VSee's numeric code however it is written (20, "20", 20.0); nothing else is a code.
export function asCode(value) {
  let code = null;
  if (typeof value === 'number' && Number.isInteger(value)) code = value;
  else if (typeof value === 'string' && /^[+-]?[0-9]{1,10}$/.test(value.trim())) code = Number(value.trim());
  return code !== null && code >= -INT32 && code < INT32 ? code : null;
}

// An enum read from a numeric code ({10: 'CODE_10'}): null when absent, UNKNOWN when unmapped.
export const fromCode = (names, value) => (isAbsent(value) ? null : names[asCode(value)] ?? 'UNKNOWN');
// An enum read from a text code ({Current: 'CURRENT'}).
export function fromTextCode(names, value) {
  const text = asText(value);
  return text === null ? null : Object.hasOwn(names, text.trim()) ? names[text.trim()] : 'UNKNOWN';
}

// -- URLs: the gateway's is_absolute_url / as_url / public_files_base / resolve_file --------------

const MAX_URL = 2048;
const URL_CHARS = /^[A-Za-z0-9\-._~:/?#[\]@!$&'()*+,;=%]+$/;
const BAD_PERCENT = /%(?![0-9A-Fa-f]{2})/;
const PATH_SEGMENT = /^[A-Za-z0-9\-._~!$&'()*+,;=:@%]+$/;
const BAD_ESCAPE = /%(?:2[Ff]|5[Cc]|[01][0-9A-Fa-f]|7[Ff])/;

export function isAbsoluteUrl(value) {
  if (typeof value !== 'string' || value.length === 0 || value.length > MAX_URL) return false;
  if (!URL_CHARS.test(value) || BAD_PERCENT.test(value)) return false;
  const match = /^([A-Za-z][A-Za-z0-9+.-]*):\/\/([^/?#]*)/.exec(value);
  if (!match || !['http', 'https'].includes(match[1].toLowerCase())) return false;
  const authority = match[2];
  if (authority.includes('@')) return false; // userinfo: a URL made to read like another host
  const host = /^(\[[^\]]*\]|[^:]*)(?::(\d*))?$/.exec(authority);
  return Boolean(host && host[1] && (host[2] === undefined || host[2] === '' || Number(host[2]) <= 65535));
}

// An absolute http(s) URL as VSee sent it; anything else is null.
export function asUrl(value) {
  const text = asText(value)?.trim() ?? null;
  return text !== null && isAbsoluteUrl(text) ? text : null;
}

// Where relative file paths resolve: the api_v3 base, or null for an upstream on an address
// internal to the deployment (loopback, private, single-label and .local names), where a file's
// URL would name an internal address.
export function publicFilesBase(apiBase) {
  let url;
  try {
    url = new URL(apiBase);
  } catch {
    return null;
  }
  const host = url.hostname.replace(/^\[|\]$/g, '').replace(/\.$/, '').toLowerCase();
  if (!['http:', 'https:'].includes(url.protocol) || !host) return null;
  const ipv4 = /^\d+\.\d+\.\d+\.\d+$/.test(host);
  const internal =
    !host.includes('.') ||
    host.includes(':') || // IPv6 literals: treated as internal (a peer need not sort global ones)
    host === 'localhost' ||
    /\.(localhost|local|internal|localdomain|svc)$/.test(host) ||
    (ipv4 && /^(0|10|127|169\.254|172\.(1[6-9]|2\d|3[01])|192\.168)\./.test(host)) ||
    host.split('.').every((label) => /^([0-9]+|0[xX][0-9A-Fa-f]*)$/.test(label));
  return internal ? null : apiBase.replace(/\/+$/, '');
}

const plainSegments = (segments) =>
  segments.every(
    (seg) =>
      PATH_SEGMENT.test(seg) &&
      !BAD_ESCAPE.test(seg) &&
      !['.', '..'].includes(seg.replaceAll('%2e', '.').replaceAll('%2E', '.')),
  );

// The absolute URL of a file VSee names by a relative path, always under `base`.
export function resolveFile(base, path) {
  const text = asText(path)?.trim() ?? null;
  if (text === null || base === null) return null;
  if (text.includes('://')) {
    const prefix = `${base}/`;
    const rest = text.slice(prefix.length).split('?')[0].split('#')[0];
    const ok = isAbsoluteUrl(text) && text.startsWith(prefix) && plainSegments(rest.split('/').filter(Boolean));
    return ok ? text : null;
  }
  const segments = text.split('/');
  if (text.length > MAX_URL || text.startsWith('/') || segments[0].includes(':') || BAD_PERCENT.test(text)) return null;
  if (!plainSegments(segments)) return null;
  const url = `${base}/${text}`;
  return isAbsoluteUrl(url) ? url : null;
}

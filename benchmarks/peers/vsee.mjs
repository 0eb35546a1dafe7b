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

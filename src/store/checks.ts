// Input checks shared by the SQLite and PostgreSQL stores: the same rules and the same messages
// whichever database is behind the port (the contract suite holds both to them).
import { StoreError } from './errors.ts';
import type { JsonValue, PageQuery } from './types.ts';

export function invalid(message: string): StoreError {
  return new StoreError('AMPERE_ERR_STORE_INVALID', message);
}

export function requireText(v: unknown, field: string): string {
  if (typeof v !== 'string' || v.length === 0) throw invalid(`${field}: a non-empty string is required`);
  return v;
}

export function requireInt(v: unknown, field: string): number {
  if (typeof v !== 'number' || !Number.isInteger(v)) throw invalid(`${field}: an integer is required`);
  return v;
}

export function optionalInt(v: unknown, field: string): number | null {
  return v === undefined || v === null ? null : requireInt(v, field);
}

export function optionalText(v: unknown, field: string): string | null {
  if (v === undefined || v === null) return null;
  if (typeof v !== 'string') throw invalid(`${field}: a string is required`);
  return v;
}

export function jsonText(v: JsonValue | undefined | null): string | null {
  return v === undefined || v === null ? null : JSON.stringify(v);
}

export function pageBounds(q: PageQuery | undefined, def = 100, max = 10_000): { limit: number; offset: number } {
  const limit = q?.limit ?? def;
  const offset = q?.offset ?? 0;
  if (!Number.isInteger(limit) || limit < 0) throw invalid('limit: a non-negative integer is required');
  if (!Number.isInteger(offset) || offset < 0) throw invalid('offset: a non-negative integer is required');
  return { limit: Math.min(limit, max), offset };
}

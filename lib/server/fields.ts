/**
 * Readers for JSON request fields: each returns the value or undefined when
 * absent (null counts as absent, as OpenAI's SDKs send it), and throws a 400
 * naming the field when the type or range is wrong.
 */
import { invalidField } from './api-error';

/** A parsed JSON object body. */
export type JsonObject = Record<string, unknown>;

const show = (v: unknown) => (typeof v === 'string' ? JSON.stringify(v) : Array.isArray(v) ? 'an array' : v === null ? 'null' : typeof v === 'object' ? 'an object' : String(v));

export function isObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The body as an object, or 400. */
export function objectBody(body: unknown): JsonObject {
  if (!isObject(body)) throw invalidField('body', 'the request body must be a JSON object');
  return body;
}

export function optNumber(o: JsonObject, key: string, lo: number, hi: number, path = key): number | undefined {
  const v = o[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isFinite(v)) throw invalidField(path, `${path} must be a number, got ${show(v)}`, 'invalid_type');
  if (v < lo || v > hi) throw invalidField(path, `${path} must be in [${lo}, ${hi}], got ${v}`);
  return v;
}

export function optInt(o: JsonObject, key: string, lo: number, hi: number, path = key): number | undefined {
  const v = o[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v)) throw invalidField(path, `${path} must be an integer, got ${show(v)}`, 'invalid_type');
  if (v < lo || v > hi) throw invalidField(path, `${path} must be in [${lo}, ${hi}], got ${v}`);
  return v;
}

export function optBool(o: JsonObject, key: string, path = key): boolean | undefined {
  const v = o[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'boolean') throw invalidField(path, `${path} must be a boolean, got ${show(v)}`, 'invalid_type');
  return v;
}

export function optString(o: JsonObject, key: string, path = key): string | undefined {
  const v = o[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw invalidField(path, `${path} must be a string, got ${show(v)}`, 'invalid_type');
  return v;
}

export function optObject(o: JsonObject, key: string, path = key): JsonObject | undefined {
  const v = o[key];
  if (v === undefined || v === null) return undefined;
  if (!isObject(v)) throw invalidField(path, `${path} must be an object, got ${show(v)}`, 'invalid_type');
  return v;
}

export function optArray(o: JsonObject, key: string, path = key): unknown[] | undefined {
  const v = o[key];
  if (v === undefined || v === null) return undefined;
  if (!Array.isArray(v)) throw invalidField(path, `${path} must be an array, got ${show(v)}`, 'invalid_type');
  return v;
}

/** A list of token ids in [0, vocab). */
export function tokenIds(v: unknown, path: string, vocab: number): number[] {
  if (!Array.isArray(v)) throw invalidField(path, `${path} must be an array of token ids, got ${show(v)}`, 'invalid_type');
  v.forEach((t, i) => {
    if (typeof t !== 'number' || !Number.isInteger(t) || t < 0 || t >= vocab) {
      throw invalidField(`${path}[${i}]`, `${path}[${i}] must be a token id in [0, ${vocab}), got ${show(t)}`);
    }
  });
  return v as number[];
}

// Schema validation of OCPP 1.6 payloads against the OCA's JSON schemas (each compiled once, when
// its message first arrives, so a server starts without compiling 78 schemas), and the
// tolerant repair of known, harmless deviations of real firmware.
import { createRequire } from 'node:module';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';
import { errorCodeForKeyword, OcppError } from './errors.ts';
import { type Action, ALL_ACTIONS } from './types.generated.ts';

// ajv-formats is CommonJS with a default export; under NodeNext the callable is one level down.
const addFormats = ((addFormatsModule as unknown as { default?: unknown }).default ?? addFormatsModule) as unknown as (
  ajv: Ajv,
  formats: string[],
) => void;

export type ValidationMode = 'strict' | 'tolerant';

export interface JsonSchema {
  $id?: string;
  $ref?: string;
  $schema?: string;
  type?: string;
  enum?: string[];
  maxLength?: number;
  format?: string;
  properties?: Record<string, JsonSchema>;
  required?: string[];
  additionalProperties?: boolean;
  items?: JsonSchema;
  definitions?: Record<string, JsonSchema>;
}

/** One repaired deviation: where, which rule, and what was sent (kept alongside the repair). */
export interface Finding {
  path: string;
  rule: string;
  original: unknown;
  repaired: unknown;
}

export type ValidationResult =
  | { ok: true; payload: Record<string, unknown>; findings: readonly Finding[] }
  | { ok: false; error: OcppError };

const require = createRequire(import.meta.url);

/** The findings of every valid payload: one shared, frozen empty list. */
const NO_FINDINGS: readonly Finding[] = Object.freeze([]);

/** ajv-formats' full RFC 3339 date-time check (with leap seconds), the reference for the fast one. */
const fullDateTime = (
  require('ajv-formats/dist/formats.js') as { fullFormats: Record<string, { validate: (s: string) => boolean }> }
).fullFormats['date-time']!.validate;

/** The shape nearly every charger sends: `2026-12-01T19:45:00(.123)Z` or with a `±hh:mm` offset. */
const COMMON_DATE_TIME = /^\d{4}-\d\d-\d\d[Tt]\d\d:\d\d:\d\d(?:\.\d+)?(?:[Zz]|[+-]\d\d:\d\d)$/;
const DAYS_IN_MONTH = [0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/** Two decimal digits at `i` (the pattern above has already made sure they are digits). */
function two(s: string, i: number): number {
  return (s.charCodeAt(i) - 48) * 10 + s.charCodeAt(i + 1) - 48;
}

/**
 * RFC 3339 date-time (OCPP 1.6 §7 timestamps), the same verdict as ajv-formats' `date-time`, which
 * splits and matches with captures for every timestamp. The common shape is checked here without
 * allocating; anything else (a leap second, `+hhmm`, a bad day) is left to ajv-formats' own check.
 */
export function isDateTime(s: string): boolean {
  if (!COMMON_DATE_TIME.test(s)) return fullDateTime(s);
  const year = two(s, 0) * 100 + two(s, 2);
  const month = two(s, 5);
  const day = two(s, 8);
  const leap = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
  const ok =
    month >= 1 &&
    month <= 12 &&
    day >= 1 &&
    day <= (month === 2 && leap ? 29 : DAYS_IN_MONTH[month]!) &&
    two(s, 11) <= 23 &&
    two(s, 14) <= 59 &&
    two(s, 17) <= 59;
  if (!ok) return fullDateTime(s);
  const z = s.charCodeAt(s.length - 1);
  if (z === 0x5a || z === 0x7a) return true; // Z or z
  return two(s, s.length - 5) <= 23 && two(s, s.length - 2) <= 59 ? true : fullDateTime(s);
}

/** The 78 OCA schemas (28 core + 11 security-extension messages, .req and .conf each). */
export function loadSchemas(): JsonSchema[] {
  return require('ocpp-rpc/lib/schemas/ocpp1_6.json') as JsonSchema[];
}

const ACTION_SET: ReadonlySet<string> = new Set(ALL_ACTIONS);
export function isAction(name: string): name is Action {
  return ACTION_SET.has(name);
}

function describe(err: ErrorObject): string {
  const where = err.instancePath || '(payload)';
  switch (err.keyword) {
    case 'required':
      return `${where}: required field "${(err.params as { missingProperty: string }).missingProperty}" is missing`;
    case 'additionalProperties':
      return `${where}: field "${(err.params as { additionalProperty: string }).additionalProperty}" is not part of this message`;
    case 'enum':
      return `${where}: must be one of ${(err.params as { allowedValues: string[] }).allowedValues.join(', ')}`;
    default:
      return `${where}: ${err.message ?? err.keyword}`;
  }
}

function errorFrom(action: string, kind: 'req' | 'conf', errors: ErrorObject[] | null | undefined): OcppError {
  const first = errors?.[0];
  if (!first) return new OcppError('FormationViolation', `${action}.${kind} failed its schema`);
  return new OcppError(errorCodeForKeyword(first.keyword), `${action}.${kind}: ${describe(first)}`, {
    path: first.instancePath,
    keyword: first.keyword,
  });
}

export class Validator {
  /** The compiled validators by action, one map per direction: no key string built per message. */
  private readonly byKind = { req: new Map<string, ValidateFunction>(), conf: new Map<string, ValidateFunction>() };
  private readonly schemas = new Map<string, JsonSchema>();
  /** Per direction, whether `{}` passes each action's schema (asked once per action). */
  private readonly emptyOk = { req: new Map<string, boolean>(), conf: new Map<string, boolean>() };
  private readonly ajv: Ajv;

  constructor(schemas: JsonSchema[] = loadSchemas()) {
    // multipleOf 0.1 on floats (charging limits) needs a tolerance: 7.3 / 0.1 is not an integer in IEEE 754.
    const ajv = new Ajv({ strict: false, allErrors: false, multipleOfPrecision: 6 });
    addFormats(ajv, ['uri']);
    ajv.addFormat('date-time', { type: 'string', validate: isDateTime });
    this.ajv = ajv;
    for (const s of schemas) {
      // The OCA ids ("urn:Authorize.req") are not valid URNs for ajv's resolver; refs are local anyway.
      const { $schema: _schema, $id: _id, ...rest } = s;
      const id = s.$id!.replace('urn:', '');
      this.schemas.set(id, rest);
    }
  }

  /** Compiles a message's schema the first time that message is validated. */
  private compile(action: Action, kind: 'req' | 'conf'): ValidateFunction {
    const fn = this.ajv.compile(this.schemaFor(action, kind));
    this.byKind[kind].set(action, fn);
    return fn;
  }

  schemaFor(action: Action, kind: 'req' | 'conf'): JsonSchema {
    return this.schemas.get(`${action}.${kind}`)!;
  }

  /**
   * Whether the empty payload `{}` passes this message's schema: the same verdict `validate` gives,
   * remembered, so the many empty answers (MeterValues.conf, StatusNotification.conf) skip the
   * validator without skipping the check.
   */
  acceptsEmpty(action: Action, kind: 'req' | 'conf'): boolean {
    let ok = this.emptyOk[kind].get(action);
    if (ok === undefined) {
      ok = this.validate(action, kind, {}, 'strict').ok;
      this.emptyOk[kind].set(action, ok);
    }
    return ok;
  }

  /** Validates a payload; in tolerant mode repairs known harmless deviations first. */
  validate(action: Action, kind: 'req' | 'conf', payload: unknown, mode: ValidationMode): ValidationResult {
    const fn = this.byKind[kind].get(action) ?? this.compile(action, kind);
    if (fn(payload)) return { ok: true, payload: payload as Record<string, unknown>, findings: NO_FINDINGS };
    const strictError = errorFrom(action, kind, fn.errors);
    if (mode === 'strict') return { ok: false, error: strictError };
    const schema = this.schemaFor(action, kind);
    const findings: Finding[] = [];
    const repaired = repair(schema, payload, '', findings, schema.definitions ?? {});
    if (findings.length > 0 && fn(repaired)) {
      return { ok: true, payload: repaired as Record<string, unknown>, findings };
    }
    // Not repairable: report what is still wrong after the harmless parts were repaired, so a
    // missing field is named even when an over-long serial number came with it.
    return { ok: false, error: findings.length > 0 ? errorFrom(action, kind, fn.errors) : strictError };
  }
}

// --- Tolerant repair ---------------------------------------------------------------------------
// Each rule fixes a deviation seen in real firmware that changes no meaning the central system
// relies on. What cannot be repaired without guessing (a missing field, a non-numeric connectorId,
// an unknown status) is left alone, so validation still fails with the right CALLERROR code.

/** Descriptive strings that may be cut to their maxLength (never identifiers like idTag or key). */
const TRUNCATABLE = new Set([
  'chargePointVendor',
  'chargePointModel',
  'chargePointSerialNumber',
  'chargeBoxSerialNumber',
  'firmwareVersion',
  'iccid',
  'imsi',
  'meterType',
  'meterSerialNumber',
  'info',
  'vendorErrorCode',
  'value',
  'techInfo',
]);

/** Enum fields whose unknown value has a spec-defined catch-all. */
const ENUM_FALLBACK: Record<string, string> = { errorCode: 'OtherError' };
/** Optional enum fields that are dropped when their value is unknown (the sample itself stays). */
const ENUM_DROP_FIELD = new Set(['unit', 'location', 'phase', 'format', 'context']);
/** An array item is dropped when this enum field has an unknown value: the item means nothing without it. */
const ENUM_DROP_ITEM = new Set(['measurand']);

const DROP = Symbol('drop');
const LOCAL_TIME = /^(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?)$/;
const ZONED_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/i;

function resolveRef(s: JsonSchema, defs: Record<string, JsonSchema>): JsonSchema {
  return s.$ref ? (defs[s.$ref.replace('#/definitions/', '')] ?? s) : s;
}

function repair(
  schemaIn: JsonSchema,
  value: unknown,
  path: string,
  findings: Finding[],
  defs: Record<string, JsonSchema>,
  field = '',
): unknown {
  const schema = resolveRef(schemaIn, defs);
  const note = (rule: string, repaired: unknown) => {
    findings.push({ path: path || '/', rule, original: value, repaired: repaired === DROP ? undefined : repaired });
    return repaired;
  };
  switch (schema.type) {
    case 'object': {
      if (typeof value !== 'object' || value === null || Array.isArray(value)) return value;
      const out: Record<string, unknown> = {};
      const props = schema.properties ?? {};
      for (const key of Object.keys(value)) {
        const v = (value as Record<string, unknown>)[key];
        const sub = Object.hasOwn(props, key) ? props[key] : undefined;
        if (!sub) {
          if (schema.additionalProperties === false) {
            findings.push({ path: `${path}/${key}`, rule: 'unknown-field-dropped', original: v, repaired: undefined });
            continue;
          }
          out[key] = v;
          continue;
        }
        const r = repair(sub, v, `${path}/${key}`, findings, defs, key);
        if (r === DROP) {
          if (ENUM_DROP_ITEM.has(key)) return DROP;
          continue;
        }
        // Defined property on a fresh object: a "__proto__" key in a payload stays plain data.
        Object.defineProperty(out, key, { value: r, enumerable: true, writable: true, configurable: true });
      }
      return out;
    }
    case 'array': {
      if (!Array.isArray(value) || !schema.items) return value;
      const out: unknown[] = [];
      value.forEach((item, i) => {
        const r = repair(schema.items!, item, `${path}/${i}`, findings, defs, field);
        if (r !== DROP) out.push(r);
      });
      return out;
    }
    case 'string': {
      let v = value;
      if (typeof v === 'number' && Number.isFinite(v)) v = note('number-as-string', String(v));
      if (typeof v !== 'string') return v;
      if (schema.enum && !schema.enum.includes(v)) {
        const lower = v.toLowerCase();
        const match = schema.enum.find((e) => e.toLowerCase() === lower);
        if (match) return note('enum-case', match);
        const fallback = ENUM_FALLBACK[field];
        if (fallback && schema.enum.includes(fallback)) return note('enum-fallback', fallback);
        if (ENUM_DROP_FIELD.has(field)) return note('unknown-enum-dropped', DROP);
        if (ENUM_DROP_ITEM.has(field)) return note('unknown-enum-item-dropped', DROP);
        return v;
      }
      if (schema.format === 'date-time' && !ZONED_TIME.test(v)) {
        const m = LOCAL_TIME.exec(v);
        if (m) {
          const time = m[2]!.length === 5 ? `${m[2]}:00` : m[2];
          // A timestamp without a zone is read as UTC, as OCPP 1.6 §7 requires of every timestamp.
          return note('timestamp-without-zone', `${m[1]}T${time}Z`);
        }
        return v;
      }
      if (schema.maxLength !== undefined && v.length > schema.maxLength && TRUNCATABLE.has(field)) {
        return note('truncated-to-max-length', v.slice(0, schema.maxLength));
      }
      return v;
    }
    case 'integer': {
      if (typeof value === 'string' && /^-?\d+$/.test(value.trim())) return note('integer-as-string', Number(value));
      if (typeof value === 'number' && Number.isFinite(value) && !Number.isInteger(value)) {
        return note('integer-rounded', Math.round(value));
      }
      return value;
    }
    case 'number': {
      if (typeof value === 'string' && value.trim() !== '' && Number.isFinite(Number(value))) {
        return note('number-as-string', Number(value));
      }
      return value;
    }
    default:
      return value;
  }
}

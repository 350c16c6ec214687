// Request validation. Query strings and path parameters are text, so they are coerced to the
// schema's types; bodies are not: a body must be what its schema says, and an unknown field is a
// 400 naming it rather than silently dropped (fastify's default `removeAdditional` would drop it).
import { Ajv, type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';
import type { FastifySchemaCompiler } from 'fastify';

// ajv-formats is CommonJS with a default export; under NodeNext the callable is one level down.
const addFormats = ((addFormatsModule as unknown as { default?: unknown }).default ?? addFormatsModule) as unknown as (
  ajv: Ajv,
) => void;

function makeAjv(coerce: boolean): Ajv {
  // multipleOf 0.1 on charging limits needs a tolerance (7.3 / 0.1 is not an integer in IEEE 754).
  const ajv = new Ajv({
    strict: false,
    allErrors: false,
    coerceTypes: coerce ? 'array' : false,
    useDefaults: true,
    removeAdditional: false,
    multipleOfPrecision: 6,
  });
  addFormats(ajv);
  // OpenAPI annotations that ajv should not try to interpret.
  ajv.addKeyword({ keyword: 'example' });
  return ajv;
}

// Each route's schema is compiled by its first request, not at start: compiling a few hundred
// route schemas took most of `ampere serve`'s start (issue 14). fastify reads a validator's
// verdict and its `errors` property, which the wrapper passes on.
export function createValidatorCompiler(): FastifySchemaCompiler<unknown> {
  const strict = makeAjv(false);
  const coercing = makeAjv(true);
  return ({ schema, httpPart }) => {
    let compiled: ValidateFunction | undefined;
    const validate = (data: unknown): boolean => {
      compiled ??= (httpPart === 'body' ? strict : coercing).compile(schema as object);
      const ok = compiled(data);
      validate.errors = compiled.errors;
      return ok;
    };
    validate.errors = null as ValidateFunction['errors'];
    return validate as never;
  };
}

// Every error code in the registries is documented in docs/errors.md, and every documented code exists.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { it } from 'node:test';
import { AMPERE_ERRORS } from '../src/errors.ts';
import { OCPP_ERROR_CODES } from '../src/ocpp/errors.ts';

const doc = readFileSync('docs/errors.md', 'utf8');

it('documents every AMPERE_ERR_* code with its HTTP status, and no code that does not exist', () => {
  for (const [code, { status }] of Object.entries(AMPERE_ERRORS)) {
    assert.match(doc, new RegExp(`\\| \`${code}\` \\| ${status} \\|`), `${code} documented with ${status}`);
  }
  const documented = [...doc.matchAll(/`(AMPERE_ERR_[A-Z_]+)`/g)].map((m) => m[1]!);
  assert.deepEqual(
    documented.filter((c) => !(c in AMPERE_ERRORS)),
    [],
  );
});

it('documents every OCPP-J error code', () => {
  for (const code of OCPP_ERROR_CODES) assert.ok(doc.includes(`\`${code}\``), `${code} documented`);
});

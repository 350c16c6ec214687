// Every error code in the registries is documented in docs/errors.md, and every documented code exists.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { it } from 'node:test';
import { AMPERE_ERRORS, AmpereError } from '../src/errors.ts';
import { OCPP_ERROR_CODES } from '../src/ocpp/errors.ts';
import { StoreError, type StoreErrorCode } from '../src/store/errors.ts';

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

// Regression (issue 15.3): the store's codes were outside the registry (500 AMPERE_ERR_INTERNAL at the API).
it("the store's codes are in the registry, documented, and carried by StoreError with their status", () => {
  const storeCodes: StoreErrorCode[] = ['AMPERE_ERR_STORE_INVALID', 'AMPERE_ERR_STORE_CLOSED'];
  for (const code of storeCodes) {
    const e = new StoreError(code, 'x');
    assert.ok(e instanceof AmpereError);
    assert.equal(e.status, AMPERE_ERRORS[code].status);
    assert.match(doc, new RegExp(`\\| \`${code}\` \\| ${e.status} \\|`));
  }
});

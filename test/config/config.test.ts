import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DEFAULTS, loadServeConfig } from '../../src/config/index.ts';
import { AmpereError } from '../../src/errors.ts';

const fails = (argv: string[], env: Record<string, string>, re: RegExp) =>
  assert.throws(
    () => loadServeConfig(argv, env),
    (e: unknown) => e instanceof AmpereError && e.code === 'AMPERE_ERR_CONFIG' && re.test(e.message),
  );

describe('serve config', () => {
  it('has the defaults the README documents and is frozen', () => {
    const c = loadServeConfig([], {});
    assert.equal(c.port, 8180);
    assert.equal(c.host, '0.0.0.0');
    assert.equal(c.data, './data');
    assert.equal(c.registration, 'pending');
    assert.equal(c.validation, 'tolerant');
    assert.ok(Object.isFrozen(c));
    assert.deepEqual({ ...c }, DEFAULTS);
  });
  it('reads flags over environment', () => {
    const c = loadServeConfig(['--port', '9000', '--registration=open'], {
      AMPERE_PORT: '7000',
      AMPERE_VALIDATION: 'strict',
    });
    assert.equal(c.port, 9000);
    assert.equal(c.registration, 'open');
    assert.equal(c.validation, 'strict');
  });
  it('rejects unknown or misspelt keys with a hint', () => {
    fails(['--registartion', 'open'], {}, /Unknown flag --registartion \(did you mean --registration\?\)/);
    fails([], { AMPERE_PROT: '1' }, /AMPERE_PROT \(did you mean AMPERE_PORT\?\)/);
  });
  it('rejects bad values with the allowed ones', () => {
    fails(['--validation', 'lenient'], {}, /tolerant, strict/);
    fails(['--port', '70000'], {}, /0 to 65535/);
    fails(['--max-frame', '1000'], {}, /65536/);
    fails(['--port'], {}, /needs a value/);
  });
});

// The OpenAPI document: valid OpenAPI 3.1, and listing exactly the routes the server registered.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Validator } from '@seriousme/openapi-schema-validator';
import { CENTRAL_ACTIONS } from '../../src/ocpp/index.ts';
import { startTestServer, type TestServer } from './helpers.ts';

const METHODS = ['get', 'put', 'post', 'delete', 'patch', 'options', 'head', 'trace'];

describe('OpenAPI document', () => {
  let s: TestServer;
  let doc: any;
  before(async () => {
    s = await startTestServer();
    const r = await fetch(`${s.url}/api/openapi.json`);
    assert.equal(r.status, 200, 'the document is readable without a token');
    doc = await r.json();
  });
  after(() => s.close());

  test('validates against the OpenAPI 3.1 schema', async () => {
    assert.equal(doc.openapi, '3.1.0');
    const v = new Validator();
    const res = await v.validate(doc);
    assert.equal(res.valid, true, JSON.stringify(res.errors, null, 2)?.slice(0, 2000));
    assert.equal(v.version, '3.1');
  });

  test('lists every registered route, and nothing else', () => {
    const registered = s.apiRoutes
      .filter((r) => !r.hidden)
      .map((r) => `${r.method} ${r.url.replace(/:([A-Za-z]+)/g, '{$1}')}`)
      .sort();
    const documented = Object.entries(doc.paths as Record<string, Record<string, unknown>>)
      .flatMap(([path, ops]) =>
        Object.keys(ops)
          .filter((m) => METHODS.includes(m))
          .map((m) => `${m.toUpperCase()} ${path}`),
      )
      .sort();
    assert.deepEqual(documented, registered);
    assert.ok(registered.length >= 40);
    for (const action of CENTRAL_ACTIONS) {
      assert.ok(documented.includes(`POST /api/chargers/{id}/commands/${action}`), action);
    }
  });

  test('every operation declares bearer auth, 401 and the error shape, and a summary', () => {
    assert.deepEqual(doc.security, [{ bearer: [] }]);
    assert.equal(doc.components.securitySchemes.bearer.scheme, 'bearer');
    for (const [path, ops] of Object.entries(doc.paths as Record<string, Record<string, any>>)) {
      for (const [method, op] of Object.entries(ops)) {
        if (!METHODS.includes(method)) continue;
        assert.ok(op.summary, `${method} ${path} summary`);
        assert.ok(op.tags?.length, `${method} ${path} tags`);
        const unauthorized = op.responses['401'];
        assert.ok(unauthorized, `${method} ${path} 401`);
        const schema = unauthorized.content['application/json'].schema;
        assert.deepEqual(schema.required, ['error']);
      }
    }
  });

  test('command bodies are the OCA schemas, with refs inlined', () => {
    const op = doc.paths['/api/chargers/{id}/commands/SetChargingProfile'].post;
    const body = op.requestBody.content['application/json'].schema;
    assert.deepEqual(body.required.sort(), ['connectorId', 'csChargingProfiles']);
    assert.equal(body.additionalProperties, false);
    const cert =
      doc.paths['/api/chargers/{id}/commands/DeleteCertificate'].post.requestBody.content['application/json'].schema;
    assert.equal(JSON.stringify(cert).includes('$ref'), false);
    assert.ok(cert.properties.certificateHashData.properties.hashAlgorithm.enum.includes('SHA256'));
    for (const code of ['200', '400', '401', '404', '409', '502', '504']) assert.ok(op.responses[code], code);
  });

  test('the docs page is served', async () => {
    const r = await fetch(`${s.url}/api/docs/`, { redirect: 'follow' });
    assert.equal(r.status, 200);
    assert.match(await r.text(), /swagger/i);
  });
});

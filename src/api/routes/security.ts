// Per-charger security (docs/security.md): the security profile and AuthorizationKey, the
// whitepaper's procedure to raise a profile, security events, and charger certificates from the
// built-in CA. The AuthorizationKey is write-only: no answer, event or log line ever carries it.
import type { FastifyInstance } from 'fastify';
import type { CentralSystem } from '../../central/index.ts';
import { certificateSubject, issueClientCertificate, signCsr } from '../../central/security/index.ts';
import { AmpereError } from '../../errors.ts';
import type { ChargerRecord, EventRecord, SecurityProfile } from '../../store/types.ts';
import { type ApiContext, chargerOr404, defined, pageOf } from '../context.ts';
import {
  CERTIFICATE,
  CERTIFICATE_REQUEST,
  CHARGER_ID_PARAMS,
  CHARGER_SECURITY,
  CHARGER_SECURITY_RESULT,
  errors,
  FINDING,
  PAGE_QUERY,
  page,
  query,
  SECURITY_EVENT,
  SECURITY_RAISE,
  SECURITY_RAISE_RESULT,
  SECURITY_SETTINGS,
  TIME_RANGE_QUERY,
} from '../schemas.ts';

const TAG = ['security'];
const SECURITY_EVENT_KIND = 'SecurityEvent';

interface IdParams {
  id: string;
}

interface PageQuery {
  from?: string;
  to?: string;
  limit?: number;
  offset?: number;
}

async function securityView(central: CentralSystem, c: ChargerRecord) {
  const s = central.security.settings;
  return {
    chargerId: c.id,
    securityProfile: c.securityProfile,
    pendingProfile: await central.security.pendingProfile(c.id),
    authorizationKeySet: c.authKeyHash !== null && c.authKeyHash !== undefined && c.authKeyHash !== '',
    connected: central.isConnected(c.id),
    server: {
      tls: s.tls,
      clientCa: s.clientCa,
      ca: s.ca !== undefined,
      cpoName: s.cpoName ?? null,
      cnCheck: s.cnCheck,
    },
  };
}

/** Why a charger cannot be put at `profile` on this server, or null. */
function profileProblem(central: CentralSystem, profile: SecurityProfile, hasKey: boolean): string | null {
  const s = central.security.settings;
  if ((profile === 1 || profile === 2) && !hasKey) return `Profile ${profile} needs an AuthorizationKey: give one`;
  if (profile >= 2 && !s.tls)
    return `Profile ${profile} needs TLS, and the server does not speak it (--tls-cert, --tls-key)`;
  if (profile === 3 && !s.clientCa)
    return 'Profile 3 needs client certificates, and the server has no client CA (--tls-ca)';
  return null;
}

function securityEventView(e: EventRecord) {
  const { type, source, ...data } = (e.payload ?? {}) as Record<string, unknown>;
  return {
    id: e.id,
    chargerId: e.chargerId,
    at: e.at,
    type: typeof type === 'string' ? type : 'unknown',
    source: source === 'charger' ? 'charger' : 'central',
    data,
  };
}

export function securityRoutes(app: FastifyInstance, { central }: ApiContext): void {
  const store = central.store;

  app.get<{ Params: IdParams }>(
    '/api/chargers/:id/security',
    {
      schema: {
        tags: TAG,
        summary: 'Security profile, pending profile raise, whether an AuthorizationKey is set (never the key)',
        params: CHARGER_ID_PARAMS,
        response: { 200: CHARGER_SECURITY, ...errors(404) },
      },
    },
    async (req) => securityView(central, await chargerOr404(central, req.params.id)),
  );

  app.put<{ Params: IdParams; Body: { profile?: SecurityProfile; authorizationKey?: string; push?: boolean } }>(
    '/api/chargers/:id/security',
    {
      schema: {
        tags: TAG,
        summary:
          'Set the security profile and/or the AuthorizationKey. A connected charger gets the key with ChangeConfiguration ' +
          '(on Accepted the old key stops working, on Rejected/NotSupported it stays valid); otherwise the key is stored as ' +
          'the one configured on the charger. To raise the profile of a connected charger, prefer POST …/security/raise.',
        params: CHARGER_ID_PARAMS,
        body: SECURITY_SETTINGS,
        response: { 200: CHARGER_SECURITY_RESULT, ...errors(404, 409, 502, 504) },
      },
    },
    async (req) => {
      const id = req.params.id;
      const { profile, authorizationKey, push } = req.body;
      if (authorizationKey === undefined && push !== undefined) {
        throw new AmpereError('AMPERE_ERR_BAD_REQUEST', 'body.push goes with body.authorizationKey', {
          field: 'body.push',
        });
      }
      if (profile === undefined && authorizationKey === undefined) {
        throw new AmpereError('AMPERE_ERR_BAD_REQUEST', 'body.profile or body.authorizationKey is required', {
          field: 'body.profile',
        });
      }
      const before = await chargerOr404(central, id);
      const hadKey = Boolean(before.authKeyHash);
      const changesProfile = profile !== undefined && profile !== before.securityProfile;
      if (changesProfile) {
        const problem = profileProblem(central, profile, hadKey || authorizationKey !== undefined);
        if (problem) throw new AmpereError('AMPERE_ERR_CONFLICT', problem, { field: 'body.profile', chargerId: id });
      }
      let keyStatus: string | null = null;
      if (authorizationKey !== undefined) {
        // Throws 400 on a key of the wrong format (without echoing it), 409/502/504 from the charger.
        const r = await central.security.setAuthorizationKey(id, authorizationKey, push === undefined ? {} : { push });
        keyStatus = r.status;
      }
      let record = await chargerOr404(central, id);
      if (changesProfile) {
        if ((profile === 1 || profile === 2) && !record.authKeyHash) {
          throw new AmpereError(
            'AMPERE_ERR_CONFLICT',
            `The charger answered ${keyStatus} to the AuthorizationKey, so there is no key: the profile stays ${record.securityProfile}`,
            { field: 'body.authorizationKey', chargerId: id, authorizationKeyStatus: keyStatus },
          );
        }
        record = await central.updateCharger(id, { securityProfile: profile });
        await central.security.recordEvent(id, 'ReconfigurationOfSecurityParameters', {
          what: 'SecurityProfile',
          how: 'set by operator',
          from: before.securityProfile,
          to: profile,
        });
      }
      return { ...(await securityView(central, record)), authorizationKeyStatus: keyStatus };
    },
  );

  app.post<{ Params: IdParams; Body: { profile: SecurityProfile } }>(
    '/api/chargers/:id/security/raise',
    {
      schema: {
        tags: TAG,
        summary:
          "Raise a connected charger's profile by the whitepaper's procedure (A05): prerequisites checked, ChangeConfiguration " +
          'SecurityProfile; the raise stays pending until the charger reconnects with the new profile (then lower ones are refused)',
        params: CHARGER_ID_PARAMS,
        body: SECURITY_RAISE,
        response: { 200: SECURITY_RAISE_RESULT, ...errors(404, 409, 502, 504) },
      },
    },
    async (req) => {
      const id = req.params.id;
      await chargerOr404(central, id);
      if (!central.isConnected(id)) {
        throw new AmpereError('AMPERE_ERR_CHARGER_OFFLINE', `Charger ${id} is not connected`, { chargerId: id });
      }
      const r = await central.security.raiseProfile(id, req.body.profile);
      const record = await chargerOr404(central, id);
      return {
        status: r.status,
        securityProfile: record.securityProfile,
        pendingProfile: await central.security.pendingProfile(id),
      };
    },
  );

  app.get<{ Params: IdParams; Querystring: PageQuery }>(
    '/api/chargers/:id/security/events',
    {
      schema: {
        tags: TAG,
        summary:
          "Security events of a charger (the charger's SecurityEventNotifications and Ampere's own), newest first",
        params: CHARGER_ID_PARAMS,
        querystring: query({ ...TIME_RANGE_QUERY, ...PAGE_QUERY }),
        response: { 200: page(SECURITY_EVENT), ...errors(404) },
      },
    },
    async (req) => {
      await chargerOr404(central, req.params.id);
      const p = await store.listEvents(defined({ ...req.query, chargerId: req.params.id, kind: SECURITY_EVENT_KIND }));
      return pageOf({ ...p, items: p.items.map(securityEventView) }, req.query);
    },
  );

  app.get<{ Querystring: PageQuery & { chargerId?: string } }>(
    '/api/security/events',
    {
      schema: {
        tags: TAG,
        summary: 'All security events, also those of no charger (e.g. wrong operator API tokens), newest first',
        querystring: query({ chargerId: { type: 'string', minLength: 1 }, ...TIME_RANGE_QUERY, ...PAGE_QUERY }),
        response: { 200: page(SECURITY_EVENT), ...errors() },
      },
    },
    async (req) => {
      const p = await store.listEvents(defined({ ...req.query, kind: SECURITY_EVENT_KIND }));
      return pageOf({ ...p, items: p.items.map(securityEventView) }, req.query);
    },
  );

  app.post<{ Params: IdParams; Body: { csr?: string; days?: number } }>(
    '/api/chargers/:id/certificate',
    {
      schema: {
        tags: TAG,
        summary:
          'Issue a charger certificate for profile 3 from the built-in CA (CN = the charger, O = the CPO name): from ' +
          "the charger's CSR, or with a new key pair returned once",
        params: CHARGER_ID_PARAMS,
        body: CERTIFICATE_REQUEST,
        response: { 201: CERTIFICATE, ...errors(404, 409) },
      },
    },
    async (req, reply) => {
      const ca = central.security.settings.ca;
      const record = await chargerOr404(central, req.params.id);
      if (!ca) {
        throw new AmpereError(
          'AMPERE_ERR_CONFLICT',
          'The server has no built-in CA (ampere certs init, or --tls-ca with --ca-key)',
        );
      }
      const s = central.security.settings;
      const organization = s.cpoName ?? certificateSubject(ca.certPem).organization;
      if (!organization) throw new AmpereError('AMPERE_ERR_CONFLICT', 'The CA has no O and no --cpo-name is set');
      const names =
        s.cnCheck === 'id'
          ? [record.id]
          : [record.chargePointSerialNumber, record.chargeBoxSerialNumber].filter((n): n is string => !!n);
      if (names.length === 0) {
        throw new AmpereError(
          'AMPERE_ERR_CONFLICT',
          'The CN must be the serial number (--cn-check serial) and the charger has not told it yet',
        );
      }
      const days = req.body.days ?? 365;
      let certificatePem: string;
      let privateKeyPem: string | null = null;
      if (req.body.csr !== undefined) {
        const r = await signCsr(ca, req.body.csr, { commonNames: names, organization, days });
        if (!r.ok) throw new AmpereError('AMPERE_ERR_BAD_REQUEST', r.reason, { field: 'body.csr' });
        certificatePem = r.certPem;
      } else {
        const pair = await issueClientCertificate(ca, { commonName: names[0]!, organization, days });
        certificatePem = pair.certPem;
        privateKeyPem = pair.keyPem;
      }
      const subject = certificateSubject(certificatePem);
      await central.security.certificates.noteIssued(record.id, certificatePem);
      await central.security.recordEvent(record.id, 'CertificateIssued', {
        commonName: subject.commonName ?? null,
        notAfter: subject.notAfter.toISOString(),
        fromCsr: req.body.csr !== undefined,
      });
      reply.code(201);
      return {
        commonName: subject.commonName ?? names[0]!,
        organization: subject.organization ?? organization,
        notAfter: subject.notAfter.toISOString(),
        certificatePem,
        privateKeyPem,
        caCertificatePem: ca.certPem,
      };
    },
  );

  app.get<{ Params: IdParams; Querystring: { action?: string; rule?: string; limit?: number; offset?: number } }>(
    '/api/chargers/:id/findings',
    {
      schema: {
        tags: ['chargers'],
        summary:
          "Conformance findings: deviations of the charger's messages from the OCPP schemas, repaired in tolerant mode, newest first",
        params: CHARGER_ID_PARAMS,
        querystring: query({ action: { type: 'string' }, rule: { type: 'string' }, ...PAGE_QUERY }),
        response: { 200: page(FINDING), ...errors(404) },
      },
    },
    async (req) => {
      await chargerOr404(central, req.params.id);
      const p = await store.listFindings(req.params.id, defined({ ...req.query }));
      return pageOf(p, req.query);
    },
  );
}

// Certificate management on chargers (docs/security.md, "Certificate management"): the list a
// charger reports as installed, installing the central system's root, deleting by list position,
// the charger certificate's expiry and its renewal.
import type { FastifyInstance } from 'fastify';
import { type ApiContext, chargerOr404 } from '../context.ts';
import { CHARGER_ID_PARAMS, errors, type Schema } from '../schemas.ts';

const TAG = ['security'];
const str = { type: 'string' } as const;
const nullableStr = { type: ['string', 'null'] } as const;
const nullableTime = { type: ['string', 'null'], format: 'date-time' } as const;

function object(properties: Record<string, Schema>): Schema {
  return { type: 'object', properties, required: Object.keys(properties), additionalProperties: false };
}

const INSTALLED = object({
  index: { type: 'integer', description: 'position in the list: what DELETE names' },
  certificateType: { type: 'string', enum: ['CentralSystemRootCertificate', 'ManufacturerRootCertificate'] },
  hashAlgorithm: str,
  issuerNameHash: str,
  issuerKeyHash: str,
  serialNumber: str,
  ours: { type: 'boolean', description: "the central system's own root (built-in CA or --tls-ca)" },
});

export const CERTIFICATES_VIEW = object({
  chargerId: str,
  installed: { type: 'array', items: INSTALLED },
  listedAt: { ...nullableTime, description: 'when the charger last reported its list (null: never asked)' },
  root: object({ available: { type: 'boolean' }, serialNumber: nullableStr, notAfter: nullableTime }),
  chargerCertificate: {
    oneOf: [
      object({
        serialNumber: str,
        notAfter: { type: 'string', format: 'date-time' },
        issuedAt: { type: 'string', format: 'date-time' },
        renewFrom: { type: 'string', format: 'date-time', description: 'a new certificate is asked for from then' },
        renewRequestedAt: nullableTime,
      }),
      { type: 'null' },
    ],
  },
});

const RESULT = object({ status: str, certificates: CERTIFICATES_VIEW });
const COMMAND_ERRORS = errors(404, 409, 502, 504);

export function certificateRoutes(app: FastifyInstance, { central }: ApiContext): void {
  const certs = central.security.certificates;
  type Id = { Params: { id: string } };

  app.get<Id>(
    '/api/chargers/:id/certificates',
    {
      schema: {
        tags: TAG,
        summary:
          "Certificates installed on the charger (as last reported), the server's root, and the charger certificate's expiry",
        params: CHARGER_ID_PARAMS,
        response: { 200: CERTIFICATES_VIEW, ...errors(404) },
      },
    },
    async (req) => {
      await chargerOr404(central, req.params.id);
      return certs.view(req.params.id);
    },
  );

  /** A POST that sends commands to the charger: 404 for an unknown charger, 409 when offline. */
  const command = (path: string, summary: string, response: Schema, run: (id: string) => Promise<unknown>) =>
    app.post<Id>(
      `/api/chargers/:id/certificates${path}`,
      { schema: { tags: TAG, summary, params: CHARGER_ID_PARAMS, response: { 200: response, ...COMMAND_ERRORS } } },
      async (req) => {
        await chargerOr404(central, req.params.id);
        return run(req.params.id);
      },
    );

  command(
    '/refresh',
    'Ask the charger for its installed certificates (GetInstalledCertificateIds, both types) and keep them',
    CERTIFICATES_VIEW,
    (id) => certs.refresh(id),
  );
  command(
    '/install-root',
    "Install the central system's root certificate on the charger (InstallCertificate, CentralSystemRootCertificate)",
    RESULT,
    (id) => certs.installRoot(id),
  );
  command(
    '/renew',
    'Ask the charger for a new CSR now (ExtendedTriggerMessage SignChargePointCertificate)',
    object({ status: str }),
    async (id) => ({ status: await certs.renew(id, 'operator') }),
  );

  app.delete<{ Params: { id: string; index: number } }>(
    '/api/chargers/:id/certificates/:index',
    {
      schema: {
        tags: TAG,
        summary: 'Delete the certificate at this position of the stored list (DeleteCertificate with its hash data)',
        params: {
          type: 'object',
          properties: { ...(CHARGER_ID_PARAMS.properties as object), index: { type: 'integer', minimum: 1 } },
          required: ['id', 'index'],
        },
        response: { 200: RESULT, ...COMMAND_ERRORS },
      },
    },
    async (req) => {
      await chargerOr404(central, req.params.id);
      return certs.remove(req.params.id, req.params.index);
    },
  );
}

// JSON schemas of the API's resources: they validate requests, shape responses and are the
// OpenAPI document's schemas, so the three cannot drift apart.

export type Schema = Record<string, unknown>;

const str = { type: 'string' } as const;
const int = { type: 'integer' } as const;
const num = { type: 'number' } as const;
const bool = { type: 'boolean' } as const;
const time = { type: 'string', format: 'date-time' } as const;
const nullable = (s: Schema): Schema => ({ ...s, type: [s.type as string, 'null'] });

function object(properties: Record<string, Schema>, required: string[] = Object.keys(properties)): Schema {
  return { type: 'object', properties, required, additionalProperties: false };
}

export const ERROR = {
  type: 'object',
  description: 'Every failure has this shape; `code` is one of the AMPERE_ERR_* codes.',
  properties: {
    error: {
      type: 'object',
      properties: {
        code: { type: 'string', example: 'AMPERE_ERR_BAD_REQUEST' },
        message: str,
        details: { type: ['object', 'null'], additionalProperties: true },
      },
      required: ['code', 'message', 'details'],
    },
  },
  required: ['error'],
} as const;

export function page(item: Schema): Schema {
  return object({ items: { type: 'array', items: item }, total: int, limit: int, offset: int });
}

export const PAGE_QUERY: Record<string, Schema> = {
  limit: { type: 'integer', minimum: 1, maximum: 10000, default: 100, description: 'page size' },
  offset: { type: 'integer', minimum: 0, default: 0, description: 'rows to skip' },
};

export const TIME_RANGE_QUERY: Record<string, Schema> = {
  from: { ...time, description: 'inclusive start (ISO 8601)' },
  to: { ...time, description: 'exclusive end (ISO 8601)' },
};

export function query(properties: Record<string, Schema>): Schema {
  return { type: 'object', properties, additionalProperties: false };
}

export const CHARGER_ID_PARAMS = object({ id: { type: 'string', minLength: 1, maxLength: 48 } });

export const REGISTRATION = { type: 'string', enum: ['accepted', 'pending', 'rejected'] } as const;
export const VALIDATION_MODE = { type: ['string', 'null'], enum: ['strict', 'tolerant', null] } as const;

export const CONNECTOR = object({
  connectorId: int,
  status: str,
  errorCode: str,
  info: nullable(str),
  vendorId: nullable(str),
  vendorErrorCode: nullable(str),
  timestamp: nullable(time),
  updatedAt: time,
});

const CHARGER_FIELDS: Record<string, Schema> = {
  id: str,
  registration: REGISTRATION,
  connected: { ...bool, description: 'a WebSocket of this charger is open now' },
  vendor: nullable(str),
  model: nullable(str),
  chargePointSerialNumber: nullable(str),
  chargeBoxSerialNumber: nullable(str),
  firmwareVersion: nullable(str),
  iccid: nullable(str),
  imsi: nullable(str),
  meterType: nullable(str),
  meterSerialNumber: nullable(str),
  lastBootAt: nullable(time),
  lastSeenAt: nullable(time),
  remoteAddress: nullable(str),
  heartbeatInterval: { type: ['integer', 'null'], description: 'answered at boot; null = server default' },
  validationMode: VALIDATION_MODE,
  notes: nullable(str),
  securityProfile: { type: 'integer', enum: [0, 1, 2, 3] },
  createdAt: time,
  updatedAt: time,
};

export const CHARGER = object(CHARGER_FIELDS);
export const CHARGER_APPROVED = object({
  ...CHARGER_FIELDS,
  approval: {
    oneOf: [
      object({
        takesEffect: {
          type: 'string',
          enum: ['now', 'next-boot', 'next-connection'],
          description: 'now: asked to boot again (TriggerMessage); next-boot: the model cannot be triggered',
        },
        message: str,
      }),
      { type: 'null' },
    ],
    description: 'how an approval reaches the charger (null for a reject or an already accepted charger)',
  },
});
export const CHARGER_DETAIL = object({ ...CHARGER_FIELDS, connectors: { type: 'array', items: CONNECTOR } });

export const CHARGER_SETTINGS = {
  type: 'object',
  properties: {
    registration: REGISTRATION,
    heartbeatInterval: { type: ['integer', 'null'], minimum: 1, maximum: 86400 },
    validationMode: VALIDATION_MODE,
    notes: { type: ['string', 'null'], maxLength: 2000 },
  },
  additionalProperties: false,
} as const;

export const CHARGER_CREATE = {
  type: 'object',
  properties: {
    id: { type: 'string', minLength: 1, maxLength: 48, pattern: '^[^\\u0000-\\u001f\\u007f]+$' },
    ...CHARGER_SETTINGS.properties,
  },
  required: ['id'],
  additionalProperties: false,
} as const;

export const APPROVAL = object({
  id: str,
  source: { type: 'string', enum: ['attempt', 'pending'], description: 'refused at the handshake, or held as Pending' },
  connected: bool,
  attempts: { ...int, description: 'connection attempts seen (0 for a Pending charger that got in)' },
  firstAt: nullable(time),
  lastAt: nullable(time),
  remoteAddress: nullable(str),
  vendor: nullable(str),
  model: nullable(str),
});

export const STATUS_HISTORY = object({
  id: int,
  connectorId: int,
  status: str,
  errorCode: str,
  info: nullable(str),
  vendorId: nullable(str),
  vendorErrorCode: nullable(str),
  timestamp: nullable(time),
  updatedAt: time,
});

export const ID_TAG_STATUS = {
  type: 'string',
  enum: ['Accepted', 'Blocked', 'Expired', 'Invalid', 'ConcurrentTx'],
} as const;
const ID_TAG_TEXT = { type: 'string', minLength: 1, maxLength: 20 } as const;

export const ID_TAG = object({
  idTag: { ...str, description: '`*` accepts any tag not listed' },
  status: ID_TAG_STATUS,
  expiryDate: nullable(time),
  parentIdTag: nullable(str),
  note: nullable(str),
  createdAt: time,
  updatedAt: time,
});

const ID_TAG_INPUT_FIELDS = {
  status: ID_TAG_STATUS,
  expiryDate: { type: ['string', 'null'], format: 'date-time' },
  parentIdTag: { type: ['string', 'null'], minLength: 1, maxLength: 20 },
  note: { type: ['string', 'null'], maxLength: 2000 },
};

export const ID_TAG_CREATE = {
  type: 'object',
  properties: { idTag: ID_TAG_TEXT, ...ID_TAG_INPUT_FIELDS },
  required: ['idTag'],
  additionalProperties: false,
} as const;

export const ID_TAG_PATCH = { type: 'object', properties: ID_TAG_INPUT_FIELDS, additionalProperties: false } as const;
export const ID_TAG_PARAMS = object({ idTag: ID_TAG_TEXT });

export const COST = object({
  currency: str,
  amount: { ...num, description: 'rounded to 4 decimals' },
  energyWh: num,
  tariff: {
    type: 'string',
    enum: ['flat', 'time-of-use', 'dynamic'],
    description: "dynamic: the site's price series where it covers the session, the tariff elsewhere",
  },
});

export const LIVE = object({
  state: {
    type: 'string',
    enum: ['charging', 'plugged-in', 'unknown'],
    description: 'charging = status Charging with power flowing; plugged-in = connected car drawing no power',
  },
  connectorStatus: nullable(str),
  energyWh: { ...num, description: 'energy so far: latest Energy.Active.Import.Register − meterStart' },
  powerW: { type: ['number', 'null'], description: 'current power' },
  powerSource: {
    type: ['string', 'null'],
    enum: ['Power.Active.Import', 'Current.Import×Voltage', 'Current.Import×230V', null],
  },
  sampledAt: nullable(time),
  targetWh: { type: ['number', 'null'], description: 'target energy of the session, when known' },
  secondsToTarget: { type: ['number', 'null'], description: 'estimate at the current power' },
});

const TRANSACTION_FIELDS: Record<string, Schema> = {
  id: int,
  chargerId: str,
  connectorId: int,
  idTag: str,
  active: bool,
  startedAt: time,
  stoppedAt: nullable(time),
  meterStart: { ...int, description: 'Wh' },
  meterStop: { type: ['integer', 'null'], description: 'Wh' },
  stopReason: nullable(str),
  stopIdTag: nullable(str),
  reservationId: nullable(int),
  energyWh: { type: ['number', 'null'], description: 'delivered so far (active) or in total (stopped)' },
  durationSeconds: num,
  averagePowerW: nullable(num),
  averagePowerSource: {
    enum: ['Energy.Active.Import.Register', null],
    description: 'the average is energy over duration, from the energy register',
  },
  peakPowerW: nullable(num),
  peakPowerSource: {
    enum: ['Power.Active.Import', 'Energy.Active.Import.Register', null],
    description:
      'sampled power, or (when samples are sparse or lower) the highest average the energy register shows over 15 minutes or more',
  },
  cost: { oneOf: [COST, { type: 'null' }] },
};

export const TRANSACTION = object(TRANSACTION_FIELDS);
export const TRANSACTION_DETAIL = object({
  ...TRANSACTION_FIELDS,
  meterSamples: int,
  live: { oneOf: [LIVE, { type: 'null' }] },
});

export const METER_QUERY: Record<string, Schema> = {
  measurand: { ...str, description: 'e.g. Power.Active.Import; a missing measurand is Energy.Active.Import.Register' },
  phase: { ...str, description: 'L1, L2, L3, N, L1-N, …' },
  connectorId: { type: 'integer', minimum: 0 },
  step: {
    type: 'string',
    pattern: '^[0-9]+(ms|s|m|h|d)?$',
    description:
      'downsample into buckets of this width (e.g. 60s, 15m, 1h); registers keep the last sample, others average',
  },
  ...TIME_RANGE_QUERY,
  limit: { type: 'integer', minimum: 1, maximum: 100000, default: 1000 },
  offset: { type: 'integer', minimum: 0, default: 0 },
};

export const METER_POINT = object({
  timestamp: time,
  connectorId: int,
  transactionId: nullable(int),
  measurand: str,
  phase: nullable(str),
  location: nullable(str),
  unit: nullable(str),
  context: nullable(str),
  value: { type: ['number', 'string', 'null'], description: 'numeric when it parses, else as sent' },
  wh: nullable(num),
  w: nullable(num),
  samples: { ...int, description: '1 for raw samples; samples in the bucket when downsampled' },
});

export const METER_SERIES = object({
  step: { type: ['integer', 'null'], description: 'bucket width in seconds; null = raw samples' },
  items: { type: 'array', items: METER_POINT },
});

export const CONFIGURATION_KEY = object({ key: str, value: nullable(str), readonly: bool, updatedAt: time }, [
  'key',
  'value',
  'readonly',
]);

export const CONFIGURATION = object({
  configurationKey: { type: 'array', items: CONFIGURATION_KEY },
  unknownKey: { type: 'array', items: str },
  requests: { ...int, description: 'GetConfiguration calls made (paged by GetConfigurationMaxKeys)' },
});

const TOU_PERIOD = {
  type: 'object',
  properties: {
    from: { type: 'string', pattern: '^([01][0-9]|2[0-3]):[0-5][0-9]$', description: 'local time HH:MM, inclusive' },
    to: {
      type: 'string',
      pattern: '^([01][0-9]|2[0-4]):[0-5][0-9]$',
      description: 'local time HH:MM, exclusive; may wrap past midnight',
    },
    days: {
      type: 'array',
      items: { type: 'integer', minimum: 1, maximum: 7 },
      description: 'ISO weekdays (1 = Monday); all days when omitted',
    },
    pricePerKwh: { type: 'number', minimum: 0 },
    co2PerKwh: { type: 'number', minimum: 0, description: 'g CO2 per kWh' },
  },
  required: ['from', 'to', 'pricePerKwh'],
  additionalProperties: false,
} as const;

export const TARIFF = {
  oneOf: [
    {
      type: 'object',
      title: 'flat',
      properties: {
        type: { const: 'flat' },
        currency: { type: 'string', minLength: 1, maxLength: 8 },
        pricePerKwh: { type: 'number', minimum: 0 },
        co2PerKwh: { type: 'number', minimum: 0, description: 'g CO2 per kWh' },
      },
      required: ['type', 'currency', 'pricePerKwh'],
      additionalProperties: false,
    },
    {
      type: 'object',
      title: 'time-of-use',
      properties: {
        type: { const: 'time-of-use' },
        currency: { type: 'string', minLength: 1, maxLength: 8 },
        timeZone: { type: 'string', description: 'IANA zone the periods are in (default UTC)' },
        defaultPricePerKwh: { type: 'number', minimum: 0, description: 'price outside every period' },
        defaultCo2PerKwh: { type: 'number', minimum: 0, description: 'g CO2 per kWh outside every period' },
        periods: { type: 'array', items: TOU_PERIOD, maxItems: 100 },
      },
      required: ['type', 'currency', 'defaultPricePerKwh', 'periods'],
      additionalProperties: false,
    },
  ],
} as const;

export const EVENT = object({
  id: int,
  type: str,
  chargerId: nullable(str),
  at: time,
  data: { type: 'object', additionalProperties: true },
});

/** The standard error answers of a route, for the OpenAPI document. */
export function errors(...statuses: number[]): Record<number, unknown> {
  const out: Record<number, unknown> = {};
  for (const s of [400, 401, 429, ...statuses]) out[s] = { ...ERROR, description: ERROR_DESCRIPTIONS[s] ?? 'Error' };
  return out;
}

const ERROR_DESCRIPTIONS: Record<number, string> = {
  400: 'The request fails its schema; details.field names the failing field',
  401: 'Missing or wrong bearer token',
  403: 'Refused (e.g. a CORS preflight from an origin not allowed)',
  429: 'Too many wrong bearer tokens from this address: locked for Retry-After seconds',
  404: 'No such resource',
  409: 'Conflict (already exists, or the charger is offline)',
  502: 'The charger answered with a CALLERROR (details.ocppCode) or a malformed answer',
  504: 'The charger did not answer in time',
};

// ---------------------------------------------------------------- security (docs/security.md)

export const SECURITY_PROFILE = {
  type: 'integer',
  enum: [0, 1, 2, 3],
  description: '0 plain, 1 Basic auth, 2 TLS + Basic auth, 3 TLS + client certificate',
} as const;

export const CHARGER_SECURITY = object({
  chargerId: str,
  securityProfile: SECURITY_PROFILE,
  pendingProfile: {
    type: ['integer', 'null'],
    enum: [1, 2, 3, null],
    description: 'a raise in progress: the charger accepted it and has not yet reconnected with it',
  },
  authorizationKeySet: { ...bool, description: 'an AuthorizationKey is stored (only its salted hash; never shown)' },
  connected: bool,
  server: object({
    tls: { ...bool, description: 'the server speaks TLS (profiles 2 and 3 possible)' },
    clientCa: { ...bool, description: 'client certificates are checked (profile 3 possible)' },
    ca: { ...bool, description: 'the built-in CA can issue charger certificates' },
    cpoName: nullable(str),
    cnCheck: { type: 'string', enum: ['id', 'serial'] },
  }),
});

export const KEY_STATUS = {
  type: ['string', 'null'],
  enum: ['Stored', 'Accepted', 'Rejected', 'NotSupported', 'RebootRequired', null],
  description:
    'Stored: kept as the key the charger was configured with (offline, or push false); otherwise the answer to ' +
    'ChangeConfiguration AuthorizationKey: on Accepted the old key stops working, on Rejected/NotSupported it stays valid',
} as const;

export const CHARGER_SECURITY_RESULT = object({
  ...(CHARGER_SECURITY.properties as Record<string, Schema>),
  authorizationKeyStatus: KEY_STATUS,
});

export const SECURITY_SETTINGS = {
  type: 'object',
  properties: {
    profile: SECURITY_PROFILE,
    authorizationKey: {
      type: 'string',
      minLength: 16,
      maxLength: 40,
      writeOnly: true,
      description:
        'write-only: 16-20 printable characters, or 32-40 hex digits (whitepaper A00.FR.205); only a salted hash is stored',
    },
    push: {
      type: 'boolean',
      description:
        'send the key with ChangeConfiguration (default: when the charger is connected); false = the charger already has it',
    },
  },
  additionalProperties: false,
} as const;

export const SECURITY_RAISE = object({ profile: { type: 'integer', enum: [1, 2, 3] } });

export const SECURITY_RAISE_RESULT = object({
  status: { ...str, description: "the charger's answer to ChangeConfiguration SecurityProfile" },
  securityProfile: SECURITY_PROFILE,
  pendingProfile: { type: ['integer', 'null'], enum: [1, 2, 3, null] },
});

export const SECURITY_EVENT = object({
  id: int,
  chargerId: nullable(str),
  at: time,
  type: { ...str, description: 'e.g. FailedToAuthenticate, SecurityProfileRaised, OperatorApiAuthenticationFailed' },
  source: { type: 'string', enum: ['central', 'charger'], description: "Ampere's own finding, or the charger's" },
  data: { type: 'object', additionalProperties: true },
});

export const CERTIFICATE_REQUEST = {
  type: 'object',
  properties: {
    csr: {
      type: 'string',
      maxLength: 16000,
      description: 'PEM CSR made on the charger; without it a key pair is generated and returned once',
    },
    days: { type: 'integer', minimum: 1, maximum: 3650, default: 365 },
  },
  additionalProperties: false,
} as const;

export const CERTIFICATE = object({
  commonName: str,
  organization: str,
  notAfter: time,
  certificatePem: str,
  privateKeyPem: {
    type: ['string', 'null'],
    description: 'the generated key (null when a CSR was given): kept nowhere',
  },
  caCertificatePem: { ...str, description: "install as the charger's CentralSystemRootCertificate" },
});

export const FINDING = object({
  id: int,
  chargerId: str,
  action: str,
  at: time,
  path: { ...str, description: 'JSON pointer into the payload' },
  rule: { ...str, description: 'which known deviation, e.g. enum-fallback, truncated-to-max-length' },
  original: { description: 'the value as sent' },
  repaired: { description: 'the value as stored' },
});

// ---------------------------------------------------------------- configuration policies

const POLICY_SCOPE = {
  type: 'string',
  enum: ['fleet', 'model', 'charger'],
  description: 'fleet: every charger; model: chargers of this vendor + model; charger: one charger',
} as const;
const POLICY_TARGET_FIELDS: Record<string, Schema> = {
  scope: POLICY_SCOPE,
  vendor: { type: 'string', minLength: 1, maxLength: 20, description: 'chargePointVendor (scope model)' },
  model: { type: 'string', minLength: 1, maxLength: 20, description: 'chargePointModel (scope model)' },
  chargerId: { type: 'string', minLength: 1, maxLength: 48, description: 'scope charger' },
  key: { type: 'string', minLength: 1, maxLength: 50 },
};

export const CONFIG_POLICY_TARGET = {
  type: 'object',
  properties: POLICY_TARGET_FIELDS,
  required: ['scope', 'key'],
  additionalProperties: false,
} as const;

export const CONFIG_POLICY_INPUT = {
  type: 'object',
  properties: { ...POLICY_TARGET_FIELDS, value: { type: 'string', maxLength: 500 } },
  required: ['scope', 'key', 'value'],
  additionalProperties: false,
} as const;

export const CONFIG_POLICY = object({
  scope: POLICY_SCOPE,
  vendor: nullable(str),
  model: nullable(str),
  chargerId: nullable(str),
  key: str,
  value: str,
  updatedAt: time,
});

const CONFIG_STATUS = {
  type: 'string',
  description: 'the ChangeConfiguration answer (Accepted, Rejected, RebootRequired, NotSupported) or Failed',
} as const;

export const CONFIG_APPLY_RESULT = object({
  key: str,
  value: str,
  status: CONFIG_STATUS,
  note: nullable(str),
  skipped: { ...bool, description: 'not sent: the charger refused this value before' },
});

export const CONFIG_DRIFT = object({
  chargerId: str,
  source: { type: 'string', enum: ['charger', 'stored'], description: 'read now, or the stored copy (offline)' },
  items: {
    type: 'array',
    items: object({
      key: str,
      desired: str,
      scope: POLICY_SCOPE,
      actual: nullable(str),
      readonly: nullable(bool),
      inSync: bool,
      outcome: {
        oneOf: [
          object({ key: str, value: str, status: CONFIG_STATUS, note: nullable(str), at: time }),
          { type: 'null' },
        ],
      },
    }),
  },
});

// ---------------------------------------------------------------- per-charger id tags

const TAG_TEXT = { type: 'string', minLength: 1, maxLength: 20 } as const;

export const CHARGER_TAGS = object({
  chargerId: str,
  allowed: { type: 'array', items: str, description: 'id tags (lower case) that may charge here; ["*"] = all' },
  freeChargingTag: {
    ...nullable(str),
    description: "the charger's own tag when it charges without a card (go-e ocppd, Eaton FREECHARGING)",
  },
});

export const CHARGER_TAGS_INPUT = {
  type: 'object',
  properties: {
    allowed: { type: 'array', items: TAG_TEXT, maxItems: 10000, description: '["*"] or [] = all tags' },
    freeChargingTag: { type: ['string', 'null'], minLength: 1, maxLength: 20 },
  },
  additionalProperties: false,
} as const;

// ---------------------------------------------------------------- reservations

export const RESERVATION = object({
  id: { ...int, description: 'the OCPP reservationId' },
  chargerId: str,
  connectorId: int,
  idTag: str,
  parentIdTag: nullable(str),
  expiryDate: time,
  status: {
    ...str,
    description:
      'requested; the ReserveNow answer (Accepted, Faulted, Occupied, Rejected, Unavailable); expired; consumed; cancelled; failed',
  },
  transactionId: { ...nullable(int), description: 'the transaction that consumed it' },
  createdAt: time,
  updatedAt: time,
});

export const RESERVATION_INPUT = {
  type: 'object',
  properties: {
    connectorId: {
      type: 'integer',
      minimum: 0,
      description: 'default 1; 0 = any connector, if the charger supports it',
    },
    idTag: { type: 'string', minLength: 1, maxLength: 20 },
    parentIdTag: { type: 'string', minLength: 1, maxLength: 20 },
    expiryDate: { type: 'string', format: 'date-time' },
    minutes: { type: 'integer', minimum: 1, maximum: 10080, description: 'instead of expiryDate (default 30)' },
  },
  required: ['idTag'],
  additionalProperties: false,
} as const;

export const RESERVATION_RESULT = object({
  reservation: RESERVATION,
  status: { ...str, description: 'the charger answer' },
});

// ---------------------------------------------------------------- local authorisation lists

const LOCAL_ENTRY = object({
  idTag: str,
  idTagInfo: {
    type: 'object',
    properties: { status: str, expiryDate: str, parentIdTag: str },
    required: ['status'],
    additionalProperties: false,
  },
});

export const LOCAL_LIST = object({
  chargerId: str,
  version: { ...int, description: 'the version the charger holds, as far as Ampere knows (0: never sent)' },
  status: {
    type: 'string',
    enum: ['synced', 'unsupported', 'failed', 'never'],
    description: 'unsupported chargers are skipped until a sync is asked for',
  },
  answer: { ...nullable(str), description: "the charger's last answer" },
  entries: { type: 'array', items: LOCAL_ENTRY },
  at: nullable(time),
});

export const LOCAL_LIST_SYNC = object({
  updateType: { type: 'string', enum: ['Full', 'Differential', 'none'] },
  sent: { ...int, description: 'entries sent' },
  state: LOCAL_LIST,
});

// ---------------------------------------------------------------- diagnostics (src/central/diagnostics.ts)

export const DIAGNOSTICS_REQUEST = object({
  id: { ...int, description: 'the request id (also in the upload credential)' },
  chargerId: str,
  transport: { type: 'string', enum: ['ftp', 'http'] },
  logType: {
    type: ['string', 'null'],
    enum: ['DiagnosticsLog', 'SecurityLog', null],
    description: 'GetLog of this type (security extension); null = GetDiagnostics',
  },
  expiresAt: { ...time, description: 'when the upload credential stops working' },
  startTime: nullable(time),
  stopTime: nullable(time),
  retries: nullable(int),
  retryInterval: nullable(int),
  status: {
    ...str,
    description:
      'requested; sent (GetDiagnostics answered); the last DiagnosticsStatusNotification (Uploading, Uploaded, UploadFailed, Idle); failed (GetDiagnostics not answered)',
  },
  fileName: { ...nullable(str), description: 'the file name the charger answered' },
  file: { ...nullable(str), description: 'the stored file, once received' },
  fileSize: nullable(int),
  receivedAt: nullable(time),
  error: { ...nullable(str), description: 'why the request or an upload failed' },
  history: {
    type: 'array',
    items: {
      type: 'object',
      properties: { status: str, at: time, info: str },
      required: ['status', 'at'],
      additionalProperties: false,
    },
  },
  downloadable: { ...bool, description: 'the file is here: GET /api/diagnostics/{requestId}/file' },
  createdAt: time,
  updatedAt: time,
});

export const DIAGNOSTICS_INPUT = {
  type: 'object',
  properties: {
    transport: {
      type: 'string',
      enum: ['ftp', 'http'],
      default: 'ftp',
      description: "ftp (Ampere's FTP server, --ftp-port) or http (PUT/POST to Ampere's own port)",
    },
    logType: {
      type: 'string',
      enum: ['DiagnosticsLog', 'SecurityLog'],
      description:
        "send the security extension's GetLog of this type instead of GetDiagnostics (statuses come with LogStatusNotification)",
    },
    startTime: { ...time, description: 'oldest log entries wanted' },
    stopTime: { ...time, description: 'newest log entries wanted' },
    retries: { type: 'integer', minimum: 0, maximum: 100 },
    retryInterval: { type: 'integer', minimum: 0, maximum: 86400, description: 'seconds between upload tries' },
  },
  additionalProperties: false,
} as const;

export const DIAGNOSTICS_LIST = object({ items: { type: 'array', items: DIAGNOSTICS_REQUEST } });

export const DIAGNOSTICS_ID_PARAMS = object({ requestId: { type: 'integer', minimum: 1 } });

// ---------------------------------------------------------------- firmware (README "Firmware")

export const FIRMWARE_IMAGE = object({
  id: str,
  name: { ...str, description: 'the file name, the last segment of the download link' },
  version: { ...str, description: 'the firmwareVersion a charger reports in BootNotification once it runs the image' },
  size: { ...int, description: 'bytes' },
  sha256: { ...str, description: 'hex SHA-256 of the image, computed while it was uploaded' },
  file: { ...str, description: 'where it is kept, relative to the data folder' },
  signingCertificate: { ...nullable(str), description: 'PEM (security extension, secure firmware update)' },
  signature: { ...nullable(str), description: 'base64 signature over the image' },
  createdAt: time,
});

export const FIRMWARE_UPLOAD_QUERY = {
  type: 'object',
  properties: {
    name: { type: 'string', minLength: 1, maxLength: 128, description: 'file name (letters, digits, . - _)' },
    version: { type: 'string', minLength: 1, maxLength: 50, description: 'the version the image installs' },
  },
  required: ['name', 'version'],
  additionalProperties: false,
} as const;

export const FIRMWARE_SIGNATURE_INPUT = {
  type: 'object',
  properties: {
    signingCertificate: { type: 'string', minLength: 1, maxLength: 5500, description: 'PEM X.509 certificate' },
    signature: { type: 'string', minLength: 1, maxLength: 800, description: 'base64 signature over the image' },
  },
  required: ['signingCertificate', 'signature'],
  additionalProperties: false,
} as const;

const FIRMWARE_SIGNED = {
  type: 'string',
  enum: ['auto', 'always', 'never'],
  description:
    'auto (default): SignedUpdateFirmware when the image is signed and the charger takes it, else UpdateFirmware; always: signed or fail; never: UpdateFirmware',
} as const;

const FIRMWARE_RETRY = {
  retries: { type: 'integer', minimum: 0, maximum: 100, description: 'download retries (OCPP 1.6 §5.19)' },
  retryInterval: { type: 'integer', minimum: 0, maximum: 86400, description: 'seconds between retries' },
};

export const FIRMWARE_UPDATE_INPUT = {
  type: 'object',
  properties: {
    imageId: { type: 'string', minLength: 1 },
    retrieveDate: { type: 'string', format: 'date-time', description: 'when the charger downloads (default now)' },
    ...FIRMWARE_RETRY,
    signed: FIRMWARE_SIGNED,
    linkValidity: {
      type: 'integer',
      minimum: 1,
      maximum: 30 * 86400,
      description: 'seconds the download link stays valid from now (default: until retrieveDate + the retries + 1 h)',
    },
  },
  required: ['imageId'],
  additionalProperties: false,
} as const;

export const FIRMWARE_JOB = object({
  id: { ...int, description: 'also the requestId of SignedUpdateFirmware' },
  chargerId: str,
  imageId: str,
  rolloutId: nullable(int),
  method: { ...str, description: 'UpdateFirmware or SignedUpdateFirmware' },
  state: {
    type: 'string',
    enum: ['queued', 'running', 'succeeded', 'failed', 'timed-out', 'cancelled'],
    description: 'succeeded only once the charger booted with the image version',
  },
  status: { ...nullable(str), description: "the charger's last firmware status" },
  history: { type: 'array', items: object({ status: str, at: time }) },
  error: nullable(str),
  retrieveDate: nullable(time),
  retries: nullable(int),
  retryInterval: nullable(int),
  versionBefore: nullable(str),
  versionAfter: { ...nullable(str), description: 'the firmwareVersion of the boot after the update' },
  createdAt: time,
  updatedAt: time,
  lastHeardAt: nullable(time),
  finishedAt: nullable(time),
});

export const FIRMWARE_JOB_QUERY = {
  chargerId: { type: 'string' },
  rolloutId: { type: 'integer' },
  imageId: { type: 'string' },
  state: { type: 'string', enum: ['queued', 'running', 'succeeded', 'failed', 'timed-out', 'cancelled'] },
};

const ROLLOUT_TARGET = {
  type: 'object',
  properties: {
    chargerIds: { type: 'array', items: { type: 'string', minLength: 1 }, minItems: 1, maxItems: 10000 },
    vendor: { type: 'string', minLength: 1, description: 'chargePointVendor as the charger boots with it' },
    model: { type: 'string', minLength: 1, description: 'chargePointModel' },
    tag: { type: 'string', minLength: 1, description: 'chargers whose id tag list names this tag (charger-tags)' },
  },
  additionalProperties: false,
} as const;

export const FIRMWARE_ROLLOUT_INPUT = {
  type: 'object',
  properties: {
    imageId: { type: 'string', minLength: 1 },
    target: ROLLOUT_TARGET,
    concurrency: { type: 'integer', minimum: 1, maximum: 1000, description: 'jobs running at once (default 5)' },
    maxFailureRate: {
      type: 'number',
      minimum: 0,
      maximum: 1,
      description: 'halt when failed / finished exceeds this (default 0.2)',
    },
    minFinished: { type: 'integer', minimum: 1, description: 'finished jobs before the rate counts (default 5)' },
    ...FIRMWARE_RETRY,
    signed: FIRMWARE_SIGNED,
  },
  required: ['imageId', 'target'],
  additionalProperties: false,
} as const;

export const FIRMWARE_ROLLOUT = object({
  id: int,
  imageId: str,
  state: { type: 'string', enum: ['running', 'paused', 'halted', 'cancelled', 'completed'] },
  target: { type: 'object', additionalProperties: true },
  concurrency: int,
  maxFailureRate: num,
  minFinished: int,
  options: { type: 'object', additionalProperties: true },
  haltReason: nullable(str),
  createdAt: time,
  updatedAt: time,
  progress: object({
    total: int,
    queued: int,
    running: int,
    succeeded: int,
    failed: int,
    timedOut: int,
    cancelled: int,
    failureRate: num,
  }),
});

// The storage port. The central system, API and bridge depend on this file only; SQLite
// (sqlite.ts) and later PostgreSQL implement it, and test/store/contract.ts holds both to it.
//
// Conventions shared by every implementation:
// - Every method is async. A write's promise resolves only after the transaction holding it has
//   committed (docs/architecture.md, "Persistence rules": commit before acknowledging the charger), and
//   rejects, alone, if that write failed. Writes are applied in call order.
// - Reads see committed data only; they do not wait for writes still queued.
// - Times go in as `TimeInput` (ISO 8601 with a zone, epoch ms, or Date) and come out as ISO
//   strings in UTC with milliseconds (`2024-05-01T12:00:00.000Z`). An unparseable time rejects.
// - Charger ids and id tags are TEXT. Id tags compare case-insensitively (OCPP 1.6 §3.5.1 does
//   not say so, but real chargers and cards vary the case); the spelling last written is returned.
// - Lists take `limit` (default 100, capped at 10 000) and `offset` (default 0).

import type { FirmwareStore } from './firmware.ts';
export type TimeInput = string | number | Date;
/** ISO 8601, UTC, milliseconds. */
export type IsoTime = string;

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

export interface Page<T> {
  items: T[];
  /** Number of rows matching the filter, ignoring limit and offset. */
  total: number;
}

export interface PageQuery {
  limit?: number;
  offset?: number;
}

export interface TimeRange {
  /** Inclusive. */
  from?: TimeInput;
  /** Exclusive. */
  to?: TimeInput;
}

// ---------------------------------------------------------------- chargers

export type Registration = 'accepted' | 'pending' | 'rejected';
export type ValidationMode = 'strict' | 'tolerant';
export type SecurityProfile = 0 | 1 | 2 | 3;

/** BootNotification.req fields, as sent (after tolerant repair). */
export interface BootFields {
  chargePointVendor: string;
  chargePointModel: string;
  chargePointSerialNumber?: string | null;
  chargeBoxSerialNumber?: string | null;
  firmwareVersion?: string | null;
  iccid?: string | null;
  imsi?: string | null;
  meterType?: string | null;
  meterSerialNumber?: string | null;
}

export interface ChargerRecord {
  id: string;
  registration: Registration;
  vendor: string | null;
  model: string | null;
  chargePointSerialNumber: string | null;
  chargeBoxSerialNumber: string | null;
  firmwareVersion: string | null;
  iccid: string | null;
  imsi: string | null;
  meterType: string | null;
  meterSerialNumber: string | null;
  lastBootAt: IsoTime | null;
  lastSeenAt: IsoTime | null;
  connected: boolean;
  remoteAddress: string | null;
  /** HeartbeatInterval to answer BootNotification with; null = server default. */
  heartbeatInterval: number | null;
  /** null = server default. */
  validationMode: ValidationMode | null;
  notes: string | null;
  securityProfile: SecurityProfile;
  /** Hash of the AuthorizationKey (profiles 1 and 2); never the key itself. */
  authKeyHash: string | null;
  createdAt: IsoTime;
  updatedAt: IsoTime;
}

/** Operator-settable fields. Omitted = unchanged; null = cleared. */
export interface ChargerPatch {
  registration?: Registration;
  heartbeatInterval?: number | null;
  validationMode?: ValidationMode | null;
  notes?: string | null;
  securityProfile?: SecurityProfile;
  authKeyHash?: string | null;
}

export interface ChargerQuery extends PageQuery {
  connected?: boolean;
  registration?: Registration;
  vendor?: string;
  model?: string;
}

/** A charger id the server refused or does not know yet (approval list). */
export interface ConnectionAttemptRecord {
  id: string;
  count: number;
  firstAt: IsoTime;
  lastAt: IsoTime;
  /** Remote address of the latest attempt. */
  remoteAddress: string | null;
}

// ---------------------------------------------------------------- connectors

/** StatusNotification.req fields, connector 0 included. */
export interface StatusInput {
  chargerId: string;
  connectorId: number;
  status: string;
  errorCode: string;
  info?: string | null;
  vendorId?: string | null;
  vendorErrorCode?: string | null;
  /** The charger's timestamp; null when it sent none. */
  timestamp?: TimeInput | null;
  /** When the server received it. */
  at: TimeInput;
}

export interface ConnectorRecord {
  chargerId: string;
  connectorId: number;
  status: string;
  errorCode: string;
  info: string | null;
  vendorId: string | null;
  vendorErrorCode: string | null;
  timestamp: IsoTime | null;
  updatedAt: IsoTime;
}

export interface StatusHistoryRecord extends ConnectorRecord {
  id: number;
}

export interface StatusHistoryQuery extends PageQuery, TimeRange {
  connectorId?: number;
}

// ---------------------------------------------------------------- id tags

export type IdTagStatus = 'Accepted' | 'Blocked' | 'Expired' | 'Invalid' | 'ConcurrentTx';

export interface IdTagRecord {
  /** Spelling last written. */
  idTag: string;
  status: IdTagStatus;
  expiryDate: IsoTime | null;
  parentIdTag: string | null;
  note: string | null;
  /** Per-tag smart-charging preferences (target energy, departure, ...); owned by src/smart. */
  smartPlan: JsonValue | null;
  createdAt: IsoTime;
  updatedAt: IsoTime;
}

/** Omitted = unchanged (or default on insert: status Accepted, others null). */
export interface IdTagInput {
  idTag: string;
  status?: IdTagStatus;
  expiryDate?: TimeInput | null;
  parentIdTag?: string | null;
  note?: string | null;
  smartPlan?: JsonValue | null;
}

export interface IdTagQuery extends PageQuery {
  status?: IdTagStatus;
  /** Case-insensitive substring of the id tag. */
  search?: string;
}

// ---------------------------------------------------------------- transactions

export interface StartTransactionInput {
  chargerId: string;
  connectorId: number;
  idTag: string;
  timestamp: TimeInput;
  meterStart: number;
  reservationId?: number | null;
}

export interface StartTransactionResult {
  transactionId: number;
  /** True when this was a retry of a start already stored (same id returned). */
  duplicate: boolean;
}

export interface StopTransactionInput {
  transactionId: number;
  chargerId: string;
  idTag?: string | null;
  timestamp: TimeInput;
  meterStop: number;
  reason?: string | null;
  /** StopTransaction.req transactionData, kept as sent. */
  transactionData?: JsonValue | null;
}

export interface StopTransactionResult {
  /** The transaction exists and belongs to this charger. Unknown stops are stored anyway. */
  known: boolean;
  /**
   * A StopTransaction for it had been received before; this stop was stored but did not
   * overwrite the first.
   */
  alreadyStopped: boolean;
  /**
   * It had been closed by the central system (closeTransaction: stale) with no StopTransaction
   * received; this stop replaced that close (its meterStop, time, reason and id tag win).
   */
  reconciled: boolean;
  transaction: TransactionRecord | null;
}

/** The central system closes a transaction whose StopTransaction was lost (stale). */
export interface CloseTransactionInput {
  transactionId: number;
  chargerId: string;
  timestamp: TimeInput;
  /** The last metered energy register (Wh), or meterStart when none was metered. */
  meterStop: number;
  /** Why, for people: "superseded by transaction 12", "charger rebooted". */
  reason: string;
}

export interface TransactionRecord {
  id: number;
  chargerId: string;
  connectorId: number;
  idTag: string;
  startedAt: IsoTime;
  meterStart: number;
  reservationId: number | null;
  stoppedAt: IsoTime | null;
  meterStop: number | null;
  stopReason: string | null;
  stopIdTag: string | null;
  /** meterStop - meterStart (Wh) once stopped, else null. */
  energyWh: number | null;
  createdAt: IsoTime;
}

export interface TransactionQuery extends PageQuery, TimeRange {
  chargerId?: string;
  connectorId?: number;
  idTag?: string;
  active?: boolean;
  // from/to select transactions overlapping [from, to): started before `to` and not stopped before `from`.
}

/** Every StopTransaction received, including orphans (unknown id) and repeats. */
export interface StopRecord {
  id: number;
  transactionId: number;
  chargerId: string;
  idTag: string | null;
  timestamp: IsoTime;
  meterStop: number;
  reason: string | null;
  transactionData: JsonValue | null;
  known: boolean;
  duplicate: boolean;
  receivedAt: IsoTime;
}

export interface TransactionMeterSummary {
  transactionId: number;
  samples: number;
  /** Latest normalised energy register reading (Wh), if any. */
  lastWh: number | null;
  /** Highest and mean of normalised power samples (W), if any. */
  peakW: number | null;
  avgW: number | null;
  firstAt: IsoTime | null;
  lastAt: IsoTime | null;
}

// ---------------------------------------------------------------- meter values

export type MeterSource = 'MeterValues' | 'StartTransaction' | 'StopTransaction';

/** A sampledValue as the charger sent it (OCPP 1.6 §7.45), after validation. */
export interface SampledValueInput {
  /** As sent (the schema says string; tolerant mode stringifies numbers). */
  value: string;
  context?: string;
  format?: string;
  measurand?: string;
  phase?: string;
  location?: string;
  unit?: string;
}

/** The meter values of one OCPP message (MeterValues, or a StopTransaction's transactionData). */
export interface MeterReadings {
  chargerId: string;
  connectorId: number;
  transactionId: number | null;
  source: MeterSource;
  meterValue: readonly { timestamp: TimeInput; sampledValue: readonly SampledValueInput[] }[];
}

/** One sampledValue, flattened with its meterValue timestamp. */
export interface MeterValueInput {
  chargerId: string;
  connectorId: number;
  transactionId: number | null;
  timestamp: TimeInput;
  /** As sent (the schema says string; tolerant mode stringifies numbers). */
  value: string;
  context: string | null;
  format: string | null;
  measurand: string | null;
  phase: string | null;
  location: string | null;
  unit: string | null;
  /** Energy normalised to Wh, when the measurand is an energy register. */
  wh: number | null;
  /** Power normalised to W, when the measurand is a power. */
  w: number | null;
  source: MeterSource;
}

export interface MeterValueRecord extends Omit<MeterValueInput, 'timestamp'> {
  /** Id of the stored meterValue (one timestamp of one message); its sampled values share it. */
  id: number;
  /** Position of this sampledValue within that meterValue, as sent. */
  index: number;
  timestamp: IsoTime;
}

export interface MeterQuery extends TimeRange {
  chargerId?: string;
  connectorId?: number;
  transactionId?: number;
  /** A missing measurand means Energy.Active.Import.Register (OCPP 1.6 §7.31) and matches it. */
  measurand?: string;
  phase?: string;
  /** Default 1 000, capped at 100 000. Raw rows come oldest first. */
  limit?: number;
  offset?: number;
}

export interface MeterBucketQuery extends MeterQuery {
  /** Bucket width; buckets are aligned to the epoch. `limit` counts buckets (default 10 000). */
  stepSeconds: number;
}

/**
 * One bucket of one series (measurand, phase, location, unit). Energy registers
 * (`*.Register`) keep the last sample of the bucket; everything else is averaged.
 */
export interface MeterBucket {
  /** Start of the bucket (epoch aligned). */
  timestamp: IsoTime;
  connectorId: number;
  measurand: string;
  phase: string | null;
  location: string | null;
  unit: string | null;
  /** Averaged or last numeric value; null when no sample in the bucket was numeric. */
  value: number | null;
  wh: number | null;
  w: number | null;
  samples: number;
}

// ---------------------------------------------------------------- events and findings

/** DataTransfer, FirmwareStatusNotification, DiagnosticsStatusNotification, security events, ... */
export interface EventInput {
  chargerId: string | null;
  kind: string;
  payload: JsonValue;
  at: TimeInput;
}

export interface EventRecord {
  id: number;
  chargerId: string | null;
  kind: string;
  payload: JsonValue;
  at: IsoTime;
}

export interface EventQuery extends PageQuery, TimeRange {
  chargerId?: string;
  kind?: string;
}

/** One tolerant-mode repair (or strict-mode rejection) of a schema deviation. */
export interface FindingInput {
  /** JSON pointer into the payload, e.g. `/meterValue/0/sampledValue/1/unit`. */
  path: string;
  /** Which known deviation, e.g. `unit-unknown`, `maxLength`. */
  rule: string;
  original: JsonValue;
  repaired: JsonValue;
}

export interface FindingRecord extends FindingInput {
  id: number;
  chargerId: string;
  action: string;
  at: IsoTime;
}

export interface FindingQuery extends PageQuery {
  action?: string;
  rule?: string;
}

// ---------------------------------------------------------------- configuration and profiles

export interface ConfigurationInput {
  key: string;
  value: string | null;
  readonly: boolean;
}

export interface ConfigurationEntry extends ConfigurationInput {
  updatedAt: IsoTime;
}

export interface ChargingProfileInput {
  chargerId: string;
  connectorId: number;
  chargingProfileId: number;
  stackLevel: number;
  purpose: string;
  /** csChargingProfiles as sent to the charger. */
  profile: JsonValue;
  at: TimeInput;
}

export interface ChargingProfileRecord extends Omit<ChargingProfileInput, 'at'> {
  updatedAt: IsoTime;
}

/** ClearChargingProfile.req semantics: every given field must match; none given = all. */
export interface ChargingProfileFilter {
  chargingProfileId?: number;
  connectorId?: number;
  purpose?: string;
  stackLevel?: number;
}

// ---------------------------------------------------------------- the port

/**
 * The id tags a charger may use (`*` = every tag Ampere knows, the default) and its free-charging
 * tag (go-e's `ocppd`, Eaton's `FREECHARGING`): what it sends when it charges without a card.
 */
export interface ChargerTagsRecord {
  chargerId: string;
  allowed: string[];
  freeChargingTag: string | null;
}

export interface ReservationInput {
  chargerId: string;
  connectorId: number;
  idTag: string;
  parentIdTag?: string | null;
  expiryDate: TimeInput;
}

/** A reservation (OCPP 1.6 §5.13): `requested`, then the ReserveNow answer, `consumed`, `cancelled` or `failed`. */
export interface ReservationRecord {
  id: number;
  chargerId: string;
  connectorId: number;
  idTag: string;
  parentIdTag: string | null;
  expiryDate: IsoTime;
  status: string;
  transactionId: number | null;
  createdAt: IsoTime;
  updatedAt: IsoTime;
}

export interface ReservationQuery extends PageQuery {
  chargerId?: string;
  status?: string;
}

/** Where a configuration policy applies (fleet-wide, a vendor + model, or one charger) and its key. */
export interface ConfigPolicyTarget {
  scope: 'fleet' | 'model' | 'charger';
  vendor?: string | null;
  model?: string | null;
  chargerId?: string | null;
  key: string;
}

export interface ConfigPolicyInput extends ConfigPolicyTarget {
  value: string;
}

export interface ConfigPolicyRecord {
  scope: 'fleet' | 'model' | 'charger';
  vendor: string | null;
  model: string | null;
  chargerId: string | null;
  key: string;
  value: string;
  updatedAt: IsoTime;
}

/** What a charger answered when a policy's value was sent (ChangeConfiguration status, or Failed). */
export interface ConfigOutcomeInput {
  key: string;
  value: string;
  status: string;
  note?: string | null;
}

export interface ConfigOutcomeRecord {
  chargerId: string;
  key: string;
  value: string;
  status: string;
  note: string | null;
  at: IsoTime;
}

/** A diagnostics upload Ampere asked a charger for (GetDiagnostics, OCPP 1.6 §5.9). */
export interface DiagnosticsRequestInput {
  chargerId: string;
  transport: 'ftp' | 'http';
  /** GetLog (security whitepaper) of this log type; null or absent = GetDiagnostics. */
  logType?: 'DiagnosticsLog' | 'SecurityLog' | null;
  /** A hash of the upload credential (the FTP password, the HTTP upload token); never the secret. */
  secretHash: string;
  expiresAt: TimeInput;
  startTime?: TimeInput | null;
  stopTime?: TimeInput | null;
  retries?: number | null;
  retryInterval?: number | null;
}

export interface DiagnosticsRequestRecord {
  id: number;
  chargerId: string;
  transport: 'ftp' | 'http';
  logType: 'DiagnosticsLog' | 'SecurityLog' | null;
  secretHash: string;
  expiresAt: IsoTime;
  startTime: IsoTime | null;
  stopTime: IsoTime | null;
  retries: number | null;
  retryInterval: number | null;
  /** requested, sent, a DiagnosticsStatusNotification status, received, or failed. */
  status: string;
  /** The file name the charger answered (GetDiagnostics.conf). */
  fileName: string | null;
  /** The stored file's name in the diagnostics folder, once received. */
  file: string | null;
  fileSize: number | null;
  receivedAt: IsoTime | null;
  error: string | null;
  history: { status: string; at: IsoTime; info?: string }[];
  createdAt: IsoTime;
  updatedAt: IsoTime;
}

export interface DiagnosticsPatch {
  status?: string;
  fileName?: string | null;
  file?: string | null;
  fileSize?: number | null;
  receivedAt?: TimeInput | null;
  error?: string | null;
  history?: DiagnosticsRequestRecord['history'];
}

/** Told of every group commit that succeeded: its duration in seconds (operations metrics). */
export type CommitObserver = (seconds: number) => void;

/**
 * The storage port, cut by aggregate so a room can ask for just what it uses (a function that
 * reads transactions takes a `TransactionStore`). `Store` is all of them: what sqlite.ts and
 * postgres.ts implement and the contract suite checks.
 */
export interface Store
  extends ChargerStore,
    ConnectorStore,
    IdTagStore,
    TransactionStore,
    MeterValueStore,
    EventStore,
    ChargerConfigurationStore,
    ChargingProfileStore,
    ChargerTagStore,
    ReservationStore,
    ConfigPolicyStore,
    SettingsStore,
    MeterRetentionStore,
    DiagnosticsStore,
    StoreLifecycle {}

/** Chargers: identity, registration, presence, connection attempts of unknown ones. */
export interface ChargerStore {
  getCharger(id: string): Promise<ChargerRecord | null>;
  listChargers(q?: ChargerQuery): Promise<Page<ChargerRecord>>;
  /** Creates the charger (registration `pending` unless given) or updates the given fields. */
  upsertCharger(id: string, patch?: ChargerPatch, at?: TimeInput): Promise<ChargerRecord>;
  /** Removes the charger, its connectors, configuration copy and profiles; history stays. */
  deleteCharger(id: string): Promise<boolean>;
  /** Stores BootNotification identity; creates a `pending` charger if unknown. */
  recordBoot(id: string, boot: BootFields, at: TimeInput): Promise<ChargerRecord>;
  /**
   * A connected charger's BootNotification in one write: its identity, the connection (connected,
   * remote address) and, for a charger seen for the first time, its row with `registrationIfNew`
   * (an existing charger keeps its registration). `created` says which it was.
   */
  bootCharger(
    id: string,
    boot: BootFields,
    at: TimeInput,
    connection: { registrationIfNew: Registration; remoteAddress: string | null },
  ): Promise<{ record: ChargerRecord; created: boolean }>;
  /** lastSeenAt on every frame: the hot path, coalesced per charger within a batch. */
  touchCharger(id: string, at: TimeInput): Promise<void>;
  setConnection(id: string, connected: boolean, remoteAddress: string | null, at: TimeInput): Promise<void>;
  /** At start: flags left `connected` by a previous process are stale. Returns how many. */
  markAllDisconnected(at: TimeInput): Promise<number>;

  recordConnectionAttempt(id: string, remoteAddress: string | null, at: TimeInput): Promise<void>;
  listConnectionAttempts(q?: PageQuery): Promise<Page<ConnectionAttemptRecord>>;
  deleteConnectionAttempt(id: string): Promise<boolean>;
}

/** Connectors: last status and status history. */
export interface ConnectorStore {
  /** Updates the connector's last status and appends to its history, in one write. */
  recordStatus(s: StatusInput): Promise<void>;
  listConnectors(chargerId: string): Promise<ConnectorRecord[]>;
  listStatusHistory(chargerId: string, q?: StatusHistoryQuery): Promise<Page<StatusHistoryRecord>>;
}

/** The id tag registry. */
export interface IdTagStore {
  getIdTag(idTag: string): Promise<IdTagRecord | null>;
  listIdTags(q?: IdTagQuery): Promise<Page<IdTagRecord>>;
  upsertIdTag(tag: IdTagInput, at?: TimeInput): Promise<IdTagRecord>;
  /** One write for the whole list (CSV import); returns how many were written. */
  upsertIdTags(tags: IdTagInput[], at?: TimeInput): Promise<number>;
  deleteIdTag(idTag: string): Promise<boolean>;
}

/** Transactions (OCPP sessions), their stops and meter summaries. */
export interface TransactionStore {
  startTransaction(t: StartTransactionInput): Promise<StartTransactionResult>;
  stopTransaction(t: StopTransactionInput): Promise<StopTransactionResult>;
  /**
   * Closes a transaction that is still open, without a StopTransaction (none is stored in
   * listStops). Returns the closed transaction, or null when it was not open on that charger.
   */
  closeTransaction(c: CloseTransactionInput): Promise<TransactionRecord | null>;
  getTransaction(id: number): Promise<TransactionRecord | null>;
  listTransactions(q?: TransactionQuery): Promise<Page<TransactionRecord>>;
  activeTransactionFor(chargerId: string, connectorId: number): Promise<TransactionRecord | null>;
  /** Unstopped transactions of this tag on any charger (ConcurrentTx). */
  activeTransactionsByIdTag(idTag: string): Promise<TransactionRecord[]>;
  listStops(q?: PageQuery & { chargerId?: string; transactionId?: number }): Promise<Page<StopRecord>>;
  transactionMeterSummary(transactionId: number): Promise<TransactionMeterSummary>;
}

/** Meter values: the sampled values of MeterValues, Start/StopTransaction. */
export interface MeterValueStore {
  /**
   * All sampled values of one OCPP message: one write. Consecutive rows sharing charger,
   * connector, transaction, timestamp and source form one meterValue; keep them adjacent.
   */
  insertMeterValues(rows: readonly MeterValueInput[]): Promise<void>;
  /**
   * The same for one message's meterValue array as parsed: normalised and encoded without a row
   * object per sampled value (the MeterValues path). Stores what insertMeterValues stores for
   * the rows of that message.
   */
  insertMeterReadings(r: MeterReadings): Promise<void>;
  queryMeterValues(q: MeterQuery): Promise<MeterValueRecord[]>;
  /** Server-side downsampling, buckets oldest first. */
  queryMeterBuckets(q: MeterBucketQuery): Promise<MeterBucket[]>;
}

/** Events and conformance findings. */
export interface EventStore {
  recordEvent(e: EventInput): Promise<number>;
  listEvents(q?: EventQuery): Promise<Page<EventRecord>>;
  recordFindings(chargerId: string, action: string, findings: readonly FindingInput[], at: TimeInput): Promise<void>;
  listFindings(chargerId: string, q?: FindingQuery): Promise<Page<FindingRecord>>;
}

/** The copy of each charger's configuration keys. */
export interface ChargerConfigurationStore {
  /** Merges the keys given (GetConfiguration may come in pages); `replace` drops the others. */
  saveConfiguration(
    chargerId: string,
    entries: readonly ConfigurationInput[],
    at: TimeInput,
    opts?: { replace?: boolean },
  ): Promise<void>;
  getConfiguration(chargerId: string): Promise<ConfigurationEntry[]>;
}

/** Installed charging profiles (what the charger accepted). */
export interface ChargingProfileStore {
  /** Same chargerId + chargingProfileId replaces (OCPP 1.6 §5.16.2). */
  saveChargingProfile(p: ChargingProfileInput): Promise<void>;
  listChargingProfiles(chargerId: string): Promise<ChargingProfileRecord[]>;
  /** Returns how many were removed. */
  clearChargingProfiles(chargerId: string, filter?: ChargingProfileFilter): Promise<number>;
}

/** Per-charger id tags (src/central/charger-tags.ts). */
export interface ChargerTagStore {
  getChargerTags(chargerId: string): Promise<ChargerTagsRecord>;
  /** Replaces both lists; `allowed` empty or ['*'] = all tags. */
  setChargerTags(
    chargerId: string,
    tags: { allowed: readonly string[]; freeChargingTag: string | null },
  ): Promise<ChargerTagsRecord>;
}

/** Reservations (src/central/reservations.ts); ids are the OCPP reservationIds. */
export interface ReservationStore {
  createReservation(r: ReservationInput, at: TimeInput): Promise<ReservationRecord>;
  updateReservation(
    id: number,
    patch: { status: string; transactionId?: number | null },
    at: TimeInput,
  ): Promise<ReservationRecord | null>;
  getReservation(id: number): Promise<ReservationRecord | null>;
  /** Newest first. */
  listReservations(q?: ReservationQuery): Promise<Page<ReservationRecord>>;
}

/** Configuration policies and each charger's answers (src/central/config-policies.ts). */
export interface ConfigPolicyStore {
  listConfigPolicies(): Promise<ConfigPolicyRecord[]>;
  /** Creates or replaces the policy for (scope, vendor, model, chargerId, key). */
  putConfigPolicy(p: ConfigPolicyInput, at?: TimeInput): Promise<ConfigPolicyRecord>;
  deleteConfigPolicy(p: ConfigPolicyTarget): Promise<boolean>;
  /** The latest outcome per key replaces the one before. */
  recordConfigOutcomes(chargerId: string, outcomes: readonly ConfigOutcomeInput[], at: TimeInput): Promise<void>;
  listConfigOutcomes(chargerId: string): Promise<ConfigOutcomeRecord[]>;
}

/** Diagnostics requests (src/central/diagnostics.ts). */
export interface DiagnosticsStore {
  createDiagnosticsRequest(r: DiagnosticsRequestInput, at: TimeInput): Promise<DiagnosticsRequestRecord>;
  updateDiagnosticsRequest(
    id: number,
    patch: DiagnosticsPatch,
    at: TimeInput,
  ): Promise<DiagnosticsRequestRecord | null>;
  getDiagnosticsRequest(id: number): Promise<DiagnosticsRequestRecord | null>;
  /** Newest first; one charger's when chargerId is given. */
  listDiagnosticsRequests(q?: { chargerId?: string; limit?: number }): Promise<DiagnosticsRequestRecord[]>;
}

/** Server-wide settings (key → text). */
export interface SettingsStore {
  getSetting(key: string): Promise<string | null>;
  setSetting(key: string, value: string | null): Promise<void>;
}

/** One connector's meter values of one UTC day, kept when the raw rows are pruned (retention). */
export interface MeterDailyRecord {
  chargerId: string;
  connectorId: number;
  /** The UTC date, `YYYY-MM-DD`. */
  day: string;
  /** Rise of the total Energy.Active.Import.Register over the day's readings (Wh); null without any. */
  energyWh: number | null;
  /** Lowest and highest reading of that register (Wh). */
  firstWh: number | null;
  lastWh: number | null;
  /** Highest total Power.Active.Import (W); null without any. */
  maxPowerW: number | null;
  /** How many meterValues (readings with one timestamp) were folded in. */
  readings: number;
}

export interface MeterDailyQuery {
  chargerId: string;
  connectorId?: number;
  /** First and last UTC day (`YYYY-MM-DD`), both included. */
  from?: string;
  to?: string;
}

/** Meter-value retention: old rows are folded into per-day aggregates per connector, then deleted. */
export interface MeterRetentionStore {
  /**
   * Folds the oldest meter values (at most `limit` meterValues) timestamped before `before` into
   * the daily aggregates and deletes them, in one transaction. Returns how many went; fewer than
   * `limit` means none older is left.
   */
  pruneMeterValues(before: TimeInput, limit: number): Promise<number>;
  /** Daily aggregates, oldest day first. */
  listMeterDaily(q: MeterDailyQuery): Promise<MeterDailyRecord[]>;
}

/** Which database, readiness, and the end of the write queue. */
export interface StoreLifecycle {
  readonly kind: 'sqlite' | 'postgres';
  /** Firmware images, update jobs and rollouts (src/store/firmware.ts): their own store object. */
  readonly firmware: FirmwareStore;
  /** Answers a trivial query: the database is reachable (readiness probe). */
  ping(): Promise<void>;
  /** Resolves when every write queued so far has committed. */
  flush(): Promise<void>;
  /** Flushes pending writes, then closes. Later calls reject. */
  close(): Promise<void>;
}

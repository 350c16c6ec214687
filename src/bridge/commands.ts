// Commands of the object model (xxter's receive objects plus the app's toggles), each turned into
// one OCPP call to the charger or one call of the smart-charging engine. Every transport parses its
// own wire format into a CommandRequest and gets a CommandResult back: accepted, rejected (with the
// charger's answer) or an error in words. Nothing here throws at a transport.
import { AmpereError, isAmpereError } from '../errors.ts';
import type { ActionMap, CentralAction } from '../ocpp/index.ts';
import type { BridgeModel, ObjectChange } from './model.ts';

export const COMMANDS = [
  'charging',
  'start',
  'stop',
  'reserve',
  'availability',
  'unlock',
  'max_current',
  'max_current_restore',
  'reset',
  'fast_charge',
] as const;
export type CommandName = (typeof COMMANDS)[number];

export function isCommand(name: string): name is CommandName {
  return (COMMANDS as readonly string[]).includes(name);
}

export interface CommandRequest {
  chargerId: string;
  connectorId: number;
  command: CommandName;
  /** The payload as received: a number, a word (ON/OFF, true/false) or JSON text. */
  payload: string;
}

export interface CommandResult {
  ok: boolean;
  chargerId: string;
  connectorId: number;
  command: string;
  /** The charger's status answer (Accepted, Rejected, Unlocked, …) when it gave one. */
  status?: string;
  /** The whole OCPP answer, or the smart engine's. */
  response?: unknown;
  error?: { code: string; message: string };
  at: string;
}

/** What the commands need from the central system: narrow ports, never the store. */
export interface CommandPorts {
  call<A extends CentralAction>(
    chargerId: string,
    action: A,
    payload: ActionMap[A]['request'],
  ): Promise<ActionMap[A]['response']>;
  isConnected(chargerId: string): boolean;
  /** Whether the central system knows this charger at all (registered, pending or seen). */
  chargerExists(chargerId: string): Promise<boolean>;
  /** The smart-charging engine's fast-charge toggle for a running session (keeps the site limit). */
  setFastCharge(transactionId: number, fast: boolean): Promise<unknown>;
  now(): number;
}

export interface CommandSettings {
  /** The tag a start uses when the command names none (the charger's configured tag). */
  idTagOf(chargerId: string): string | undefined;
  configuredMaxCurrentA(chargerId: string): number | undefined;
  reservationMinutes: number;
}

/** Ampere's bridge limit: its own ChargePointMaxProfile id, apart from the smart engine's 9000 range. */
export const BRIDGE_MAX_PROFILE_ID = 8_800;
/** Reservation ids the bridge hands out (§5.13: chosen by the central system). */
const RESERVATION_ID_BASE = 880_000;

const bad = (message: string) => new AmpereError('AMPERE_ERR_BAD_REQUEST', message);

/** `1`, `ON`, `true`, `start`… → true; `0`, `OFF`, `false`, `stop`… → false. */
export function parseSwitch(payload: string): boolean {
  const p = payload.trim().toLowerCase();
  if (['1', 'on', 'true', 'start', 'yes'].includes(p)) return true;
  if (['0', 'off', 'false', 'stop', 'no'].includes(p)) return false;
  throw bad(`expected 1/0, ON/OFF or true/false, got "${payload.slice(0, 40)}"`);
}

/** A payload that may be JSON ({"idTag": "…"}) or a bare word. */
function jsonOrText(payload: string): Record<string, unknown> | string {
  const t = payload.trim();
  if (!t.startsWith('{')) return t;
  try {
    const v = JSON.parse(t) as unknown;
    if (v && typeof v === 'object' && !Array.isArray(v)) return v as Record<string, unknown>;
  } catch {
    // fall through
  }
  throw bad('the payload starts with "{" but is not a JSON object');
}

export class CommandRunner {
  private nextReservation = RESERVATION_ID_BASE;
  private readonly reservations = new Map<string, number>();

  constructor(
    private readonly ports: CommandPorts,
    private readonly model: BridgeModel,
    private readonly settings: () => CommandSettings,
    private readonly onChanges: (changes: ObjectChange[]) => void,
  ) {}

  async run(req: CommandRequest): Promise<CommandResult> {
    const base = { chargerId: req.chargerId, connectorId: req.connectorId, command: req.command };
    try {
      if (!this.model.has(req.chargerId) && !(await this.ports.chargerExists(req.chargerId))) {
        throw new AmpereError('AMPERE_ERR_NOT_FOUND', `unknown charger "${req.chargerId}"`);
      }
      if (!this.ports.isConnected(req.chargerId)) {
        // A command is never queued for later: the user is told now, and can send it again.
        throw new AmpereError('AMPERE_ERR_CHARGER_OFFLINE', `charger offline: ${req.chargerId} is not connected`);
      }
      const response = await this.execute(req);
      const status = (response as { status?: unknown } | undefined)?.status;
      // OCPP 1.6 §5.5: Unknown = no such profile, so a restore with no override in force has nothing to undo.
      const restoring =
        req.command === 'max_current_restore' ||
        (req.command === 'max_current' && ['', 'restore'].includes(req.payload.trim().toLowerCase()));
      const restored = status === 'Unknown' && restoring;
      const ok = status === undefined || restored || ['Accepted', 'Unlocked', 'Scheduled'].includes(String(status));
      return {
        ...base,
        ok,
        ...(typeof status === 'string' ? { status } : {}),
        response,
        at: new Date(this.ports.now()).toISOString(),
      };
    } catch (e) {
      const code = isAmpereError(e) ? e.code : 'AMPERE_ERR_INTERNAL';
      return {
        ...base,
        ok: false,
        error: { code, message: (e as Error).message },
        at: new Date(this.ports.now()).toISOString(),
      };
    }
  }

  private async execute(req: CommandRequest): Promise<unknown> {
    const { chargerId, connectorId } = req;
    const s = this.settings();
    const needConnector = () => {
      if (connectorId < 1) throw bad(`${req.command} needs a connector (1, 2, …), not ${connectorId}`);
    };
    switch (req.command) {
      case 'charging':
        return parseSwitch(req.payload) ? this.start(req, s) : this.stop(req);
      case 'start':
        return this.start(req, s);
      case 'stop':
        return this.stop(req);
      case 'reserve': {
        needConnector();
        const p = jsonOrText(req.payload);
        const on = typeof p === 'string' ? parseSwitch(p) : p.on !== false;
        const key = `${chargerId}/${connectorId}`;
        if (!on) {
          const reservationId = this.reservations.get(key);
          if (reservationId === undefined) throw bad(`no reservation made through the bridge on ${key}`);
          const answer = await this.ports.call(chargerId, 'CancelReservation', { reservationId });
          if (answer.status === 'Accepted') this.reservations.delete(key);
          return answer;
        }
        const idTag =
          (typeof p === 'object' && typeof p.idTag === 'string' ? p.idTag : undefined) ?? s.idTagOf(chargerId);
        if (!idTag) throw bad(`no idTag given and none configured for ${chargerId}`);
        const reservationId = ++this.nextReservation;
        // OCPP 1.6 §5.13: the central system picks the reservation id and the expiry.
        const answer = await this.ports.call(chargerId, 'ReserveNow', {
          connectorId,
          expiryDate: new Date(this.ports.now() + s.reservationMinutes * 60_000).toISOString(),
          idTag,
          reservationId,
        });
        if (answer.status === 'Accepted') this.reservations.set(key, reservationId);
        return answer;
      }
      case 'availability':
        // OCPP 1.6 §5.2: connector 0 changes the whole charger.
        return this.ports.call(chargerId, 'ChangeAvailability', {
          connectorId,
          type: parseSwitch(req.payload) ? 'Operative' : 'Inoperative',
        });
      case 'unlock':
        needConnector();
        return this.ports.call(chargerId, 'UnlockConnector', { connectorId });
      case 'max_current': {
        const t = req.payload.trim().toLowerCase();
        if (t === 'restore' || t === '') return this.restoreMax(chargerId, connectorId, s);
        const a = Number(t);
        if (!Number.isFinite(a) || a < 0 || a > 1000) throw bad(`max_current must be a number of amperes, got "${t}"`);
        // OCPP 1.6 §3.13.1: a ChargePointMaxProfile on connector 0 caps the charger; the charger takes the
        // lowest of it and the smart engine's TxProfile, so this override can lower but never lift a site limit.
        const answer = await this.ports.call(chargerId, 'SetChargingProfile', {
          connectorId: 0,
          csChargingProfiles: {
            chargingProfileId: BRIDGE_MAX_PROFILE_ID,
            stackLevel: 0,
            chargingProfilePurpose: 'ChargePointMaxProfile',
            chargingProfileKind: 'Relative',
            chargingSchedule: { chargingRateUnit: 'A', chargingSchedulePeriod: [{ startPeriod: 0, limit: a }] },
          },
        });
        if (answer.status === 'Accepted')
          this.onChanges(this.model.set(chargerId, Math.max(1, connectorId), 'max_current', a));
        return answer;
      }
      case 'max_current_restore':
        return this.restoreMax(chargerId, connectorId, s);
      case 'reset': {
        const t = req.payload.trim().toLowerCase();
        const type = t === 'hard' ? 'Hard' : t === '' || t === 'soft' || t === '1' || t === 'on' ? 'Soft' : undefined;
        if (!type) throw bad(`reset takes "soft" (default) or "hard", got "${req.payload.slice(0, 40)}"`);
        return this.ports.call(chargerId, 'Reset', { type });
      }
      case 'fast_charge': {
        needConnector();
        const fast = parseSwitch(req.payload);
        const tx = this.model.transactionOf(chargerId, connectorId);
        if (tx === undefined) {
          throw new AmpereError('AMPERE_ERR_CONFLICT', `no session running on ${chargerId}/${connectorId}`);
        }
        const plan = await this.ports.setFastCharge(tx, fast);
        this.onChanges(this.model.set(chargerId, connectorId, 'fast_charge', fast ? 1 : 0));
        return plan;
      }
    }
  }

  private start(req: CommandRequest, s: CommandSettings) {
    const p = jsonOrText(req.payload);
    const given =
      typeof p === 'object'
        ? typeof p.idTag === 'string'
          ? p.idTag
          : undefined
        : ['', '1', 'on', 'true', 'start'].includes(p.toLowerCase())
          ? undefined
          : p;
    const idTag = given ?? s.idTagOf(req.chargerId);
    if (!idTag) throw bad(`no idTag given and none configured for ${req.chargerId}`);
    if (idTag.length > 20) throw bad('an idTag has at most 20 characters (OCPP 1.6 IdToken)');
    return this.ports.call(req.chargerId, 'RemoteStartTransaction', {
      idTag,
      ...(req.connectorId > 0 ? { connectorId: req.connectorId } : {}),
    });
  }

  private stop(req: CommandRequest) {
    const tx = this.model.transactionOf(req.chargerId, req.connectorId);
    if (tx === undefined) {
      throw new AmpereError('AMPERE_ERR_CONFLICT', `no session running on ${req.chargerId}/${req.connectorId}`);
    }
    return this.ports.call(req.chargerId, 'RemoteStopTransaction', { transactionId: tx });
  }

  private async restoreMax(chargerId: string, connectorId: number, s: CommandSettings) {
    // OCPP 1.6 §5.5: clearing by id removes only the bridge's override.
    const answer = await this.ports.call(chargerId, 'ClearChargingProfile', { id: BRIDGE_MAX_PROFILE_ID });
    const configured = s.configuredMaxCurrentA(chargerId);
    if (configured !== undefined)
      this.onChanges(this.model.set(chargerId, Math.max(1, connectorId), 'max_current', configured));
    return answer;
  }
}

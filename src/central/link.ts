// One live charger connection and the settings its session runs under; shared by the central
// system and its handlers without either importing the other.
import type { RpcSession, ValidationMode } from '../ocpp/index.ts';

export type RegistrationPolicy = 'open' | 'pending' | 'known';

export interface CentralSettings {
  registration: RegistrationPolicy;
  validation: ValidationMode;
  heartbeatInterval: number;
  bootRetryInterval: number;
  callTimeoutMs: number;
}

export type { Clock } from './ports.ts';

/** What the gateway gives the central system for one accepted WebSocket. */
export interface Transport {
  send(text: string): void;
  close(code: number, reason: string): void;
}

export type BootAnswer = 'Accepted' | 'Pending' | 'Rejected';

/** One live connection of a charger. */
export class ChargerLink {
  readonly session: RpcSession;
  bootAnswer: BootAnswer | undefined;
  closed = false;

  constructor(
    readonly chargerId: string,
    readonly transport: Transport,
    readonly remoteAddress: string | null,
    readonly connectedAt: number,
    session: (link: ChargerLink) => RpcSession,
  ) {
    this.session = session(this);
  }
}

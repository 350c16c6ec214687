import type { IncomingCall } from '../../ocpp/index.ts';
import type { ChargerRecord } from '../../store/types.ts';
import type { BootAnswer, CentralSettings, ChargerLink } from '../link.ts';
import type { CentralHost } from '../ports.ts';
import type { ChargerSecurity } from '../security/charger-security.ts';

/** The central system as the handlers of charger CALLs see it (the CentralSystem is one). */
export interface HandlerHost extends CentralHost {
  readonly settings: CentralSettings;
  readonly security: ChargerSecurity;
  /** The charger record of a connected charger, cached for the handlers of every message. */
  cachedRecord(chargerId: string): ChargerRecord | undefined;
  rememberRecord(record: ChargerRecord): void;
  setBootAnswer(link: ChargerLink, answer: BootAnswer): void;
}

export interface HandlerContext {
  central: HandlerHost;
  link: ChargerLink;
  chargerId: string;
  /** Server time the CALL arrived (ms). */
  now: number;
  call: IncomingCall;
}

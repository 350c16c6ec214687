import type { IncomingCall } from '../../ocpp/index.ts';
import type { CentralSystem, ChargerLink } from '../central-system.ts';

export interface HandlerContext {
  central: CentralSystem;
  link: ChargerLink;
  chargerId: string;
  /** Server time the CALL arrived (ms). */
  now: number;
  call: IncomingCall;
}

// The metrics port: what the central system reports for operations (Prometheus at /metrics).
// The composition root supplies the implementation; the central system only calls it. Every
// method runs on the message path, so an implementation increments plain numbers and allocates
// nothing per message.

export interface CentralMetrics {
  /** A CALL received from a charger ('in') or sent to one ('out'). */
  call(direction: 'in' | 'out', action: string): void;
  /** A CALLERROR sent to a charger ('out') or received from one ('in'). */
  callError(direction: 'in' | 'out', code: string): void;
  /** A command's round trip: from sending the CALL to its answer (ok) or CALLERROR/timeout (not ok). */
  commandDone(action: string, ok: boolean, ms: number): void;
}

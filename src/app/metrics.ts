// Prometheus metrics (prom-client): Node's default process metrics (event-loop lag included) and
// Ampere's own. The message path only increments plain numbers in arrays indexed by action or
// code, fixed at start; prom-client reads them when /metrics is scraped. Label names come from
// closed lists (the OCPP 1.6 actions and CALLERROR codes), so a charger sending made-up actions
// cannot grow the number of series: those count as `other`.
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type { CentralMetrics } from '../central/index.ts';
import { CENTRAL_ACTIONS, CHARGER_ACTIONS, OCPP_ERROR_CODES } from '../ocpp/index.ts';

const OTHER = 'other';
const ACTIONS: readonly string[] = [...new Set<string>([...CHARGER_ACTIONS, ...CENTRAL_ACTIONS]), OTHER];
const CODES: readonly string[] = [...OCPP_ERROR_CODES, OTHER];
const ACTION_INDEX = new Map(ACTIONS.map((a, i) => [a, i]));
const CODE_INDEX = new Map(CODES.map((c, i) => [c, i]));
const OTHER_ACTION = ACTION_INDEX.get(OTHER)!;
const OTHER_CODE = CODE_INDEX.get(OTHER)!;

/** Round trips of commands and store commits: from 1 ms to a minute. */
const SECONDS_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

export interface MetricsOptions {
  /** This node's id (the `node` label of ampere_node_info). */
  nodeId: string;
  /** How many chargers are connected to this node now (read at each scrape). */
  connectedChargers: () => number;
}

export class Metrics implements CentralMetrics {
  readonly registry = new Registry();
  readonly #calls = { in: new Float64Array(ACTIONS.length), out: new Float64Array(ACTIONS.length) };
  readonly #errors = { in: new Float64Array(CODES.length), out: new Float64Array(CODES.length) };
  readonly #commands: Histogram<'action' | 'outcome'>;
  readonly #commit: Histogram;
  readonly #connected: () => number;

  constructor(opts: MetricsOptions) {
    this.#connected = opts.connectedChargers;
    collectDefaultMetrics({ register: this.registry });
    const registers = [this.registry];
    const calls = this.#calls;
    const errors = this.#errors;
    new Gauge({
      name: 'ampere_node_info',
      help: 'This Ampere node (always 1; the node label names it)',
      labelNames: ['node'],
      registers,
    }).set({ node: opts.nodeId }, 1);
    const connected = this.#connected;
    new Gauge({
      name: 'ampere_chargers_connected',
      help: 'Chargers connected to this node',
      registers,
      collect() {
        this.set(connected());
      },
    });
    new Counter({
      name: 'ampere_ocpp_calls_total',
      help: 'OCPP CALLs by action: received from chargers (direction="in") or sent to them (direction="out")',
      labelNames: ['direction', 'action'],
      registers,
      collect() {
        copyInto(this, calls, ACTIONS, 'action');
      },
    });
    new Counter({
      name: 'ampere_ocpp_callerrors_total',
      help: 'OCPP CALLERRORs by code: sent to chargers (direction="out") or received from them (direction="in")',
      labelNames: ['direction', 'code'],
      registers,
      collect() {
        copyInto(this, errors, CODES, 'code');
      },
    });
    this.#commands = new Histogram({
      name: 'ampere_command_duration_seconds',
      help: 'Round trip of a command to a charger: CALL sent until its answer (outcome="ok") or CALLERROR, bad answer or timeout (outcome="error")',
      labelNames: ['action', 'outcome'],
      buckets: SECONDS_BUCKETS,
      registers,
    });
    this.#commit = new Histogram({
      name: 'ampere_store_commit_seconds',
      help: 'Duration of one group commit (a batch of writes in one database transaction, BEGIN to COMMIT)',
      buckets: SECONDS_BUCKETS,
      registers,
    });
  }

  call(direction: 'in' | 'out', action: string): void {
    this.#calls[direction][ACTION_INDEX.get(action) ?? OTHER_ACTION]! += 1;
  }

  callError(direction: 'in' | 'out', code: string): void {
    this.#errors[direction][CODE_INDEX.get(code) ?? OTHER_CODE]! += 1;
  }

  commandDone(action: string, ok: boolean, ms: number): void {
    // Commands are operator or controller actions, not per-message work: labels are fine here.
    this.#commands.observe(
      { action: ACTION_INDEX.has(action) ? action : OTHER, outcome: ok ? 'ok' : 'error' },
      ms / 1000,
    );
  }

  /** One group commit took `seconds` (the store calls this once per batch). */
  readonly commit = (seconds: number): void => {
    this.#commit.observe(seconds);
  };

  /** The text Prometheus scrapes, and its content type. */
  async scrape(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}

/** Sets a counter's series from the plain numbers (only those that moved, so the output stays short). */
function copyInto(
  counter: Counter<'direction' | 'action'> | Counter<'direction' | 'code'>,
  values: { in: Float64Array; out: Float64Array },
  names: readonly string[],
  label: 'action' | 'code',
): void {
  const c = counter as Counter<string>;
  c.reset();
  for (const direction of ['in', 'out'] as const) {
    const row = values[direction];
    for (let i = 0; i < names.length; i++) {
      if (row[i]! > 0) c.inc({ direction, [label]: names[i]! }, row[i]!);
    }
  }
}

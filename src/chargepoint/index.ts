// The simulator's public surface: build a station (optionally connected), run scenarios, load mode.
import { createValidator, type Validator } from '../ocpp/index.ts';
import { type Clock, realClock } from './clock.ts';
import { fileConfigPersistence } from './config-store.ts';
import { Connection, type ConnectionOptions } from './connection.ts';
import { type GoeHttpApi, startGoeHttpApi } from './goe-http-api.ts';
import { fetchTrusting } from './https-fetch.ts';
import type { VendorProfile } from './profile.ts';
import { getProfile } from './profiles/index.ts';
import { Station, type StationHooks } from './station.ts';

export type { Clock } from './clock.ts';
export { coalescedClock, FakeClock, realClock } from './clock.ts';
export { ConfigStore, memoryConfigPersistence } from './config-store.ts';
export { Connection, stationUrl } from './connection.ts';
export { fetchTrusting } from './https-fetch.ts';
export type { VendorProfile } from './profile.ts';
export { getProfile, PROFILES } from './profiles/index.ts';
export { parseScenario, runScenario, type Scenario, type ScenarioResult } from './scenario.ts';
export { type Link, LinkError, Station, type StationEvent } from './station.ts';

export interface CreateStationOptions {
  id: string;
  profile: string | VendorProfile;
  /** Central system URL; without it the station is not connected (attach a Link yourself). */
  url?: string;
  password?: string;
  ca?: string | Buffer;
  clock?: Clock;
  validator?: Validator;
  random?: () => number;
  /** Initial configuration values (override the profile's defaults). */
  config?: Record<string, string>;
  /** Keep the configuration in this JSON file across runs (and reboots). */
  configFile?: string;
  hooks?: StationHooks;
  callTimeoutMs?: number;
  historySize?: number;
  fetch?: typeof fetch;
  /** go-e: serve the local HTTP API on this port (0 = any free port). */
  httpApiPort?: number;
  onState?: ConnectionOptions['onState'];
  onMessage?: ConnectionOptions['onMessage'];
}

export interface SimStation {
  station: Station;
  connection?: Connection;
  httpApi?: GoeHttpApi;
  start(): Promise<void>;
  stop(): Promise<void>;
}

let sharedValidator: Validator | undefined;

/** One validator for the whole process: compiling the 78 schemas per station would not scale. */
export function defaultValidator(): Validator {
  sharedValidator ??= createValidator();
  return sharedValidator;
}

export function createStation(o: CreateStationOptions): SimStation {
  const profile = typeof o.profile === 'string' ? getProfile(o.profile) : o.profile;
  const clock = o.clock ?? realClock();
  const station = new Station({
    id: o.id,
    profile,
    clock,
    ...(o.config ? { config: o.config } : {}),
    ...(o.configFile ? { persistence: fileConfigPersistence(o.configFile) } : {}),
    ...(o.random ? { random: o.random } : {}),
    // A private CA for the WebSocket is trusted by the file transfers too (firmware over HTTPS).
    ...(o.fetch ? { fetch: o.fetch } : o.ca !== undefined ? { fetch: fetchTrusting(o.ca) } : {}),
    ...(o.hooks ? { hooks: o.hooks } : {}),
    ...(o.historySize !== undefined ? { historySize: o.historySize } : {}),
  });
  let connection: Connection | undefined;
  if (o.url !== undefined || profile.httpApi) {
    const co: ConnectionOptions = {
      station,
      url: o.url ?? 'ws://127.0.0.1/',
      validator: o.validator ?? defaultValidator(),
      clock,
      // go-e starts with OCPP off unless a URL was given; its HTTP API turns it on.
      enabled: o.url !== undefined,
    };
    if (o.password !== undefined) co.password = o.password;
    if (o.ca !== undefined) co.ca = o.ca;
    if (o.random) co.random = o.random;
    if (o.callTimeoutMs !== undefined) co.callTimeoutMs = o.callTimeoutMs;
    if (o.onState) co.onState = o.onState;
    if (o.onMessage) co.onMessage = o.onMessage;
    connection = new Connection(co);
  }
  const sim: SimStation = {
    station,
    ...(connection ? { connection } : {}),
    async start() {
      if (profile.httpApi === 'go-e' && o.httpApiPort !== undefined && connection) {
        sim.httpApi = await startGoeHttpApi(connection, o.httpApiPort);
      }
      connection?.start();
    },
    async stop() {
      connection?.stop();
      station.dispose();
      await sim.httpApi?.close();
    },
  };
  return sim;
}

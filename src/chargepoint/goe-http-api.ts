// The go-eCharger's local HTTP API, the OCPP part of it (seed 001, chargers.md): OCPP is switched
// on and pointed at a server with `GET /api/set?ocppe=true&ocppu=ws://server/path/{id}`; the
// charge point id is the URL's last path segment, exactly as the real charger takes it.
// `GET /api/status` (optionally `?filter=ocppe,ocppc`) reports the ocpp* keys.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type Connection, stationUrl } from './connection.ts';

export interface GoeHttpApi {
  port: number;
  url: string;
  close(): Promise<void>;
}

type Setter = (value: string) => string | undefined;

export async function startGoeHttpApi(conn: Connection, port: number, host = '127.0.0.1'): Promise<GoeHttpApi> {
  const station = conn.station;
  const bootAt = station.clock.now();
  const settings = { ocppg: true, ocppcn: false, ocppss: false, ocppd: '', ocppr: false, ocpprl: false };
  const sinceBoot = (t: number | undefined) => (t === undefined ? null : t - bootAt);
  const bool = (v: string) => (v === 'true' || v === '1' ? true : v === 'false' || v === '0' ? false : undefined);

  // ocppu reads back as it was set: the server path with the charge point id at its end.
  const fullUrl = () => {
    try {
      return stationUrl(conn.currentUrl, station.id, station.profile).url;
    } catch {
      return conn.currentUrl;
    }
  };
  const status = (): Record<string, unknown> => {
    const c = station.connectors[0];
    return {
      ocppe: conn.enabled,
      ocppu: fullUrl(),
      ocppg: settings.ocppg,
      ocppcn: settings.ocppcn,
      ocppss: settings.ocppss,
      ocpps: conn.enabled,
      ocppc: conn.open,
      ocppca: sinceBoot(conn.connectedSince),
      ocppa: conn.open && station.registration === 'Accepted',
      ocppaa: sinceBoot(conn.acceptedSince),
      ocpph: station.config.int('HeartbeatInterval', 0),
      ocppi: station.config.int('MeterValueSampleInterval', 0),
      ocppai: station.config.int('ClockAlignedDataInterval', 0),
      ocppd: settings.ocppd,
      ocppr: settings.ocppr,
      ocpple: conn.lastError ?? null,
      ocpprl: settings.ocpprl,
      // car: 1 idle, 2 charging, 3 waiting for car, 4 complete (go-e API v2)
      car: !c?.plugged ? 1 : c.status === 'Charging' ? 2 : c.tx ? 3 : 4,
      nrg: c ? [...c.meter.voltageV.map(Math.round), 0, ...c.meter.currentA, Math.round(c.meter.powerW)] : [],
      fwv: station.firmwareVersion,
    };
  };

  const intKey =
    (key: string): Setter =>
    (v) => {
      const r = station.config.change(key, v);
      return r === 'Accepted' || r === 'RebootRequired' ? undefined : `value rejected (${r})`;
    };
  const setters: Record<string, Setter> = {
    ocppe: (v) => {
      const b = bool(v);
      if (b === undefined) return 'expected true or false';
      conn.setEnabled(b);
      return undefined;
    },
    ocppu: (v) => {
      try {
        const u = new URL(v);
        if (!/^wss?:$/.test(u.protocol)) return 'expected a ws:// or wss:// URL';
      } catch {
        return 'invalid URL';
      }
      // The charge point id is the last path segment of ocppu (seed 001: `…/chargers/201564`): the
      // station takes it as its id, and the rest is the server path.
      const u = new URL(v);
      const segments = u.pathname.split('/').filter(Boolean);
      const last = segments.pop();
      if (last !== undefined) station.rename(decodeURIComponent(last));
      u.pathname = `/${segments.join('/')}`;
      conn.setUrl(u.toString());
      return undefined;
    },
    ocpph: intKey('HeartbeatInterval'),
    ocppi: intKey('MeterValueSampleInterval'),
    ocppai: intKey('ClockAlignedDataInterval'),
    ocppd: (v) => {
      settings.ocppd = v;
      return undefined;
    },
  };
  for (const k of ['ocppg', 'ocppcn', 'ocppss', 'ocppr', 'ocpprl'] as const) {
    setters[k] = (v) => {
      const b = bool(v);
      if (b === undefined) return 'expected true or false';
      settings[k] = b;
      return undefined;
    };
  }

  const server: Server = createServer((req, res) => {
    const u = new URL(req.url ?? '/', 'http://charger');
    const reply = (code: number, body: unknown) => {
      res.writeHead(code, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (req.method !== 'GET') return reply(405, { error: 'GET only' });
    if (u.pathname === '/api/status') {
      const all = status();
      const filter = u.searchParams.get('filter');
      if (!filter) return reply(200, all);
      return reply(200, Object.fromEntries(filter.split(',').map((k) => [k, all[k]])));
    }
    if (u.pathname === '/api/set') {
      const out: Record<string, unknown> = {};
      let failed = false;
      // ocppu before ocppe, so `?ocppe=true&ocppu=…` connects once, to the new URL.
      const entries = [...u.searchParams.entries()].sort(([a], [b]) => (a === 'ocppu' ? -1 : b === 'ocppu' ? 1 : 0));
      for (const [k, v] of entries) {
        const set = setters[k];
        if (!set) {
          out[k] = k in status() ? 'read-only' : 'unknown key';
          failed = true;
          continue;
        }
        const err = set(v);
        out[k] = err ?? true;
        if (err) failed = true;
      }
      return reply(failed ? 400 : 200, out);
    }
    reply(404, { error: 'not found' });
  });
  await new Promise<void>((resolve) => server.listen(port, host, resolve));
  const actual = (server.address() as AddressInfo).port;
  return {
    port: actual,
    url: `http://${host}:${actual}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

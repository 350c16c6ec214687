// End to end smart charging: three simulated chargers (Eaton, go-e, Weidmüller) on one site with
// a 32 A grid connection, against `ampere serve` as a real process. The metered current of the
// site stays under the limit through plug-ins, a building load, an unplug and a disconnect, and
// each charger is throttled by its own mechanism.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createStation, type SimStation } from '../../src/chargepoint/index.ts';
import { type ServerProcess, spawnServer } from '../helpers/process.ts';

const TOKEN = 'smart-site-token-0123456789abcdef01234';
const LIMIT = 32;

async function until(what: string, cond: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (await cond()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.fail(`timed out waiting for ${what}`);
}

describe('a 32 A site with an Eaton, a go-e and a Weidmüller charger', () => {
  let server: ServerProcess;
  const sims: Record<string, SimStation> = {};
  const api = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${server.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${TOKEN}`, ...(body ? { 'content-type': 'application/json' } : {}) },
      ...(body ? { body: JSON.stringify(body) } : {}),
    });
    const text = await res.text();
    return { status: res.status, body: text ? (JSON.parse(text) as any) : null };
  };
  const received = (id: string, action: string) =>
    sims[id]!.station.history.filter((h) => h.dir === 'in' && h.action === action).map((h) => h.payload as any);

  before(async () => {
    server = await spawnServer(['--registration', 'open'], { env: { AMPERE_API_TOKEN: TOKEN } });
  });
  after(async () => {
    for (const s of Object.values(sims)) await s.stop();
    await server?.stop();
  });

  it('keeps the site under its limit, each charger limited its own way', async () => {
    assert.equal((await api('POST', '/api/id-tags', { idTag: '*', status: 'Accepted' })).status, 201);
    const profiles: Array<[string, string, string]> = [
      ['EAT', 'eaton-green-motion', '/ocppj/v1.6'],
      ['GOE', 'go-e', '/ocpp'],
      ['WDM', 'weidmueller-ac-smart', '/ocpp'],
    ];
    for (const [id, profile, path] of profiles) {
      sims[id] = createStation({ id, profile, url: `${server.wsUrl}${path}`, historySize: 2000 });
      await sims[id]!.start();
    }
    await until('all booted', async () => {
      const list = await api('GET', '/api/chargers?connected=true');
      return list.body.items.length === 3 && Object.values(sims).every((s) => s.station.registration === 'Accepted');
    });
    const site = await api('PUT', '/api/sites/garage', {
      gridLimitA: LIMIT,
      algorithm: 'OPTIMIZED',
      chargers: [
        { chargerId: 'GOE', phases: 3, maxCurrentA: 16, priority: 2 },
        { chargerId: 'WDM', phases: 3, maxCurrentA: 32, priority: 1 },
        { chargerId: 'EAT', phases: 3, maxCurrentA: 16, priority: 0 },
      ],
    });
    assert.equal(site.status, 200, JSON.stringify(site.body));

    // The site's metered current: what the three simulated meters measure, sampled every 20 ms.
    const peak = [0, 0, 0];
    const phaseSum = () =>
      [0, 1, 2].map((i) => Object.values(sims).reduce((s, sim) => s + sim.station.connector(1).meter.currentA[i]!, 0));
    const sampler = setInterval(() => {
      phaseSum().forEach((a, i) => {
        peak[i] = Math.max(peak[i]!, a);
      });
    }, 20);
    try {
      // Free connectors hold standing limits before any car arrives.
      await until('standing limits', () =>
        received('WDM', 'ChangeConfiguration').some((p) => p.key === 'ConnectorMaximumCurrent'),
      );
      await until('go-e standing profile', () =>
        received('GOE', 'SetChargingProfile').some(
          (p) => p.csChargingProfiles.chargingProfilePurpose === 'TxDefaultProfile',
        ),
      );

      // Real cars take seconds to close their contactor and ramp up; the Eaton (on/off, CsMode 1) starts
      // on plug-in, and Ampere must have made room before its car draws.
      const ev = { maxPowerW: 22_000, phases: 3 as const, soc: 0.2, startDelayS: 2 };
      sims.GOE!.station.plug(1, ev);
      await sims.GOE!.station.swipe('GOE-CARD');
      sims.WDM!.station.plug(1, ev);
      await sims.WDM!.station.swipe('WDM-CARD');
      sims.EAT!.station.plug(1, ev); // CsMode 1: Eaton starts on plug-in
      await until('three sessions charging', () =>
        Object.values(sims).every((s) => s.station.connector(1).meter.currentA[0]! > 0),
      );
      await new Promise((r) => setTimeout(r, 1000));
      assert.ok(
        peak.every((a) => a <= LIMIT + 0.01),
        `peak ${peak}`,
      );

      // go-e follows TxProfiles, Weidmüller its current key; Eaton's profiles are never used.
      assert.ok(
        received('GOE', 'SetChargingProfile').some((p) => p.csChargingProfiles.chargingProfilePurpose === 'TxProfile'),
      );
      assert.equal(received('EAT', 'SetChargingProfile').length, 0);

      // A building load of 12 A per phase: the lowest priority (Eaton, on/off only) is switched off.
      await api('POST', '/api/sites/garage/load', { buildingLoadA: [12, 12, 12] });
      await until('Eaton stopped remotely', () => received('EAT', 'RemoteStopTransaction').length > 0);
      await until('site under 20 A', () => phaseSum().every((a) => a <= LIMIT - 12 + 0.01));

      // The building load goes and the go-e car leaves: Eaton is started again.
      await api('POST', '/api/sites/garage/load', { buildingLoadA: [0, 0, 0] });
      sims.GOE!.station.unplug(1);
      await until('Eaton started again', () => received('EAT', 'RemoteStartTransaction').length > 0);
      await until('Eaton charging again', () => sims.EAT!.station.connector(1).meter.currentA[0]! > 0);

      // Weidmüller loses its connection: it is counted at what it was last told, nobody is raised over it.
      sims.WDM!.station.setNetwork(false);
      await until('WDM offline', async () => (await api('GET', '/api/chargers/WDM')).body.connected === false);
      await new Promise((r) => setTimeout(r, 1000));
      assert.ok(
        peak.every((a) => a <= LIMIT + 0.01),
        `peak ${peak}`,
      );

      const status = await api('GET', '/api/sites/garage/status');
      assert.ok(
        status.body.phaseLoadA.every((a: number) => a <= LIMIT + 0.01),
        JSON.stringify(status.body),
      );
    } finally {
      clearInterval(sampler);
    }
    // The mechanisms each charger was limited with, as recorded by Ampere.
    const mechanisms = new Map<string, Set<string>>();
    for (const [id] of profiles) {
      const ev = await api('GET', `/api/chargers/${id}/capabilities`);
      mechanisms.set(id, new Set(ev.body.mechanisms));
    }
    assert.equal([...mechanisms.get('EAT')!][0], 'onOff');
    assert.equal([...mechanisms.get('WDM')!][0], 'configKey');
    assert.equal([...mechanisms.get('GOE')!][0], 'chargingProfile');
  });
});

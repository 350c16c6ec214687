// Simulated chargers (src/chargepoint) for end-to-end tests: started against a server, waited
// for until their boot is Accepted, stopped together at the end.
import { createStation, getProfile, type SimStation, type Station } from '../../src/chargepoint/index.ts';
import { until } from './wait.ts';

export class SimFleet {
  readonly sims: SimStation[] = [];

  /** A station of `profile` at `${wsUrl}${path}/{id}`, booted and Accepted. */
  async start(
    wsUrl: string,
    id: string,
    profile: string,
    path: string,
    config: Record<string, string> = {},
  ): Promise<Station> {
    const sim = createStation({ id, profile: getProfile(profile), url: `${wsUrl}${path}`, config });
    this.sims.push(sim);
    await sim.start();
    await until(() => (sim.station.registration === 'Accepted' ? true : undefined));
    return sim.station;
  }

  async stop(): Promise<void> {
    for (const s of this.sims) await s.stop();
  }
}

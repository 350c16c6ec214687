// A simple electric vehicle: a battery with a state of charge, an on-board charger limited in
// power and phases, and a taper above `taperFromSoc` so that a full car stops drawing (SuspendedEV).

export interface EvOptions {
  capacityWh?: number;
  soc?: number;
  maxPowerW?: number;
  phases?: 1 | 2 | 3;
  taperFromSoc?: number;
  /**
   * Seconds from the moment the charger offers current (a transaction starts, or a limit of 6 A or
   * more returns) until the car draws it: a real car closes its contactor and ramps up over seconds
   * (IEC 61851-1 leaves it time to respond). Default 0: at once.
   */
  startDelayS?: number;
}

export class Ev {
  capacityWh: number;
  soc: number;
  maxPowerW: number;
  phases: 1 | 2 | 3;
  taperFromSoc: number;
  startDelayMs: number;

  constructor(o: EvOptions = {}) {
    this.capacityWh = o.capacityWh ?? 60_000;
    this.soc = o.soc ?? 0.3;
    this.maxPowerW = o.maxPowerW ?? 11_000;
    this.phases = o.phases ?? 3;
    this.taperFromSoc = o.taperFromSoc ?? 0.8;
    this.startDelayMs = (o.startDelayS ?? 0) * 1000;
  }

  /** The power the car asks for now: full below the taper point, falling linearly to 0 at 100 %. */
  demandW(): number {
    if (this.soc >= 1) return 0;
    if (this.soc <= this.taperFromSoc) return this.maxPowerW;
    return this.maxPowerW * Math.max(0.05, (1 - this.soc) / (1 - this.taperFromSoc));
  }

  absorb(wh: number): void {
    this.soc = Math.min(1, this.soc + wh / this.capacityWh);
  }
}

// An energy meter per connector: per-phase currents and voltages, energy integrated over time.
// The integration is piecewise constant: `advance(now)` is called before every change of current,
// so the register is exact for the simulated currents.

export class EnergyMeter {
  /** Energy per phase, Wh. */
  readonly phaseWh = [0, 0, 0];
  readonly currentA = [0, 0, 0];
  readonly voltageV: number[];
  private last: number;

  constructor(now: number, voltage = 230, startWh = 0) {
    this.last = now;
    this.voltageV = [voltage, voltage, voltage];
    this.phaseWh[0] = startWh;
  }

  /** Integrates energy up to `now` and returns the Wh added in all phases. */
  advance(now: number): number {
    const dtH = Math.max(0, now - this.last) / 3_600_000;
    this.last = Math.max(this.last, now);
    let added = 0;
    for (let i = 0; i < 3; i++) {
      const wh = this.currentA[i]! * this.voltageV[i]! * dtH;
      this.phaseWh[i]! += wh;
      added += wh;
    }
    return added;
  }

  setCurrents(now: number, perPhase: number[]): number {
    const added = this.advance(now);
    for (let i = 0; i < 3; i++) this.currentA[i] = perPhase[i] ?? 0;
    return added;
  }

  get registerWh(): number {
    return this.phaseWh[0]! + this.phaseWh[1]! + this.phaseWh[2]!;
  }

  get powerW(): number {
    return (
      this.currentA[0]! * this.voltageV[0]! +
      this.currentA[1]! * this.voltageV[1]! +
      this.currentA[2]! * this.voltageV[2]!
    );
  }
}

// The charger's configuration keys (OCPP 1.6 §9, §5.3 ChangeConfiguration, §5.8 GetConfiguration).
// Persistence is a pair of functions, so a station can keep its keys in a JSON file across
// simulated reboots, or in memory (load mode).
import { readFileSync, writeFileSync } from 'node:fs';
import type { KeyDef } from './profile.ts';

export type ChangeResult = 'Accepted' | 'Rejected' | 'RebootRequired' | 'NotSupported';

export interface ConfigPersistence {
  load(): Record<string, string> | undefined;
  save(values: Record<string, string>): void;
}

export function fileConfigPersistence(path: string): ConfigPersistence {
  return {
    load() {
      try {
        return JSON.parse(readFileSync(path, 'utf8')) as Record<string, string>;
      } catch {
        return undefined;
      }
    },
    save(values) {
      writeFileSync(path, JSON.stringify(values, null, 2));
    },
  };
}

export function memoryConfigPersistence(): ConfigPersistence & { values?: Record<string, string> } {
  const p: ConfigPersistence & { values?: Record<string, string> } = {
    load: () => (p.values ? { ...p.values } : undefined),
    save(values) {
      p.values = { ...values };
    },
  };
  return p;
}

export class ConfigStore {
  /** Values in effect now. */
  private active = new Map<string, string>();
  /** Values accepted with RebootRequired, applied by `applyPending` at the next boot. */
  private pending = new Map<string, string>();
  private defs = new Map<string, KeyDef>();

  constructor(
    defs: readonly KeyDef[],
    private readonly actionKeys: Record<string, string> = {},
    private readonly actionKeyValues: Record<string, string[]> = {},
    private readonly persistence?: ConfigPersistence,
    overrides: Record<string, string> = {},
  ) {
    // Only values that differ from the profile's defaults are stored per station: 10 000 stations
    // of one profile share the defaults.
    for (const d of defs) if (d.implemented !== false) this.defs.set(d.key, d);
    const saved = persistence?.load();
    for (const [k, v] of Object.entries({ ...saved, ...overrides })) if (this.defs.has(k)) this.active.set(k, v);
  }

  has(key: string): boolean {
    return this.defs.has(key);
  }

  get(key: string): string | undefined {
    return this.active.get(key) ?? this.defs.get(key)?.value;
  }

  int(key: string | undefined, fallback: number): number {
    if (!key) return fallback;
    const v = this.get(key);
    const n = v === undefined || v === '' ? Number.NaN : Number(v);
    return Number.isFinite(n) ? n : fallback;
  }

  bool(key: string, fallback: boolean): boolean {
    const v = this.get(key);
    if (v === undefined || v === '') return fallback;
    return v.toLowerCase() === 'true';
  }

  list(key: string): string[] {
    const v = this.get(key);
    return v
      ? v
          .split(',')
          .map((s) => s.trim())
          .filter(Boolean)
      : [];
  }

  /** Set by the station itself (e.g. a firmware-managed value), bypassing readonly. */
  setInternal(key: string, value: string): void {
    if (!this.defs.has(key)) return;
    this.active.set(key, value);
    this.save();
  }

  /** OCPP 1.6 §5.8: without keys, every (non-action) key; unknown keys listed as unknownKey. */
  getConfiguration(keys?: string[]): {
    configurationKey: { key: string; readonly: boolean; value?: string }[];
    unknownKey: string[];
  } {
    const configurationKey: { key: string; readonly: boolean; value?: string }[] = [];
    const unknownKey: string[] = [];
    if (!keys || keys.length === 0) {
      for (const [key, def] of this.defs)
        configurationKey.push({ key, readonly: !!def.readonly, value: this.get(key) ?? '' });
      return { configurationKey, unknownKey };
    }
    for (const key of keys) {
      const def = this.defs.get(key);
      if (def) configurationKey.push({ key, readonly: !!def.readonly, value: this.get(key) ?? '' });
      else if (key in this.actionKeys) configurationKey.push({ key, readonly: true, value: this.actionKeys[key] });
      else unknownKey.push(key);
    }
    return { configurationKey, unknownKey };
  }

  /** OCPP 1.6 §5.3. Returns the status for ChangeConfiguration.conf. */
  change(key: string, value: string): ChangeResult {
    const allowed = this.actionKeyValues[key];
    if (allowed) return allowed.includes(value) ? 'Accepted' : 'Rejected';
    const def = this.defs.get(key);
    if (!def) return 'NotSupported';
    if (def.readonly) return 'Rejected';
    if (!valid(def, value)) return 'Rejected';
    const normalised = def.type === 'bool' ? value.toLowerCase() : value;
    if (def.rebootRequired) {
      this.pending.set(key, normalised);
      this.save();
      return 'RebootRequired';
    }
    this.active.set(key, normalised);
    this.save();
    return 'Accepted';
  }

  /** Called at boot: RebootRequired values become active. */
  applyPending(): void {
    for (const [k, v] of this.pending) this.active.set(k, v);
    this.pending.clear();
    this.save();
  }

  /** Factory defaults (an action key may ask for it). */
  reset(): void {
    this.pending.clear();
    this.active.clear();
    this.save();
  }

  snapshot(): Record<string, string> {
    const out: Record<string, string> = {};
    for (const key of this.defs.keys()) out[key] = this.get(key) ?? '';
    return out;
  }

  private save(): void {
    if (!this.persistence) return;
    // Pending values are saved as if active: a reboot reloads them, which is what RebootRequired means.
    this.persistence.save({ ...Object.fromEntries(this.active), ...Object.fromEntries(this.pending) });
  }
}

function valid(def: KeyDef, value: string): boolean {
  switch (def.type) {
    case 'bool':
      return /^(true|false)$/i.test(value);
    case 'int': {
      if (!/^-?\d+$/.test(value)) return false;
      const n = Number(value);
      return (def.min === undefined || n >= def.min) && (def.max === undefined || n <= def.max);
    }
    default:
      return value.length <= 500;
  }
}

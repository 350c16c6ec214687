// The vendor profiles, by the names the CLI and scenarios use (docs/architecture.md, "Contracts": the simulator).
import type { VendorProfile } from '../profile.ts';
import { eatonGreenMotion } from './eaton-green-motion.ts';
import { generic } from './generic.ts';
import { goE } from './go-e.ts';
import { weidmuellerAcSmart } from './weidmueller-ac-smart.ts';

export const PROFILES: Readonly<Record<string, VendorProfile>> = Object.freeze({
  'eaton-green-motion': eatonGreenMotion,
  'go-e': goE,
  'weidmueller-ac-smart': weidmuellerAcSmart,
  generic,
});

export function getProfile(name: string): VendorProfile {
  const p = PROFILES[name];
  if (!p) throw new Error(`unknown profile "${name}"; known: ${Object.keys(PROFILES).join(', ')}`);
  return p;
}

// What the API's route modules receive from the composition root.
import type { CentralSystem, SmartController } from '../central/index.ts';
import { AmpereError } from '../errors.ts';
import type { ChargerRecord, Page } from '../store/types.ts';

export interface ApiContext {
  central: CentralSystem;
  /** Smart charging (sites, balancing, planner), when the composition root runs it. */
  smart?: SmartController;
}

/** A list answer: the page and how it was cut. */
export function pageOf<T>(p: Page<T>, q: { limit?: number; offset?: number }, defaultLimit = 100) {
  return { items: p.items, total: p.total, limit: q.limit ?? defaultLimit, offset: q.offset ?? 0 };
}

/** Drops undefined values so store queries see only the filters given. */
export function defined<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}

export async function chargerOr404(central: CentralSystem, id: string): Promise<ChargerRecord> {
  const c = await central.store.getCharger(id);
  if (!c) throw new AmpereError('AMPERE_ERR_NOT_FOUND', `No charger "${id}"`, { chargerId: id });
  return c;
}

/** The operator's view of a charger: never the AuthorizationKey hash; `connected` is live. */
export function chargerView(central: CentralSystem, c: ChargerRecord) {
  const { authKeyHash: _secret, ...rest } = c;
  return { ...rest, connected: central.isConnected(c.id) };
}

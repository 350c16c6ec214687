// Per-charger id tags (xxter: "the RFID tags allowed, default * = all"): a tag Ampere accepts is
// answered Invalid at a charger whose list does not name it (or its parent). A charger's
// free-charging tag (go-e's `ocppd` dummy card, Eaton's `FREECHARGING`) is what it sends when it
// charges without a card: accepted there, and marked as free charging rather than an unknown card.
import type { Store } from '../store/types.ts';
import { type AuthorizeOptions, authorizeIdTag, type IdTagInfo, WILDCARD_TAG } from './authorization.ts';

export interface ChargerAuthorization {
  idTagInfo: IdTagInfo;
  /** The charger's own free-charging tag, not a driver's card. */
  freeCharging: boolean;
}

/** The idTagInfo for `idTag` at one charger (OCPP 1.6 §5.2 Authorize, §5.11 StartTransaction). */
export async function authorizeAtCharger(
  store: Store,
  chargerId: string,
  idTag: string,
  opts: AuthorizeOptions,
): Promise<ChargerAuthorization> {
  const tags = await store.getChargerTags(chargerId);
  const lower = idTag.toLowerCase();
  if (tags.freeChargingTag !== null && lower === tags.freeChargingTag) {
    return { idTagInfo: { status: 'Accepted' }, freeCharging: true };
  }
  const info = await authorizeIdTag(store, idTag, opts);
  if (info.status !== 'Accepted' || tags.allowed.includes(WILDCARD_TAG))
    return { idTagInfo: info, freeCharging: false };
  const parent = info.parentIdTag?.toLowerCase();
  if (tags.allowed.includes(lower) || (parent !== undefined && tags.allowed.includes(parent))) {
    return { idTagInfo: info, freeCharging: false };
  }
  return { idTagInfo: { status: 'Invalid' }, freeCharging: false };
}

// Deciding an idTagInfo (OCPP 1.6 §7.28) from the id tag registry.
import type { AuthorizeResponse } from '../ocpp/index.ts';
import type { Store } from '../store/types.ts';

export type IdTagInfo = AuthorizeResponse['idTagInfo'];

/** The id tag that accepts any tag (xxter's default "*" = all cards). */
export const WILDCARD_TAG = '*';

export interface AuthorizeOptions {
  now: number;
  /** Check whether the tag already runs a transaction elsewhere (OCPP 1.6 §7.28 ConcurrentTx). */
  concurrent?: { excludeTransactionId?: number };
}

export async function authorizeIdTag(store: Store, idTag: string, opts: AuthorizeOptions): Promise<IdTagInfo> {
  // Id tags compare case-insensitively: the store keys them on lower case.
  const rec = await store.getIdTag(idTag);
  if (!rec) {
    const wildcard = idTag === WILDCARD_TAG ? null : await store.getIdTag(WILDCARD_TAG);
    if (wildcard && wildcard.status === 'Accepted' && !expired(wildcard.expiryDate, opts.now)) {
      return { status: 'Accepted' };
    }
    return { status: 'Invalid' };
  }
  const info: IdTagInfo = { status: rec.status };
  if (rec.expiryDate) info.expiryDate = toOcppTime(rec.expiryDate);
  if (rec.parentIdTag) info.parentIdTag = rec.parentIdTag;
  if (info.status === 'Accepted' && expired(rec.expiryDate, opts.now)) info.status = 'Expired';
  if (info.status === 'Accepted' && rec.parentIdTag) {
    // A blocked or expired parent (a fleet card's account) blocks its children too.
    const parent = await store.getIdTag(rec.parentIdTag);
    if (
      parent &&
      (parent.status === 'Blocked' || (parent.status === 'Accepted' && expired(parent.expiryDate, opts.now)))
    ) {
      info.status = 'Blocked';
    }
  }
  if (info.status === 'Accepted' && opts.concurrent) {
    const active = await store.activeTransactionsByIdTag(idTag);
    if (active.some((t) => t.id !== opts.concurrent?.excludeTransactionId)) info.status = 'ConcurrentTx';
  }
  return info;
}

function expired(expiry: string | null, now: number): boolean {
  return expiry !== null && Date.parse(expiry) <= now;
}

function toOcppTime(iso: string): string {
  return `${iso.slice(0, 19)}Z`;
}

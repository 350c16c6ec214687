// Store error codes, part of Ampere's one AMPERE_ERR_* registry (src/errors.ts, docs/architecture.md),
// with their HTTP status there. Database errors (constraint, I/O) pass through unchanged so their
// SQLite/PostgreSQL codes stay visible.
import { AmpereError } from '../errors.ts';

export type StoreErrorCode = 'AMPERE_ERR_STORE_INVALID' | 'AMPERE_ERR_STORE_CLOSED';

/** Rejection for invalid input or a closed store. */
export class StoreError extends AmpereError {
  declare readonly code: StoreErrorCode;
  constructor(code: StoreErrorCode, message: string) {
    super(code, message);
    this.name = 'StoreError';
  }
}

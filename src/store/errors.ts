// Store error codes, part of Ampere's AMPERE_ERR_* vocabulary (style.md habit 2). Database
// errors (constraint, I/O) pass through unchanged so their SQLite/PostgreSQL codes stay visible.

export type StoreErrorCode = 'AMPERE_ERR_STORE_INVALID' | 'AMPERE_ERR_STORE_CLOSED';

/** Rejection for invalid input or a closed store. */
export class StoreError extends Error {
  readonly code: StoreErrorCode;
  constructor(code: StoreErrorCode, message: string) {
    super(message);
    this.name = 'StoreError';
    this.code = code;
  }
}

export {
  authorizationKeyBytes,
  hashAuthorizationKey,
  isValidAuthorizationKey,
  parseBasicAuth,
  verifyAuthorizationKey,
} from './auth-key.ts';
export { Backoff, type BackoffOptions, DEFAULT_ADDRESS_BACKOFF, DEFAULT_ID_BACKOFF } from './backoff.ts';
export {
  type CsrResult,
  caKeyType,
  certificateSubject,
  createCa,
  createCsr,
  issueClientCertificate,
  issueServerCertificate,
  KEY_TYPES,
  type KeyPairPem,
  type KeyType,
  signCsr,
} from './ca.ts';
export {
  ChargerSecurity,
  DEFAULT_SECURITY_SETTINGS,
  REDACTED,
  redactPayload,
  SECRET_CONFIGURATION_KEYS,
  type SecuritySettings,
  type UpgradeRefusal,
} from './charger-security.ts';
export { ConnectionGuard, type ConnectionGuardOptions } from './connection-guard.ts';
export { MessageThrottle, type RateLimitOptions, type ThrottleTimers } from './rate-limit.ts';

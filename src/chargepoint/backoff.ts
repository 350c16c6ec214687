// Reconnect backoff. Eaton Green Motion's rule (chargers.md): wait RetryBackoffWaitMinimum plus a
// random 0..RetryBackoffRandomRange seconds for RetryRepeatTimes attempts, then a fixed interval.
// The random part spreads a fleet's reconnects after a central-system restart.

export interface BackoffRule {
  minS: number;
  randomS: number;
  repeat: number;
  fixedS: number;
}

/** Delay before reconnect attempt `attempt` (1 = first retry after a lost or failed connection). */
export function reconnectDelayMs(attempt: number, rule: BackoffRule, random: () => number): number {
  if (attempt <= rule.repeat) return Math.round((rule.minS + random() * rule.randomS) * 1000);
  return Math.round(rule.fixedS * 1000);
}

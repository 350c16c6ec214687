/** OCPP timestamps as real chargers parse them best: `YYYY-MM-DDTHH:MM:SSZ`, UTC, no milliseconds. */
export function formatTimestamp(date: Date | number): string {
  const d = typeof date === 'number' ? new Date(date) : date;
  return `${d.toISOString().slice(0, 19)}Z`;
}

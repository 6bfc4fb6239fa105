export { formatMemory, formatTime } from '../shared/format';
/** The first 8 characters of an id, as the pages show deployments and operations. */
export function shortId(id: string): string {
  return id.slice(0, 8);
}

/** Time left until `until`, e.g. `2d 3h`, `3h 12m`, `12m`, or `expired`. */
export function formatCountdown(until: string, now: number): string {
  const ms = new Date(until).getTime() - now;
  if (Number.isNaN(ms)) {
    return until;
  }
  if (ms <= 0) {
    return 'expired';
  }
  const minutes = Math.floor(ms / 60_000);
  const days = Math.floor(minutes / 1440);
  const hours = Math.floor((minutes % 1440) / 60);
  const mins = minutes % 60;
  if (days > 0) {
    return `${days}d ${hours}h`;
  }
  if (hours > 0) {
    return `${hours}h ${mins}m`;
  }
  return mins > 0 ? `${mins}m` : 'less than a minute';
}

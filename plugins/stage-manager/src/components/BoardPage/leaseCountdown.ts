import { DateTime, Duration } from 'luxon';

/** Time left on a lease, for people, and whether it is about to run out (less than a day). */
export interface LeaseCountdown {
  text: string;
  urgent: boolean;
}

/** How long until `expiresAt` (ISO 8601), e.g. `2d 4h left`, `3h 12m left` or `lease expired`. */
export function leaseCountdown(
  expiresAt: string,
  now: DateTime = DateTime.now(),
): LeaseCountdown | undefined {
  const expires = DateTime.fromISO(expiresAt);
  if (!expires.isValid) {
    return undefined;
  }
  const left: Duration = expires
    .diff(now, ['days', 'hours', 'minutes'])
    .normalize();
  if (left.toMillis() <= 0) {
    return { text: 'lease expired', urgent: true };
  }
  const days = Math.floor(left.days);
  const hours = Math.floor(left.hours);
  const minutes = Math.floor(left.minutes);
  let text: string;
  if (days > 0) {
    text = `${days}d ${hours}h left`;
  } else if (hours > 0) {
    text = `${hours}h ${minutes}m left`;
  } else {
    text = `${Math.max(minutes, 1)}m left`;
  }
  return { text, urgent: left.as('days') < 1 };
}

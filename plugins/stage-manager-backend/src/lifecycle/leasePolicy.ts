import { StageManagerConfig } from '../config/StageManagerConfig';

const DEFAULT_RETIRED_RETENTION_MS = 7 * 24 * 3600_000;

/** The expiries a new lease gets. */
export interface InitialLease {
  runtimeExpiresAt?: string;
  storageExpiresAt?: string;
  maxExpiresAt?: string;
}

/** Lease rules of the stages, from app-config. Stages without lease policy give no lease. */
export class LeasePolicy {
  constructor(private readonly config: StageManagerConfig) {}

  /** The lease of a deployment that starts running in `stage` now; undefined for none. */
  initialLease(stage: string, now: Date): InitialLease | undefined {
    const policy = this.config.stages.get(stage)?.lease;
    if (!policy || (!policy.runtimeMs && !policy.storageMs)) return undefined;
    const at = (ms?: number) =>
      ms ? new Date(now.getTime() + ms).toISOString() : undefined;
    return {
      runtimeExpiresAt: at(policy.runtimeMs),
      storageExpiresAt: at(policy.storageMs),
      maxExpiresAt: at(policy.maximumMs),
    };
  }

  /** Until when a deployment replaced by a swap in `stage` is kept. */
  retiredUntil(stage: string, now: Date): string {
    const policy = this.config.stages.get(stage);
    const ms =
      policy?.lease?.storageMs ??
      policy?.retiredRetentionMs ??
      DEFAULT_RETIRED_RETENTION_MS;
    return new Date(now.getTime() + ms).toISOString();
  }

  /** How long before an expiry the owner is warned. */
  warningMs(stage: string): number {
    return this.config.stages.get(stage)?.lease?.warningMs ?? 24 * 3600_000;
  }
}

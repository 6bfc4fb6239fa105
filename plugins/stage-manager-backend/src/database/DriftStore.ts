import {
  DriftLayer,
  DriftPoint,
  DriftReport,
} from '@internal/plugin-stage-manager-common';
import { Knex } from 'knex';
import { fromJson, toIso, toJson } from './util';

export type { DriftPoint };

/** Stores drift scans with their history. */
export interface DriftStore {
  insert(report: DriftReport): Promise<void>;
  /** The latest scan of each of these deployments. */
  latest(deploymentIds: string[]): Promise<Map<string, DriftReport>>;
  /** Scans of a deployment, newest first. */
  history(
    deploymentId: string,
    options: { limit: number; since?: string },
  ): Promise<DriftPoint[]>;
  /** Removes scans older than `before`, keeping each deployment's latest. */
  prune(before: string): Promise<number>;
}

type Row = {
  id: string;
  deployment_id: string;
  service_ref: string;
  stage: string;
  production_deployment_id: string | null;
  score: number | string | null;
  layers: string;
  trigger: 'schedule' | 'request';
  requested_by: string | null;
  scanned_at: Date | string;
  duration_ms: number;
};

function fromRow(row: Row): DriftReport {
  return {
    id: row.id,
    deploymentId: row.deployment_id,
    serviceRef: row.service_ref,
    stage: row.stage,
    productionDeploymentId: row.production_deployment_id ?? undefined,
    score: row.score === null ? undefined : Number(row.score),
    layers: fromJson<DriftLayer[]>(row.layers) ?? [],
    trigger: row.trigger,
    requestedBy: row.requested_by ?? undefined,
    scannedAt: toIso(row.scanned_at),
    durationMs: Number(row.duration_ms),
  };
}

export class DatabaseDriftStore implements DriftStore {
  private constructor(private readonly db: Knex | Knex.Transaction) {}

  static create(db: Knex | Knex.Transaction): DriftStore {
    return new DatabaseDriftStore(db);
  }

  async insert(report: DriftReport): Promise<void> {
    await this.db('drift_reports').insert({
      id: report.id,
      deployment_id: report.deploymentId,
      service_ref: report.serviceRef,
      stage: report.stage,
      production_deployment_id: report.productionDeploymentId ?? null,
      score: report.score ?? null,
      layers: toJson(report.layers),
      trigger: report.trigger,
      requested_by: report.requestedBy ?? null,
      scanned_at: report.scannedAt,
      duration_ms: report.durationMs,
    });
  }

  async latest(deploymentIds: string[]): Promise<Map<string, DriftReport>> {
    const result = new Map<string, DriftReport>();
    for (let i = 0; i < deploymentIds.length; i += 500) {
      const ids = deploymentIds.slice(i, i + 500);
      const newest = this.db('drift_reports')
        .whereIn('deployment_id', ids)
        .groupBy('deployment_id')
        .select('deployment_id')
        .max({ scanned_at: 'scanned_at' });
      const rows: Row[] = await this.db('drift_reports as r')
        .join(newest.as('n'), function on() {
          this.on('r.deployment_id', '=', 'n.deployment_id').andOn(
            'r.scanned_at',
            '=',
            'n.scanned_at',
          );
        })
        .select('r.*')
        .orderBy('r.id');
      for (const row of rows) result.set(row.deployment_id, fromRow(row));
    }
    return result;
  }

  async history(
    deploymentId: string,
    options: { limit: number; since?: string },
  ): Promise<DriftPoint[]> {
    const query = this.db<Row>('drift_reports')
      .where('deployment_id', deploymentId)
      .orderBy([
        { column: 'scanned_at', order: 'desc' },
        { column: 'id', order: 'desc' },
      ])
      .limit(options.limit)
      .select('scanned_at', 'score', 'layers');
    if (options.since) query.where('scanned_at', '>=', options.since);
    const rows = await query;
    return rows.map(row => ({
      scannedAt: toIso(row.scanned_at),
      score: row.score === null ? undefined : Number(row.score),
      layers: Object.fromEntries(
        (fromJson<DriftLayer[]>(row.layers) ?? [])
          .filter(l => l.score !== undefined)
          .map(l => [l.layer, l.score]),
      ),
    }));
  }

  async prune(before: string): Promise<number> {
    type Key = {
      id?: string;
      deployment_id: string;
      scanned_at: Date | string;
    };
    const newest = (await this.db('drift_reports')
      .groupBy('deployment_id')
      .select('deployment_id')
      .max({ scanned_at: 'scanned_at' })) as Key[];
    const latest = new Map(
      newest.map(r => [r.deployment_id, toIso(r.scanned_at)]),
    );
    const old = (await this.db('drift_reports')
      .where('scanned_at', '<', before)
      .select('id', 'deployment_id', 'scanned_at')) as Key[];
    const doomed = old
      .filter(r => latest.get(r.deployment_id) !== toIso(r.scanned_at))
      .map(r => r.id!);
    for (let i = 0; i < doomed.length; i += 500) {
      await this.db('drift_reports')
        .whereIn('id', doomed.slice(i, i + 500))
        .delete();
    }
    return doomed.length;
  }
}

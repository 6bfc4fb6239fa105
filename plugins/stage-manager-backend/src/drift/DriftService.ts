import {
  AuthService,
  BackstageCredentials,
  LoggerService,
} from '@backstage/backend-plugin-api';
import { parseEntityRef, stringifyEntityRef } from '@backstage/catalog-model';
import { ConflictError } from '@backstage/errors';
import { NotificationService } from '@backstage/plugin-notifications-node';
import {
  AuditEvent,
  Deployment,
  DiskDrift,
  DriftDifference,
  DriftLayer,
  DriftReport,
  DriftStatus,
  deploymentDriftScanPermission,
  StageManagerService,
  Template,
} from '@internal/plugin-stage-manager-common';
import {
  DeploymentResource,
  HypervisorDriver,
  Inventory,
  PoolLocation,
} from '@internal/plugin-stage-manager-node';
import { randomUUID } from 'node:crypto';
import { StageManagerConfig } from '../config/StageManagerConfig';
import { StageManagerStore } from '../database/StageManagerStore';
import { nowIso } from '../database/util';
import { DriverRegistry } from '../drivers/DriverRegistry';
import { LifecycleService } from '../lifecycle/LifecycleService';
import { machineName } from '../lifecycle/names';
import { AuditLog, principalRef } from '../services/AuditLog';
import { Authorizer } from '../services/Authorizer';
import { ServiceDirectory } from '../services/ServiceDirectory';
import { ChunkListCache, compareDisks } from './diskComparison';
import {
  configurationLayer,
  disksLayer,
  divergenceLayer,
  effectiveMachines,
  EffectiveMachine,
  hypervisorLayer,
  matchScore,
  unknownLayer,
} from './layers';

/** A disk's chunk list, shared by the scans of one run (production is hashed once). */
export type { ChunkListCache };

/** Whether a report found drift in a measured layer. */
const drifted = (report: DriftReport) =>
  report.layers.some(l => l.verdict === 'drift');

/** Audit events read back for the divergence layer, at most. */
const MAX_EVENTS = 2000;

/** Where a deployment runs: its pool and driver, and what the hypervisor has of it. */
interface Placed {
  deployment: Deployment;
  pool: PoolLocation;
  driver: HypervisorDriver;
  inventory: Inventory;
  machines: EffectiveMachine[];
}

/**
 * Drift: how each deployment of a non-production stage matches its service's production
 * deployment, in four layers (configuration, hypervisor against records, disk content, elapsed
 * divergence) and one match score; scans on a schedule and on demand, stored with history.
 */
export class DriftService {
  /** Scans in progress in this backend, per deployment: a second request joins the first. */
  private readonly running = new Map<string, Promise<DriftReport>>();

  constructor(
    private readonly deps: {
      store: StageManagerStore;
      config: StageManagerConfig;
      drivers: DriverRegistry;
      services: ServiceDirectory;
      lifecycle: LifecycleService;
      authorizer: Authorizer<DeploymentResource>;
      auditLog: AuditLog;
      auth: AuthService;
      logger: LoggerService;
      notifications?: NotificationService;
    },
  ) {}

  /** The latest report of a deployment and its score history, newest first. */
  async get(
    deploymentId: string,
    options: { historyLimit: number },
    credentials: BackstageCredentials,
  ): Promise<DriftStatus> {
    const deployment = await this.deps.lifecycle.readable(
      deploymentId,
      credentials,
    );
    const latest = (await this.deps.store.drift.latest([deployment.id])).get(
      deployment.id,
    );
    const history = await this.deps.store.drift.history(deployment.id, {
      limit: options.historyLimit,
    });
    return { latest, history, scanning: this.running.has(deployment.id) };
  }

  /**
   * Starts a scan of a deployment for a user (audited as `drift.scan`) and answers its promise;
   * a scan already running for the deployment is joined instead.
   */
  async requestScan(
    deploymentId: string,
    credentials: BackstageCredentials,
  ): Promise<{ report: Promise<DriftReport> }> {
    const deployment = await this.deps.lifecycle.readable(
      deploymentId,
      credentials,
    );
    await this.deps.authorizer.resource(
      deploymentDriftScanPermission,
      deployment,
      credentials,
    );
    const service = await this.deps.lifecycle.service(
      deployment.serviceRef,
      credentials,
    );
    this.checkScannable(deployment, service);
    const existing = this.running.get(deployment.id);
    if (existing) return { report: existing };
    const report = this.scanAndStore(deployment, service, credentials);
    report.catch(error =>
      this.deps.logger.warn(
        `Drift scan of deployment ${deployment.id} failed: ${error}`,
      ),
    );
    return { report };
  }

  /** Scans a deployment for a user and stores the report, audited as `drift.scan`. */
  private scanAndStore(
    deployment: Deployment,
    service: StageManagerService,
    credentials: BackstageCredentials,
  ): Promise<DriftReport> {
    return this.track(deployment.id, async () => {
      const measured = await this.measure(deployment, service, {
        trigger: 'request',
        requestedBy: principalRef(credentials),
        cache: new Map(),
      });
      return this.deps.auditLog.mutate(
        { credentials, action: 'drift.scan', targetKind: 'deployment' },
        async stores => {
          await stores.drift.insert(measured);
          return {
            result: measured,
            targetId: deployment.id,
            serviceRef: deployment.serviceRef,
            after: {
              reportId: measured.id,
              score: measured.score,
              verdicts: Object.fromEntries(
                measured.layers.map(l => [l.layer, l.verdict]),
              ),
            },
          };
        },
      );
    });
  }

  /**
   * The drift gate of a stage (`stageManager.stages.<stage>.driftGate`): a promotion or swap of
   * `source` into `stage` is refused (409) while the source's latest drift report scores below
   * the gate's minimum in a layer it names, or that layer could not be measured. A report older
   * than the gate's `maxScanAge` is made again first (audited as `drift.scan`). Nothing to
   * compare with (production runs nothing) passes.
   */
  async gate(
    source: Deployment,
    stage: string,
    service: StageManagerService,
    credentials: BackstageCredentials,
  ): Promise<void> {
    const gate = this.deps.config.stages.get(stage)?.driftGate;
    if (!gate || !this.scannable(source, service)) return;
    let report = (await this.deps.store.drift.latest([source.id])).get(
      source.id,
    );
    if (
      !report ||
      Date.now() - Date.parse(report.scannedAt) > gate.maxScanAgeMs
    ) {
      report =
        (await this.running.get(source.id)) ??
        (await this.scanAndStore(source, service, credentials));
    }
    if (!report.productionDeploymentId) return;
    const failing = Object.entries(gate.minScores).flatMap(([name, min]) => {
      const layer = report!.layers.find(l => l.layer === name);
      return layer?.score !== undefined && layer.score >= min!
        ? []
        : [
            `${name} ${
              layer?.score === undefined ? 'not measured' : layer.score
            } < ${min}`,
          ];
    });
    if (failing.length) {
      throw new ConflictError(
        `Stage ${stage} takes no deployment that drifted from production: deployment ${
          source.id
        } scores ${failing.join(', ')} (drift report ${report.id} of ${
          report.scannedAt
        }); refresh it from production or scan it again`,
      );
    }
  }

  /**
   * The scheduled scan: every running or stopped deployment outside production (and every
   * non-primary one in production) of every service, production's disks hashed once per run.
   * A deployment that fails to scan is logged and skipped.
   */
  async scanAll(): Promise<{
    scanned: number;
    failed: number;
    reports: DriftReport[];
  }> {
    const credentials = await this.deps.auth.getOwnServiceCredentials();
    const cache: ChunkListCache = new Map();
    const services = new Map<string, StageManagerService | undefined>();
    const reports: DriftReport[] = [];
    let failed = 0;
    for (let offset = 0; ; offset += 200) {
      const page = await this.deps.store.deployments.list({
        live: true,
        page: { limit: 200, offset },
      });
      for (const deployment of page.items) {
        if (!['running', 'stopped'].includes(deployment.state)) continue;
        if (!services.has(deployment.serviceRef)) {
          services.set(
            deployment.serviceRef,
            await this.deps.services
              .get(deployment.serviceRef, credentials)
              .then(s => (s.problems.length ? undefined : s))
              .catch(() => undefined),
          );
        }
        const service = services.get(deployment.serviceRef);
        if (!service || !this.scannable(deployment, service)) continue;
        if (this.running.has(deployment.id)) continue;
        try {
          const previous = (
            await this.deps.store.drift.latest([deployment.id])
          ).get(deployment.id);
          const report = await this.track(deployment.id, async () => {
            const r = await this.measure(deployment, service, {
              trigger: 'schedule',
              cache,
            });
            await this.deps.store.drift.insert(r);
            return r;
          });
          reports.push(report);
          if (drifted(report) && (!previous || !drifted(previous))) {
            await this.notifyDrift(deployment, service, report);
          }
        } catch (error) {
          failed++;
          this.deps.logger.warn(
            `Drift scan of deployment ${deployment.id} failed: ${error}`,
          );
        }
      }
      if (offset + page.items.length >= page.totalCount) break;
    }
    const pruned = await this.deps.store.drift.prune(
      new Date(
        Date.now() - this.deps.config.drift.historyMaxAgeMs,
      ).toISOString(),
    );
    this.deps.logger.info(
      `Drift scan: ${reports.length} deployments scanned, ${failed} failed, ${pruned} old scans removed`,
    );
    return { scanned: reports.length, failed, reports };
  }

  /** Tells the service's owner and the deployment's creator that it no longer matches. */
  private async notifyDrift(
    deployment: Deployment,
    service: StageManagerService,
    report: DriftReport,
  ) {
    if (!this.deps.notifications) return;
    const recipients = [deployment.createdBy];
    if (service.owner) {
      try {
        recipients.push(
          stringifyEntityRef(
            parseEntityRef(service.owner, {
              defaultKind: 'group',
              defaultNamespace: service.namespace,
            }),
          ),
        );
      } catch {
        // An owner that is no entity ref: the creator alone is told.
      }
    }
    const layers = report.layers
      .filter(l => l.verdict === 'drift')
      .map(l => `${l.layer} ${l.score}`)
      .join(', ');
    try {
      await this.deps.notifications.send({
        recipients: { type: 'entity', entityRef: [...new Set(recipients)] },
        payload: {
          title: `Drift: ${deployment.serviceRef} in ${deployment.stage} no longer matches production`,
          description: `Deployment ${deployment.id} scores ${report.score} % against production (${layers}).`,
          link: `/stage-manager/services/${service.kind}/${service.namespace}/${service.name}`,
          topic: 'stage-manager-drift',
          severity: 'normal',
        },
      });
    } catch (error) {
      this.deps.logger.warn(
        `Could not send the drift notification for ${deployment.id}: ${error}`,
      );
    }
  }

  private async track<T extends DriftReport>(
    deploymentId: string,
    fn: () => Promise<T>,
  ): Promise<T> {
    const promise = fn();
    this.running.set(deploymentId, promise);
    try {
      return await promise;
    } finally {
      if (this.running.get(deploymentId) === promise) {
        this.running.delete(deploymentId);
      }
    }
  }

  private productionStage(service: StageManagerService) {
    return service.stages[service.stages.length - 1];
  }

  private scannable(deployment: Deployment, service: StageManagerService) {
    const production = this.productionStage(service);
    return (
      !!production &&
      !(deployment.stage === production.name && deployment.role === 'primary')
    );
  }

  private checkScannable(deployment: Deployment, service: StageManagerService) {
    if (!this.productionStage(service)) {
      throw new ConflictError(`${service.entityRef} has no stages`);
    }
    if (!this.scannable(deployment, service)) {
      throw new ConflictError(
        `Deployment ${deployment.id} is production's primary deployment: drift is measured against it`,
      );
    }
    if (!['running', 'stopped'].includes(deployment.state)) {
      throw new ConflictError(
        `Deployment ${deployment.id} is ${deployment.state}: only running or stopped deployments are scanned`,
      );
    }
  }

  /** Measures every layer of one deployment against production. Stores nothing. */
  async measure(
    deployment: Deployment,
    service: StageManagerService,
    meta: {
      trigger: 'schedule' | 'request';
      requestedBy?: string;
      cache: ChunkListCache;
    },
  ): Promise<DriftReport> {
    const started = Date.now();
    const productionStage = this.productionStage(service)!;
    const production = await this.deps.store.deployments.findPrimary(
      service.entityRef,
      productionStage.name,
    );
    const base = {
      id: randomUUID(),
      deploymentId: deployment.id,
      serviceRef: deployment.serviceRef,
      stage: deployment.stage,
      trigger: meta.trigger,
      requestedBy: meta.requestedBy,
    };
    if (!production) {
      const reason = `Production (${productionStage.name}) runs no deployment to compare with`;
      const layers = (
        ['configuration', 'hypervisor', 'disks', 'divergence'] as const
      ).map(l => unknownLayer(l, reason));
      return {
        ...base,
        layers,
        score: undefined,
        scannedAt: nowIso(),
        durationMs: Date.now() - started,
      };
    }

    const templates = new Map<string, Template>();
    const copy = await this.place(deployment, templates);
    const prod = await this.place(production, templates);

    const layers: DriftLayer[] = [];
    layers.push(
      configurationLayer({
        production,
        copy: deployment,
        productionMachines: prod.machines,
        copyMachines: copy.machines,
      }),
    );
    layers.push(
      'error' in copy.inventoryState || 'error' in prod.inventoryState
        ? unknownLayer(
            'hypervisor',
            `The hypervisor could not be asked: ${
              (copy.inventoryState as { error?: string }).error ??
              (prod.inventoryState as { error?: string }).error
            }`,
          )
        : hypervisorLayer([
            {
              label: 'copy',
              expected: { deployment, machines: copy.machines },
              inventory: copy.inventory,
            },
            {
              label: 'production',
              expected: { deployment: production, machines: prod.machines },
              inventory: prod.inventory,
            },
          ]),
    );
    layers.push(await this.diskLayer(copy, prod, meta.cache));
    layers.push(
      await this.divergence(deployment, production, productionStage.name),
    );
    return {
      ...base,
      productionDeploymentId: production.id,
      layers,
      score: matchScore(layers),
      scannedAt: nowIso(),
      durationMs: Date.now() - started,
    };
  }

  private async place(
    deployment: Deployment,
    templates: Map<string, Template>,
  ): Promise<Placed & { inventoryState: { ok: true } | { error: string } }> {
    const version = await this.deps.store.configurations.getVersion(
      deployment.configurationId,
      deployment.configurationVersion,
    );
    for (const m of version?.machines ?? []) {
      if (!templates.has(m.template)) {
        const t = await this.deps.store.templates.get(m.template);
        if (t) templates.set(m.template, t);
      }
    }
    const machines = effectiveMachines(version?.machines ?? [], templates);
    const poolConfig = this.deps.config.pools.get(deployment.pool);
    const driver = poolConfig && this.deps.drivers.get(poolConfig.driver);
    const pool = {
      name: deployment.pool,
      location: poolConfig?.location ?? {},
    };
    if (!driver) {
      return {
        deployment,
        pool,
        driver: undefined as unknown as HypervisorDriver,
        inventory: { machines: [], disks: [], fences: [] },
        machines,
        inventoryState: {
          error: `pool '${deployment.pool}' has no installed driver`,
        },
      };
    }
    try {
      const inventory = await driver.listInventory({
        deploymentId: deployment.id,
      });
      return {
        deployment,
        pool,
        driver,
        inventory,
        machines,
        inventoryState: { ok: true },
      };
    } catch (error) {
      return {
        deployment,
        pool,
        driver,
        inventory: { machines: [], disks: [], fences: [] },
        machines,
        inventoryState: { error: String(error) },
      };
    }
  }

  /** The pool disk names of a machine's disks, in device order. */
  private machineDisks(placed: Placed, machine: string) {
    const m = placed.deployment.machines.find(x => x.name === machine);
    const name = m?.driverRef ?? machineName(placed.deployment.id, machine);
    const real = placed.inventory.machines.find(x => x.name === name);
    return (real?.disks ?? []).map(d => ({
      device: d.name,
      path: d.path,
      disk: placed.inventory.disks.find(x => x.path === d.path),
    }));
  }

  /** Layer 3: every disk of every machine both have, compared by chunk hashes. */
  private async diskLayer(
    copy: Placed & { inventoryState: { ok: true } | { error: string } },
    prod: Placed & { inventoryState: { ok: true } | { error: string } },
    cache: ChunkListCache,
  ): Promise<DriftLayer> {
    if ('error' in copy.inventoryState || 'error' in prod.inventoryState) {
      return unknownLayer('disks', 'The hypervisor could not be asked');
    }
    for (const side of [copy, prod]) {
      const caps = await side.driver.getCapabilities();
      if (!caps.nbdExport || !side.driver.serveDisk) {
        return unknownLayer(
          'disks',
          `Driver '${side.driver.id}' cannot read disks for comparison`,
        );
      }
    }
    const disks: DiskDrift[] = [];
    const unmatched: DriftDifference[] = [];
    const names = new Set(copy.deployment.machines.map(m => m.name));
    for (const machine of names) {
      if (!prod.deployment.machines.some(m => m.name === machine)) continue;
      const mine = this.machineDisks(copy, machine);
      const theirs = this.machineDisks(prod, machine);
      for (let i = 0; i < Math.max(mine.length, theirs.length); i++) {
        const c = mine[i];
        const p = theirs[i];
        const label = c?.device ?? p?.device ?? String(i);
        if (!c?.disk || !p?.disk) {
          unmatched.push({
            subject: `machine ${machine}: disk ${label}`,
            production: p?.path,
            copy: c?.path,
            note:
              !c || !p
                ? `attached only in ${c ? 'the copy' : 'production'}`
                : 'not a disk of its pool',
          });
          continue;
        }
        disks.push(
          await compareDisks({
            production: { driver: prod.driver, pool: prod.pool, disk: p.disk },
            copy: { driver: copy.driver, pool: copy.pool, disk: c.disk },
            machine,
            disk: label,
            chunkSizeBytes: this.deps.config.archives.chunkSizeBytes,
            cache,
          }),
        );
      }
    }
    return disksLayer(disks, unmatched);
  }

  /**
   * Layer 4: since when the copy diverges (its creation, or its last refresh from production),
   * and what production did since.
   */
  private async divergence(
    copy: Deployment,
    production: Deployment,
    productionStage: string,
  ): Promise<DriftLayer> {
    const source = copy.clonedFrom
      ? await this.deps.store.deployments.get(copy.clonedFrom)
      : undefined;
    const takenAt = copy.createdAt;
    const events: AuditEvent[] = [];
    for (let offset = 0; offset < MAX_EVENTS; offset += 200) {
      const page = await this.deps.store.audit.list({
        page: { limit: 200, offset },
        serviceRef: copy.serviceRef,
      });
      events.push(...page.items);
      const oldest = page.items[page.items.length - 1];
      if (!oldest || oldest.at < takenAt || offset + 200 >= page.totalCount) {
        break;
      }
    }
    // A refresh from production takes the copy again.
    const refreshed = events.find(
      e =>
        e.action === 'operation.succeeded' &&
        (e.after as { kind?: string; targetDeploymentId?: string })?.kind ===
          'refresh' &&
        (e.after as { targetDeploymentId?: string }).targetDeploymentId ===
          copy.id,
    );
    return divergenceLayer({
      takenAt: refreshed && refreshed.at > takenAt ? refreshed.at : takenAt,
      takenFromProduction: source?.stage === productionStage,
      now: new Date(),
      productionStage,
      productionConfigurationId: production.configurationId,
      events,
    });
  }
}

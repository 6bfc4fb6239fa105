import {
  coreServices,
  createBackendPlugin,
} from '@backstage/backend-plugin-api';
import { catalogServiceRef } from '@backstage/plugin-catalog-node';
import { notificationService } from '@backstage/plugin-notifications-node';
import { signalsServiceRef } from '@backstage/plugin-signals-node';
import { stageManagerPermissions } from '@internal/plugin-stage-manager-common';
import {
  configurationPermissionRules,
  configurationResourceRef,
  deploymentPermissionRules,
  deploymentResourceRef,
  stageManagerDriversExtensionPoint,
} from '@internal/plugin-stage-manager-node';
import { readStageManagerConfig } from './config/StageManagerConfig';
import { ConsoleProxy } from './console/ConsoleProxy';
import { DatabaseStageManagerStore } from './database/StageManagerStore';
import { DriverRegistry } from './drivers/DriverRegistry';
import { ApprovalService } from './lifecycle/ApprovalService';
import { LeaseService } from './lifecycle/LeaseService';
import { LifecycleService } from './lifecycle/LifecycleService';
import { ArchiveService } from './archives/ArchiveService';
import { ChunkRepository } from './archives/ChunkRepository';
import { FileTierStorage } from './archives/TierStorage';
import { OperationEngine } from './lifecycle/OperationEngine';
import { operationSignal } from './lifecycle/operationSignal';
import { Reconciler } from './lifecycle/Reconciler';
import { createRouter } from './router/createRouter';
import { AuditLog } from './services/AuditLog';
import { BoardService } from './services/BoardService';
import { Authorizer } from './services/Authorizer';
import { ConfigurationService } from './services/ConfigurationService';
import { DeploymentService } from './services/DeploymentService';
import { PoolService } from './services/PoolService';
import { ServiceDirectory } from './services/ServiceDirectory';
import { DriftService } from './drift/DriftService';
import { TemplateService } from './services/TemplateService';

/**
 * Stage Manager backend plugin: wires stores, services and the router.
 *
 * @public
 */
export const stageManagerPlugin = createBackendPlugin({
  pluginId: 'stage-manager',
  register(env) {
    const drivers = new DriverRegistry();
    env.registerExtensionPoint(stageManagerDriversExtensionPoint, drivers);

    env.registerInit({
      deps: {
        logger: coreServices.logger,
        config: coreServices.rootConfig,
        database: coreServices.database,
        httpRouter: coreServices.httpRouter,
        httpAuth: coreServices.httpAuth,
        permissions: coreServices.permissions,
        permissionsRegistry: coreServices.permissionsRegistry,
        auditor: coreServices.auditor,
        auth: coreServices.auth,
        lifecycle: coreServices.lifecycle,
        scheduler: coreServices.scheduler,
        catalog: catalogServiceRef,
        notifications: notificationService,
        signals: signalsServiceRef,
      },
      async init(deps) {
        drivers.lock();
        const config = readStageManagerConfig(deps.config);
        const store = await DatabaseStageManagerStore.create({
          database: deps.database,
        });

        deps.permissionsRegistry.addPermissions(stageManagerPermissions);
        deps.permissionsRegistry.addResourceType({
          resourceRef: configurationResourceRef,
          rules: Object.values(configurationPermissionRules),
          getResources: ids =>
            Promise.all(ids.map(id => store.configurations.get(id))),
        });
        deps.permissionsRegistry.addResourceType({
          resourceRef: deploymentResourceRef,
          rules: Object.values(deploymentPermissionRules),
          getResources: ids =>
            Promise.all(ids.map(id => store.deployments.get(id))),
        });

        const auditLog = new AuditLog(store, deps.auditor, deps.permissions);
        const services = new ServiceDirectory({
          catalog: deps.catalog,
          config,
          logger: deps.logger,
        });
        const configurationAuthorizer = new Authorizer(
          deps.permissions,
          deps.permissionsRegistry.getPermissionRuleset(
            configurationResourceRef,
          ),
        );
        const deploymentAuthorizer = new Authorizer(
          deps.permissions,
          deps.permissionsRegistry.getPermissionRuleset(deploymentResourceRef),
        );

        // Console websockets. Must come before the REST routes: it subscribes to the server's
        // upgrades on the first request of any kind (see ConsoleProxy).
        const consoles = new ConsoleProxy({
          auth: deps.auth,
          auditor: deps.auditor,
          logger: deps.logger,
          config,
          store,
          authorizer: deploymentAuthorizer,
          drivers,
        });
        deps.lifecycle.addShutdownHook(() => consoles.close());
        deps.httpRouter.use(consoles.upgradeSubscriber());

        const templates = new TemplateService({
          store,
          permissions: deps.permissions,
          auditLog,
        });
        const seeded = await templates.ensureConfigured(
          config.templates,
          await deps.auth.getOwnServiceCredentials(),
        );
        if (seeded.length) {
          deps.logger.info(
            `Created templates from app-config: ${seeded.join(', ')}`,
          );
        }

        const reconciler = new Reconciler({
          store,
          drivers,
          config,
          logger: deps.logger,
        });
        const chunks = new ChunkRepository({
          store,
          chunkSizeBytes: config.archives.chunkSizeBytes,
          tiers: config.archives.tiers.map(t => ({
            config: t,
            storage: new FileTierStorage(t.path),
          })),
        });
        // Set once the archive service exists; the engine's events are wired before it.
        const archives: { service?: ArchiveService } = {};
        const engine = new OperationEngine({
          store,
          drivers,
          config,
          chunks,
          logger: deps.logger,
          events: {
            changed: operation => {
              deps.signals
                .publish(operationSignal(operation))
                .catch(error =>
                  deps.logger.warn(`Could not publish progress: ${error}`),
                );
            },
            // Removing a deployment can free layers other deployments no longer need: collect
            // them now rather than at the next scheduled reconcile.
            finished: operation => {
              // A new archive can push older ones out of their stage's retention (the full
              // sweep of tier folders is left to the scheduled run).
              if (
                operation.state === 'succeeded' &&
                operation.kind === 'archive'
              ) {
                archives.service
                  ?.applyPolicies(new Date(), { sweep: false })
                  .catch(error =>
                    deps.logger.warn(`Archive policies failed: ${error}`),
                  );
              }
              if (
                operation.state === 'succeeded' &&
                ['undeploy', 'promote', 'demote', 'swap'].includes(
                  operation.kind,
                )
              ) {
                reconciler
                  .run()
                  .catch(error =>
                    deps.logger.warn(
                      `Reconcile after ${operation.kind} failed: ${error}`,
                    ),
                  );
              }
            },
          },
        });
        const approvals = new ApprovalService({
          store,
          catalog: deps.catalog,
          auth: deps.auth,
          authorizer: deploymentAuthorizer,
          auditLog,
          engine,
          notifications: deps.notifications,
          logger: deps.logger,
        });
        const gate: { drift?: DriftService } = {};
        const lifecycle = new LifecycleService({
          store,
          config,
          drivers,
          services,
          authorizer: deploymentAuthorizer,
          auditLog,
          engine,
          onApprovalRequested: request => approvals.requested(request),
          // The drift service needs the lifecycle service: it is set once both exist.
          driftGate: (source, stage, service, credentials) =>
            gate.drift!.gate(source, stage, service, credentials),
        });
        const archiveService = new ArchiveService({
          store,
          config,
          lifecycle,
          authorizer: deploymentAuthorizer,
          auditLog,
          chunks,
          logger: deps.logger,
        });
        archives.service = archiveService;
        const drift = new DriftService({
          store,
          config,
          drivers,
          services,
          lifecycle,
          authorizer: deploymentAuthorizer,
          auditLog,
          auth: deps.auth,
          logger: deps.logger,
          notifications: deps.notifications,
        });
        gate.drift = drift;
        const leases = new LeaseService({
          store,
          config,
          authorizer: deploymentAuthorizer,
          auditLog,
          lifecycle,
          notifications: deps.notifications,
          logger: deps.logger,
        });

        // Operations survive restarts: every instance resumes unfinished operations whose
        // runner is gone. Expiries and orphan cleanup run once across instances.
        deps.lifecycle.addStartupHook(() => engine.resumeAll());
        deps.lifecycle.addShutdownHook(() => engine.stop());
        await deps.scheduler.scheduleTask({
          id: 'stage-manager-resume-operations',
          scope: 'local',
          // As often as a runner's heartbeat can go stale: a dead runner's work resumes soon.
          frequency: { milliseconds: Math.max(1000, config.operationStaleMs) },
          timeout: { minutes: 1 },
          fn: () => engine.resumeAll(),
        });
        await deps.scheduler.scheduleTask({
          id: 'stage-manager-expiries',
          scope: 'global',
          frequency: { minutes: 1 },
          timeout: { minutes: 5 },
          fn: async () => {
            // Both run even if one fails; the task fails if either did.
            const results = await Promise.allSettled([
              approvals.expireDue(),
              leases.sweep(),
            ]);
            const errors = results.flatMap(r =>
              r.status === 'rejected' ? [String(r.reason)] : [],
            );
            if (errors.length) throw new Error(errors.join('; '));
          },
        });
        await deps.scheduler.scheduleTask({
          id: 'stage-manager-reconcile',
          scope: 'global',
          frequency: { minutes: 10 },
          timeout: { minutes: 10 },
          initialDelay: { minutes: 1 },
          fn: async () => {
            await reconciler.run();
          },
        });

        await deps.scheduler.scheduleTask({
          id: 'stage-manager-archive-policies',
          scope: 'global',
          frequency: { milliseconds: config.archives.policyIntervalMs },
          timeout: { minutes: 30 },
          initialDelay: { minutes: 2 },
          fn: async () => {
            const result = await archiveService.applyPolicies();
            if (
              result.deleted.length ||
              result.moves.length ||
              result.collected
            ) {
              deps.logger.info(
                `Archive policies: deleted ${result.deleted.length}, moving ${result.moves.length}, collected ${result.collected} chunk(s), ${result.orphans} orphan file(s)`,
              );
            }
          },
        });

        await deps.scheduler.scheduleTask({
          id: 'stage-manager-drift-scan',
          scope: 'global',
          frequency: { milliseconds: config.drift.scanIntervalMs },
          timeout: { hours: 2 },
          initialDelay: { minutes: 3 },
          fn: async () => {
            await drift.scanAll();
          },
        });

        deps.httpRouter.use(
          await createRouter({
            httpAuth: deps.httpAuth,
            services,
            templates,
            configurations: new ConfigurationService({
              store,
              permissions: deps.permissions,
              authorizer: configurationAuthorizer,
              auditLog,
              services,
            }),
            pools: new PoolService({
              config,
              store,
              drivers,
              permissions: deps.permissions,
            }),
            deployments: new DeploymentService({
              store,
              authorizer: deploymentAuthorizer,
              services,
            }),
            board: new BoardService({
              store,
              services,
              authorizer: deploymentAuthorizer,
            }),
            lifecycle,
            approvals,
            leases,
            archives: archiveService,
            drift,
            auditLog,
          }),
        );
        deps.logger.info(
          `Stage Manager ready: ${config.workflows.size} workflow(s), ${
            config.pools.size
          } pool(s), drivers: ${drivers.ids().join(', ') || 'none'}`,
        );
      },
    });
  },
});

import { LoggerService } from '@backstage/backend-plugin-api';
import {
  Operation,
  OperationState,
  OperationStep,
} from '@internal/plugin-stage-manager-common';
import { randomUUID } from 'node:crypto';
import { StageManagerConfig } from '../config/StageManagerConfig';
import { StageManagerStore } from '../database/StageManagerStore';
import { nowIso } from '../database/util';
import { DriverRegistry } from '../drivers/DriverRegistry';
import { LeasePolicy } from './leasePolicy';
import { ALL_STEPS, rollBackOperation } from './allSteps';
import { StepContext } from './steps';
import type { ChunkRepository } from '../archives/ChunkRepository';

/** Where operation progress is announced (Backstage signals in the plugin). */
export interface OperationEvents {
  /** Called after every saved change of an operation. */
  changed(operation: Operation): void;
  /** Called once an operation reached a final state. */
  finished?(operation: Operation): void;
}

/** Thrown when this instance no longer runs an operation (stopped, or taken over). */
class OwnershipLost extends Error {
  constructor(id: string) {
    super(`Operation ${id} is no longer run by this instance`);
    this.name = 'OwnershipLost';
  }
}

const FINAL: OperationState[] = ['succeeded', 'failed', 'rolled-back'];

/**
 * Runs durable operations step by step. Every change is written to the operation's row before
 * and after each step, so any backend instance can resume an operation whose runner died: a
 * runner claims an operation (compare-and-set on `owner`) and keeps a heartbeat; a claim whose
 * heartbeat is stale is taken over. A step that fails before the operation's commit step rolls
 * the operation back; after it, the operation fails as it stands.
 */
export class OperationEngine {
  /** This backend instance, as the owner of the operations it runs. */
  readonly instanceId = `sm-${randomUUID()}`;
  private readonly running = new Map<string, Promise<void>>();
  private stopped = false;
  private readonly leases: LeasePolicy;
  private readonly controllers = new Set<AbortController>();

  constructor(
    private readonly deps: {
      store: StageManagerStore;
      drivers: DriverRegistry;
      config: StageManagerConfig;
      logger: LoggerService;
      events?: OperationEvents;
      /** The archives' chunk store, for archive operations. */
      chunks?: ChunkRepository;
    },
  ) {
    this.leases = new LeasePolicy(deps.config);
  }

  /** Runs an operation soon, in this instance, unless it already runs here. */
  kick(id: string): Promise<void> {
    if (this.stopped) return Promise.resolve();
    const existing = this.running.get(id);
    if (existing) return existing;
    const run = this.run(id)
      .catch(error =>
        this.deps.logger.error(
          `Operation ${id} stopped unexpectedly: ${error.stack ?? error}`,
        ),
      )
      .finally(() => this.running.delete(id));
    this.running.set(id, run);
    return run;
  }

  /** Picks up every unfinished operation nobody runs (e.g. after a restart). */
  async resumeAll(): Promise<void> {
    for (const op of await this.deps.store.operations.listUnfinished()) {
      if (op.state === 'awaiting-approval') continue;
      if (this.running.has(op.id)) continue;
      // The claim decides: it fails while another instance's heartbeat is fresh.
      void this.kick(op.id);
    }
  }

  /** Waits for the operations this instance runs (tests, shutdown). */
  async idle(): Promise<void> {
    while (this.running.size) {
      await Promise.all([...this.running.values()]);
    }
  }

  /**
   * Stops working: no new claims, no more heartbeats or saves. Operations it ran keep their
   * recorded state and are resumed by another instance (or this one after a restart) once their
   * heartbeat is stale: the same as when the process dies.
   */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const controller of this.controllers) controller.abort();
  }

  private async run(id: string): Promise<void> {
    const { store } = this.deps;
    const owner = this.instanceId;
    const claimed = await store.operations.claim(id, owner, {
      now: nowIso(),
      staleBefore: new Date(
        Date.now() - this.deps.config.operationStaleMs,
      ).toISOString(),
    });
    if (!claimed) return;

    const abort = new AbortController();
    this.controllers.add(abort);
    // Without a successful heartbeat for half the stale time another instance may take the
    // operation over soon: stop working on it before that can happen.
    let lastBeat = Date.now();
    const heartbeat = setInterval(() => {
      if (abort.signal.aborted) return;
      if (Date.now() - lastBeat > this.deps.config.operationStaleMs / 2) {
        this.deps.logger.warn(
          `Operation ${id}: no heartbeat for ${
            Date.now() - lastBeat
          } ms, letting go`,
        );
        abort.abort();
        return;
      }
      store.operations.heartbeat(id, owner, nowIso()).then(
        still => {
          if (still) lastBeat = Date.now();
          else abort.abort();
        },
        error =>
          this.deps.logger.warn(
            `Heartbeat of operation ${id} failed: ${error}`,
          ),
      );
    }, this.deps.config.operationHeartbeatMs);
    try {
      await this.drive(id, abort.signal);
    } finally {
      clearInterval(heartbeat);
      this.controllers.delete(abort);
    }
  }

  private async drive(id: string, signal: AbortSignal): Promise<void> {
    const { store } = this.deps;
    const owner = this.instanceId;
    let op = (await store.operations.get(id))!;
    const steps: OperationStep[] = op.steps.map(s => ({ ...s }));

    const save = async (patch: {
      state?: OperationState;
      error?: string | null;
      startedAt?: string;
      finishedAt?: string;
    }) => {
      if (signal.aborted || this.stopped) {
        throw new OwnershipLost(id);
      }
      const ok = await store.operations.save(id, owner, {
        ...patch,
        steps,
        now: nowIso(),
      });
      if (!ok) throw new OwnershipLost(id);
      op = {
        ...op,
        ...patch,
        steps,
        error: patch.error ?? op.error,
      } as Operation;
      this.deps.events?.changed(op);
    };

    const context = (step: OperationStep): StepContext => ({
      operation: { ...op, steps },
      data: { ...(step.data ?? {}) },
      saveData: async data => {
        step.data = data;
        await save({});
      },
      store,
      drivers: this.deps.drivers,
      config: this.deps.config,
      leases: this.leases,
      logger: this.deps.logger.child({ operation: id }),
      signal,
      chunks: this.deps.chunks,
    });

    try {
      if (op.state === 'queued') {
        await save({ state: 'running', startedAt: op.startedAt ?? nowIso() });
      }
      if (op.state === 'running') {
        for (const step of steps) {
          if (step.state === 'succeeded' || step.state === 'skipped') continue;
          const definition = ALL_STEPS[step.name];
          step.state = 'running';
          step.startedAt = step.startedAt ?? nowIso();
          step.error = undefined;
          await save({});
          let outcome: 'wait' | 'done' | void;
          try {
            outcome = await definition.run(context(step));
          } catch (error) {
            if (error instanceof OwnershipLost) throw error;
            const message = (error as Error).message;
            step.state = 'failed';
            step.finishedAt = nowIso();
            step.error = message;
            const committed = steps.some(
              s => s.state === 'succeeded' && ALL_STEPS[s.name].commit,
            );
            if (committed) {
              await this.finish(op, steps, 'failed', message);
              return;
            }
            await save({ state: 'rolling-back', error: message });
            break;
          }
          if (outcome === 'wait') {
            step.state = 'pending';
            await save({ state: 'awaiting-approval' });
            await store.operations.release(id, owner, nowIso());
            return;
          }
          step.state = 'succeeded';
          step.finishedAt = nowIso();
          await save({});
        }
        if (op.state === 'running') {
          await this.finish(op, steps, 'succeeded', undefined);
          return;
        }
      }
      if (op.state === 'rolling-back') {
        try {
          await rollBackOperation(
            context({ name: 'rollback', state: 'running' }),
          );
        } catch (error) {
          if (error instanceof OwnershipLost) throw error;
          const message = `${op.error ?? 'Failed'}; rollback failed too: ${
            (error as Error).message
          }`;
          await this.finish(op, steps, 'failed', message);
          return;
        }
        for (const step of steps) {
          if (step.state === 'pending') step.state = 'skipped';
        }
        await this.finish(op, steps, 'rolled-back', op.error);
      }
    } catch (error) {
      if (error instanceof OwnershipLost) {
        this.deps.logger.info(
          `Operation ${id} continues on another instance (or after restart)`,
        );
        return;
      }
      throw error;
    }
  }

  private async finish(
    op: Operation,
    steps: OperationStep[],
    state: OperationState,
    error: string | undefined,
  ) {
    const { store } = this.deps;
    if (this.stopped) throw new OwnershipLost(op.id);
    const finishedAt = nowIso();
    await store.transaction(async stores => {
      const ok = await stores.operations.save(op.id, this.instanceId, {
        state,
        steps,
        error: error ?? null,
        finishedAt,
        now: finishedAt,
      });
      if (!ok) throw new OwnershipLost(op.id);
      await stores.operations.releaseLocks(op.id);
      await stores.audit.append({
        id: randomUUID(),
        at: finishedAt,
        actor: op.requestedBy,
        action: `operation.${state}`,
        targetKind: 'operation',
        targetId: op.id,
        serviceRef: op.serviceRef,
        before: { state: op.state },
        after: {
          kind: op.kind,
          state,
          error,
          deploymentId: op.deploymentId,
          targetDeploymentId: op.targetDeploymentId,
          targetStage: op.targetStage,
          steps: steps.map(s => ({ name: s.name, state: s.state })),
        },
      });
    });
    const final = (await store.operations.get(op.id))!;
    this.deps.events?.changed(final);
    if (FINAL.includes(final.state)) this.deps.events?.finished?.(final);
  }
}

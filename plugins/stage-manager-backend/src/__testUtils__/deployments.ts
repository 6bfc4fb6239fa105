import { Deployment } from '@internal/plugin-stage-manager-common';
import { ANN, as, BOB, Harness } from './lifecycleHarness';

/** Deploys the harness configuration (a version of it) into a stage and waits for it. */
export async function deployed(
  h: Harness,
  stage: string,
  version?: number,
): Promise<Deployment> {
  const op = await h.settle(
    await h.lifecycle.deploy(
      { configurationId: h.configurationId, stage, version },
      as(ANN),
    ),
  );
  expect(op.state).toBe('succeeded');
  return (await h.store.deployments.get(op.targetDeploymentId!))!;
}

/** A running primary in production: deployed into uat and promoted, approved by Bob. */
export async function inProduction(h: Harness): Promise<Deployment> {
  const uat = await deployed(h, 'uat');
  const requested = await h.lifecycle.promote(uat.id, {}, as(ANN));
  await h.approvals.decide(
    requested.approvalRequestId!,
    'approve',
    'ok',
    as(BOB),
  );
  const op = await h.settle(requested);
  expect(op.state).toBe('succeeded');
  return (await h.store.deployments.get(op.targetDeploymentId!))!;
}

/** A linked clone of a deployment in a stage. */
export async function cloned(
  h: Harness,
  source: Deployment,
  stage: string,
): Promise<Deployment> {
  const op = await h.settle(
    await h.lifecycle.clone(source.id, { stage, mode: 'linked' }, as(ANN)),
  );
  expect(op.state).toBe('succeeded');
  return (await h.store.deployments.get(op.targetDeploymentId!))!;
}

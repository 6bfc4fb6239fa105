import {
  disabledReason,
  PermissionCheck,
  permissionReason,
  swapTargets,
} from './actionRules';
import { defaultSwapStage } from './SwapDialog';
import { formatCountdown } from './format';
import { deployment, IDS, operation, shopDetails } from './testFixtures';

const context = () => ({
  stages: shopDetails().stages,
  operations: [],
  approvals: [],
});

describe('disabledReason', () => {
  it('starts only stopped or failed deployments', () => {
    const running = deployment(IDS.test, 'test');
    expect(disabledReason('start', running, context())).toBe(
      'Only stopped or failed deployments can be started (this one is running)',
    );
    expect(
      disabledReason('start', { ...running, state: 'failed' }, context()),
    ).toBeUndefined();
  });

  it('clones and swaps only running or stopped deployments', () => {
    const failed = deployment(IDS.copy, 'test', {
      role: 'copy',
      state: 'failed',
    });
    expect(disabledReason('clone', failed, context())).toBe(
      'Only running or stopped deployments can be cloned (this one is failed)',
    );
    expect(disabledReason('swap', failed, context())).toBe(
      'Only running or stopped deployments can be swapped (this one is failed)',
    );
  });

  it('says when an operation works on the deployment, including the one it builds', () => {
    const target = deployment('66666666-0000-4000-8000-000000000000', 'uat', {
      state: 'provisioning',
    });
    const ctx = {
      ...context(),
      operations: [operation({ state: 'running' })],
    };
    expect(disabledReason('undeploy', target, ctx)).toBe('promote in progress');
    expect(
      disabledReason('undeploy', deployment(IDS.production, 'production'), ctx),
    ).toBeUndefined();
    // A finished operation no longer blocks anything.
    expect(
      disabledReason('undeploy', target, {
        ...ctx,
        operations: [operation({ state: 'succeeded' })],
      }),
    ).toBeUndefined();
  });

  it('does nothing to a deployment that is going away', () => {
    const going = deployment(IDS.test, 'test', { state: 'undeploying' });
    expect(disabledReason('undeploy', going, context())).toBe(
      'The deployment is undeploying',
    );
  });
});

describe('permission reasons', () => {
  const check = (over: Partial<PermissionCheck> = {}): PermissionCheck => ({
    name: 'stage-manager.deployment.promote',
    loading: false,
    allowed: true,
    ...over,
  });
  const running = () => deployment(IDS.test, 'test');

  it('disables an action the user may not do, naming the permission', () => {
    expect(
      disabledReason(
        'promote',
        running(),
        context(),
        check({ allowed: false }),
      ),
    ).toBe(
      'You do not have permission to promote (stage-manager.deployment.promote)',
    );
    expect(
      disabledReason('promote', running(), context(), check()),
    ).toBeUndefined();
  });

  it('waits for the answer, and says when it could not be had', () => {
    expect(
      disabledReason(
        'promote',
        running(),
        context(),
        check({ loading: true, allowed: false }),
      ),
    ).toBe('Checking permission…');
    expect(
      permissionReason(
        'approve',
        check({
          name: 'stage-manager.deployment.approve',
          allowed: false,
          error: new Error('Request failed with 503'),
        }),
      ),
    ).toBe(
      'Could not check the permission to approve (stage-manager.deployment.approve): Request failed with 503',
    );
  });

  it('leaves the decision to the backend when the permission could not be asked', () => {
    expect(permissionReason('deploy', undefined)).toBeUndefined();
    expect(disabledReason('promote', running(), context())).toBeUndefined();
  });

  it('gives the state reason first: it says what to wait for', () => {
    const denied = check({
      name: 'stage-manager.deployment.deploy',
      allowed: false,
    });
    expect(disabledReason('start', running(), context(), denied)).toBe(
      'Only stopped or failed deployments can be started (this one is running)',
    );
    expect(
      disabledReason('start', running(), context(), {
        ...denied,
        loading: true,
      }),
    ).toBe(
      'Only stopped or failed deployments can be started (this one is running)',
    );
    expect(disabledReason('stop', running(), context(), denied)).toBe(
      'You do not have permission to stop (stage-manager.deployment.deploy)',
    );
  });
});

describe('swap targets', () => {
  it('offers a copy its own stage first, and a primary the next stage', () => {
    const { stages } = shopDetails();
    const copy = deployment(IDS.copy, 'test', { role: 'copy' });
    const primary = deployment(IDS.test, 'test');
    expect(defaultSwapStage(copy, stages)).toBe('test');
    expect(defaultSwapStage(primary, stages)).toBe('uat');
    expect(swapTargets(primary, stages).map(s => s.name)).toEqual([
      'integration',
      'uat',
      'production',
    ]);
  });

  it('has nowhere to swap the primary of the only stage', () => {
    const only = shopDetails().stages.slice(0, 1);
    expect(
      disabledReason('swap', deployment(IDS.integration, 'integration'), {
        stages: only,
        operations: [],
        approvals: [],
      }),
    ).toBe('Already the primary of integration, and there is no other stage');
  });
});

describe('formatCountdown', () => {
  it('counts down in days, hours and minutes', () => {
    const now = Date.parse('2025-01-01T00:00:00Z');
    expect(formatCountdown('2025-01-03T05:30:00Z', now)).toBe('2d 5h');
    expect(formatCountdown('2025-01-01T05:30:00Z', now)).toBe('5h 30m');
    expect(formatCountdown('2025-01-01T00:12:30Z', now)).toBe('12m');
    expect(formatCountdown('2024-12-31T00:00:00Z', now)).toBe('expired');
  });
});

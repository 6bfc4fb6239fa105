import {
  canTransition,
  DEPLOYMENT_TRANSITIONS,
  statesLeadingTo,
} from './deploymentStates';
import { DEPLOYMENT_STATES } from './types';

describe('deployment states', () => {
  it('follows the lifecycle pending → provisioning → running ⇄ stopped → undeploying → undeployed', () => {
    const path = [
      'pending',
      'provisioning',
      'running',
      'stopped',
      'running',
      'undeploying',
      'undeployed',
    ] as const;
    for (let i = 1; i < path.length; i++) {
      expect([
        path[i - 1],
        path[i],
        canTransition(path[i - 1], path[i]),
      ]).toEqual([path[i - 1], path[i], true]);
    }
  });

  it('ends at undeployed and never skips provisioning', () => {
    expect(DEPLOYMENT_TRANSITIONS.undeployed).toEqual([]);
    expect(canTransition('pending', 'running')).toBe(false);
    expect(canTransition('undeployed', 'running')).toBe(false);
    expect(canTransition('running', 'pending')).toBe(false);
  });

  it('can fail from every active state, and a failed deployment can be retried or removed', () => {
    for (const state of DEPLOYMENT_STATES) {
      const active = state !== 'undeployed' && state !== 'failed';
      expect([state, canTransition(state, 'failed')]).toEqual([state, active]);
    }
    expect(DEPLOYMENT_TRANSITIONS.failed).toEqual([
      'provisioning',
      'undeploying',
    ]);
  });

  it('lists the states that lead to a state', () => {
    expect(statesLeadingTo('running').sort()).toEqual([
      'provisioning',
      'stopped',
    ]);
    expect(statesLeadingTo('pending')).toEqual([]);
  });
});

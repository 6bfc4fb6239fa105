import '@testing-library/jest-dom';
import { Entity } from '@backstage/catalog-model';
import { coreExtensionData } from '@backstage/frontend-plugin-api';
import {
  createExtensionTester,
  mockApis,
  renderInTestApp,
} from '@backstage/frontend-test-utils';
import { EntityProvider } from '@backstage/plugin-catalog-react';
import { EntityContentBlueprint } from '@backstage/plugin-catalog-react/alpha';
import { AuthorizeResult } from '@backstage/plugin-permission-common';
import { screen, waitFor, within } from '@testing-library/react';
import { stageManagerApiRef } from '../../api';
import stageManagerPlugin, { stageManagerEntityContent } from '../../index';
import { EntityStageManagerContent } from './EntityStageManagerContent';
import { ServicePage } from './ServicePage';
import { createApi, SHOP } from './testFixtures';

// Rendering pages is slow on a busy 2-core CI machine (guests boot in parallel).
jest.setTimeout(30_000);

/*
 * A user who may read but change nothing. Every render in this file uses it: usePermission
 * caches answers across renders.
 */
const readOnly = () => mockApis.permission({ authorize: AuthorizeResult.DENY });

function entity(annotations: Record<string, string>): Entity {
  return {
    apiVersion: 'backstage.io/v1alpha1',
    kind: 'Component',
    metadata: { name: 'shop', namespace: 'default', annotations },
    spec: { type: 'service', owner: 'team-a', lifecycle: 'production' },
  };
}

describe('ServicePage', () => {
  it('shows the service named by the route', async () => {
    const api = createApi();
    await renderInTestApp(<ServicePage />, {
      apis: [[stageManagerApiRef, api], readOnly()],
      mountPath: '/services/:kind/:namespace/:name',
      initialRouteEntries: ['/services/component/default/shop'],
    });

    expect(await screen.findByText('Shop')).toBeInTheDocument();
    expect(api.getService).toHaveBeenCalledWith(SHOP);
    expect(
      await screen.findByText('Nothing recorded yet.'),
    ).toBeInTheDocument();
  });
});

describe('Stage Manager entity content', () => {
  it('is registered in the plugin as the "Stage Manager" tab', () => {
    expect(
      stageManagerPlugin.getExtension('entity-content:stage-manager'),
    ).toMatchObject({ kind: 'entity-content', namespace: 'stage-manager' });

    const tester = createExtensionTester(stageManagerEntityContent);
    expect(tester.get(coreExtensionData.routePath)).toBe('stage-manager');
    expect(tester.get(EntityContentBlueprint.dataRefs.title)).toBe(
      'Stage Manager',
    );
  });

  it('only shows for entities opted into Stage Manager', () => {
    const filterFunction = createExtensionTester(stageManagerEntityContent).get(
      EntityContentBlueprint.dataRefs.filterFunction,
    );
    expect(filterFunction).toBeInstanceOf(Function);
    const filter = filterFunction!;
    expect(filter(entity({ 'stage-manager.io/workflow': 'default' }))).toBe(
      true,
    );
    expect(
      filter(entity({ 'stage-manager.io/stages': 'integration, production' })),
    ).toBe(true);
    expect(filter(entity({ 'backstage.io/techdocs-ref': 'dir:.' }))).toBe(
      false,
    );
  });

  it('shows the service view of the current entity', async () => {
    const api = createApi();
    await renderInTestApp(
      <EntityProvider
        entity={entity({ 'stage-manager.io/workflow': 'default' })}
      >
        <EntityStageManagerContent />
      </EntityProvider>,
      { apis: [[stageManagerApiRef, api], readOnly()] },
    );

    expect(await screen.findByText('Shop')).toBeInTheDocument();
    expect(api.getService).toHaveBeenCalledWith(SHOP);
    expect(
      await screen.findByText('Nothing recorded yet.'),
    ).toBeInTheDocument();

    // The user's permissions apply in the tab as on the page.
    const test = screen.getByRole('group', { name: 'Deployment 22222222' });
    await waitFor(() =>
      expect(
        within(test).getByRole('button', { name: 'Clone' }).parentElement,
      ).toHaveAttribute(
        'title',
        'You do not have permission to clone (stage-manager.deployment.clone)',
      ),
    );
    expect(within(test).getByRole('button', { name: 'Clone' })).toBeDisabled();
  });
});

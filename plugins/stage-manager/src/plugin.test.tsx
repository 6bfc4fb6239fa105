import { coreExtensionData } from '@backstage/frontend-plugin-api';
import { createExtensionTester } from '@backstage/frontend-test-utils';
import stageManagerPlugin from './index';
import { rootRouteRef } from './routes';

describe('stageManagerPlugin', () => {
  it('has the stage-manager plugin id', () => {
    expect(stageManagerPlugin.pluginId).toBe('stage-manager');
    expect(stageManagerPlugin.getExtension('api:stage-manager')).toMatchObject({
      kind: 'api',
      namespace: 'stage-manager',
    });
  });

  it('provides the page the sidebar takes as page:stage-manager', () => {
    // The app's sidebar places this nav item with nav.take('page:stage-manager').
    const page = stageManagerPlugin.getExtension('page:stage-manager');
    expect(page).toMatchObject({ kind: 'page', namespace: 'stage-manager' });

    const tester = createExtensionTester(page);
    expect(tester.get(coreExtensionData.routePath)).toBe('/stage-manager');
    expect(tester.get(coreExtensionData.title)).toBe('Stage Manager');
    expect(tester.get(coreExtensionData.routeRef)).toBe(rootRouteRef);
    // A page needs an icon as well as a title and route ref to appear in the nav.
    expect(tester.get(coreExtensionData.icon)).toBeDefined();
  });
});

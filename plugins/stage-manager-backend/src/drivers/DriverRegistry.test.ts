import { createBackendModule } from '@backstage/backend-plugin-api';
import {
  mockCredentials,
  mockServices,
  startTestBackend,
} from '@backstage/backend-test-utils';
import { catalogServiceMock } from '@backstage/plugin-catalog-node/testUtils';
import {
  HypervisorDriver,
  stageManagerDriversExtensionPoint,
} from '@internal/plugin-stage-manager-node';
import { AuthorizeResult } from '@backstage/plugin-permission-common';
import request from 'supertest';
import { stageManagerPlugin } from '../plugin';
import { DriverRegistry } from './DriverRegistry';

/** Only the id matters to the registry. */
const driverWithId = (id: string) => ({ id } as HypervisorDriver);

function driverModule(moduleId: string, driverId: string) {
  return createBackendModule({
    pluginId: 'stage-manager',
    moduleId,
    register(env) {
      env.registerInit({
        deps: { drivers: stageManagerDriversExtensionPoint },
        async init({ drivers }) {
          drivers.addDriver(driverWithId(driverId));
        },
      });
    },
  });
}

describe('DriverRegistry', () => {
  it('keys drivers by id and rejects duplicates and bad ids', () => {
    const registry = new DriverRegistry();
    registry.addDriver(driverWithId('libvirt'));
    registry.addDriver(driverWithId('vsphere'));
    expect(registry.ids()).toEqual(['libvirt', 'vsphere']);
    expect(registry.get('libvirt')?.id).toBe('libvirt');
    expect(registry.has('proxmox')).toBe(false);
    expect(() => registry.addDriver(driverWithId('libvirt'))).toThrow(
      "A Stage Manager driver with id 'libvirt' is already registered",
    );
    expect(() => registry.addDriver(driverWithId('Bad Id'))).toThrow(
      /Invalid Stage Manager driver id 'Bad Id'/,
    );
    registry.lock();
    expect(() => registry.addDriver(driverWithId('late'))).toThrow(
      /must be added while the backend starts/,
    );
  });

  it('receives drivers from backend modules on the extension point', async () => {
    const { server } = await startTestBackend({
      features: [
        stageManagerPlugin,
        driverModule('libvirt-driver', 'libvirt'),
        catalogServiceMock.factory(),
        mockServices.permissions.factory({ result: AuthorizeResult.ALLOW }),
      ],
    });
    const res = await request(server)
      .get('/api/stage-manager/pools')
      .set('Authorization', mockCredentials.user.header());
    expect(res.status).toBe(200);
    expect(res.body.items).toEqual([
      expect.objectContaining({
        name: 'local',
        driver: 'libvirt',
        driverAvailable: true,
      }),
    ]);
  });

  it('fails startup when two modules register the same driver id', async () => {
    await expect(
      startTestBackend({
        features: [
          stageManagerPlugin,
          driverModule('one', 'libvirt'),
          driverModule('two', 'libvirt'),
          catalogServiceMock.factory(),
        ],
      }),
    ).rejects.toThrow(/already registered/);
  });
});

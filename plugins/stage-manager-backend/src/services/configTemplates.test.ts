import {
  mockCredentials,
  mockServices,
  startTestBackend,
} from '@backstage/backend-test-utils';
import { ConfigReader } from '@backstage/config';
import { catalogServiceMock } from '@backstage/plugin-catalog-node/testUtils';
import { AuthorizeResult } from '@backstage/plugin-permission-common';
import request from 'supertest';
import { readStageManagerConfig } from '../config/StageManagerConfig';
import { stageManagerPlugin } from '../plugin';
import { createTestDatabases } from '../__testUtils__/databases';

jest.setTimeout(60_000);

const templates = {
  'seeded-linux': {
    title: 'Seeded',
    driver: 'libvirt',
    baseImage: 'images/base.qcow2',
    vcpus: 1,
    memoryMiB: 128,
    disks: [{ name: 'root', sizeGiB: 1, source: 'base' }],
    boot: {
      type: 'kernel',
      kernel: '/boot/vmlinux',
      initrd: 'images/initrd.gz',
    },
  },
};

describe('templates declared in app-config', () => {
  it('resolves relative paths and names the bad key', () => {
    const config = readStageManagerConfig(
      new ConfigReader({ stageManager: { templates } }),
    );
    expect(config.templates).toEqual([
      expect.objectContaining({
        name: 'seeded-linux',
        baseImage: `${process.cwd()}/images/base.qcow2`,
        boot: {
          type: 'kernel',
          kernel: '/boot/vmlinux',
          initrd: `${process.cwd()}/images/initrd.gz`,
        },
        nics: [{ name: 'eth0', network: 'fence' }],
      }),
    ]);
    expect(() =>
      readStageManagerConfig(
        new ConfigReader({
          stageManager: {
            templates: {
              'bad-one': { ...templates['seeded-linux'], vcpus: 0 },
            },
          },
        }),
      ),
    ).toThrow('Invalid config at stageManager.templates.bad-one.vcpus');
  });

  const databases = createTestDatabases();

  it.each(databases.eachSupportedId())(
    'creates them once at startup, audited, and never overwrites them, on %p',
    async databaseId => {
      const knex = await databases.init(databaseId);
      const start = () =>
        startTestBackend({
          features: [
            stageManagerPlugin,
            mockServices.database.factory({ knex }),
            mockServices.rootConfig.factory({
              data: { stageManager: { templates } },
            }),
            catalogServiceMock.factory(),
            mockServices.permissions.factory({ result: AuthorizeResult.ALLOW }),
          ],
        });
      const auth = { Authorization: mockCredentials.user.header() };

      const first = await start();
      const list = await request(first.server)
        .get('/api/stage-manager/templates')
        .set(auth);
      expect(list.body.items).toEqual([
        expect.objectContaining({
          name: 'seeded-linux',
          revision: 1,
          createdBy: expect.stringMatching(/^service:/),
        }),
      ]);
      const patched = await request(first.server)
        .patch('/api/stage-manager/templates/seeded-linux')
        .set(auth)
        .send({ memoryMiB: 256 });
      expect(patched.status).toBe(200);
      await first.stop();

      const second = await start();
      const after = await request(second.server)
        .get('/api/stage-manager/templates/seeded-linux')
        .set(auth);
      expect(after.body).toMatchObject({ memoryMiB: 256, revision: 2 });
      const audit = await request(second.server)
        .get('/api/stage-manager/audit-events?targetKind=template')
        .set(auth);
      expect(audit.body.items.map((e: any) => e.action)).toEqual([
        'template.update',
        'template.create',
      ]);
      await second.stop();
    },
  );
});

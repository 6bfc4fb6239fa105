import {
  Configuration,
  ConfigurationVersion,
  ConfigurationWithVersion,
  StageManagerService,
  Template,
} from '@internal/plugin-stage-manager-common';
import { StageManagerApi } from '../../api';

import { responseError } from '../shared/responseError';

export { responseError };

export const SHOP = 'component:default/shop';
export const BILLING = 'component:default/billing';
export const SHOP_STACK_ID = 'c0000000-0000-4000-8000-000000000001';
export const BILLING_CORE_ID = 'c0000000-0000-4000-8000-000000000002';

function template(name: string, patch: Partial<Template> = {}): Template {
  return {
    id: `t-${name}`,
    name,
    driver: 'libvirt',
    baseImage: `/var/lib/stage-manager/images/${name}.qcow2`,
    vcpus: 2,
    memoryMiB: 2048,
    disks: [{ name: 'root', sizeGiB: 10, source: 'base' }],
    nics: [{ name: 'eth0', network: 'fence' }],
    boot: { type: 'disk' },
    revision: 1,
    createdAt: '2025-01-01T00:00:00Z',
    createdBy: 'user:default/alice',
    updatedAt: '2025-01-02T00:00:00Z',
    ...patch,
  };
}

export const DEBIAN = template('debian-12', {
  title: 'Debian 12',
  description: 'Debian bookworm with cloud-init',
});
export const POSTGRES = template('postgres-16', {
  title: 'PostgreSQL 16',
  vcpus: 4,
  memoryMiB: 4096,
  disks: [
    { name: 'root', sizeGiB: 10, source: 'base' },
    { name: 'data', sizeGiB: 50, source: 'blank' },
  ],
  boot: {
    type: 'kernel',
    kernel: '/var/lib/stage-manager/images/vmlinuz',
    initrd: '/var/lib/stage-manager/images/initrd.gz',
  },
  readiness: {
    http: { port: 8008, path: '/health', contains: 'running' },
    timeoutSeconds: 300,
  },
  revision: 4,
});
export const TEMPLATES = [DEBIAN, POSTGRES];

export function service(name: string, title?: string): StageManagerService {
  return {
    entityRef: `component:default/${name}`,
    kind: 'component',
    namespace: 'default',
    name,
    title,
    workflow: 'default',
    stages: [],
    problems: [],
  };
}

function version(
  configurationId: string,
  n: number,
  machines: ConfigurationVersion['machines'],
  notes?: string,
): ConfigurationVersion {
  return {
    configurationId,
    version: n,
    machines,
    notes,
    createdAt: `2025-02-0${n}T10:00:00Z`,
    createdBy: n === 3 ? 'user:default/bob' : 'user:default/alice',
  };
}

/** shop-stack: v1 web + db; v2 adds app and cache; v3 removes cache, adds queue, resizes. */
export const SHOP_VERSIONS: ConfigurationVersion[] = [
  version(SHOP_STACK_ID, 1, [
    { name: 'web', template: 'debian-12', tier: 'web', startOrder: 1 },
    { name: 'db', template: 'postgres-16', tier: 'db', startOrder: 0 },
  ]),
  version(
    SHOP_STACK_ID,
    2,
    [
      { name: 'web', template: 'debian-12', tier: 'web', startOrder: 1 },
      {
        name: 'app',
        template: 'debian-12',
        tier: 'app',
        startOrder: 1,
        vcpus: 2,
      },
      { name: 'db', template: 'postgres-16', tier: 'db', startOrder: 0 },
      { name: 'cache', template: 'debian-12', startOrder: 0 },
    ],
    'app tier and a cache',
  ),
  version(
    SHOP_STACK_ID,
    3,
    [
      { name: 'web', template: 'debian-12', tier: 'web', startOrder: 2 },
      {
        name: 'app',
        template: 'debian-12',
        tier: 'app',
        startOrder: 1,
        vcpus: 4,
      },
      {
        name: 'db',
        template: 'postgres-16',
        tier: 'db',
        startOrder: 0,
        memoryMiB: 8192,
      },
      { name: 'queue', template: 'debian-12', startOrder: 1 },
    ],
    'bigger app and db, queue instead of cache',
  ),
];

export const SHOP_STACK: Configuration = {
  id: SHOP_STACK_ID,
  serviceRef: SHOP,
  name: 'shop-stack',
  description: 'web, app and db tiers',
  latestVersion: 3,
  createdAt: '2025-02-01T10:00:00Z',
  createdBy: 'user:default/alice',
  updatedAt: '2025-02-03T10:00:00Z',
};

export const BILLING_CORE: Configuration = {
  id: BILLING_CORE_ID,
  serviceRef: BILLING,
  name: 'billing-core',
  latestVersion: 1,
  createdAt: '2025-03-01T10:00:00Z',
  createdBy: 'user:default/carol',
  updatedAt: '2025-03-01T10:00:00Z',
};

const BILLING_VERSIONS: ConfigurationVersion[] = [
  version(BILLING_CORE_ID, 1, [
    { name: 'api', template: 'retired-image', startOrder: 0, vcpus: 1 },
  ]),
];

const CONFIGURATIONS = [SHOP_STACK, BILLING_CORE];
const VERSIONS: Record<string, ConfigurationVersion[]> = {
  [SHOP_STACK_ID]: SHOP_VERSIONS,
  [BILLING_CORE_ID]: BILLING_VERSIONS,
};

export function withVersion(c: Configuration): ConfigurationWithVersion {
  return { ...c, current: VERSIONS[c.id][c.latestVersion - 1] };
}

/** A fake API over the fixtures; override any method. */
export function createApi(
  overrides: Partial<StageManagerApi> = {},
): jest.Mocked<StageManagerApi> {
  const find = async (id: string) => {
    const found = CONFIGURATIONS.find(c => c.id === id);
    if (!found) {
      throw await responseError(
        404,
        'Not Found',
        'NotFoundError',
        `No configuration '${id}'`,
      );
    }
    return found;
  };
  return {
    listServices: jest.fn(async () => ({
      items: [service('billing', 'Billing'), service('shop', 'Shop')],
      totalCount: 2,
    })),
    listTemplates: jest.fn(async () => ({
      items: TEMPLATES,
      totalCount: TEMPLATES.length,
    })),
    listConfigurations: jest.fn(async (request = {}) => {
      const items = CONFIGURATIONS.filter(
        c => !request.serviceRef || c.serviceRef === request.serviceRef,
      );
      return { items, totalCount: items.length };
    }),
    getConfiguration: jest.fn(async (id: string) =>
      withVersion(await find(id)),
    ),
    listConfigurationVersions: jest.fn(async (id: string) => {
      await find(id);
      const items = [...VERSIONS[id]].reverse();
      return { items, totalCount: items.length };
    }),
    getConfigurationVersion: jest.fn(async (id: string, n: number) => {
      await find(id);
      const found = VERSIONS[id][n - 1];
      if (!found) {
        throw new Error(`No version ${n}`);
      }
      return found;
    }),
    ...overrides,
  } as Partial<StageManagerApi> as jest.Mocked<StageManagerApi>;
}

import { Template } from '@internal/plugin-stage-manager-common';
import {
  ConfigurationDraft,
  checkConfigurationEdit,
  checkNewConfiguration,
  freeMachineName,
  machineDraft,
  newMachineDraft,
} from './configurationDraft';

const debian: Template = {
  id: 't1',
  name: 'debian-12',
  driver: 'libvirt',
  baseImage: '/images/debian-12.qcow2',
  vcpus: 2,
  memoryMiB: 2048,
  disks: [{ name: 'root', sizeGiB: 10, source: 'base' }],
  nics: [{ name: 'eth0', network: 'fence' }],
  boot: { type: 'disk' },
  revision: 1,
  createdAt: '2025-01-01T00:00:00Z',
  createdBy: 'user:default/alice',
  updatedAt: '2025-01-01T00:00:00Z',
};

function draft(patch: Partial<ConfigurationDraft> = {}): ConfigurationDraft {
  return {
    serviceRef: 'Component:default/shop',
    name: 'shop-stack',
    description: '',
    notes: '',
    machines: [newMachineDraft(debian, [], 'k1')],
    ...patch,
  };
}

describe('freeMachineName', () => {
  it('numbers names that are taken', () => {
    expect(freeMachineName('web', [])).toBe('web');
    expect(freeMachineName('web', ['web', 'web-2'])).toBe('web-3');
    expect(freeMachineName('a'.repeat(63), ['a'.repeat(63)])).toBe(
      `${'a'.repeat(61)}-2`,
    );
  });
});

describe('checkNewConfiguration', () => {
  it('builds the request body, leaving template sizes unset', () => {
    const result = checkNewConfiguration(
      draft({ description: ' The shop ', notes: '' }),
    );
    expect(result).toEqual({
      ok: true,
      value: {
        serviceRef: 'component:default/shop',
        name: 'shop-stack',
        description: 'The shop',
        machines: [{ name: 'debian-12', template: 'debian-12', startOrder: 0 }],
      },
    });
  });

  it('sends sizes the user set', () => {
    const machine = {
      ...newMachineDraft(debian, [], 'k1'),
      tier: 'web',
      startOrder: '2',
      vcpus: '4',
      disks: [{ name: 'root', sizeGiB: '20', source: 'base' as const }],
    };
    const result = checkNewConfiguration(draft({ machines: [machine] }));
    expect(result.ok && result.value.machines).toEqual([
      {
        name: 'debian-12',
        template: 'debian-12',
        tier: 'web',
        startOrder: 2,
        vcpus: 4,
        disks: [{ name: 'root', sizeGiB: 20, source: 'base' }],
      },
    ]);
  });

  it('names the fields the schema rejects', () => {
    const bad = {
      ...newMachineDraft(debian, [], 'k1'),
      vcpus: '0',
      disks: [{ name: 'root', sizeGiB: '', source: 'base' as const }],
    };
    const result = checkNewConfiguration(
      draft({
        serviceRef: 'shop',
        name: 'Shop Stack',
        machines: [bad, { ...bad, key: 'k2', vcpus: undefined }],
      }),
    );
    expect(result.ok).toBe(false);
    const errors = result.ok ? {} : result.errors;
    expect(Object.keys(errors).sort()).toEqual([
      'machines.0.disks.0.sizeGiB',
      'machines.0.name',
      'machines.0.vcpus',
      'machines.1.disks.0.sizeGiB',
      'machines.1.name',
      'name',
      'serviceRef',
    ]);
    expect(errors.serviceRef).toBe(
      'must be a full entity ref, kind:namespace/name',
    );
    expect(errors['machines.1.name']).toBe('another machine has this name');
  });

  it('points at both machines of a duplicate name', () => {
    const machine = newMachineDraft(debian, [], 'k1');
    const result = checkNewConfiguration(
      draft({ machines: [machine, { ...machine, key: 'k2' }] }),
    );
    expect(result.ok ? {} : result.errors).toEqual({
      machines: 'machine names must be unique within a configuration',
      'machines.0.name': 'another machine has this name',
      'machines.1.name': 'another machine has this name',
    });
  });

  it('requires a machine', () => {
    const result = checkNewConfiguration(draft({ machines: [] }));
    expect(result.ok ? {} : result.errors).toHaveProperty('machines');
  });
});

describe('checkConfigurationEdit', () => {
  it('builds the new version from the version it is based on', () => {
    const machines = [
      machineDraft(
        { name: 'db', template: 'debian-12', startOrder: 0, memoryMiB: 4096 },
        'k1',
      ),
    ];
    expect(
      checkConfigurationEdit(
        draft({ machines, notes: 'more memory', description: 'x' }),
        3,
      ),
    ).toEqual({
      ok: true,
      value: {
        version: {
          machines: [
            {
              name: 'db',
              template: 'debian-12',
              startOrder: 0,
              memoryMiB: 4096,
            },
          ],
          notes: 'more memory',
          basedOnVersion: 3,
        },
        description: 'x',
      },
    });
  });

  it('checks the description too', () => {
    const result = checkConfigurationEdit(
      draft({ description: 'x'.repeat(4001) }),
      1,
    );
    expect(result.ok ? {} : result.errors).toHaveProperty('description');
  });
});

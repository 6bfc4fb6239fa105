import { Entity } from '@backstage/catalog-model';
import {
  configurationInputSchema,
  templateInputSchema,
} from '@internal/plugin-stage-manager-common';

/** A small direct-kernel-boot template, as the API would receive it. */
export const tinyTemplateInput = {
  name: 'tiny-linux',
  title: 'Tiny Linux',
  driver: 'libvirt',
  baseImage: '/var/lib/stage-manager/images/tiny.qcow2',
  vcpus: 1,
  memoryMiB: 192,
  disks: [{ name: 'root', sizeGiB: 1, source: 'base' }],
  boot: {
    type: 'kernel',
    kernel: '/var/lib/stage-manager/images/vmlinux',
    initrd: '/var/lib/stage-manager/images/initrd.gz',
    cmdline: 'console=ttyS0',
  },
};

export const tinyTemplate = templateInputSchema.parse(tinyTemplateInput);

/** A three-tier configuration of the shop service. */
export const shopConfigurationInput = {
  serviceRef: 'component:default/shop',
  name: 'shop-stack',
  description: 'web, app and db tiers',
  machines: [
    { name: 'web', template: 'tiny-linux', tier: 'web', startOrder: 2 },
    { name: 'app', template: 'tiny-linux', tier: 'app', startOrder: 1 },
    {
      name: 'db',
      template: 'tiny-linux',
      tier: 'db',
      startOrder: 0,
      memoryMiB: 512,
    },
  ],
};

export const shopConfiguration = configurationInputSchema.parse(
  shopConfigurationInput,
);

export function serviceEntity(
  name: string,
  annotations: Record<string, string>,
  kind: 'Component' | 'System' = 'Component',
): Entity {
  return {
    apiVersion: 'backstage.io/v1alpha1',
    kind,
    metadata: { name, namespace: 'default', annotations },
    spec: {
      type: 'service',
      owner: 'group:default/team-a',
      lifecycle: 'production',
    },
  };
}

import { TemplateExample } from '@backstage/plugin-scaffolder-node';
import yaml from 'yaml';

export const examples: TemplateExample[] = [
  {
    description: 'Creates a configuration with a single machine',
    example: yaml.stringify({
      steps: [
        {
          id: 'create-configuration',
          action: 'stage-manager:configuration:create',
          name: 'Create configuration',
          input: {
            serviceRef: 'component:default/inventory',
            name: 'single',
            machines: [{ name: 'app', template: 'tiny-linux' }],
          },
        },
      ],
    }),
  },
  {
    description:
      'Creates a three-tier configuration whose database starts first, with sizes and an extra data disk',
    example: yaml.stringify({
      steps: [
        {
          id: 'create-configuration',
          action: 'stage-manager:configuration:create',
          name: 'Create configuration',
          input: {
            serviceRef: 'component:default/payments',
            name: 'three-tier',
            description: 'Web, app and database tier of the payment service',
            machines: [
              {
                name: 'db',
                template: 'tiny-linux',
                tier: 'db',
                startOrder: 0,
                memoryMiB: 512,
              },
              {
                name: 'app',
                template: 'tiny-linux',
                tier: 'app',
                startOrder: 1,
                vcpus: 2,
              },
              {
                name: 'web',
                template: 'tiny-linux',
                tier: 'web',
                startOrder: 2,
                disks: [
                  { name: 'root', sizeGiB: 1, source: 'base' },
                  { name: 'data', sizeGiB: 2 },
                ],
              },
            ],
            notes: 'Initial layout',
          },
        },
      ],
    }),
  },
];

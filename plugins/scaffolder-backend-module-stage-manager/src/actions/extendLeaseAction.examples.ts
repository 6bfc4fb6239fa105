import { TemplateExample } from '@backstage/plugin-scaffolder-node';
import yaml from 'yaml';

export const examples: TemplateExample[] = [
  {
    description: 'Extends the lease of a deployment by three days',
    example: yaml.stringify({
      steps: [
        {
          id: 'extend-lease',
          action: 'stage-manager:lease:extend',
          name: 'Extend lease',
          input: {
            deploymentId: '9a7c4e21-6b3d-4f8a-8e52-1c0d7b9f3a64',
            extendBy: 'P3D',
          },
        },
      ],
    }),
  },
  {
    description: 'Keeps a deployment 12 hours longer',
    example: yaml.stringify({
      steps: [
        {
          id: 'extend-lease',
          action: 'stage-manager:lease:extend',
          name: 'Extend lease by 12 hours',
          input: {
            deploymentId: '9a7c4e21-6b3d-4f8a-8e52-1c0d7b9f3a64',
            extendBy: 'PT12H',
          },
        },
      ],
    }),
  },
];

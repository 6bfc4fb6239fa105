import { TemplateExample } from '@backstage/plugin-scaffolder-node';
import yaml from 'yaml';

export const examples: TemplateExample[] = [
  {
    description: 'Refreshes a test copy from production before a patch test',
    example: yaml.stringify({
      steps: [
        {
          id: 'refresh',
          action: 'stage-manager:refresh',
          name: 'Refresh from production',
          input: {
            deploymentId: '9a7c4e21-6b3d-4f8a-8e52-1c0d7b9f3a64',
          },
        },
      ],
    }),
  },
  {
    description:
      'Requests a refresh into a stage that needs approval, without waiting for it',
    example: yaml.stringify({
      steps: [
        {
          id: 'refresh',
          action: 'stage-manager:refresh',
          name: 'Refresh the UAT copy',
          input: {
            deploymentId: '9a7c4e21-6b3d-4f8a-8e52-1c0d7b9f3a64',
            wait: false,
          },
        },
      ],
    }),
  },
];

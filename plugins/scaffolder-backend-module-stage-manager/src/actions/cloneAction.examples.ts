import { TemplateExample } from '@backstage/plugin-scaffolder-node';
import yaml from 'yaml';

export const examples: TemplateExample[] = [
  {
    description: 'Clones a deployment into a linked copy in its own stage',
    example: yaml.stringify({
      steps: [
        {
          id: 'clone',
          action: 'stage-manager:clone',
          name: 'Clone deployment',
          input: {
            deploymentId: '9a7c4e21-6b3d-4f8a-8e52-1c0d7b9f3a64',
          },
        },
      ],
    }),
  },
  {
    description: 'Makes a full copy of a deployment in the test stage',
    example: yaml.stringify({
      steps: [
        {
          id: 'clone',
          action: 'stage-manager:clone',
          name: 'Full copy for testing',
          input: {
            deploymentId: '9a7c4e21-6b3d-4f8a-8e52-1c0d7b9f3a64',
            stage: 'test',
            mode: 'full',
            timeoutMinutes: 60,
          },
        },
      ],
    }),
  },
];

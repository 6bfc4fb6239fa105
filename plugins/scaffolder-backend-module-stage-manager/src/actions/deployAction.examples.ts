import { TemplateExample } from '@backstage/plugin-scaffolder-node';
import yaml from 'yaml';

export const examples: TemplateExample[] = [
  {
    description:
      'Deploys the latest version of a configuration into the integration stage and waits for it',
    example: yaml.stringify({
      steps: [
        {
          id: 'deploy',
          action: 'stage-manager:deploy',
          name: 'Deploy to integration',
          input: {
            configurationId: '3f2b8c1e-5d4a-4e7b-9c61-2a8f0d9e7b15',
            stage: 'integration',
          },
        },
      ],
    }),
  },
  {
    description:
      'Deploys a given version into the test stage, waiting at most 45 minutes',
    example: yaml.stringify({
      steps: [
        {
          id: 'deploy',
          action: 'stage-manager:deploy',
          name: 'Deploy version 2 to test',
          input: {
            configurationId: '3f2b8c1e-5d4a-4e7b-9c61-2a8f0d9e7b15',
            version: 2,
            stage: 'test',
            timeoutMinutes: 45,
          },
        },
      ],
    }),
  },
  {
    description:
      'Requests a deployment into production without waiting for it (it may need approvals first)',
    example: yaml.stringify({
      steps: [
        {
          id: 'deploy',
          action: 'stage-manager:deploy',
          name: 'Request production deployment',
          input: {
            configurationId: '3f2b8c1e-5d4a-4e7b-9c61-2a8f0d9e7b15',
            stage: 'production',
            wait: false,
          },
        },
      ],
    }),
  },
];

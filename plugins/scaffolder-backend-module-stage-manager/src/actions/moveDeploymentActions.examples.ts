import { TemplateExample } from '@backstage/plugin-scaffolder-node';
import yaml from 'yaml';

export const promoteExamples: TemplateExample[] = [
  {
    description:
      'Promotes a deployment into the next stage and waits for it, approvals included',
    example: yaml.stringify({
      steps: [
        {
          id: 'promote',
          action: 'stage-manager:promote',
          name: 'Promote deployment',
          input: {
            deploymentId: '9a7c4e21-6b3d-4f8a-8e52-1c0d7b9f3a64',
            comment: 'Release 2.4 passed the integration tests',
          },
        },
      ],
    }),
  },
  {
    description:
      'Requests a promotion that needs approvals and ends without waiting for them',
    example: yaml.stringify({
      steps: [
        {
          id: 'promote',
          action: 'stage-manager:promote',
          name: 'Request promotion',
          input: {
            deploymentId: '9a7c4e21-6b3d-4f8a-8e52-1c0d7b9f3a64',
            comment: 'Ready for UAT',
            wait: false,
          },
        },
      ],
    }),
  },
];

export const demoteExamples: TemplateExample[] = [
  {
    description:
      'Demotes a deployment into the previous stage to reproduce a bug',
    example: yaml.stringify({
      steps: [
        {
          id: 'demote',
          action: 'stage-manager:demote',
          name: 'Demote deployment',
          input: {
            deploymentId: '9a7c4e21-6b3d-4f8a-8e52-1c0d7b9f3a64',
            comment: 'Reproduce INC-1234 in staging',
            timeoutMinutes: 30,
          },
        },
      ],
    }),
  },
];

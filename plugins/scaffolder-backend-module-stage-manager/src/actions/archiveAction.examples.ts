import { TemplateExample } from '@backstage/plugin-scaffolder-node';
import yaml from 'yaml';

export const examples: TemplateExample[] = [
  {
    description: 'Archives a deployment before a risky change',
    example: yaml.stringify({
      steps: [
        {
          id: 'archive',
          action: 'stage-manager:archive',
          name: 'Archive deployment',
          input: {
            deploymentId: '9a7c4e21-6b3d-4f8a-8e52-1c0d7b9f3a64',
            description: 'before the 2.4 database migration',
          },
        },
      ],
    }),
  },
];

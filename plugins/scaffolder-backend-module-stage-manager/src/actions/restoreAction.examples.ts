import { TemplateExample } from '@backstage/plugin-scaffolder-node';
import yaml from 'yaml';

export const examples: TemplateExample[] = [
  {
    description: 'Restores an archive as a new deployment in the staging stage',
    example: yaml.stringify({
      steps: [
        {
          id: 'restore',
          action: 'stage-manager:restore',
          name: 'Restore archive',
          input: {
            archiveId: '5e8d2b7a-1c4f-4a9e-b36d-0f2e7c9a1b84',
            stage: 'staging',
          },
        },
      ],
    }),
  },
  {
    description:
      'Restores an archive over the deployment it came from (that one is retired or removed)',
    example: yaml.stringify({
      steps: [
        {
          id: 'restore',
          action: 'stage-manager:restore',
          name: 'Roll back to the archive',
          input: {
            archiveId: '5e8d2b7a-1c4f-4a9e-b36d-0f2e7c9a1b84',
            mode: 'replace',
            comment: 'the migration broke checkout',
            timeoutMinutes: 60,
          },
        },
      ],
    }),
  },
];

import { startTestBackend } from '@backstage/backend-test-utils';
import { TemplateAction } from '@backstage/plugin-scaffolder-node';
import { scaffolderActionsExtensionPoint } from '@backstage/plugin-scaffolder-node';
import { scaffolderModuleStageManager } from './module';

describe('scaffolderModuleStageManager', () => {
  it('adds the Stage Manager actions to the scaffolder', async () => {
    const added: TemplateAction<any, any, any>[] = [];
    await startTestBackend({
      extensionPoints: [
        [
          scaffolderActionsExtensionPoint,
          { addActions: (...actions) => added.push(...actions) },
        ],
      ],
      features: [scaffolderModuleStageManager],
    });

    expect(added.map(a => a.id)).toEqual([
      'stage-manager:configuration:create',
      'stage-manager:deploy',
      'stage-manager:clone',
      'stage-manager:promote',
      'stage-manager:demote',
      'stage-manager:lease:extend',
      'stage-manager:archive',
      'stage-manager:restore',
      'stage-manager:refresh',
    ]);
    for (const action of added) {
      expect(action.supportsDryRun).toBe(true);
      expect(action.examples?.length).toBeGreaterThan(0);
      expect(action.description).toBeTruthy();
      for (const [field, schema] of Object.entries<any>(
        action.schema?.input?.properties ?? {},
      )) {
        expect({ field, description: schema.description }).toEqual({
          field,
          description: expect.any(String),
        });
      }
      for (const [field, schema] of Object.entries<any>(
        action.schema?.output?.properties ?? {},
      )) {
        expect({ field, description: schema.description }).toEqual({
          field,
          description: expect.any(String),
        });
      }
    }
  });
});

import {
  coreServices,
  createBackendModule,
} from '@backstage/backend-plugin-api';
import { scaffolderActionsExtensionPoint } from '@backstage/plugin-scaffolder-node';
import { createStageManagerActions } from './actions';
import { StageManagerActionsClient } from './client/StageManagerActionsClient';

/**
 * Adds the `stage-manager:*` actions to the scaffolder. They call the Stage Manager backend on
 * behalf of the task's initiator, so Stage Manager's permissions and approvals apply to them.
 *
 * @public
 */
export const scaffolderModuleStageManager = createBackendModule({
  pluginId: 'scaffolder',
  moduleId: 'stage-manager',
  register(reg) {
    reg.registerInit({
      deps: {
        scaffolder: scaffolderActionsExtensionPoint,
        auth: coreServices.auth,
        discovery: coreServices.discovery,
      },
      async init({ scaffolder, auth, discovery }) {
        const client = new StageManagerActionsClient({ auth, discovery });
        scaffolder.addActions(...createStageManagerActions({ client }));
      },
    });
  },
});

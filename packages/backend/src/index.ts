/*
 * The Stage Manager portal's backend: Backstage core plugins plus Stage Manager.
 */
import { createBackend } from '@backstage/backend-defaults';
import { authModuleDemoUsers } from './modules/demoUsersAuth';

const backend = createBackend();

backend.add(import('@backstage/plugin-app-backend'));

// Auth: guest sign-in for the embedded setup, and demo sign-in as any catalog user (development
// only) so that approvals by a second person can be tried.
backend.add(import('@backstage/plugin-auth-backend'));
backend.add(import('@backstage/plugin-auth-backend-module-guest-provider'));
backend.add(authModuleDemoUsers);

// Catalog: services are catalog entities with Stage Manager annotations.
backend.add(import('@backstage/plugin-catalog-backend'));
backend.add(
  import('@backstage/plugin-catalog-backend-module-scaffolder-entity-model'),
);
backend.add(import('@backstage/plugin-catalog-backend-module-logs'));

// Scaffolder, for Stage Manager's templates and actions.
backend.add(import('@backstage/plugin-scaffolder-backend'));
backend.add(
  import('@backstage/plugin-scaffolder-backend-module-notifications'),
);
// Stage Manager's scaffolder actions (stage-manager:*), acting as the task's initiator.
backend.add(import('@internal/plugin-scaffolder-backend-module-stage-manager'));

// Permissions: the embedded setup allows everything; production installs bring a policy.
backend.add(import('@backstage/plugin-permission-backend'));
backend.add(
  import('@backstage/plugin-permission-backend-module-allow-all-policy'),
);

backend.add(import('@backstage/plugin-user-settings-backend'));
backend.add(import('@backstage/plugin-notifications-backend'));
backend.add(import('@backstage/plugin-signals-backend'));

// Stage Manager.
backend.add(import('@internal/plugin-stage-manager-backend'));
backend.add(import('@internal/plugin-stage-manager-backend-module-libvirt'));

backend.start();

import { createTestDatabases } from '../__testUtils__/databases';
import {
  applyDatabaseMigrations,
  rollbackDatabaseMigrations,
} from './migrations';

jest.setTimeout(60_000);

const TABLES = [
  'templates',
  'configurations',
  'configuration_versions',
  'configuration_version_templates',
  'deployments',
  'deployment_machines',
  'operations',
  'operation_locks',
  'leases',
  'approval_requests',
  'approval_votes',
  'archives',
  'archive_disks',
  'archive_chunks',
  'archive_chunk_refs',
  'audit_events',
];

describe('migrations', () => {
  const databases = createTestDatabases();

  it.each(databases.eachSupportedId())(
    'creates every table, rolls back to nothing and up again on %p',
    async databaseId => {
      const knex = await databases.init(databaseId);

      await applyDatabaseMigrations(knex);
      for (const table of TABLES) {
        expect(await knex.schema.hasTable(table)).toBe(true);
      }

      await rollbackDatabaseMigrations(knex);
      for (const table of TABLES) {
        expect(await knex.schema.hasTable(table)).toBe(false);
      }

      await applyDatabaseMigrations(knex);
      expect(await knex.schema.hasTable('audit_events')).toBe(true);
    },
  );
});

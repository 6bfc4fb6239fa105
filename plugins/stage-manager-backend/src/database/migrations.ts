import { resolvePackagePath } from '@backstage/backend-plugin-api';
import { Knex } from 'knex';

const migrationsDir = resolvePackagePath(
  '@internal/plugin-stage-manager-backend',
  'migrations',
);

/** Brings the plugin's database to the latest schema. */
export async function applyDatabaseMigrations(knex: Knex): Promise<void> {
  await knex.migrate.latest({
    directory: migrationsDir,
    tableName: 'stage_manager__knex_migrations',
  });
}

/** Rolls every migration back (used by the migration test). */
export async function rollbackDatabaseMigrations(knex: Knex): Promise<void> {
  await knex.migrate.rollback(
    {
      directory: migrationsDir,
      tableName: 'stage_manager__knex_migrations',
    },
    true,
  );
}

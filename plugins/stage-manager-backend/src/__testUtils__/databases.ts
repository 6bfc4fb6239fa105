import { TestDatabases } from '@backstage/backend-test-utils';

/**
 * The databases every store test runs on: PostgreSQL and SQLite. In CI a missing PostgreSQL is
 * an error rather than a silently skipped half of the suite.
 */
export function createTestDatabases(): TestDatabases {
  const databases = TestDatabases.create({ ids: ['POSTGRES_16', 'SQLITE_3'] });
  if (process.env.CI && !databases.supports('POSTGRES_16')) {
    throw new Error(
      'No PostgreSQL for the store tests: set BACKSTAGE_TEST_DATABASE_POSTGRES16_CONNECTION_STRING (scripts/test.sh does)',
    );
  }
  return databases;
}

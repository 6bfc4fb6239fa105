// @ts-check

/**
 * Archives: the catalog of archived deployments, the disks of each archive with its chunk list,
 * and the content-addressed chunks of each storage tier with their reference counts.
 *
 * @param {import('knex').Knex} knex
 */
exports.up = async function up(knex) {
  // The first migration reserved an `archives` table that nothing ever wrote to: replace it.
  await knex.schema.dropTableIfExists('archives');
  await knex.schema.createTable('archives', table => {
    table.comment(
      'Complete past states of deployments, restorable into any stage',
    );
    table.string('id').primary();
    table.string('service_ref').notNullable();
    table.string('stage').notNullable();
    table.string('source_deployment_id').notNullable();
    table.string('configuration_id').notNullable();
    table.integer('configuration_version').notNullable();
    table
      .string('state')
      .notNullable()
      .comment('creating | available | failed | deleted');
    table.string('tier').notNullable();
    table.text('description');
    table.text('machines').notNullable().comment('JSON: DeploymentMachine[]');
    table
      .text('settings')
      .comment('JSON: machine identities (MAC, IP) and the templates used');
    table.bigInteger('logical_bytes').notNullable().defaultTo(0);
    table.bigInteger('data_bytes').notNullable().defaultTo(0);
    table.bigInteger('added_bytes').notNullable().defaultTo(0);
    table.string('operation_id').notNullable();
    table.string('created_by').notNullable();
    table.timestamp('created_at', { useTz: true }).notNullable();
    table.timestamp('completed_at', { useTz: true });
    table.timestamp('last_accessed_at', { useTz: true });
    table.timestamp('moved_at', { useTz: true });
    table.timestamp('deleted_at', { useTz: true });
    table.string('deleted_by');
    table.text('error');
    table.index(['service_ref', 'stage', 'state'], 'archives_service_idx');
    table.index(['state', 'tier'], 'archives_state_tier_idx');
  });

  await knex.schema.createTable('archive_disks', table => {
    table.comment(
      'The disks of an archive: size and the chunk list (hashes, null for zeros)',
    );
    table
      .string('archive_id')
      .notNullable()
      .references('id')
      .inTable('archives')
      .onDelete('CASCADE');
    table.integer('position').notNullable();
    table.string('machine').notNullable();
    table.string('disk').notNullable();
    table.bigInteger('virtual_size_bytes').notNullable();
    table.integer('chunk_size_bytes').notNullable();
    table.integer('chunk_count').notNullable();
    table.integer('zero_chunks').notNullable();
    table.bigInteger('data_bytes').notNullable();
    table.text('chunks').notNullable().comment('JSON: (sha256 hex | null)[]');
    table.primary(['archive_id', 'position']);
  });

  await knex.schema.createTable('archive_chunks', table => {
    table.comment(
      'Content-addressed chunks per tier. refs = archives of the tier using it; a chunk with no refs is collected. generation changes when a collected chunk is used again, so a collector never deletes a file a writer has just written.',
    );
    table.string('tier').notNullable();
    table.string('hash', 64).notNullable();
    table.integer('refs').notNullable();
    table.integer('generation').notNullable();
    table
      .integer('stored_generation')
      .notNullable()
      .defaultTo(0)
      .comment('The generation whose file is completely written');
    table.bigInteger('stored_bytes').notNullable().defaultTo(0);
    table.integer('raw_bytes').notNullable();
    table.timestamp('created_at', { useTz: true }).notNullable();
    table.primary(['tier', 'hash']);
    table.index(['tier', 'refs'], 'archive_chunks_refs_idx');
  });

  await knex.schema.createTable('archive_chunk_refs', table => {
    table.comment('Which chunks of a tier an archive holds a reference on');
    table
      .string('archive_id')
      .notNullable()
      .references('id')
      .inTable('archives')
      .onDelete('CASCADE');
    table.string('tier').notNullable();
    table.string('hash', 64).notNullable();
    table.primary(['archive_id', 'tier', 'hash']);
  });
};

/** @param {import('knex').Knex} knex */
exports.down = async function down(knex) {
  await knex.schema.dropTable('archive_chunk_refs');
  await knex.schema.dropTable('archive_chunks');
  await knex.schema.dropTable('archive_disks');
  await knex.schema.dropTable('archives');
  // Back to the placeholder of the first migration, which its own `down` drops.
  await knex.schema.createTable('archives', table => {
    table.string('id').primary();
    table.string('service_ref').notNullable();
    table.string('configuration_id').notNullable();
    table.integer('configuration_version').notNullable();
    table.string('source_deployment_id');
    table.string('stage').notNullable();
    table.string('state').notNullable();
    table.string('tier').notNullable();
    table.bigInteger('stored_bytes').notNullable().defaultTo(0);
    table.text('manifest').notNullable();
    table.string('created_by').notNullable();
    table.timestamp('created_at', { useTz: true }).notNullable();
    table.timestamp('last_accessed_at', { useTz: true });
    table.index('service_ref');
  });
};

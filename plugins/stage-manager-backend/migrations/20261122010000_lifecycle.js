// @ts-check

/**
 * The lifecycle engine: deployment roles, operation ownership (which replica runs it, its
 * heartbeat), operation locks, template readiness checks and lease enforcement marks.
 *
 * @param {import('knex').Knex} knex
 */
exports.up = async function up(knex) {
  await knex.schema.alterTable('templates', table => {
    table.text('readiness').comment('JSON: ReadinessCheck');
  });

  await knex.schema.alterTable('deployments', table => {
    table
      .string('role')
      .notNullable()
      .defaultTo('primary')
      .comment('primary | copy | retired');
  });

  // Existing deployments: the newest live one of each service and stage is its primary.
  const live = await knex('deployments')
    .whereNot('state', 'undeployed')
    .orderBy([
      { column: 'service_ref' },
      { column: 'stage' },
      { column: 'created_at', order: 'desc' },
      { column: 'id' },
    ])
    .select('id', 'service_ref', 'stage');
  const seen = new Set();
  const copies = [];
  for (const d of live) {
    const key = `${d.service_ref}|${d.stage}`;
    if (seen.has(key)) copies.push(d.id);
    else seen.add(key);
  }
  for (let i = 0; i < copies.length; i += 500) {
    await knex('deployments')
      .whereIn('id', copies.slice(i, i + 500))
      .update({ role: 'copy' });
  }

  await knex.schema.alterTable('operations', table => {
    table.string('target_deployment_id');
    table.string('target_stage');
    table.string('approval_request_id');
    table
      .string('owner')
      .comment('Backend instance running the operation right now');
    table.timestamp('heartbeat_at', { useTz: true });
    table.index('target_deployment_id');
  });

  await knex.schema.createTable('operation_locks', table => {
    table.comment(
      'What unfinished operations hold: a deployment, or the primary slot of a stage. A second operation on the same key fails to insert and gets 409.',
    );
    table.string('key').primary();
    table
      .string('operation_id')
      .notNullable()
      .references('id')
      .inTable('operations')
      .onDelete('CASCADE');
    table.timestamp('created_at', { useTz: true }).notNullable();
    table.index('operation_id');
  });

  await knex.schema.alterTable('leases', table => {
    table.timestamp('runtime_enforced_at', { useTz: true });
    table.timestamp('storage_enforced_at', { useTz: true });
  });
};

/** @param {import('knex').Knex} knex */
exports.down = async function down(knex) {
  await knex.schema.alterTable('leases', table => {
    table.dropColumn('runtime_enforced_at');
    table.dropColumn('storage_enforced_at');
  });
  await knex.schema.dropTable('operation_locks');
  await knex.schema.alterTable('operations', table => {
    table.dropIndex('target_deployment_id');
    table.dropColumn('target_deployment_id');
    table.dropColumn('target_stage');
    table.dropColumn('approval_request_id');
    table.dropColumn('owner');
    table.dropColumn('heartbeat_at');
  });
  await knex.schema.alterTable('deployments', table => {
    table.dropColumn('role');
  });
  await knex.schema.alterTable('templates', table => {
    table.dropColumn('readiness');
  });
};

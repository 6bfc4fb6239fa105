// @ts-check

/**
 * The Stage Manager domain. Runs on SQLite and PostgreSQL: JSON is stored as text, timestamps
 * as `timestamp` columns written as ISO 8601 UTC, no booleans.
 *
 * @param {import('knex').Knex} knex
 */
exports.up = async function up(knex) {
  await knex.schema.createTable('templates', table => {
    table.comment('Machine templates shared across services');
    table.string('id').primary();
    table.string('name').notNullable().unique();
    table.string('title');
    table.text('description');
    table.string('driver').notNullable();
    table.text('base_image').notNullable();
    table.integer('vcpus').notNullable();
    table.integer('memory_mib').notNullable();
    table.text('disks').notNullable().comment('JSON: DiskSpec[]');
    table.text('nics').notNullable().comment('JSON: NicSpec[]');
    table.text('boot').notNullable().comment('JSON: BootSettings');
    table.integer('revision').notNullable().defaultTo(1);
    table.string('created_by').notNullable();
    table.timestamp('created_at', { useTz: true }).notNullable();
    table.timestamp('updated_at', { useTz: true }).notNullable();
  });

  await knex.schema.createTable('configurations', table => {
    table.comment('Named, versioned sets of machines owned by a service');
    table.string('id').primary();
    table.string('service_ref').notNullable();
    table.string('name').notNullable();
    table.text('description');
    table.integer('latest_version').notNullable();
    table.string('created_by').notNullable();
    table.timestamp('created_at', { useTz: true }).notNullable();
    table.timestamp('updated_at', { useTz: true }).notNullable();
    table.unique(['service_ref', 'name']);
    table.index('service_ref');
  });

  await knex.schema.createTable('configuration_versions', table => {
    table.comment('Immutable versions of configurations');
    table
      .string('configuration_id')
      .notNullable()
      .references('id')
      .inTable('configurations')
      .onDelete('CASCADE');
    table.integer('version').notNullable();
    table.text('machines').notNullable().comment('JSON: MachineSpec[]');
    table.text('notes');
    table.string('created_by').notNullable();
    table.timestamp('created_at', { useTz: true }).notNullable();
    table.primary(['configuration_id', 'version']);
  });

  await knex.schema.createTable('configuration_version_templates', table => {
    table.comment('Which templates each configuration version uses');
    table.string('configuration_id').notNullable();
    table.integer('version').notNullable();
    table.string('template_name').notNullable();
    table
      .foreign(['configuration_id', 'version'])
      .references(['configuration_id', 'version'])
      .inTable('configuration_versions')
      .onDelete('CASCADE');
    table.primary(['configuration_id', 'version', 'template_name']);
    table.index('template_name');
  });

  await knex.schema.createTable('deployments', table => {
    table.comment(
      'A configuration version instantiated in one stage of a service',
    );
    table.string('id').primary();
    table.string('service_ref').notNullable();
    table.string('stage').notNullable();
    table
      .string('configuration_id')
      .notNullable()
      .references('id')
      .inTable('configurations');
    table.integer('configuration_version').notNullable();
    table.string('pool').notNullable();
    table.string('state').notNullable();
    table.string('fence');
    table.string('cloned_from');
    table.string('created_by').notNullable();
    table.timestamp('created_at', { useTz: true }).notNullable();
    table.timestamp('updated_at', { useTz: true }).notNullable();
    table.index(['service_ref', 'stage']);
    table.index('pool');
  });

  await knex.schema.createTable('deployment_machines', table => {
    table.comment('Machines of a deployment');
    table
      .string('deployment_id')
      .notNullable()
      .references('id')
      .inTable('deployments')
      .onDelete('CASCADE');
    table.string('name').notNullable();
    table.string('template').notNullable();
    table.integer('vcpus').notNullable();
    table.integer('memory_mib').notNullable();
    table.integer('disk_gib').notNullable();
    table.string('driver_ref');
    table.string('state');
    table.primary(['deployment_id', 'name']);
  });

  await knex.schema.createTable('operations', table => {
    table.comment('Durable records of long-running actions');
    table.string('id').primary();
    table.string('kind').notNullable();
    table.string('service_ref').notNullable();
    table
      .string('stage')
      .comment('Stage of the deployment the operation acts on');
    table.string('deployment_id');
    table.text('params').notNullable().comment('JSON');
    table.string('state').notNullable();
    table.text('steps').notNullable().comment('JSON: OperationStep[]');
    table.string('requested_by').notNullable();
    table.text('error');
    table.timestamp('created_at', { useTz: true }).notNullable();
    table.timestamp('started_at', { useTz: true });
    table.timestamp('finished_at', { useTz: true });
    table.timestamp('updated_at', { useTz: true }).notNullable();
    table.index('service_ref');
    table.index('deployment_id');
    table.index('state');
  });

  await knex.schema.createTable('leases', table => {
    table.comment('Runtime and storage leases of deployments');
    table
      .string('deployment_id')
      .primary()
      .references('id')
      .inTable('deployments')
      .onDelete('CASCADE');
    table.timestamp('runtime_expires_at', { useTz: true });
    table.timestamp('storage_expires_at', { useTz: true });
    table.timestamp('max_expires_at', { useTz: true });
    table.timestamp('warned_at', { useTz: true });
    table.timestamp('created_at', { useTz: true }).notNullable();
    table.timestamp('updated_at', { useTz: true }).notNullable();
  });

  await knex.schema.createTable('approval_requests', table => {
    table.comment(
      'Requests for approval before promoting or swapping into a stage',
    );
    table.string('id').primary();
    table.string('operation_id').references('id').inTable('operations');
    table.string('service_ref').notNullable();
    table.string('stage').notNullable();
    table.string('state').notNullable();
    table.integer('required_approvals').notNullable();
    table.text('approvers').notNullable().comment('JSON: entity refs');
    table.string('requested_by').notNullable();
    table.timestamp('created_at', { useTz: true }).notNullable();
    table.timestamp('expires_at', { useTz: true });
    table.timestamp('decided_at', { useTz: true });
    table.index(['service_ref', 'state']);
  });

  await knex.schema.createTable('approval_votes', table => {
    table.comment('Approvals and rejections of approval requests');
    table
      .string('request_id')
      .notNullable()
      .references('id')
      .inTable('approval_requests')
      .onDelete('CASCADE');
    table.string('actor').notNullable();
    table.string('decision').notNullable();
    table.text('comment');
    table.timestamp('created_at', { useTz: true }).notNullable();
    table.primary(['request_id', 'actor']);
  });

  await knex.schema.createTable('archives', table => {
    table.comment('Archived states of whole configurations');
    table.string('id').primary();
    table.string('service_ref').notNullable();
    table.string('configuration_id').notNullable();
    table.integer('configuration_version').notNullable();
    table.string('source_deployment_id');
    table.string('stage').notNullable();
    table.string('state').notNullable();
    table.string('tier').notNullable();
    table.bigInteger('stored_bytes').notNullable().defaultTo(0);
    table.text('manifest').notNullable().comment('JSON');
    table.string('created_by').notNullable();
    table.timestamp('created_at', { useTz: true }).notNullable();
    table.timestamp('last_accessed_at', { useTz: true });
    table.index('service_ref');
  });

  await knex.schema.createTable('audit_events', table => {
    table.comment('Every mutation, who did it and what changed');
    table.string('id').primary();
    table.timestamp('at', { useTz: true }).notNullable();
    table.string('actor').notNullable();
    table.string('action').notNullable();
    table.string('target_kind').notNullable();
    table.string('target_id').notNullable();
    table.string('service_ref');
    table.text('before').comment('JSON');
    table.text('after').comment('JSON');
    table.index('at');
    table.index('service_ref');
    table.index(['target_kind', 'target_id']);
  });
};

/** @param {import('knex').Knex} knex */
exports.down = async function down(knex) {
  for (const table of [
    'audit_events',
    'archives',
    'approval_votes',
    'approval_requests',
    'leases',
    'operations',
    'deployment_machines',
    'deployments',
    'configuration_version_templates',
    'configuration_versions',
    'configurations',
    'templates',
  ]) {
    await knex.schema.dropTable(table);
  }
};

// @ts-check

/**
 * Drift: the history of drift scans, one row per scan of a deployment against its service's
 * production deployment, with the layers as JSON.
 *
 * @param {import('knex').Knex} knex
 */
exports.up = async function up(knex) {
  await knex.schema.createTable('drift_reports', table => {
    table.comment(
      'Drift scans: how each deployment matched production, layer by layer, over time',
    );
    table.string('id').primary();
    table.string('deployment_id').notNullable();
    table.string('service_ref').notNullable();
    table.string('stage').notNullable();
    table.string('production_deployment_id');
    table
      .float('score')
      .comment('0..100; null when no layer could be measured');
    table
      .text('layers')
      .notNullable()
      .comment('JSON: DriftLayer[] (verdict, score, summary, differences)');
    table.string('trigger').notNullable().comment('schedule | request');
    table.string('requested_by');
    table.timestamp('scanned_at', { useTz: true }).notNullable();
    table.integer('duration_ms').notNullable();
    table.index(
      ['deployment_id', 'scanned_at'],
      'drift_reports_deployment_idx',
    );
    table.index(['service_ref', 'scanned_at'], 'drift_reports_service_idx');
  });
};

/** @param {import('knex').Knex} knex */
exports.down = async function down(knex) {
  await knex.schema.dropTable('drift_reports');
};

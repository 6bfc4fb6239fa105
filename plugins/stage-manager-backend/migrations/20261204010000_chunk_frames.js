// @ts-check

/**
 * Chunk frames: the sha256 of each stored chunk file (its compressed zstd frame), so a restore
 * verifies the few bytes it reads instead of hashing every decompressed byte again. Chunks
 * stored before have none and are verified by their content hash.
 *
 * @param {import('knex').Knex} knex
 */
exports.up = async function up(knex) {
  await knex.schema.alterTable('archive_chunks', table => {
    table
      .string('frame_sha256', 64)
      .comment(
        'sha256 of the file of stored_generation (the zstd frame); null for files written before it was recorded',
      );
  });
};

/** @param {import('knex').Knex} knex */
exports.down = async function down(knex) {
  await knex.schema.alterTable('archive_chunks', table => {
    table.dropColumn('frame_sha256');
  });
};

import { PermissionCriteria } from '@backstage/plugin-permission-common';
import {
  Archive,
  ArchiveDisk,
  ArchiveState,
  DeploymentMachine,
  Page,
  Template,
} from '@internal/plugin-stage-manager-common';
import { Knex } from 'knex';
import {
  applyCriteria,
  ColumnFilter,
  fromJson,
  PageRequest,
  selectPage,
  toIso,
  toIsoOrUndefined,
  toJson,
} from './util';

/** What a restore needs besides the disks: machine identities and the templates used. */
export interface ArchiveSettings {
  /** Per machine, its NICs' MAC and IP inside the fence (a restored machine keeps them). */
  identities: Record<string, Array<{ name: string; mac: string; ip?: string }>>;
  /** The templates of the machines as they were when archived. */
  templates: Record<string, Template>;
}

/** An archive with what only the backend needs. */
export interface ArchiveRecord extends Archive {
  settings?: ArchiveSettings;
}

/** One disk of an archive with its chunk list: a sha256 per chunk, null for an all-zero chunk. */
export interface ArchiveDiskManifest extends ArchiveDisk {
  position: number;
  chunks: Array<string | null>;
}

/** A chunk as a tier's catalog knows it. */
export interface ChunkState {
  hash: string;
  /** The file generation readers and writers use (see the archive_chunks table). */
  generation: number;
  /** Whether the file of this generation is completely written. */
  stored: boolean;
  /**
   * The sha256 of that file (the compressed frame) when it is stored and was recorded; files
   * written before frames were recorded have none.
   */
  frameHash?: string;
}

/** Stores the archive catalog and the reference counts of each tier's chunks. */
export interface ArchiveStore {
  create(archive: {
    id: string;
    serviceRef: string;
    stage: string;
    sourceDeploymentId: string;
    configurationId: string;
    configurationVersion: number;
    tier: string;
    description?: string;
    machines: DeploymentMachine[];
    operationId: string;
    createdBy: string;
    createdAt: string;
  }): Promise<void>;
  get(id: string): Promise<ArchiveRecord | undefined>;
  list(options: {
    page: PageRequest;
    serviceRef?: string;
    stage?: string;
    sourceDeploymentId?: string;
    tier?: string;
    state?: ArchiveState;
    criteria?: PermissionCriteria<ColumnFilter>;
  }): Promise<Page<Archive>>;
  /** Available archives, oldest first (retention and tier policies). */
  listAvailable(): Promise<Archive[]>;
  /** Records (or records again, when resumed) one disk of an archive being made. */
  putDisk(archiveId: string, disk: ArchiveDiskManifest): Promise<void>;
  manifest(archiveId: string): Promise<ArchiveDiskManifest[]>;
  /** `creating` → `available`, with the settings and the bytes it added to its tier. */
  complete(
    id: string,
    patch: { settings: ArchiveSettings; addedBytes: number; now: string },
  ): Promise<boolean>;
  /** Compare-and-set of the state; false when the archive is not in one of `from`. */
  setState(
    id: string,
    from: ArchiveState[],
    to: ArchiveState,
    patch?: { error?: string; deletedAt?: string; deletedBy?: string },
  ): Promise<boolean>;
  /**
   * Marks an available archive as used now. Also the first statement of every request that
   * must not race a deletion: on PostgreSQL it locks the archive's row until the transaction ends.
   */
  touch(id: string, now: string): Promise<boolean>;
  /** Like `touch` without changing the access time (moves and verifications are no use). */
  lockAvailable(id: string): Promise<boolean>;
  setTier(id: string, tier: string, now: string): Promise<void>;

  // Chunks

  /**
   * Takes this archive's reference on chunks of a tier (once per archive and chunk, however often
   * it is called) and answers each chunk's generation and whether its file is stored. A chunk
   * nobody referenced any more starts a new generation: its old file may be being deleted.
   */
  pinChunks(
    archiveId: string,
    tier: string,
    chunks: Array<{ hash: string; rawBytes: number }>,
    now: string,
  ): Promise<ChunkState[]>;
  /** Records that a chunk's file of `generation` is completely written. */
  markStored(
    tier: string,
    hash: string,
    generation: number,
    storedBytes: number,
    frameHash: string,
  ): Promise<void>;
  /** The generations of chunks of a tier (for reading their files). */
  chunkStates(tier: string, hashes: string[]): Promise<ChunkState[]>;
  /** Drops every reference an archive holds in a tier; returns how many it held. */
  unpinAll(archiveId: string, tier: string): Promise<number>;
  /** Chunks of a tier nobody references. */
  unreferenced(
    tier: string,
    limit: number,
  ): Promise<Array<{ hash: string; generation: number }>>;
  /** Forgets an unreferenced chunk of that generation; false when it was used again meanwhile. */
  forget(tier: string, hash: string, generation: number): Promise<boolean>;
  /** Per tier: distinct referenced chunks, their compressed and raw bytes. */
  tierUsage(): Promise<
    Array<{
      tier: string;
      chunks: number;
      storedBytes: number;
      rawBytes: number;
    }>
  >;
  /** Per tier: available archives and the sum of their non-zero bytes. */
  archivesPerTier(): Promise<
    Array<{ tier: string; archives: number; dataBytes: number }>
  >;
}

type Row = {
  id: string;
  service_ref: string;
  stage: string;
  source_deployment_id: string;
  configuration_id: string;
  configuration_version: number;
  state: ArchiveState;
  tier: string;
  description: string | null;
  machines: string;
  settings: string | null;
  logical_bytes: number | string;
  data_bytes: number | string;
  added_bytes: number | string;
  operation_id: string;
  created_by: string;
  created_at: Date | string;
  completed_at: Date | string | null;
  last_accessed_at: Date | string | null;
  moved_at: Date | string | null;
  deleted_at: Date | string | null;
  deleted_by: string | null;
  error: string | null;
};

type DiskRow = {
  archive_id: string;
  position: number;
  machine: string;
  disk: string;
  virtual_size_bytes: number | string;
  chunk_size_bytes: number;
  chunk_count: number;
  zero_chunks: number;
  data_bytes: number | string;
  chunks: string;
};

/** Batches of `whereIn` values stay below SQLite's variable limit. */
const BATCH = 400;

function batches<T>(items: T[]): T[][] {
  const result: T[][] = [];
  for (let i = 0; i < items.length; i += BATCH) {
    result.push(items.slice(i, i + BATCH));
  }
  return result;
}

function diskSummary(row: DiskRow): ArchiveDisk {
  return {
    machine: row.machine,
    disk: row.disk,
    virtualSizeBytes: Number(row.virtual_size_bytes),
    chunkSizeBytes: row.chunk_size_bytes,
    chunkCount: row.chunk_count,
    zeroChunks: row.zero_chunks,
    dataBytes: Number(row.data_bytes),
  };
}

function fromRow(row: Row, disks: DiskRow[]): ArchiveRecord {
  return {
    id: row.id,
    serviceRef: row.service_ref,
    stage: row.stage,
    sourceDeploymentId: row.source_deployment_id,
    configurationId: row.configuration_id,
    configurationVersion: row.configuration_version,
    state: row.state,
    tier: row.tier,
    description: row.description ?? undefined,
    machines: fromJson<DeploymentMachine[]>(row.machines) ?? [],
    settings: fromJson<ArchiveSettings>(row.settings),
    disks: disks.map(diskSummary),
    logicalBytes: Number(row.logical_bytes),
    dataBytes: Number(row.data_bytes),
    addedBytes: Number(row.added_bytes),
    operationId: row.operation_id,
    createdBy: row.created_by,
    createdAt: toIso(row.created_at),
    completedAt: toIsoOrUndefined(row.completed_at),
    lastAccessedAt: toIsoOrUndefined(row.last_accessed_at),
    movedAt: toIsoOrUndefined(row.moved_at),
    deletedAt: toIsoOrUndefined(row.deleted_at),
    deletedBy: row.deleted_by ?? undefined,
    error: row.error ?? undefined,
  };
}

/** The public view: settings stay in the backend. */
export function publicView(record: ArchiveRecord): Archive {
  const { settings: _settings, ...archive } = record;
  return archive;
}

const SUMMARY_COLUMNS = [
  'archive_id',
  'position',
  'machine',
  'disk',
  'virtual_size_bytes',
  'chunk_size_bytes',
  'chunk_count',
  'zero_chunks',
  'data_bytes',
];

export class DatabaseArchiveStore implements ArchiveStore {
  private constructor(private readonly db: Knex | Knex.Transaction) {}

  static create(db: Knex | Knex.Transaction): ArchiveStore {
    return new DatabaseArchiveStore(db);
  }

  async create(archive: Parameters<ArchiveStore['create']>[0]): Promise<void> {
    await this.db('archives').insert({
      id: archive.id,
      service_ref: archive.serviceRef,
      stage: archive.stage,
      source_deployment_id: archive.sourceDeploymentId,
      configuration_id: archive.configurationId,
      configuration_version: archive.configurationVersion,
      state: 'creating',
      tier: archive.tier,
      description: archive.description ?? null,
      machines: toJson(archive.machines),
      operation_id: archive.operationId,
      created_by: archive.createdBy,
      created_at: archive.createdAt,
      last_accessed_at: archive.createdAt,
    });
  }

  async get(id: string): Promise<ArchiveRecord | undefined> {
    const row = await this.db<Row>('archives').where({ id }).first();
    if (!row) return undefined;
    const disks: DiskRow[] = await this.db('archive_disks')
      .where({ archive_id: id })
      .orderBy('position')
      .select(SUMMARY_COLUMNS);
    return fromRow(row, disks);
  }

  async list(
    options: Parameters<ArchiveStore['list']>[0],
  ): Promise<Page<Archive>> {
    let query = this.db('archives').where(
      'archives.state',
      options.state ?? 'available',
    );
    if (options.serviceRef) {
      query = query.where('archives.service_ref', options.serviceRef);
    }
    if (options.stage) query = query.where('archives.stage', options.stage);
    if (options.sourceDeploymentId) {
      query = query.where(
        'archives.source_deployment_id',
        options.sourceDeploymentId,
      );
    }
    if (options.tier) query = query.where('archives.tier', options.tier);
    if (options.criteria) {
      query = applyCriteria(query, options.criteria, 'archives');
    }
    const { rows, totalCount } = await selectPage<Row>(query, {
      page: options.page,
      orderBy: [
        { column: 'archives.created_at', order: 'desc' },
        { column: 'archives.id', order: 'asc' },
      ],
      columns: 'archives.*',
    });
    const disks = await this.disksOf(rows.map(r => r.id));
    return {
      items: rows.map(r => publicView(fromRow(r, disks.get(r.id) ?? []))),
      totalCount,
    };
  }

  async listAvailable(): Promise<Archive[]> {
    const rows = await this.db<Row>('archives')
      .where({ state: 'available' })
      .orderBy([{ column: 'created_at' }, { column: 'id' }]);
    const disks = await this.disksOf(rows.map(r => r.id));
    return rows.map(r => publicView(fromRow(r, disks.get(r.id) ?? [])));
  }

  private async disksOf(ids: string[]): Promise<Map<string, DiskRow[]>> {
    const result = new Map<string, DiskRow[]>();
    for (const batch of batches(ids)) {
      const rows: DiskRow[] = await this.db('archive_disks')
        .whereIn('archive_id', batch)
        .orderBy([{ column: 'archive_id' }, { column: 'position' }])
        .select(SUMMARY_COLUMNS);
      for (const r of rows) {
        result.set(r.archive_id, [...(result.get(r.archive_id) ?? []), r]);
      }
    }
    return result;
  }

  async putDisk(archiveId: string, disk: ArchiveDiskManifest): Promise<void> {
    const row = {
      archive_id: archiveId,
      position: disk.position,
      machine: disk.machine,
      disk: disk.disk,
      virtual_size_bytes: disk.virtualSizeBytes,
      chunk_size_bytes: disk.chunkSizeBytes,
      chunk_count: disk.chunkCount,
      zero_chunks: disk.zeroChunks,
      data_bytes: disk.dataBytes,
      chunks: JSON.stringify(disk.chunks),
    };
    await this.db('archive_disks')
      .insert(row)
      .onConflict(['archive_id', 'position'])
      .merge();
  }

  async manifest(archiveId: string): Promise<ArchiveDiskManifest[]> {
    const rows = await this.db<DiskRow>('archive_disks')
      .where({ archive_id: archiveId })
      .orderBy('position');
    return rows.map(r => ({
      ...diskSummary(r),
      position: r.position,
      chunks: JSON.parse(r.chunks),
    }));
  }

  async complete(
    id: string,
    patch: { settings: ArchiveSettings; addedBytes: number; now: string },
  ): Promise<boolean> {
    const disks = await this.db<DiskRow>('archive_disks')
      .where({ archive_id: id })
      .select('virtual_size_bytes', 'data_bytes');
    const updated = await this.db('archives')
      .where({ id, state: 'creating' })
      .update({
        state: 'available',
        settings: toJson(patch.settings),
        logical_bytes: disks.reduce(
          (n, d) => n + Number(d.virtual_size_bytes),
          0,
        ),
        data_bytes: disks.reduce((n, d) => n + Number(d.data_bytes), 0),
        added_bytes: patch.addedBytes,
        completed_at: patch.now,
        last_accessed_at: patch.now,
      });
    return updated === 1;
  }

  async setState(
    id: string,
    from: ArchiveState[],
    to: ArchiveState,
    patch: { error?: string; deletedAt?: string; deletedBy?: string } = {},
  ): Promise<boolean> {
    const updated = await this.db('archives')
      .where({ id })
      .whereIn('state', from)
      .update({
        state: to,
        ...(patch.error !== undefined ? { error: patch.error } : {}),
        ...(patch.deletedAt ? { deleted_at: patch.deletedAt } : {}),
        ...(patch.deletedBy ? { deleted_by: patch.deletedBy } : {}),
      });
    return updated === 1;
  }

  async touch(id: string, now: string): Promise<boolean> {
    const updated = await this.db('archives')
      .where({ id, state: 'available' })
      .update({ last_accessed_at: now });
    return updated === 1;
  }

  async lockAvailable(id: string): Promise<boolean> {
    const updated = await this.db('archives')
      .where({ id, state: 'available' })
      .update({ id });
    return updated === 1;
  }

  async setTier(id: string, tier: string, now: string): Promise<void> {
    await this.db('archives').where({ id }).update({ tier, moved_at: now });
  }

  async pinChunks(
    archiveId: string,
    tier: string,
    chunks: Array<{ hash: string; rawBytes: number }>,
    now: string,
  ): Promise<ChunkState[]> {
    const unique = new Map(chunks.map(c => [c.hash, c.rawBytes]));
    const hashes = [...unique.keys()];
    for (const batch of batches(hashes)) {
      const held = new Set(
        (
          await this.db('archive_chunk_refs')
            .where({ archive_id: archiveId, tier })
            .whereIn('hash', batch)
            .select('hash')
        ).map(r => r.hash as string),
      );
      const fresh = batch.filter(h => !held.has(h));
      if (fresh.length === 0) continue;
      await this.db('archive_chunk_refs').insert(
        fresh.map(hash => ({ archive_id: archiveId, tier, hash })),
      );
      await this.db('archive_chunks')
        .insert(
          fresh.map(hash => ({
            tier,
            hash,
            refs: 0,
            generation: 0,
            stored_generation: 0,
            stored_bytes: 0,
            raw_bytes: unique.get(hash)!,
            created_at: now,
          })),
        )
        .onConflict(['tier', 'hash'])
        .ignore();
      // One statement per row set: every SET expression sees the row before the update, so a
      // chunk nobody referenced starts a new generation (and is no longer stored).
      await this.db('archive_chunks')
        .where({ tier })
        .whereIn('hash', fresh)
        .update({
          refs: this.db.raw('refs + 1'),
          generation: this.db.raw(
            'CASE WHEN refs = 0 THEN generation + 1 ELSE generation END',
          ),
        });
    }
    return this.chunkStates(tier, hashes);
  }

  async markStored(
    tier: string,
    hash: string,
    generation: number,
    storedBytes: number,
    frameHash: string,
  ): Promise<void> {
    await this.db('archive_chunks').where({ tier, hash, generation }).update({
      stored_generation: generation,
      stored_bytes: storedBytes,
      frame_sha256: frameHash,
    });
  }

  async chunkStates(tier: string, hashes: string[]): Promise<ChunkState[]> {
    const result: ChunkState[] = [];
    for (const batch of batches([...new Set(hashes)])) {
      const rows = await this.db('archive_chunks')
        .where({ tier })
        .whereIn('hash', batch)
        .select('hash', 'generation', 'stored_generation', 'frame_sha256');
      for (const r of rows) {
        const stored = Number(r.stored_generation) === Number(r.generation);
        result.push({
          hash: r.hash,
          generation: Number(r.generation),
          stored,
          ...(stored && r.frame_sha256 ? { frameHash: r.frame_sha256 } : {}),
        });
      }
    }
    return result;
  }

  async unpinAll(archiveId: string, tier: string): Promise<number> {
    const hashes = (
      await this.db('archive_chunk_refs')
        .where({ archive_id: archiveId, tier })
        .select('hash')
    ).map(r => r.hash as string);
    for (const batch of batches(hashes)) {
      await this.db('archive_chunks')
        .where({ tier })
        .whereIn('hash', batch)
        .where('refs', '>', 0)
        .update({ refs: this.db.raw('refs - 1') });
    }
    await this.db('archive_chunk_refs')
      .where({ archive_id: archiveId, tier })
      .delete();
    return hashes.length;
  }

  async unreferenced(
    tier: string,
    limit: number,
  ): Promise<Array<{ hash: string; generation: number }>> {
    const rows = await this.db('archive_chunks')
      .where({ tier, refs: 0 })
      .orderBy('hash')
      .limit(limit)
      .select('hash', 'generation');
    return rows.map(r => ({ hash: r.hash, generation: Number(r.generation) }));
  }

  async forget(
    tier: string,
    hash: string,
    generation: number,
  ): Promise<boolean> {
    const deleted = await this.db('archive_chunks')
      .where({ tier, hash, generation, refs: 0 })
      .delete();
    return deleted === 1;
  }

  async tierUsage() {
    const rows: Array<Record<string, string | number | null>> = await this.db(
      'archive_chunks',
    )
      .where('refs', '>', 0)
      .groupBy('tier')
      .select('tier')
      .count({ chunks: '*' })
      .sum({ stored: 'stored_bytes' })
      .sum({ raw: 'raw_bytes' });
    return rows.map(r => ({
      tier: r.tier as string,
      chunks: Number(r.chunks ?? 0),
      storedBytes: Number(r.stored ?? 0),
      rawBytes: Number(r.raw ?? 0),
    }));
  }

  async archivesPerTier() {
    const rows: Array<Record<string, string | number | null>> = await this.db(
      'archives',
    )
      .where({ state: 'available' })
      .groupBy('tier')
      .select('tier')
      .count({ archives: '*' })
      .sum({ data: 'data_bytes' });
    return rows.map(r => ({
      tier: r.tier as string,
      archives: Number(r.archives ?? 0),
      dataBytes: Number(r.data ?? 0),
    }));
  }
}

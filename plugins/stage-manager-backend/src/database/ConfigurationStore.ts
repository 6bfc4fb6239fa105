import { PermissionCriteria } from '@backstage/plugin-permission-common';
import { ConflictError, NotFoundError } from '@backstage/errors';
import {
  Configuration,
  ConfigurationVersion,
  MachineSpec,
  Page,
} from '@internal/plugin-stage-manager-common';
import { Knex } from 'knex';
import {
  applyCriteria,
  ColumnFilter,
  fromJson,
  PageRequest,
  toIso,
  toJson,
  selectPage,
} from './util';

/** Stores configurations and their immutable versions. */
export interface ConfigurationStore {
  list(options: {
    page: PageRequest;
    serviceRef?: string;
    criteria?: PermissionCriteria<ColumnFilter>;
  }): Promise<Page<Configuration>>;
  get(id: string): Promise<Configuration | undefined>;
  /** Creates the configuration with version 1. */
  create(options: {
    id: string;
    serviceRef: string;
    name: string;
    description?: string;
    machines: MachineSpec[];
    notes?: string;
    createdBy: string;
    now: string;
  }): Promise<Configuration>;
  updateDescription(
    id: string,
    description: string,
    now: string,
  ): Promise<Configuration>;
  /**
   * Adds the next version. With `basedOnVersion`, fails with a ConflictError when another version
   * was added since; the check and the insert are one atomic update.
   */
  addVersion(options: {
    id: string;
    machines: MachineSpec[];
    notes?: string;
    basedOnVersion?: number;
    createdBy: string;
    now: string;
  }): Promise<ConfigurationVersion>;
  listVersions(
    id: string,
    page: PageRequest,
  ): Promise<Page<ConfigurationVersion>>;
  getVersion(
    id: string,
    version: number,
  ): Promise<ConfigurationVersion | undefined>;
  /** Deletes the configuration with its versions. */
  delete(id: string): Promise<void>;
  /** Names of configurations by id. */
  names(ids: string[]): Promise<Map<string, string>>;
}

type Row = {
  id: string;
  service_ref: string;
  name: string;
  description: string | null;
  latest_version: number;
  created_by: string;
  created_at: Date | string;
  updated_at: Date | string;
};

type VersionRow = {
  configuration_id: string;
  version: number;
  machines: string;
  notes: string | null;
  created_by: string;
  created_at: Date | string;
};

function fromRow(row: Row): Configuration {
  return {
    id: row.id,
    serviceRef: row.service_ref,
    name: row.name,
    description: row.description ?? undefined,
    latestVersion: row.latest_version,
    createdBy: row.created_by,
    createdAt: toIso(row.created_at),
    updatedAt: toIso(row.updated_at),
  };
}

function fromVersionRow(row: VersionRow): ConfigurationVersion {
  return {
    configurationId: row.configuration_id,
    version: row.version,
    machines: fromJson<MachineSpec[]>(row.machines)!,
    notes: row.notes ?? undefined,
    createdBy: row.created_by,
    createdAt: toIso(row.created_at),
  };
}

export class DatabaseConfigurationStore implements ConfigurationStore {
  private constructor(private readonly db: Knex | Knex.Transaction) {}

  static create(db: Knex | Knex.Transaction): ConfigurationStore {
    return new DatabaseConfigurationStore(db);
  }

  async list(options: {
    page: PageRequest;
    serviceRef?: string;
    criteria?: PermissionCriteria<ColumnFilter>;
  }): Promise<Page<Configuration>> {
    const query = this.db<Row>('configurations');
    if (options.serviceRef) query.where('service_ref', options.serviceRef);
    if (options.criteria)
      applyCriteria(query, options.criteria, 'configurations');
    const { rows, totalCount } = await selectPage<Row>(query, {
      page: options.page,
      orderBy: ['service_ref', 'name'],
    });
    return { items: rows.map(fromRow), totalCount };
  }

  async get(id: string): Promise<Configuration | undefined> {
    const row = await this.db<Row>('configurations').where({ id }).first();
    return row ? fromRow(row) : undefined;
  }

  async create(options: {
    id: string;
    serviceRef: string;
    name: string;
    description?: string;
    machines: MachineSpec[];
    notes?: string;
    createdBy: string;
    now: string;
  }): Promise<Configuration> {
    const existing = await this.db('configurations')
      .where({ service_ref: options.serviceRef, name: options.name })
      .first('id');
    if (existing) {
      throw new ConflictError(
        `Service ${options.serviceRef} already has a configuration named '${options.name}'`,
      );
    }
    await this.db('configurations').insert({
      id: options.id,
      service_ref: options.serviceRef,
      name: options.name,
      description: options.description ?? null,
      latest_version: 1,
      created_by: options.createdBy,
      created_at: options.now,
      updated_at: options.now,
    });
    await this.insertVersion(options.id, 1, options);
    return (await this.get(options.id))!;
  }

  private async insertVersion(
    id: string,
    version: number,
    options: {
      machines: MachineSpec[];
      notes?: string;
      createdBy: string;
      now: string;
    },
  ) {
    await this.db('configuration_versions').insert({
      configuration_id: id,
      version,
      machines: toJson(options.machines),
      notes: options.notes ?? null,
      created_by: options.createdBy,
      created_at: options.now,
    });
    const templates = [...new Set(options.machines.map(m => m.template))];
    await this.db('configuration_version_templates').insert(
      templates.map(template_name => ({
        configuration_id: id,
        version,
        template_name,
      })),
    );
  }

  async updateDescription(
    id: string,
    description: string,
    now: string,
  ): Promise<Configuration> {
    const updated = await this.db('configurations')
      .where({ id })
      .update({ description, updated_at: now });
    if (updated === 0) throw new NotFoundError(`No configuration '${id}'`);
    return (await this.get(id))!;
  }

  async addVersion(options: {
    id: string;
    machines: MachineSpec[];
    notes?: string;
    basedOnVersion?: number;
    createdBy: string;
    now: string;
  }): Promise<ConfigurationVersion> {
    const current = await this.get(options.id);
    if (!current) throw new NotFoundError(`No configuration '${options.id}'`);
    const expected = options.basedOnVersion ?? current.latestVersion;
    if (expected !== current.latestVersion) {
      throw new ConflictError(
        `Configuration '${current.name}' is at version ${current.latestVersion}, not ${expected}: reload and apply the change again`,
      );
    }
    // Compare-and-set: only one writer moves latest_version from `expected`.
    const updated = await this.db('configurations')
      .where({ id: options.id, latest_version: expected })
      .update({ latest_version: expected + 1, updated_at: options.now });
    if (updated === 0) {
      throw new ConflictError(
        `Configuration '${current.name}' changed while saving: reload and apply the change again`,
      );
    }
    await this.insertVersion(options.id, expected + 1, options);
    return (await this.getVersion(options.id, expected + 1))!;
  }

  async listVersions(
    id: string,
    page: PageRequest,
  ): Promise<Page<ConfigurationVersion>> {
    const query = this.db<VersionRow>('configuration_versions').where({
      configuration_id: id,
    });
    const { rows, totalCount } = await selectPage<VersionRow>(query, {
      page,
      orderBy: [{ column: 'version', order: 'desc' }],
    });
    return { items: rows.map(fromVersionRow), totalCount };
  }

  async getVersion(
    id: string,
    version: number,
  ): Promise<ConfigurationVersion | undefined> {
    const row = await this.db<VersionRow>('configuration_versions')
      .where({ configuration_id: id, version })
      .first();
    return row ? fromVersionRow(row) : undefined;
  }

  async delete(id: string): Promise<void> {
    await this.db('configuration_version_templates')
      .where({ configuration_id: id })
      .delete();
    await this.db('configuration_versions')
      .where({ configuration_id: id })
      .delete();
    const deleted = await this.db('configurations').where({ id }).delete();
    if (deleted === 0) throw new NotFoundError(`No configuration '${id}'`);
  }

  async names(ids: string[]): Promise<Map<string, string>> {
    const result = new Map<string, string>();
    const unique = [...new Set(ids)];
    for (let i = 0; i < unique.length; i += 500) {
      const rows = await this.db('configurations')
        .whereIn('id', unique.slice(i, i + 500))
        .select('id', 'name');
      for (const r of rows) result.set(r.id, r.name);
    }
    return result;
  }
}

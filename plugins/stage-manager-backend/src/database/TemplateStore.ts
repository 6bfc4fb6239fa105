import { ConflictError, NotFoundError } from '@backstage/errors';
import {
  BootSettings,
  DiskSpec,
  NicSpec,
  Page,
  ReadinessCheck,
  Template,
} from '@internal/plugin-stage-manager-common';
import { Knex } from 'knex';
import { fromJson, PageRequest, selectPage, toIso, toJson } from './util';

/** Template fields a caller sets. */
export type TemplateFields = Omit<
  Template,
  'id' | 'revision' | 'createdAt' | 'createdBy' | 'updatedAt'
>;

/** Stores machine templates. */
export interface TemplateStore {
  list(page: PageRequest): Promise<Page<Template>>;
  get(name: string): Promise<Template | undefined>;
  create(
    fields: TemplateFields & { id: string; createdBy: string; now: string },
  ): Promise<Template>;
  /** Replaces the fields and bumps the revision. */
  update(name: string, fields: TemplateFields, now: string): Promise<Template>;
  delete(name: string): Promise<void>;
  /** Names of the configurations whose versions use the template. */
  usedBy(name: string): Promise<string[]>;
}

type Row = {
  id: string;
  name: string;
  title: string | null;
  description: string | null;
  driver: string;
  base_image: string;
  vcpus: number;
  memory_mib: number;
  disks: string;
  nics: string;
  boot: string;
  readiness: string | null;
  revision: number;
  created_by: string;
  created_at: Date | string;
  updated_at: Date | string;
};

function fromRow(row: Row): Template {
  return {
    id: row.id,
    name: row.name,
    title: row.title ?? undefined,
    description: row.description ?? undefined,
    driver: row.driver,
    baseImage: row.base_image,
    vcpus: row.vcpus,
    memoryMiB: row.memory_mib,
    disks: fromJson<DiskSpec[]>(row.disks)!,
    nics: fromJson<NicSpec[]>(row.nics)!,
    boot: fromJson<BootSettings>(row.boot)!,
    readiness: fromJson<ReadinessCheck>(row.readiness),
    revision: row.revision,
    createdBy: row.created_by,
    createdAt: toIso(row.created_at),
    updatedAt: toIso(row.updated_at),
  };
}

function toFields(fields: TemplateFields) {
  return {
    name: fields.name,
    title: fields.title ?? null,
    description: fields.description ?? null,
    driver: fields.driver,
    base_image: fields.baseImage,
    vcpus: fields.vcpus,
    memory_mib: fields.memoryMiB,
    disks: toJson(fields.disks),
    nics: toJson(fields.nics),
    boot: toJson(fields.boot),
    readiness: toJson(fields.readiness),
  };
}

export class DatabaseTemplateStore implements TemplateStore {
  private constructor(private readonly db: Knex | Knex.Transaction) {}

  static create(db: Knex | Knex.Transaction): TemplateStore {
    return new DatabaseTemplateStore(db);
  }

  async list(page: PageRequest): Promise<Page<Template>> {
    const { rows, totalCount } = await selectPage<Row>(this.db('templates'), {
      page,
      orderBy: ['name'],
    });
    return { items: rows.map(fromRow), totalCount };
  }

  async get(name: string): Promise<Template | undefined> {
    const row = await this.db<Row>('templates').where({ name }).first();
    return row ? fromRow(row) : undefined;
  }

  async create(
    fields: TemplateFields & { id: string; createdBy: string; now: string },
  ): Promise<Template> {
    const existing = await this.db('templates')
      .where({ name: fields.name })
      .first('id');
    if (existing) {
      throw new ConflictError(
        `A template named '${fields.name}' already exists`,
      );
    }
    await this.db('templates').insert({
      id: fields.id,
      ...toFields(fields),
      revision: 1,
      created_by: fields.createdBy,
      created_at: fields.now,
      updated_at: fields.now,
    });
    return (await this.get(fields.name))!;
  }

  async update(
    name: string,
    fields: TemplateFields,
    now: string,
  ): Promise<Template> {
    const updated = await this.db('templates')
      .where({ name })
      .update({
        ...toFields(fields),
        revision: this.db.raw('revision + 1'),
        updated_at: now,
      });
    if (updated === 0) {
      throw new NotFoundError(`No template named '${name}'`);
    }
    return (await this.get(name))!;
  }

  async delete(name: string): Promise<void> {
    const deleted = await this.db('templates').where({ name }).delete();
    if (deleted === 0) {
      throw new NotFoundError(`No template named '${name}'`);
    }
  }

  async usedBy(name: string): Promise<string[]> {
    const rows = await this.db('configuration_version_templates as t')
      .join('configurations as c', 'c.id', 't.configuration_id')
      .where('t.template_name', name)
      .distinct('c.service_ref', 'c.name')
      .orderBy(['c.service_ref', 'c.name']);
    return rows.map(r => `${r.service_ref}/${r.name}`);
  }
}

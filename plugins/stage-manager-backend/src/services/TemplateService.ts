import {
  BackstageCredentials,
  PermissionsService,
} from '@backstage/backend-plugin-api';
import { ConflictError, NotFoundError } from '@backstage/errors';
import {
  Page,
  Template,
  templateCreatePermission,
  templateDeletePermission,
  templateInputSchema,
  templatePatchSchema,
  templateReadPermission,
  templateUpdatePermission,
} from '@internal/plugin-stage-manager-common';
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { StageManagerStore } from '../database/StageManagerStore';
import { nowIso, PageRequest } from '../database/util';
import { AuditLog, principalRef } from './AuditLog';
import { authorizeBasic } from './Authorizer';

/** Machine templates: shared across services, guarded by basic permissions. */
export class TemplateService {
  constructor(
    private readonly deps: {
      store: StageManagerStore;
      permissions: PermissionsService;
      auditLog: AuditLog;
    },
  ) {}

  async list(
    page: PageRequest,
    credentials: BackstageCredentials,
  ): Promise<Page<Template>> {
    await authorizeBasic(
      this.deps.permissions,
      templateReadPermission,
      credentials,
    );
    return this.deps.store.templates.list(page);
  }

  async get(
    name: string,
    credentials: BackstageCredentials,
  ): Promise<Template> {
    await authorizeBasic(
      this.deps.permissions,
      templateReadPermission,
      credentials,
    );
    const template = await this.deps.store.templates.get(name);
    if (!template) throw new NotFoundError(`No template named '${name}'`);
    return template;
  }

  async create(
    input: z.output<typeof templateInputSchema>,
    credentials: BackstageCredentials,
  ): Promise<Template> {
    await authorizeBasic(
      this.deps.permissions,
      templateCreatePermission,
      credentials,
    );
    return this.createAudited(input, credentials);
  }

  /**
   * Creates the templates declared in app-config that do not exist yet. A system action: no
   * permission check, but audited like any other creation, with the plugin as actor.
   */
  async ensureConfigured(
    inputs: Array<z.output<typeof templateInputSchema>>,
    credentials: BackstageCredentials,
  ): Promise<string[]> {
    const created: string[] = [];
    for (const input of inputs) {
      if (await this.deps.store.templates.get(input.name)) continue;
      await this.createAudited(input, credentials);
      created.push(input.name);
    }
    return created;
  }

  private createAudited(
    input: z.output<typeof templateInputSchema>,
    credentials: BackstageCredentials,
  ): Promise<Template> {
    return this.deps.auditLog.mutate(
      { credentials, action: 'template.create', targetKind: 'template' },
      async stores => {
        const template = await stores.templates.create({
          ...input,
          id: randomUUID(),
          createdBy: principalRef(credentials),
          now: nowIso(),
        });
        return { result: template, targetId: template.name, after: template };
      },
    );
  }

  async update(
    name: string,
    patch: z.output<typeof templatePatchSchema>,
    credentials: BackstageCredentials,
  ): Promise<Template> {
    await authorizeBasic(
      this.deps.permissions,
      templateUpdatePermission,
      credentials,
    );
    return this.deps.auditLog.mutate(
      { credentials, action: 'template.update', targetKind: 'template' },
      async stores => {
        const before = await stores.templates.get(name);
        if (!before) throw new NotFoundError(`No template named '${name}'`);
        const { id, revision, createdAt, createdBy, updatedAt, ...fields } =
          before;
        const after = await stores.templates.update(
          name,
          { ...fields, ...patch },
          nowIso(),
        );
        return { result: after, targetId: name, before, after };
      },
    );
  }

  async delete(name: string, credentials: BackstageCredentials): Promise<void> {
    await authorizeBasic(
      this.deps.permissions,
      templateDeletePermission,
      credentials,
    );
    await this.deps.auditLog.mutate(
      { credentials, action: 'template.delete', targetKind: 'template' },
      async stores => {
        const before = await stores.templates.get(name);
        if (!before) throw new NotFoundError(`No template named '${name}'`);
        const users = await stores.templates.usedBy(name);
        if (users.length > 0) {
          throw new ConflictError(
            `Template '${name}' is used by configurations ${users.join(', ')}`,
          );
        }
        await stores.templates.delete(name);
        return { result: undefined, targetId: name, before };
      },
    );
  }
}

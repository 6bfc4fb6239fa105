import {
  BackstageCredentials,
  PermissionsService,
} from '@backstage/backend-plugin-api';
import { ConflictError, InputError, NotFoundError } from '@backstage/errors';
import {
  Configuration,
  configurationCreatePermission,
  configurationDeletePermission,
  configurationInputSchema,
  configurationReadPermission,
  configurationUpdatePermission,
  ConfigurationVersion,
  configurationVersionInputSchema,
  ConfigurationWithVersion,
  MachineSpec,
  Page,
} from '@internal/plugin-stage-manager-common';
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { Stores, StageManagerStore } from '../database/StageManagerStore';
import { nowIso, PageRequest } from '../database/util';
import { AuditLog, principalRef } from './AuditLog';
import { Authorizer, authorizeBasic } from './Authorizer';
import { ServiceDirectory } from './ServiceDirectory';
import { ConfigurationResource } from '@internal/plugin-stage-manager-node';

/** Configurations and their immutable versions. */
export class ConfigurationService {
  constructor(
    private readonly deps: {
      store: StageManagerStore;
      permissions: PermissionsService;
      authorizer: Authorizer<ConfigurationResource>;
      auditLog: AuditLog;
      services: ServiceDirectory;
    },
  ) {}

  async list(
    options: { page: PageRequest; serviceRef?: string },
    credentials: BackstageCredentials,
  ): Promise<Page<Configuration>> {
    const criteria = await this.deps.authorizer.listCriteria(
      configurationReadPermission,
      credentials,
    );
    return this.deps.store.configurations.list({ ...options, criteria });
  }

  /** Loads a configuration and checks a permission on it; 404 before 403 is not leaked. */
  private async load(
    id: string,
    permission: typeof configurationReadPermission,
    credentials: BackstageCredentials,
  ): Promise<Configuration> {
    const configuration = await this.deps.store.configurations.get(id);
    if (
      !configuration ||
      !(await this.deps.authorizer.allows(
        configurationReadPermission,
        configuration,
        credentials,
      ))
    ) {
      throw new NotFoundError(`No configuration '${id}'`);
    }
    if (permission !== configurationReadPermission) {
      await this.deps.authorizer.resource(
        permission,
        configuration,
        credentials,
      );
    }
    return configuration;
  }

  async get(
    id: string,
    credentials: BackstageCredentials,
  ): Promise<ConfigurationWithVersion> {
    const configuration = await this.load(
      id,
      configurationReadPermission,
      credentials,
    );
    const current = await this.deps.store.configurations.getVersion(
      id,
      configuration.latestVersion,
    );
    return { ...configuration, current: current! };
  }

  /** Every machine must name an existing template; errors name the field. */
  private async checkTemplates(stores: Stores, machines: MachineSpec[]) {
    for (const [index, machine] of machines.entries()) {
      if (!(await stores.templates.get(machine.template))) {
        throw new InputError(
          `machines.${index}.template: no template named '${machine.template}'`,
        );
      }
    }
  }

  async create(
    input: z.output<typeof configurationInputSchema>,
    credentials: BackstageCredentials,
  ): Promise<ConfigurationWithVersion> {
    await authorizeBasic(
      this.deps.permissions,
      configurationCreatePermission,
      credentials,
    );
    // The owning service must exist and be visible to the caller.
    const service = await this.deps.services.get(input.serviceRef, credentials);
    return this.deps.auditLog.mutate(
      {
        credentials,
        action: 'configuration.create',
        targetKind: 'configuration',
      },
      async stores => {
        await this.checkTemplates(stores, input.machines);
        const now = nowIso();
        const configuration = await stores.configurations.create({
          id: randomUUID(),
          serviceRef: service.entityRef,
          name: input.name,
          description: input.description,
          machines: input.machines,
          notes: input.notes,
          createdBy: principalRef(credentials),
          now,
        });
        const current = (await stores.configurations.getVersion(
          configuration.id,
          1,
        ))!;
        const result = { ...configuration, current };
        return {
          result,
          targetId: configuration.id,
          serviceRef: configuration.serviceRef,
          after: result,
        };
      },
    );
  }

  async updateDescription(
    id: string,
    description: string,
    credentials: BackstageCredentials,
  ): Promise<Configuration> {
    const before = await this.load(
      id,
      configurationUpdatePermission,
      credentials,
    );
    return this.deps.auditLog.mutate(
      {
        credentials,
        action: 'configuration.update',
        targetKind: 'configuration',
      },
      async stores => {
        const after = await stores.configurations.updateDescription(
          id,
          description,
          nowIso(),
        );
        return {
          result: after,
          targetId: id,
          serviceRef: after.serviceRef,
          before: { description: before.description },
          after: { description: after.description },
        };
      },
    );
  }

  async addVersion(
    id: string,
    input: z.output<typeof configurationVersionInputSchema>,
    credentials: BackstageCredentials,
  ): Promise<ConfigurationVersion> {
    const configuration = await this.load(
      id,
      configurationUpdatePermission,
      credentials,
    );
    return this.deps.auditLog.mutate(
      {
        credentials,
        action: 'configuration.version.create',
        targetKind: 'configuration',
      },
      async stores => {
        await this.checkTemplates(stores, input.machines);
        const version = await stores.configurations.addVersion({
          id,
          machines: input.machines,
          notes: input.notes,
          basedOnVersion: input.basedOnVersion,
          createdBy: principalRef(credentials),
          now: nowIso(),
        });
        return {
          result: version,
          targetId: id,
          serviceRef: configuration.serviceRef,
          before: { version: version.version - 1 },
          after: version,
        };
      },
    );
  }

  async listVersions(
    id: string,
    page: PageRequest,
    credentials: BackstageCredentials,
  ): Promise<Page<ConfigurationVersion>> {
    await this.load(id, configurationReadPermission, credentials);
    return this.deps.store.configurations.listVersions(id, page);
  }

  async getVersion(
    id: string,
    version: number,
    credentials: BackstageCredentials,
  ): Promise<ConfigurationVersion> {
    await this.load(id, configurationReadPermission, credentials);
    const result = await this.deps.store.configurations.getVersion(id, version);
    if (!result) {
      throw new NotFoundError(
        `Configuration '${id}' has no version ${version}`,
      );
    }
    return result;
  }

  async delete(id: string, credentials: BackstageCredentials): Promise<void> {
    await this.load(id, configurationDeletePermission, credentials);
    await this.deps.auditLog.mutate(
      {
        credentials,
        action: 'configuration.delete',
        targetKind: 'configuration',
      },
      async stores => {
        const before = await stores.configurations.get(id);
        if (!before) throw new NotFoundError(`No configuration '${id}'`);
        const live = await stores.deployments.countLive(id);
        if (live > 0) {
          throw new ConflictError(
            `Configuration '${before.name}' has ${live} deployment(s) that are not undeployed`,
          );
        }
        await stores.deployments.deleteUndeployed(id);
        await stores.configurations.delete(id);
        return {
          result: undefined,
          targetId: id,
          serviceRef: before.serviceRef,
          before,
        };
      },
    );
  }
}

import {
  BackstageCredentials,
  LoggerService,
} from '@backstage/backend-plugin-api';
import { CATALOG_FILTER_EXISTS } from '@backstage/catalog-client';
import {
  CompoundEntityRef,
  Entity,
  parseEntityRef,
  stringifyEntityRef,
} from '@backstage/catalog-model';
import { NotFoundError } from '@backstage/errors';
import { CatalogService } from '@backstage/plugin-catalog-node';
import {
  ANNOTATION_STAGES,
  ANNOTATION_WORKFLOW,
  Page,
  StageManagerService,
} from '@internal/plugin-stage-manager-common';
import { StageManagerConfig } from '../config/StageManagerConfig';
import { PageRequest } from '../database/util';
import { resolveService } from './resolveService';

const SERVICE_KINDS = ['component', 'system'];

/**
 * Services are catalog entities (Component or System) that carry Stage Manager annotations.
 * The catalog is always asked with the caller's credentials, so catalog permissions apply:
 * a user who cannot see an entity cannot see its service.
 */
export class ServiceDirectory {
  constructor(
    private readonly deps: {
      catalog: CatalogService;
      config: StageManagerConfig;
      logger: LoggerService;
    },
  ) {}

  /** Problems already logged per entity ref, so each distinct set is logged once. */
  private readonly reported = new Map<string, string>();

  private resolve(entity: Entity): StageManagerService {
    const service = resolveService(entity, this.deps.config);
    const problems = service.problems.join('; ');
    if (problems && this.reported.get(service.entityRef) !== problems) {
      this.deps.logger.warn(
        `Stage Manager annotations of ${service.entityRef} are invalid: ${problems}`,
      );
    }
    if (problems) this.reported.set(service.entityRef, problems);
    else this.reported.delete(service.entityRef);
    return service;
  }

  async list(
    options: {
      page: PageRequest;
      search?: string;
      /** Owner entity ref (matches the `ownedBy` relation). */
      owner?: string;
      /** System name or ref (matches the `partOf` relation). */
      system?: string;
    },
    credentials: BackstageCredentials,
  ): Promise<Page<StageManagerService>> {
    const narrow: Record<string, string> = {};
    if (options.owner) narrow['relations.ownedBy'] = options.owner;
    if (options.system) {
      narrow['relations.partOf'] = stringifyEntityRef(
        parseEntityRef(options.system, {
          defaultKind: 'system',
          defaultNamespace: 'default',
        }),
      ).toLocaleLowerCase('en-US');
    }
    const response = await this.deps.catalog.queryEntities(
      {
        // Either annotation opts an entity in. The annotation key comes before `kind`: the
        // catalog's in-memory test client stops at the first array-valued key.
        filter: [
          {
            [`metadata.annotations.${ANNOTATION_WORKFLOW}`]:
              CATALOG_FILTER_EXISTS,
            ...narrow,
            kind: SERVICE_KINDS,
          },
          {
            [`metadata.annotations.${ANNOTATION_STAGES}`]:
              CATALOG_FILTER_EXISTS,
            ...narrow,
            kind: SERVICE_KINDS,
          },
        ],
        orderFields: { field: 'metadata.name', order: 'asc' },
        fullTextFilter: options.search
          ? {
              term: options.search,
              fields: ['metadata.name', 'metadata.title'],
            }
          : undefined,
        limit: options.page.limit,
        offset: options.page.offset,
      },
      { credentials },
    );
    return {
      items: response.items.map(e => this.resolve(e)),
      totalCount: response.totalItems,
    };
  }

  /** The service behind an entity ref; NotFoundError when it is not an opted-in entity. */
  async get(
    ref: string | CompoundEntityRef,
    credentials: BackstageCredentials,
  ): Promise<StageManagerService> {
    const refString = typeof ref === 'string' ? ref : stringifyEntityRef(ref);
    const entity = await this.deps.catalog.getEntityByRef(ref, { credentials });
    const annotations = entity?.metadata.annotations ?? {};
    if (
      !entity ||
      !SERVICE_KINDS.includes(entity.kind.toLocaleLowerCase('en-US')) ||
      (annotations[ANNOTATION_WORKFLOW] === undefined &&
        annotations[ANNOTATION_STAGES] === undefined)
    ) {
      throw new NotFoundError(
        `No Stage Manager service ${refString}: the catalog has no Component or System with a ${ANNOTATION_WORKFLOW} or ${ANNOTATION_STAGES} annotation by that ref`,
      );
    }
    return this.resolve(entity);
  }
}

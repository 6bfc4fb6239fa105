import {
  BackstageCredentials,
  PermissionsService,
} from '@backstage/backend-plugin-api';
import { NotAllowedError } from '@backstage/errors';
import {
  AuthorizeResult,
  BasicPermission,
  PermissionCriteria,
  PermissionCondition,
  PolicyDecision,
  ResourcePermission,
} from '@backstage/plugin-permission-common';
import {
  createConditionAuthorizer,
  createConditionTransformer,
  PermissionRuleset,
} from '@backstage/plugin-permission-node';
import { StageManagerColumnFilter } from '@internal/plugin-stage-manager-node';

/**
 * Permission checks of one resource type: basic and resource permissions throw NotAllowedError
 * when denied; list permissions become SQL criteria (conditional decisions are never treated as
 * ALLOW).
 */
export class Authorizer<TResource> {
  private readonly transform: (
    conditions: PermissionCriteria<PermissionCondition>,
  ) => PermissionCriteria<StageManagerColumnFilter>;
  private readonly isAllowed: (
    decision: PolicyDecision,
    resource: TResource | undefined,
  ) => boolean;

  constructor(
    private readonly permissions: PermissionsService,
    ruleset: PermissionRuleset<TResource, StageManagerColumnFilter>,
  ) {
    this.transform = createConditionTransformer(ruleset);
    this.isAllowed = createConditionAuthorizer(ruleset);
  }

  /** Throws unless the basic permission is allowed. */
  async basic(
    permission: BasicPermission,
    credentials: BackstageCredentials,
  ): Promise<void> {
    await authorizeBasic(this.permissions, permission, credentials);
  }

  /** Throws unless the permission is allowed for this (loaded) resource. */
  async resource(
    permission: ResourcePermission,
    resource: TResource,
    credentials: BackstageCredentials,
  ): Promise<void> {
    const [decision] = await this.permissions.authorizeConditional(
      [{ permission }],
      { credentials },
    );
    if (!this.isAllowed(decision, resource)) {
      throw new NotAllowedError(
        `You are not allowed to ${permission.name} here`,
      );
    }
  }

  /** Whether the permission is allowed for this resource, without throwing. */
  async allows(
    permission: ResourcePermission,
    resource: TResource,
    credentials: BackstageCredentials,
  ): Promise<boolean> {
    const [decision] = await this.permissions.authorizeConditional(
      [{ permission }],
      { credentials },
    );
    return this.isAllowed(decision, resource);
  }

  /**
   * The filter a list query must apply: `undefined` for everything, criteria for a conditional
   * decision, and criteria that match nothing when denied.
   */
  async listCriteria(
    permission: ResourcePermission,
    credentials: BackstageCredentials,
  ): Promise<PermissionCriteria<StageManagerColumnFilter> | undefined> {
    const [decision] = await this.permissions.authorizeConditional(
      [{ permission }],
      { credentials },
    );
    if (decision.result === AuthorizeResult.CONDITIONAL) {
      return this.transform(decision.conditions);
    }
    if (decision.result === AuthorizeResult.ALLOW) return undefined;
    return { column: 'service_ref', values: [] };
  }
}

/** Throws unless the basic permission is allowed. */
export async function authorizeBasic(
  permissions: PermissionsService,
  permission: BasicPermission,
  credentials: BackstageCredentials,
): Promise<void> {
  const [decision] = await permissions.authorize([{ permission }], {
    credentials,
  });
  if (decision.result !== AuthorizeResult.ALLOW) {
    throw new NotAllowedError(`You are not allowed to ${permission.name}`);
  }
}

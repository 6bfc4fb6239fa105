import { DatabaseService } from '@backstage/backend-plugin-api';
import { Knex } from 'knex';
import { ApprovalStore, DatabaseApprovalStore } from './ApprovalStore';
import { ArchiveStore, DatabaseArchiveStore } from './ArchiveStore';
import { AuditStore, DatabaseAuditStore } from './AuditStore';
import {
  ConfigurationStore,
  DatabaseConfigurationStore,
} from './ConfigurationStore';
import { DatabaseDeploymentStore, DeploymentStore } from './DeploymentStore';
import { DatabaseDriftStore, DriftStore } from './DriftStore';
import { DatabaseLeaseStore, LeaseStore } from './LeaseStore';
import { applyDatabaseMigrations } from './migrations';
import { DatabaseOperationStore, OperationStore } from './OperationStore';
import { DatabaseTemplateStore, TemplateStore } from './TemplateStore';

/** The stores of every aggregate, bound to one connection or transaction. */
export interface Stores {
  templates: TemplateStore;
  configurations: ConfigurationStore;
  deployments: DeploymentStore;
  operations: OperationStore;
  approvals: ApprovalStore;
  leases: LeaseStore;
  archives: ArchiveStore;
  drift: DriftStore;
  audit: AuditStore;
}

/** All stores, plus a unit of work: a mutation and its audit event commit together. */
export interface StageManagerStore extends Stores {
  transaction<T>(fn: (stores: Stores) => Promise<T>): Promise<T>;
}

function storesOn(db: Knex | Knex.Transaction): Stores {
  return {
    templates: DatabaseTemplateStore.create(db),
    configurations: DatabaseConfigurationStore.create(db),
    deployments: DatabaseDeploymentStore.create(db),
    operations: DatabaseOperationStore.create(db),
    approvals: DatabaseApprovalStore.create(db),
    leases: DatabaseLeaseStore.create(db),
    archives: DatabaseArchiveStore.create(db),
    drift: DatabaseDriftStore.create(db),
    audit: DatabaseAuditStore.create(db),
  };
}

export class DatabaseStageManagerStore implements StageManagerStore {
  readonly templates: TemplateStore;
  readonly configurations: ConfigurationStore;
  readonly deployments: DeploymentStore;
  readonly operations: OperationStore;
  readonly approvals: ApprovalStore;
  readonly leases: LeaseStore;
  readonly archives: ArchiveStore;
  readonly drift: DriftStore;
  readonly audit: AuditStore;

  private constructor(private readonly db: Knex) {
    const stores = storesOn(db);
    this.templates = stores.templates;
    this.configurations = stores.configurations;
    this.deployments = stores.deployments;
    this.operations = stores.operations;
    this.approvals = stores.approvals;
    this.leases = stores.leases;
    this.archives = stores.archives;
    this.drift = stores.drift;
    this.audit = stores.audit;
  }

  static async create(options: {
    database: DatabaseService;
  }): Promise<StageManagerStore> {
    const client = await options.database.getClient();
    if (!options.database.migrations?.skip) {
      await applyDatabaseMigrations(client);
    }
    return new DatabaseStageManagerStore(client);
  }

  /** For tests that bring their own migrated knex. */
  static fromKnex(client: Knex): StageManagerStore {
    return new DatabaseStageManagerStore(client);
  }

  transaction<T>(fn: (stores: Stores) => Promise<T>): Promise<T> {
    return this.db.transaction(tx => fn(storesOn(tx)));
  }
}

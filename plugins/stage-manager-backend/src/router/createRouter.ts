import { HttpAuthService } from '@backstage/backend-plugin-api';
import { InputError } from '@backstage/errors';
import {
  approvalDecisionSchema,
  approvalListQuerySchema,
  archiveInputSchema,
  archiveListQuerySchema,
  archiveMoveInputSchema,
  auditListQuerySchema,
  restoreInputSchema,
  cloneInputSchema,
  deployInputSchema,
  leaseExtendSchema,
  moveInputSchema,
  swapInputSchema,
  configurationInputSchema,
  configurationListQuerySchema,
  configurationPatchSchema,
  configurationVersionInputSchema,
  deploymentListQuerySchema,
  NAME_PATTERN,
  NAME_PATTERN_DESCRIPTION,
  operationListQuerySchema,
  paginationSchema,
  serviceListQuerySchema,
  templateInputSchema,
  templatePatchSchema,
} from '@internal/plugin-stage-manager-common';
import express, { ErrorRequestHandler } from 'express';
import Router from 'express-promise-router';
import { z } from 'zod';
import { ArchiveService } from '../archives/ArchiveService';
import { DriftService } from '../drift/DriftService';
import { ApprovalService } from '../lifecycle/ApprovalService';
import { LeaseService } from '../lifecycle/LeaseService';
import { LifecycleService } from '../lifecycle/LifecycleService';
import { AuditLog } from '../services/AuditLog';
import { BoardService } from '../services/BoardService';
import { ConfigurationService } from '../services/ConfigurationService';
import { DeploymentService } from '../services/DeploymentService';
import { PoolService } from '../services/PoolService';
import { ServiceDirectory } from '../services/ServiceDirectory';
import { TemplateService } from '../services/TemplateService';
import { parseInput } from './validation';

const idParams = z.object({ id: z.string().uuid('must be a UUID') });
const nameParams = z.object({
  name: z.string().regex(NAME_PATTERN, `must be ${NAME_PATTERN_DESCRIPTION}`),
});
const versionParams = z.object({
  id: z.string().uuid('must be a UUID'),
  version: z.coerce.number().int().min(1),
});
/** Scans of a deployment's drift history that GET …/drift answers. */
const DRIFT_HISTORY = 200;
/** Bodies and queries that must be empty (or absent). */
const emptyBody = z.object({}).strict();
const entityParams = z.object({
  kind: z.string().min(1).max(63),
  namespace: z.string().min(1).max(63),
  name: z.string().min(1).max(253),
});

/** Malformed JSON bodies are the caller's error, not ours. */
const jsonErrors: ErrorRequestHandler = (err, _req, _res, next) => {
  if (err?.type === 'entity.parse.failed') {
    next(new InputError('Invalid request body: not valid JSON'));
  } else if (err?.type === 'entity.too.large') {
    next(new InputError('Invalid request body: larger than 1 MB'));
  } else {
    next(err);
  }
};

/** The Stage Manager REST API. Thin: parse, get credentials, call a service. */
export async function createRouter(deps: {
  httpAuth: HttpAuthService;
  services: ServiceDirectory;
  templates: TemplateService;
  configurations: ConfigurationService;
  pools: PoolService;
  deployments: DeploymentService;
  board: BoardService;
  lifecycle: LifecycleService;
  approvals: ApprovalService;
  leases: LeaseService;
  archives: ArchiveService;
  drift: DriftService;
  auditLog: AuditLog;
}): Promise<express.Router> {
  const { httpAuth } = deps;
  const router = Router();
  router.use(express.json({ limit: '1mb' }));
  router.use(jsonErrors);

  // Services

  router.get('/services', async (req, res) => {
    const { limit, offset, ...filter } = parseInput(
      serviceListQuerySchema,
      req.query,
      'query',
    );
    const credentials = await httpAuth.credentials(req);
    res.json(
      await deps.services.list(
        { page: { limit, offset }, ...filter },
        credentials,
      ),
    );
  });

  router.get('/services/:kind/:namespace/:name', async (req, res) => {
    const p = parseInput(entityParams, req.params, 'path');
    const credentials = await httpAuth.credentials(req);
    res.json(
      await deps.deployments.serviceDetails(
        `${p.kind}:${p.namespace}/${p.name}`,
        credentials,
      ),
    );
  });

  // Templates

  router.get('/templates', async (req, res) => {
    const page = parseInput(paginationSchema.strict(), req.query, 'query');
    res.json(await deps.templates.list(page, await httpAuth.credentials(req)));
  });

  router.post('/templates', async (req, res) => {
    const input = parseInput(templateInputSchema, req.body, 'body');
    const credentials = await httpAuth.credentials(req);
    res.status(201).json(await deps.templates.create(input, credentials));
  });

  router.get('/templates/:name', async (req, res) => {
    const { name } = parseInput(nameParams, req.params, 'path');
    res.json(await deps.templates.get(name, await httpAuth.credentials(req)));
  });

  router.patch('/templates/:name', async (req, res) => {
    const { name } = parseInput(nameParams, req.params, 'path');
    const patch = parseInput(templatePatchSchema, req.body, 'body');
    const credentials = await httpAuth.credentials(req);
    res.json(await deps.templates.update(name, patch, credentials));
  });

  router.delete('/templates/:name', async (req, res) => {
    const { name } = parseInput(nameParams, req.params, 'path');
    await deps.templates.delete(name, await httpAuth.credentials(req));
    res.status(204).end();
  });

  // Configurations

  router.get('/configurations', async (req, res) => {
    const { limit, offset, serviceRef } = parseInput(
      configurationListQuerySchema,
      req.query,
      'query',
    );
    const credentials = await httpAuth.credentials(req);
    res.json(
      await deps.configurations.list(
        { page: { limit, offset }, serviceRef },
        credentials,
      ),
    );
  });

  router.post('/configurations', async (req, res) => {
    const input = parseInput(configurationInputSchema, req.body, 'body');
    const credentials = await httpAuth.credentials(req);
    res.status(201).json(await deps.configurations.create(input, credentials));
  });

  router.get('/configurations/:id', async (req, res) => {
    const { id } = parseInput(idParams, req.params, 'path');
    res.json(
      await deps.configurations.get(id, await httpAuth.credentials(req)),
    );
  });

  router.patch('/configurations/:id', async (req, res) => {
    const { id } = parseInput(idParams, req.params, 'path');
    const { description } = parseInput(
      configurationPatchSchema,
      req.body,
      'body',
    );
    const credentials = await httpAuth.credentials(req);
    res.json(
      await deps.configurations.updateDescription(id, description, credentials),
    );
  });

  router.delete('/configurations/:id', async (req, res) => {
    const { id } = parseInput(idParams, req.params, 'path');
    await deps.configurations.delete(id, await httpAuth.credentials(req));
    res.status(204).end();
  });

  router.get('/configurations/:id/versions', async (req, res) => {
    const { id } = parseInput(idParams, req.params, 'path');
    const page = parseInput(paginationSchema.strict(), req.query, 'query');
    const credentials = await httpAuth.credentials(req);
    res.json(await deps.configurations.listVersions(id, page, credentials));
  });

  router.post('/configurations/:id/versions', async (req, res) => {
    const { id } = parseInput(idParams, req.params, 'path');
    const input = parseInput(configurationVersionInputSchema, req.body, 'body');
    const credentials = await httpAuth.credentials(req);
    res
      .status(201)
      .json(await deps.configurations.addVersion(id, input, credentials));
  });

  router.get('/configurations/:id/versions/:version', async (req, res) => {
    const { id, version } = parseInput(versionParams, req.params, 'path');
    const credentials = await httpAuth.credentials(req);
    res.json(await deps.configurations.getVersion(id, version, credentials));
  });

  // Pools

  router.get('/pools', async (req, res) => {
    const page = parseInput(paginationSchema.strict(), req.query, 'query');
    res.json(await deps.pools.list(page, await httpAuth.credentials(req)));
  });

  router.get('/pools/:name', async (req, res) => {
    const { name } = parseInput(nameParams, req.params, 'path');
    res.json(await deps.pools.get(name, await httpAuth.credentials(req)));
  });

  router.get('/pools/:name/storage', async (req, res) => {
    const { name } = parseInput(nameParams, req.params, 'path');
    res.json(await deps.pools.storage(name, await httpAuth.credentials(req)));
  });

  router.get('/usage', async (req, res) => {
    parseInput(emptyBody, req.query, 'query');
    const items = await deps.pools.usage(await httpAuth.credentials(req));
    res.json({ items, totalCount: items.length });
  });

  // The overview board: services × stages.

  router.get('/board', async (req, res) => {
    const { limit, offset, ...filter } = parseInput(
      serviceListQuerySchema,
      req.query,
      'query',
    );
    const credentials = await httpAuth.credentials(req);
    res.json(
      await deps.board.list(
        { page: { limit, offset }, ...filter },
        credentials,
      ),
    );
  });

  // Deployments and operations

  router.get('/deployments', async (req, res) => {
    const { limit, offset, ...filter } = parseInput(
      deploymentListQuerySchema,
      req.query,
      'query',
    );
    const credentials = await httpAuth.credentials(req);
    res.json(
      await deps.deployments.list(
        { page: { limit, offset }, ...filter },
        credentials,
      ),
    );
  });

  router.get('/deployments/:id', async (req, res) => {
    const { id } = parseInput(idParams, req.params, 'path');
    res.json(await deps.deployments.get(id, await httpAuth.credentials(req)));
  });

  // Drift against production

  router.get('/deployments/:id/drift', async (req, res) => {
    const { id } = parseInput(idParams, req.params, 'path');
    parseInput(emptyBody, req.query, 'query');
    res.json(
      await deps.drift.get(
        id,
        { historyLimit: DRIFT_HISTORY },
        await httpAuth.credentials(req),
      ),
    );
  });

  router.post('/deployments/:id/drift/scans', async (req, res) => {
    const { id } = parseInput(idParams, req.params, 'path');
    parseInput(emptyBody, req.body ?? {}, 'body');
    const { report } = await deps.drift.requestScan(
      id,
      await httpAuth.credentials(req),
    );
    res.status(201).json(await report);
  });

  // Lifecycle: every request is recorded as an operation and answered with 202.

  router.post('/deployments', async (req, res) => {
    const input = parseInput(deployInputSchema, req.body, 'body');
    const credentials = await httpAuth.credentials(req);
    res.status(202).json(await deps.lifecycle.deploy(input, credentials));
  });

  router.post('/deployments/:id/clone', async (req, res) => {
    const { id } = parseInput(idParams, req.params, 'path');
    const input = parseInput(cloneInputSchema, req.body ?? {}, 'body');
    const credentials = await httpAuth.credentials(req);
    res.status(202).json(await deps.lifecycle.clone(id, input, credentials));
  });

  for (const kind of ['promote', 'demote'] as const) {
    router.post(`/deployments/:id/${kind}`, async (req, res) => {
      const { id } = parseInput(idParams, req.params, 'path');
      const input = parseInput(moveInputSchema, req.body ?? {}, 'body');
      const credentials = await httpAuth.credentials(req);
      res.status(202).json(await deps.lifecycle[kind](id, input, credentials));
    });
  }

  router.post('/deployments/:id/swap', async (req, res) => {
    const { id } = parseInput(idParams, req.params, 'path');
    const input = parseInput(swapInputSchema, req.body ?? {}, 'body');
    const credentials = await httpAuth.credentials(req);
    res.status(202).json(await deps.lifecycle.swap(id, input, credentials));
  });

  router.post('/deployments/:id/refresh', async (req, res) => {
    const { id } = parseInput(idParams, req.params, 'path');
    parseInput(emptyBody, req.body ?? {}, 'body');
    const credentials = await httpAuth.credentials(req);
    res.status(202).json(await deps.lifecycle.refresh(id, credentials));
  });

  for (const kind of ['start', 'stop'] as const) {
    router.post(`/deployments/:id/${kind}`, async (req, res) => {
      const { id } = parseInput(idParams, req.params, 'path');
      parseInput(emptyBody, req.body ?? {}, 'body');
      const credentials = await httpAuth.credentials(req);
      res.status(202).json(await deps.lifecycle[kind](id, credentials));
    });
  }

  router.delete('/deployments/:id', async (req, res) => {
    const { id } = parseInput(idParams, req.params, 'path');
    const credentials = await httpAuth.credentials(req);
    res.status(202).json(await deps.lifecycle.undeploy(id, credentials));
  });

  router.get('/deployments/:id/lease', async (req, res) => {
    const { id } = parseInput(idParams, req.params, 'path');
    res.json(await deps.leases.get(id, await httpAuth.credentials(req)));
  });

  router.post('/deployments/:id/lease', async (req, res) => {
    const { id } = parseInput(idParams, req.params, 'path');
    const { extendBy } = parseInput(leaseExtendSchema, req.body, 'body');
    const credentials = await httpAuth.credentials(req);
    res.json(await deps.leases.extend(id, extendBy, credentials));
  });

  // Approvals

  router.get('/approvals', async (req, res) => {
    const { limit, offset, ...filter } = parseInput(
      approvalListQuerySchema,
      req.query,
      'query',
    );
    const credentials = await httpAuth.credentials(req);
    res.json(
      await deps.approvals.list(
        { page: { limit, offset }, ...filter },
        credentials,
      ),
    );
  });

  router.get('/approvals/:id', async (req, res) => {
    const { id } = parseInput(idParams, req.params, 'path');
    res.json(await deps.approvals.get(id, await httpAuth.credentials(req)));
  });

  for (const decision of ['approve', 'reject'] as const) {
    router.post(`/approvals/:id/${decision}`, async (req, res) => {
      const { id } = parseInput(idParams, req.params, 'path');
      const { comment } = parseInput(
        approvalDecisionSchema,
        req.body ?? {},
        'body',
      );
      const credentials = await httpAuth.credentials(req);
      res.json(await deps.approvals.decide(id, decision, comment, credentials));
    });
  }

  router.post('/approvals/:id/cancel', async (req, res) => {
    const { id } = parseInput(idParams, req.params, 'path');
    const { comment } = parseInput(
      approvalDecisionSchema,
      req.body ?? {},
      'body',
    );
    const credentials = await httpAuth.credentials(req);
    res.json(await deps.approvals.cancel(id, comment, credentials));
  });

  // Archives

  router.post('/deployments/:id/archive', async (req, res) => {
    const { id } = parseInput(idParams, req.params, 'path');
    const input = parseInput(archiveInputSchema, req.body ?? {}, 'body');
    const credentials = await httpAuth.credentials(req);
    res.status(202).json(await deps.archives.archive(id, input, credentials));
  });

  router.get('/archives', async (req, res) => {
    const query = parseInput(archiveListQuerySchema, req.query, 'query');
    res.json(await deps.archives.list(query, await httpAuth.credentials(req)));
  });

  router.get('/archives/:id', async (req, res) => {
    const { id } = parseInput(idParams, req.params, 'path');
    res.json(await deps.archives.get(id, await httpAuth.credentials(req)));
  });

  router.delete('/archives/:id', async (req, res) => {
    const { id } = parseInput(idParams, req.params, 'path');
    res.json(await deps.archives.delete(id, await httpAuth.credentials(req)));
  });

  router.post('/archives/:id/restore', async (req, res) => {
    const { id } = parseInput(idParams, req.params, 'path');
    const input = parseInput(restoreInputSchema, req.body ?? {}, 'body');
    const credentials = await httpAuth.credentials(req);
    res.status(202).json(await deps.archives.restore(id, input, credentials));
  });

  router.post('/archives/:id/move', async (req, res) => {
    const { id } = parseInput(idParams, req.params, 'path');
    const input = parseInput(archiveMoveInputSchema, req.body ?? {}, 'body');
    const credentials = await httpAuth.credentials(req);
    res.status(202).json(await deps.archives.move(id, input, credentials));
  });

  router.post('/archives/:id/verify', async (req, res) => {
    const { id } = parseInput(idParams, req.params, 'path');
    parseInput(emptyBody, req.body ?? {}, 'body');
    const credentials = await httpAuth.credentials(req);
    res.status(202).json(await deps.archives.verify(id, credentials));
  });

  router.get('/archive-tiers', async (req, res) => {
    parseInput(emptyBody, req.query, 'query');
    res.json(await deps.archives.tiers(await httpAuth.credentials(req)));
  });

  router.get('/operations', async (req, res) => {
    const { limit, offset, ...filter } = parseInput(
      operationListQuerySchema,
      req.query,
      'query',
    );
    const credentials = await httpAuth.credentials(req);
    res.json(
      await deps.deployments.listOperations(
        { page: { limit, offset }, ...filter },
        credentials,
      ),
    );
  });

  router.get('/operations/:id', async (req, res) => {
    const { id } = parseInput(idParams, req.params, 'path');
    res.json(
      await deps.deployments.getOperation(id, await httpAuth.credentials(req)),
    );
  });

  // Audit log

  router.get('/audit-events', async (req, res) => {
    const { limit, offset, ...filter } = parseInput(
      auditListQuerySchema,
      req.query,
      'query',
    );
    const credentials = await httpAuth.credentials(req);
    res.json(
      await deps.auditLog.list(
        { page: { limit, offset }, ...filter },
        credentials,
      ),
    );
  });

  return router;
}

import { z } from 'zod';
import { NAME_PATTERN, NAME_PATTERN_DESCRIPTION } from './names';
import { normalizeEntityRef } from './entityRefs';
import {
  APPROVAL_STATES,
  ARCHIVE_STATES,
  DEPLOYMENT_ROLES,
  DEPLOYMENT_STATES,
  OPERATION_KINDS,
  OPERATION_STATES,
} from './types';

/**
 * zod schemas of the API's input. The backend validates every request with them; the frontend
 * can validate forms with the same rules.
 */

const name = z
  .string()
  .regex(NAME_PATTERN, `must be ${NAME_PATTERN_DESCRIPTION}`);

/** An entity ref in its full form, `kind:namespace/name`, normalized to lower case. */
const entityRef = z
  .string()
  .regex(
    /^[a-z][a-z0-9-]*:[a-z0-9][a-z0-9._-]*\/[A-Za-z0-9][A-Za-z0-9._-]*$/i,
    'must be a full entity ref, kind:namespace/name',
  )
  .transform(normalizeEntityRef);

/** @public */
export const diskSpecSchema = z
  .object({
    name,
    sizeGiB: z.number().int().min(1).max(65536),
    source: z.enum(['base', 'blank']).default('blank'),
  })
  .strict();

/** @public */
export const nicSpecSchema = z
  .object({ name, network: z.literal('fence').default('fence') })
  .strict();

/** Driver-specific paths: absolute, no control characters. */
const driverPath = z
  .string()
  .min(1)
  .max(1024)
  // eslint-disable-next-line no-control-regex -- rejecting control characters is the point
  .regex(/^[^\0-\x1f]+$/, 'must not contain control characters');

/** @public */
export const bootSettingsSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('disk') }).strict(),
  z
    .object({
      type: z.literal('kernel'),
      kernel: driverPath,
      initrd: driverPath.optional(),
      cmdline: z
        .string()
        .max(2048)
        // eslint-disable-next-line no-control-regex -- rejecting control characters is the point
        .regex(/^[^\0-\x1f]*$/, 'must not contain control characters')
        .optional(),
    })
    .strict(),
]);

/** @public */
export const readinessCheckSchema = z
  .object({
    http: z
      .object({
        port: z.number().int().min(1).max(65535),
        path: z
          .string()
          .max(1024)
          .regex(
            /^\/[A-Za-z0-9._~\/?=&%-]*$/,
            'must be a URL path starting with /',
          )
          .default('/'),
        contains: z.string().min(1).max(200).optional(),
      })
      .strict(),
    timeoutSeconds: z.number().int().min(1).max(3600).optional(),
  })
  .strict();

function uniqueNames(items: { name: string }[] | undefined) {
  if (!items) return true;
  return new Set(items.map(i => i.name)).size === items.length;
}

const templateFields = {
  title: z.string().max(200).optional(),
  description: z.string().max(4000).optional(),
  driver: name,
  baseImage: driverPath,
  vcpus: z.number().int().min(1).max(256),
  memoryMiB: z
    .number()
    .int()
    .min(16)
    .max(4 * 1024 * 1024),
  disks: z
    .array(diskSpecSchema)
    .min(1)
    .max(16)
    .refine(uniqueNames, 'disk names must be unique'),
  nics: z
    .array(nicSpecSchema)
    .max(8)
    .refine(uniqueNames, 'nic names must be unique'),
  boot: bootSettingsSchema,
  readiness: readinessCheckSchema.optional(),
};

/** Body of `POST /templates`. @public */
export const templateInputSchema = z
  .object({
    name,
    ...templateFields,
    nics: templateFields.nics.default([{ name: 'eth0', network: 'fence' }]),
    boot: templateFields.boot.default({ type: 'disk' }),
  })
  .strict();

/** @public */
export type TemplateInput = z.input<typeof templateInputSchema>;

/**
 * Body of `PATCH /templates/:name`: any subset of the fields except the name. Fields that are
 * left out keep their stored values (no defaults are applied).
 *
 * @public
 */
export const templatePatchSchema = z.object(templateFields).partial().strict();

/** @public */
export type TemplatePatch = z.input<typeof templatePatchSchema>;

/** @public */
export const machineSpecSchema = z
  .object({
    name,
    template: name,
    tier: name.optional(),
    startOrder: z.number().int().min(0).max(1000).default(0),
    vcpus: z.number().int().min(1).max(256).optional(),
    memoryMiB: z
      .number()
      .int()
      .min(16)
      .max(4 * 1024 * 1024)
      .optional(),
    disks: z
      .array(diskSpecSchema)
      .min(1)
      .max(16)
      .refine(uniqueNames, 'disk names must be unique')
      .optional(),
  })
  .strict();

const machines = z
  .array(machineSpecSchema)
  .min(1)
  .max(200)
  .refine(uniqueNames, 'machine names must be unique within a configuration');

/** Body of `POST /configurations`. @public */
export const configurationInputSchema = z
  .object({
    serviceRef: entityRef,
    name,
    description: z.string().max(4000).optional(),
    machines,
    notes: z.string().max(4000).optional(),
  })
  .strict();

/** @public */
export type ConfigurationInput = z.input<typeof configurationInputSchema>;

/** Body of `PATCH /configurations/:id`. @public */
export const configurationPatchSchema = z
  .object({ description: z.string().max(4000) })
  .strict();

/** Body of `POST /configurations/:id/versions`. @public */
export const configurationVersionInputSchema = z
  .object({
    machines,
    notes: z.string().max(4000).optional(),
    /**
     * The version this change was based on. When given and it is not the latest version,
     * the request fails with 409 instead of overwriting someone else's change.
     */
    basedOnVersion: z.number().int().min(1).optional(),
  })
  .strict();

/** @public */
export type ConfigurationVersionInput = z.input<
  typeof configurationVersionInputSchema
>;

/** Query of every list endpoint. @public */
export const paginationSchema = z.object({
  limit: z.coerce.number().int().min(1).max(500).default(50),
  offset: z.coerce.number().int().min(0).default(0),
});

/** @public */
export const configurationListQuerySchema = paginationSchema
  .extend({ serviceRef: entityRef.optional() })
  .strict();

/** @public */
export const deploymentListQuerySchema = paginationSchema
  .extend({
    serviceRef: entityRef.optional(),
    stage: name.optional(),
    state: z.enum(DEPLOYMENT_STATES).optional(),
    role: z.enum(DEPLOYMENT_ROLES).optional(),
  })
  .strict();

/** @public */
export const operationListQuerySchema = paginationSchema
  .extend({
    serviceRef: entityRef.optional(),
    deploymentId: z.string().uuid().optional(),
    kind: z.enum(OPERATION_KINDS).optional(),
    state: z.enum(OPERATION_STATES).optional(),
  })
  .strict();

/** @public */
export const auditListQuerySchema = paginationSchema
  .extend({
    serviceRef: entityRef.optional(),
    targetKind: z.string().max(64).optional(),
    targetId: z.string().max(200).optional(),
  })
  .strict();

/** @public */
export const serviceListQuerySchema = paginationSchema
  .extend({
    /** Case-insensitive text filter on the entity's name and title. */
    search: z.string().max(200).optional(),
    /** Only services owned by this entity ref (`spec.owner`). */
    owner: entityRef.optional(),
    /** Only services of this system (`spec.system`, a system name or ref). */
    system: z.string().min(1).max(253).optional(),
  })
  .strict();

/** Body of `POST /deployments`: deploy a configuration version into a stage. @public */
export const deployInputSchema = z
  .object({
    configurationId: z.string().uuid('must be a UUID'),
    /** Defaults to the configuration's latest version. */
    version: z.number().int().min(1).optional(),
    stage: name,
  })
  .strict();

/** @public */
export type DeployInput = z.input<typeof deployInputSchema>;

/** Body of `POST /deployments/:id/clone`. @public */
export const cloneInputSchema = z
  .object({
    /** Stage the copy runs in; defaults to the source's stage. */
    stage: name.optional(),
    /** `linked` disks share the source's frozen content (seconds); `full` copies it. */
    mode: z.enum(['linked', 'full']).default('linked'),
  })
  .strict();

/** @public */
export type CloneInput = z.input<typeof cloneInputSchema>;

/** Body of `POST /deployments/:id/promote` and `/demote`. @public */
export const moveInputSchema = z
  .object({ comment: z.string().max(2000).optional() })
  .strict();

/** Body of `POST /deployments/:id/swap`. @public */
export const swapInputSchema = z
  .object({
    /** Stage whose primary deployment this one replaces; defaults to the source's stage. */
    stage: name.optional(),
    comment: z.string().max(2000).optional(),
  })
  .strict();

/** @public */
export type SwapInput = z.input<typeof swapInputSchema>;

/** An ISO 8601 duration such as `P3D` or `PT12H`. */
const isoDuration = z
  .string()
  .max(64)
  .regex(
    /^P(?!$)(\d+Y)?(\d+M)?(\d+W)?(\d+D)?(T(?=\d)(\d+H)?(\d+M)?(\d+S)?)?$/,
    'must be an ISO 8601 duration such as P3D or PT12H',
  );

/** Body of `POST /deployments/:id/lease`: extend a lease by a duration, up to its maximum. @public */
export const leaseExtendSchema = z.object({ extendBy: isoDuration }).strict();

/** @public */
export type LeaseExtendInput = z.input<typeof leaseExtendSchema>;

/** Body of `POST /approvals/:id/approve` and `/reject`. @public */
export const approvalDecisionSchema = z
  .object({ comment: z.string().max(2000).optional() })
  .strict();

/** @public */
export const approvalListQuerySchema = paginationSchema
  .extend({
    serviceRef: entityRef.optional(),
    state: z.enum(APPROVAL_STATES).optional(),
  })
  .strict();

/** Body of `POST /deployments/:id/archive`. @public */
export const archiveInputSchema = z
  .object({ description: z.string().max(2000).optional() })
  .strict();

/** @public */
export type ArchiveInput = z.input<typeof archiveInputSchema>;

/** Body of `POST /archives/:id/restore`. @public */
export const restoreInputSchema = z
  .object({
    /**
     * `new`: a new deployment in `stage` (its own fence; the stage's primary when the stage has
     * none, a copy otherwise). `replace`: over the deployment the archive came from, in its stage
     * (that deployment is replaced once the restored one runs; a primary is retired and kept for
     * rollback like after a swap).
     */
    mode: z.enum(['new', 'replace']).default('new'),
    /** Target stage of a `new` restore; defaults to the archive's stage. */
    stage: name.optional(),
    comment: z.string().max(2000).optional(),
  })
  .strict();

/** @public */
export type RestoreInput = z.input<typeof restoreInputSchema>;

/** Body of `POST /archives/:id/move`: move an archive to another storage tier. @public */
export const archiveMoveInputSchema = z.object({ tier: name }).strict();

/** @public */
export type ArchiveMoveInput = z.input<typeof archiveMoveInputSchema>;

/** @public */
export const archiveListQuerySchema = paginationSchema
  .extend({
    serviceRef: entityRef.optional(),
    stage: name.optional(),
    sourceDeploymentId: z.string().uuid().optional(),
    tier: name.optional(),
    /** Defaults to available archives. */
    state: z.enum(ARCHIVE_STATES).optional(),
  })
  .strict();

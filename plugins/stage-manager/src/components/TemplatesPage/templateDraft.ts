import { templateInputSchema } from '@internal/plugin-stage-manager-common';
import { Checked, FieldErrors } from '../ConfigurationsPage/configurationDraft';

/** The create-template form: every field is the text typed into it. */
export interface TemplateDraft {
  name: string;
  title: string;
  description: string;
  driver: string;
  baseImage: string;
  vcpus: string;
  memoryMiB: string;
  /** Size of the `root` disk, cloned from the base image. */
  rootDiskGiB: string;
  /** Port of the HTTP readiness check; none when empty. */
  readinessPort: string;
  readinessPath: string;
}

/** What the form starts with. */
export const EMPTY_TEMPLATE_DRAFT: TemplateDraft = {
  name: '',
  title: '',
  description: '',
  driver: 'libvirt',
  baseImage: '',
  vcpus: '1',
  memoryMiB: '1024',
  rootDiskGiB: '10',
  readinessPort: '',
  readinessPath: '/',
};

/** The body of `POST /templates`, as the schema outputs it. */
export type TemplateBody = ReturnType<typeof templateInputSchema.parse>;

function text(value: string): string | undefined {
  const trimmed = value.trim();
  return trimmed === '' ? undefined : trimmed;
}

function number(value: string): number | undefined {
  return value.trim() === '' ? undefined : Number(value);
}

/**
 * Checks the form with the API's schema. The template boots from its disk, has one `root` disk
 * cloned from the base image and one NIC on the fence; field errors are keyed by form field.
 */
export function checkTemplateDraft(
  draft: TemplateDraft,
): Checked<TemplateBody> {
  const port = number(draft.readinessPort);
  const result = templateInputSchema.safeParse({
    name: draft.name.trim(),
    title: text(draft.title),
    description: text(draft.description),
    driver: draft.driver.trim(),
    baseImage: draft.baseImage.trim(),
    vcpus: number(draft.vcpus),
    memoryMiB: number(draft.memoryMiB),
    disks: [
      { name: 'root', sizeGiB: number(draft.rootDiskGiB), source: 'base' },
    ],
    boot: { type: 'disk' },
    readiness:
      port === undefined
        ? undefined
        : { http: { port, path: text(draft.readinessPath) ?? '/' } },
  });
  if (result.success) {
    return { ok: true, value: result.data };
  }
  const fields: Record<string, keyof TemplateDraft> = {
    'disks.0.sizeGiB': 'rootDiskGiB',
    'readiness.http.port': 'readinessPort',
    'readiness.http.path': 'readinessPath',
  };
  const errors: FieldErrors = {};
  for (const issue of result.error.issues) {
    const path = issue.path.map(String).join('.');
    const field = fields[path] ?? path;
    errors[field] ??= issue.message;
  }
  return { ok: false, errors };
}

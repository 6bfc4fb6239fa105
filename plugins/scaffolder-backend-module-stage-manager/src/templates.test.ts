import {
  Entity,
  locationEntityV1alpha1Validator,
} from '@backstage/catalog-model';
import {
  TemplateEntityV1beta3,
  templateEntityV1beta3Validator,
} from '@backstage/plugin-scaffolder-common';
import { TemplateAction } from '@backstage/plugin-scaffolder-node';
import { JsonObject, JsonValue } from '@backstage/types';
import { validate } from 'jsonschema';
import fs from 'node:fs';
import path from 'node:path';
import { createTemplateRenderer, TemplateContext } from 'nunjitsu';
import yaml from 'yaml';
import { FakeStageManagerServer } from './__testUtils__/FakeStageManagerServer';
import {
  createTestActionContext,
  createTestClient,
} from './__testUtils__/testContext';
import { createStageManagerActions } from './actions';

const TEMPLATES_DIR = path.resolve(__dirname, '../../../examples/templates');
const LOCATION_FILE = 'templates.yaml';

/** An existing deployment, for templates that act on one. */
const DEPLOYMENT_ID = 'e3d5c7a9-1b2c-4d3e-8f4a-5b6c7d8e9f01';

/**
 * Values a user would plausibly enter for parameters without a default. Optional parameters
 * that are missing here stay unset, as when the user leaves them empty.
 */
const PLAUSIBLE_PARAMETERS: Record<string, JsonValue> = {
  // EntityPicker submits the full, stringified entity ref.
  serviceRef: 'component:default/shop-frontend',
  name: 'shop-web',
  deploymentId: DEPLOYMENT_ID,
  comment: 'Passed the integration tests',
};

function readYaml(file: string): Entity[] {
  return yaml
    .parseAllDocuments(fs.readFileSync(path.join(TEMPLATES_DIR, file), 'utf8'))
    .map(doc => doc.toJSON());
}

const templateFiles = fs
  .readdirSync(TEMPLATES_DIR)
  .filter(f => f.endsWith('.yaml') && f !== LOCATION_FILE)
  .sort();

/** Parameter pages of a template as a list of JSON schemas. */
function parameterSchemas(template: TemplateEntityV1beta3): JsonObject[] {
  const { parameters } = template.spec;
  if (!parameters) return [];
  return (
    Array.isArray(parameters) ? parameters : [parameters]
  ) as JsonObject[];
}

/** Fills in what a user would submit: plausible values, else the form's defaults. */
function plausibleParameters(template: TemplateEntityV1beta3): JsonObject {
  const values: JsonObject = {};
  for (const page of parameterSchemas(template)) {
    const properties = (page.properties ?? {}) as Record<string, JsonObject>;
    const required = (page.required ?? []) as string[];
    for (const [name, schema] of Object.entries(properties)) {
      if (name in PLAUSIBLE_PARAMETERS) {
        values[name] = PLAUSIBLE_PARAMETERS[name];
      } else if (schema.default !== undefined) {
        values[name] = schema.default;
      } else if (required.includes(name)) {
        throw new Error(
          `Add a plausible value for the required parameter '${name}' of ${template.metadata.name} to PLAUSIBLE_PARAMETERS`,
        );
      }
    }
  }
  return values;
}

/** The scaffolder's renderer, used the way its workflow runner renders step inputs. */
const renderer = createTemplateRenderer({ allowRegexExecution: true });

function render<T extends JsonValue>(value: T, context: JsonObject): T {
  return JSON.parse(JSON.stringify(value), (_key, v) =>
    typeof v === 'string'
      ? renderer.renderValue(v, context as TemplateContext)
      : v,
  );
}

/** Each `${{ … }}` expression found in the strings of a value. */
function expressionsIn(value: JsonValue | undefined): string[] {
  const found: string[] = [];
  JSON.stringify(value ?? null, (_key, v) => {
    if (typeof v === 'string') {
      found.push(...(v.match(/\$\{\{.*?\}\}/g) ?? []));
    }
    return v;
  });
  return found;
}

describe('examples/templates', () => {
  const server = FakeStageManagerServer.forTests();
  beforeAll(() => {
    server.addDeployment({ id: DEPLOYMENT_ID, stage: 'integration' });
  });

  const actions: TemplateAction<any, any, any>[] = createStageManagerActions({
    client: createTestClient(server).client,
    pollIntervalMs: 5,
  });
  const actionsById = new Map(actions.map(a => [a.id, a]));

  it('lists every template in the Location that app-config.yaml reads', async () => {
    const [location] = readYaml(LOCATION_FILE);
    await expect(locationEntityV1alpha1Validator.check(location)).resolves.toBe(
      true,
    );
    const targets = (location.spec!.targets as string[])
      .map(t => path.normalize(t))
      .sort();
    expect(targets).toEqual(templateFiles);

    const appConfig = yaml.parse(
      fs.readFileSync(
        path.resolve(TEMPLATES_DIR, '../../app-config.yaml'),
        'utf8',
      ),
    );
    const entry = appConfig.catalog.locations.find(
      (l: { target: string }) =>
        l.target === '../../examples/templates/templates.yaml',
    );
    expect(entry).toEqual({
      type: 'file',
      target: '../../examples/templates/templates.yaml',
      rules: [{ allow: ['Template', 'Location'] }],
    });
  });

  it('has the four Stage Manager templates', () => {
    expect(templateFiles).toEqual([
      'archive-and-restore.yaml',
      'new-service-configuration.yaml',
      'promote-deployment.yaml',
      'refresh-from-production.yaml',
    ]);
  });

  describe.each(templateFiles)('%s', file => {
    const [template] = readYaml(file) as TemplateEntityV1beta3[];

    it('is a valid scaffolder.backstage.io/v1beta3 Template', async () => {
      expect(template.kind).toBe('Template');
      await expect(
        templateEntityV1beta3Validator.check(template),
      ).resolves.toBe(true);
    });

    it('uses only Stage Manager actions', () => {
      expect(template.spec.steps.length).toBeGreaterThan(0);
      for (const step of template.spec.steps) {
        expect([...actionsById.keys()]).toContain(step.action);
      }
    });

    it('accepts the plausible parameters in its own form schema', () => {
      const parameters = plausibleParameters(template);
      for (const page of parameterSchemas(template)) {
        const result = validate(parameters, { ...page, type: 'object' });
        expect(result.errors.map(String)).toEqual([]);
      }
    });

    it.each([
      ['runs', false],
      ['dry-runs', true],
    ])(
      '%s its steps with inputs that validate against the actions’ schemas, and renders its output',
      async (_mode, isDryRun) => {
        const context: JsonObject = {
          parameters: plausibleParameters(template),
          steps: {},
          user: { ref: 'user:default/ann' },
        };
        for (const step of template.spec.steps) {
          const action = actionsById.get(step.action)!;
          const input = render((step.input ?? {}) as JsonObject, context);

          expect(expressionsIn(input)).toEqual([]);
          const result = validate(input, action.schema!.input!);
          expect({ step: step.id, errors: result.errors.map(String) }).toEqual({
            step: step.id,
            errors: [],
          });

          const run = createTestActionContext({ input, isDryRun });
          await action.handler(run.ctx);
          (context.steps as JsonObject)[step.id!] = { output: run.outputs() };
        }

        // A dry run changes nothing; a run makes one request per step.
        expect(server.mutatingRequests()).toHaveLength(
          isDryRun ? 0 : template.spec.steps.length,
        );

        // Every expression of the output resolves to something.
        for (const expression of expressionsIn(template.spec.output)) {
          const value = renderer.renderValue(
            expression,
            context as TemplateContext,
          );
          expect({ expression, value }).toEqual({
            expression,
            value: expect.anything(),
          });
          expect({ expression, value: String(value) }).not.toEqual({
            expression,
            value: '',
          });
        }
        render(template.spec.output as JsonObject, context);
      },
    );
  });
});

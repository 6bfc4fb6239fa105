import { TemplateAction } from '@backstage/plugin-scaffolder-node';
import { JsonObject } from '@backstage/types';
import { validate } from 'jsonschema';
import yaml from 'yaml';
import { FakeStageManagerServer } from '../__testUtils__/FakeStageManagerServer';
import {
  createTestActionContext,
  createTestClient,
} from '../__testUtils__/testContext';
import { createStageManagerActions } from './createStageManagerActions';

/** Ids the examples refer to, seeded into the fake backend. */
const EXAMPLE_CONFIGURATION_ID = '3f2b8c1e-5d4a-4e7b-9c61-2a8f0d9e7b15';
const EXAMPLE_DEPLOYMENT_ID = '9a7c4e21-6b3d-4f8a-8e52-1c0d7b9f3a64';
const EXAMPLE_ARCHIVE_ID = '5e8d2b7a-1c4f-4a9e-b36d-0f2e7c9a1b84';

describe('examples of the Stage Manager actions', () => {
  const server = FakeStageManagerServer.forTests();
  beforeAll(() => {
    server.addConfiguration({ id: EXAMPLE_CONFIGURATION_ID, latestVersion: 2 });
    server.addDeployment({ id: EXAMPLE_DEPLOYMENT_ID });
    server.addArchive({ id: EXAMPLE_ARCHIVE_ID });
  });

  // Built before the server starts (describe.each needs the examples); asks for its URL later.
  const actions: TemplateAction<any, any, any>[] = createStageManagerActions({
    client: createTestClient({
      get baseUrl() {
        return server.baseUrl;
      },
    }).client,
    pollIntervalMs: 5,
  });

  const cases = actions.flatMap(action =>
    (action.examples ?? []).map(example => ({
      action,
      description: example.description,
      steps: yaml.parse(example.example).steps as Array<{
        action: string;
        input: JsonObject;
      }>,
    })),
  );

  it('has examples for every action', () => {
    expect(
      actions.filter(action => !action.examples?.length).map(a => a.id),
    ).toEqual([]);
  });

  describe.each(cases)('$action.id: $description', ({ action, steps }) => {
    it('uses the action with input its schema accepts', () => {
      expect(steps.length).toBeGreaterThan(0);
      for (const step of steps) {
        expect(step.action).toBe(action.id);
        const result = validate(step.input, action.schema!.input!);
        expect(result.errors.map(String)).toEqual([]);
      }
    });

    it('runs against the backend and outputs what its schema declares', async () => {
      for (const step of steps) {
        const { ctx, outputs } = createTestActionContext({ input: step.input });
        await action.handler(ctx);
        expect(server.mutatingRequests()).toHaveLength(1);
        const result = validate(outputs(), action.schema!.output!);
        expect(result.errors.map(String)).toEqual([]);
      }
    });

    it('runs as a dry run without changing anything', async () => {
      for (const step of steps) {
        const { ctx } = createTestActionContext({
          input: step.input,
          isDryRun: true,
        });
        await action.handler(ctx);
      }
      expect(server.mutatingRequests()).toEqual([]);
    });
  });
});

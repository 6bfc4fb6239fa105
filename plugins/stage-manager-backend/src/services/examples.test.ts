import { ConfigReader } from '@backstage/config';
import { Entity } from '@backstage/catalog-model';
import fs from 'node:fs';
import path from 'node:path';
import { parse, parseAllDocuments } from 'yaml';
import { readStageManagerConfig } from '../config/StageManagerConfig';
import { resolveService } from './resolveService';

const root = path.resolve(__dirname, '../../../..');

describe('the shipped example services and app-config', () => {
  const appConfig = parse(
    fs.readFileSync(path.join(root, 'app-config.yaml'), 'utf8'),
  );
  const config = readStageManagerConfig(new ConfigReader(appConfig));
  const entities = parseAllDocuments(
    fs.readFileSync(path.join(root, 'examples/entities.yaml'), 'utf8'),
  ).map(d => d.toJS() as Entity);

  it('resolves every example service, and reports the deliberately broken one', () => {
    const services = entities.map(e => resolveService(e, config));
    const byName = Object.fromEntries(services.map(s => [s.name, s]));
    expect(Object.keys(byName).sort()).toEqual([
      'inventory',
      'payments',
      'reporting',
      'shop-frontend',
      'webshop',
    ]);
    for (const name of ['inventory', 'payments', 'shop-frontend', 'webshop']) {
      expect([name, byName[name].problems]).toEqual([name, []]);
    }
    expect(byName.reporting.problems).toEqual([
      "stage-manager.io/workflow: no workflow named 'nightly' (known: default, fast)",
    ]);
    expect(byName.payments.stages).toEqual([
      { name: 'test', pool: 'lab', approvers: [], requiredApprovals: 0 },
      {
        name: 'staging',
        pool: 'lab',
        approvers: ['group:default/qa'],
        requiredApprovals: 1,
      },
      {
        name: 'production',
        pool: 'prod',
        approvers: ['group:default/release-managers', 'user:default/ann'],
        requiredApprovals: 2,
      },
    ]);
    expect(
      byName['shop-frontend'].stages.map(s => `${s.name}@${s.pool}`),
    ).toEqual([
      'integration@lab',
      'test@lab',
      'staging@lab',
      'uat@lab',
      'production@prod',
    ]);
  });
});

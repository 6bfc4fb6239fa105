/**
 * Screenshots of every Stage Manager page, from the running portal (./scripts/start.sh), in
 * Debian's Chromium driven by playwright-core. Seeds what the pages show through the API when the
 * shop-frontend service has no running deployment yet. The end-to-end suite runs the same
 * functions (into .cache/e2e-artifacts); this script refreshes the committed ones:
 *
 *   node -r sucrase/register e2e/screenshots.ts [outDir=docs/screenshots]
 */
import { Browser, Page } from 'playwright-core';
import fs from 'node:fs';
import path from 'node:path';
import { launchChromium, signedInPage } from './browser';
import { FRONTEND, api, settle, signIn } from './portal';

/** Gives every page something to show: a configuration of shop-frontend with two versions and running deployments. */
export async function seedShowcase() {
  const guest = await signIn('guest');
  const service = 'component:default/shop-frontend';
  const configs = await api(
    guest,
    'GET',
    `/configurations?serviceRef=${service}`,
  );
  let configuration = configs.items[0];
  if (!configuration) {
    const machines = [
      { name: 'app', template: 'tiny-linux', tier: 'app', startOrder: 0 },
      { name: 'web', template: 'tiny-linux', tier: 'web', startOrder: 1 },
    ];
    configuration = await api(guest, 'POST', '/configurations', {
      serviceRef: service,
      name: 'shop-stack',
      description: 'Web and app tier of the shop',
      machines,
    });
    // A second version, so the configuration page has a diff to show.
    await api(guest, 'POST', `/configurations/${configuration.id}/versions`, {
      basedOnVersion: 1,
      notes: 'Web tier: more memory, a cache machine',
      machines: [
        machines[0],
        { ...machines[1], memoryMiB: 256 },
        { name: 'cache', template: 'tiny-linux', tier: 'cache', startOrder: 2 },
      ],
    });
  }
  const configurationId = configuration.id as string;
  const running = await api(
    guest,
    'GET',
    `/deployments?serviceRef=${service}&state=running`,
  );
  if (running.totalCount > 0) {
    return { deploymentId: running.items[0].id as string, configurationId };
  }
  const run = async (url: string, body: object) => {
    const op = await settle(guest, (await api(guest, 'POST', url, body)).id);
    if (!['succeeded', 'awaiting-approval'].includes(op.state)) {
      throw new Error(`${op.kind} ${op.state}: ${op.error ?? ''}`);
    }
    return op;
  };
  // Version 1 goes integration → test → staging; staging is cloned back into test as a copy;
  // version 2 is deployed into integration; the promotion of staging into UAT waits for QA.
  const deployed = await run('/deployments', {
    configurationId,
    version: 1,
    stage: 'integration',
  });
  const inTest = await run(
    `/deployments/${deployed.targetDeploymentId}/promote`,
    {},
  );
  const inStaging = await run(
    `/deployments/${inTest.targetDeploymentId}/promote`,
    {},
  );
  const staging = inStaging.targetDeploymentId as string;
  await run(`/deployments/${staging}/clone`, { stage: 'test' });
  await run('/deployments', {
    configurationId,
    version: 2,
    stage: 'integration',
  });
  await run(`/deployments/${staging}/promote`, {});
  return { deploymentId: staging, configurationId };
}

async function shot(
  out: string,
  page: Page,
  name: string,
  url: string,
  waitFor: string,
  settleMs = 1500,
) {
  const start = Date.now();
  await page.goto(`${FRONTEND}${url}`);
  try {
    await page
      .getByText(waitFor, { exact: false })
      .first()
      .waitFor({ timeout: 30_000 });
  } finally {
    await page.waitForTimeout(settleMs);
    await page.screenshot({
      path: path.join(out, `${name}.png`),
      fullPage: true,
    });
  }
  console.log(`${name}: ${url} (${Date.now() - start} ms)`);
}

/**
 * Screenshots of every page into `out`; each waits for content that only a populated page has.
 * Returns the file names.
 */
export async function takeScreenshots(
  browser: Browser,
  out: string,
  seeded: { deploymentId: string; configurationId: string },
): Promise<string[]> {
  const { deploymentId, configurationId } = seeded;
  fs.mkdirSync(out, { recursive: true });
  const page = await signedInPage(browser, FRONTEND);
  try {
    await shot(out, page, 'overview', '/stage-manager', 'Shop frontend');
    await shot(
      out,
      page,
      'service',
      '/stage-manager/services/component/default/shop-frontend',
      'Audit',
    );
    await shot(
      out,
      page,
      'consoles',
      `/stage-manager/deployments/${deploymentId}/consoles`,
      'web',
      10_000,
    );
    await shot(
      out,
      page,
      'configurations',
      '/stage-manager/configurations',
      'shop-stack',
    );
    await shot(
      out,
      page,
      'configuration',
      `/stage-manager/configurations/${configurationId}`,
      'cache',
    );
    await shot(
      out,
      page,
      'configuration-editor',
      `/stage-manager/configurations/${configurationId}/edit`,
      'Machine 3',
    );
    await shot(
      out,
      page,
      'templates',
      '/stage-manager/templates',
      'tiny-linux',
    );
    await shot(out, page, 'usage', '/stage-manager/usage', 'lab');
    await shot(out, page, 'storage', '/stage-manager/storage?pool=lab', 'sm-');
  } finally {
    await page.context().close();
  }
  const dark = await signedInPage(browser, FRONTEND, { theme: 'dark' });
  try {
    await shot(
      out,
      dark,
      'service-dark',
      '/stage-manager/services/component/default/shop-frontend',
      'Audit',
    );
  } finally {
    await dark.context().close();
  }
  return [
    'overview',
    'service',
    'consoles',
    'usage',
    'storage',
    'service-dark',
  ].map(n => `${n}.png`);
}

async function main() {
  const out = path.resolve(process.argv[2] ?? 'docs/screenshots');
  const seeded = await seedShowcase();
  const browser = await launchChromium();
  try {
    for (const file of await takeScreenshots(browser, out, seeded)) {
      console.log(path.join(out, file));
    }
  } finally {
    await browser.close();
  }
}

if (require.main === module) {
  main().catch(error => {
    console.error(error);
    process.exit(1);
  });
}

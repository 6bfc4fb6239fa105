/**
 * End-to-end tests of the portal in Debian's Chromium: the README start command on a fresh data
 * directory, the real backend and the real libvirt driver booting real guests.
 *
 *   node -r sucrase/register e2e/portal.e2e.ts
 *
 * Two people take part: the guest (shop-team, owns the `inventory` service) and bob (release
 * managers), who approves the promotion into production from his own browser session.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { Browser, Locator, Page } from 'playwright-core';
import { launchChromium, signedInPage } from './browser';
import { seedShowcase, takeScreenshots } from './screenshots';
import {
  FRONTEND,
  Portal,
  api,
  signIn,
  startPortal,
  undeployAll,
} from './portal';

const SERVICE = 'component:default/inventory';
const SERVICE_PATH = '/stage-manager/services/component/default/inventory';
const STEP_TIMEOUT = 240_000;

let portal: Portal;
let browser: Browser;
let page: Page;
const artifacts = path.resolve(
  process.env.SM_E2E_ARTIFACTS ?? '.cache/e2e-artifacts',
);

function log(message: string) {
  console.log(`# ${new Date().toISOString().slice(11, 19)} ${message}`);
}

async function until(condition: () => Promise<boolean>, ms: number) {
  const deadline = Date.now() + ms;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`not true within ${ms} ms`);
    await new Promise(r => setTimeout(r, 500));
  }
}

/** Waits until the operation panel shows an end state; fails with the operation's text unless it succeeded. */
async function expectSucceeded(operation: Locator, ms = STEP_TIMEOUT) {
  const ended = operation.getByText(
    /^(succeeded|failed|rolled-back|rolled back)$/,
  );
  await ended.first().waitFor({ timeout: ms });
  const state = await ended.first().innerText();
  if (state !== 'succeeded') {
    assert.fail(`operation ${state}: ${await operation.innerText()}`);
  }
}

function stage(name: string) {
  return page.getByRole('region', { name: `Stage ${name}` });
}

before(async () => {
  fs.mkdirSync(artifacts, { recursive: true });
  log('starting the portal with scripts/start.sh');
  portal = await startPortal({ waitForServices: [SERVICE] });
  log(`portal answered after ${portal.startupMs} ms (log: ${portal.log})`);
  browser = await launchChromium();
  page = await signedInPage(browser, FRONTEND);
});

after(async () => {
  let cleanup: Error | undefined;
  try {
    if (page) {
      await page
        .screenshot({ path: path.join(artifacts, 'last.png'), fullPage: true })
        .catch(() => undefined);
    }
    await browser?.close();
    // Nothing the tests built may stay on the hypervisor, pass or fail.
    if (portal) await undeployAll(await signIn('guest'));
  } catch (error) {
    cleanup = error as Error;
  } finally {
    await portal?.stop();
    if (portal) fs.copyFileSync(portal.log, path.join(artifacts, 'portal.log'));
  }
  if (!portal) return;
  if (cleanup) {
    // node:test reports a failed top-level `after` hook but still exits 0: make CI fail.
    process.exitCode = 1;
    throw new Error(
      `cleanup failed; the data is kept for \`node -r sucrase/register e2e/cleanup.ts ${portal.dir}\`: ${cleanup.message}`,
    );
  }
  fs.rmSync(portal.dir, { recursive: true, force: true });
});

test('the overview lists the services with their stages', async () => {
  await page.goto(`${FRONTEND}/`);
  await page.waitForURL('**/stage-manager');
  const row = page.getByRole('row', { name: /Inventory/ });
  await row.waitFor();
  const header = page.getByRole('columnheader', { name: 'production' });
  await header.first().waitFor();
  // The misconfigured example service shows its problem instead of stages.
  await page.getByText('Reporting').first().waitFor();
});

let configurationId: string;

test('a configuration is built from templates, edited, and its versions compared', async () => {
  await page.goto(
    `${FRONTEND}/stage-manager/configurations/new?service=${encodeURIComponent(
      SERVICE,
    )}`,
  );
  const form = page.getByRole('form', { name: 'Configuration editor' });
  await form.locator('#configuration-name').fill('inventory-stack');
  await form
    .locator('#configuration-description')
    .fill('Database and app tier of the inventory tool');
  const addMachine = form.getByRole('button', { name: 'Add machine' });
  for (const [i, name] of ['db', 'app'].entries()) {
    await addMachine.click();
    const machine = form.getByRole('group', {
      name: new RegExp(`^Machine ${i + 1}`),
    });
    await machine.getByLabel('Name').fill(name);
    await machine.getByLabel('Tier').fill(name);
    await machine.getByLabel('Start order').fill(String(i));
  }
  await form.getByRole('button', { name: 'Save' }).click();
  await page.waitForURL(/\/configurations\/[0-9a-f-]{36}$/);
  configurationId = page.url().split('/').pop()!;

  // A second version: more memory for the app tier.
  await page.getByText('Edit', { exact: true }).click();
  await page.waitForURL(/\/edit$/);
  const app = form.getByRole('group', { name: /^Machine 2/ });
  await app.getByLabel('Memory (MiB)').fill('256');
  await form.getByLabel('Notes of version 2').fill('More memory for the app');
  await form.getByRole('button', { name: 'Save' }).click();
  await page.waitForURL(/\/configurations\/[0-9a-f-]{36}$/);

  const diff = page.getByRole('list', {
    name: 'Machine changes from version 1 to version 2',
  });
  const changed = diff.getByRole('listitem', { name: 'app changed' });
  await changed.waitFor();
  assert.match(await changed.innerText(), /256/);
  assert.equal(
    await diff.getByRole('listitem', { name: 'db changed' }).count(),
    0,
  );
  await page.screenshot({
    path: path.join(artifacts, 'configuration-diff.png'),
    fullPage: true,
  });
});

test('the service page shows the pipeline and deploys a configuration', async () => {
  await page.goto(`${FRONTEND}/stage-manager`);
  await page.getByRole('link', { name: 'Inventory' }).first().click();
  await page.waitForURL(`**${SERVICE_PATH}`);
  await stage('integration').waitFor();
  await stage('production').waitFor();

  await stage('integration').getByRole('button', { name: 'Deploy' }).click();
  const dialog = page.getByRole('dialog', { name: 'Deploy to integration' });
  await dialog.waitFor();
  await dialog.getByLabel('Configuration').click();
  await page.getByRole('option', { name: 'inventory-stack' }).click();
  await dialog.getByRole('button', { name: 'Deploy' }).click();

  // Progress: the operation appears with its steps and finishes.
  const operation = page.getByRole('group', { name: /^Operation deploy/i });
  await operation.first().waitFor();
  log('deploy requested; watching its progress');
  const progress = operation.first().getByRole('progressbar');
  await progress.waitFor();
  await expectSucceeded(operation.first());
  log('deploy succeeded');
  const card = stage('integration').getByRole('group', {
    name: /^Deployment /,
  });
  await card.getByText('running').first().waitFor();
  assert.match(
    (await card.getByRole('table').innerText()) ?? '',
    /db[\s\S]*app|app[\s\S]*db/,
  );
});

test('the console wall shows a frame of every machine', async () => {
  const card = stage('integration').getByRole('group', {
    name: /^Deployment /,
  });
  await card.getByRole('link', { name: 'Consoles' }).click();
  await page.waitForURL('**/consoles');
  for (const machine of ['db', 'app']) {
    const tile = page.getByRole('region', { name: `Console of ${machine}` });
    await tile.waitFor();
    await tile.locator('canvas').first().waitFor({ timeout: 60_000 });
  }
  // A frame: the canvas holds pixels that are not all one colour.
  const distinct = await page.waitForFunction(
    () => {
      const canvases = Array.from(document.querySelectorAll('canvas'));
      return canvases.length >= 2 &&
        canvases.every(c => {
          if (c.width < 100 || c.height < 50) return false;
          const data = c
            .getContext('2d')!
            .getImageData(0, 0, c.width, c.height).data;
          const seen = new Set<number>();
          for (let i = 0; i < data.length; i += 16) {
            seen.add((data[i] << 16) | (data[i + 1] << 8) | data[i + 2]);
            if (seen.size > 1) return true;
          }
          return false;
        })
        ? canvases.length
        : false;
    },
    undefined,
    { timeout: 90_000, polling: 1_000 },
  );
  assert.ok(Number(await distinct.jsonValue()) >= 2);
  await page.screenshot({ path: path.join(artifacts, 'consoles.png') });
});

test('the lease is extended from the deployment card', async () => {
  await page.goto(`${FRONTEND}${SERVICE_PATH}`);
  const card = stage('integration').getByRole('group', {
    name: /^Deployment /,
  });
  const lease = card.getByLabel(/^Lease expires /);
  await lease.waitFor();
  const before = await lease.getAttribute('aria-label');
  await card.getByRole('button', { name: 'Extend' }).click();
  const dialog = page.getByRole('dialog', { name: /^Extend the lease/ });
  await dialog.getByRole('button', { name: 'Extend' }).click();
  await dialog.waitFor({ state: 'detached' });
  await page.waitForFunction(
    ([label]) =>
      !document.querySelector(`[aria-label="${label}"]`) &&
      !!document.querySelector('[aria-label^="Lease expires "]'),
    [before!],
  );
  const after = await card
    .getByLabel(/^Lease expires /)
    .getAttribute('aria-label');
  assert.notEqual(after, before);
});

test('a deployment is archived with one click and its archive is listed', async () => {
  await page.goto(`${FRONTEND}${SERVICE_PATH}`);
  const card = stage('integration').getByRole('group', {
    name: /^Deployment /,
  });
  await card.getByRole('button', { name: 'Archive' }).click();
  const operation = page.getByRole('group', { name: /^Operation archive/i });
  await operation.first().waitFor();
  await expectSucceeded(operation.first());
  log('archive succeeded');
  const row = page.getByRole('row', { name: /^Archive / });
  await row.first().waitFor({ timeout: 60_000 });
  assert.match(await row.first().innerText(), /integration/);
  assert.match(await row.first().innerText(), /hot/);
});

test('a promotion into production waits for a release manager and then runs', async () => {
  const card = stage('integration').getByRole('group', {
    name: /^Deployment /,
  });
  await card.getByRole('button', { name: 'Promote' }).click();
  const approval = page.getByRole('group', {
    name: 'Approval into production',
  });
  await approval.waitFor();
  // The requester cannot approve their own request.
  assert.equal(
    await approval.getByRole('button', { name: 'Approve' }).isDisabled(),
    true,
  );
  log('promotion waits for approval; bob approves in his own session');

  const bob = await signedInPage(browser, FRONTEND, { user: 'bob' });
  try {
    await bob.goto(`${FRONTEND}${SERVICE_PATH}`);
    const request = bob.getByRole('group', {
      name: 'Approval into production',
    });
    await request.getByRole('button', { name: 'Approve' }).click();
    const decide = bob.getByRole('dialog');
    await decide
      .getByLabel('Comment (optional)')
      .fill('Looks good in integration');
    await decide.getByRole('button', { name: 'Approve' }).click();
    await request.waitFor({ state: 'detached', timeout: 30_000 });
  } finally {
    await bob.context().close();
  }

  // The guest's page follows the operation to its end.
  const operation = page.getByRole('group', { name: /^Operation promote/i });
  await expectSucceeded(operation.first());
  log('promotion succeeded');
  await stage('production')
    .getByRole('group', { name: /^Deployment / })
    .getByText('running')
    .first()
    .waitFor();
  await page.screenshot({
    path: path.join(artifacts, 'service-promoted.png'),
    fullPage: true,
  });
});

test('a clone of production matches it in the drift panel, and is refreshed from production', async () => {
  const production = stage('production').getByRole('group', {
    name: /^Deployment /,
  });
  await production.getByRole('button', { name: 'Clone' }).click();
  const dialog = page.getByRole('dialog');
  await dialog.getByLabel('Target stage').click();
  await page.getByRole('option', { name: /^integration / }).click();
  await dialog.getByRole('button', { name: 'Clone' }).click();
  const clone = page.getByRole('group', { name: /^Operation clone/i });
  await expectSucceeded(clone.first());
  log('clone of production succeeded');

  const drift = page.getByRole('group', { name: /^Drift of / });
  await drift.first().waitFor();
  assert.equal(await drift.count(), 1);
  await drift.getByRole('button', { name: 'Scan now' }).click();
  await drift
    .getByText('Matches production: 100 %')
    .waitFor({ timeout: STEP_TIMEOUT });
  const layers = drift.getByRole('table', { name: /^Drift layers of / });
  for (const layer of [
    'Configuration',
    'Hypervisor vs records',
    'Disk content',
    'Divergence',
  ]) {
    assert.match(
      await layers.getByRole('row', { name: new RegExp(layer) }).innerText(),
      /match/,
    );
  }
  log('drift scan: the clone matches production');

  await drift.getByRole('button', { name: 'Refresh from production' }).click();
  const refresh = page.getByRole('group', { name: /^Operation refresh/i });
  await expectSucceeded(refresh.first());
  log('refresh from production succeeded');
  await page.screenshot({
    path: path.join(artifacts, 'service-drift.png'),
    fullPage: true,
  });
});

test('undeploy removes every deployment of the service', async () => {
  for (const name of ['production', 'integration']) {
    const cards = stage(name).getByRole('group', { name: /^Deployment / });
    while ((await cards.count()) > 0) {
      const card = cards.first();
      const label = await card.getAttribute('aria-label');
      const undeploys = page
        .getByRole('group', { name: /^Operation undeploy/i })
        .filter({ has: page.getByText('succeeded', { exact: true }) });
      const before = await undeploys.count();
      await card.getByRole('button', { name: 'Undeploy' }).click();
      const dialog = page.getByRole('dialog', { name: /^Undeploy / });
      await dialog.getByRole('button', { name: 'Undeploy' }).click();
      await until(async () => (await undeploys.count()) > before, STEP_TIMEOUT);
      await page
        .getByRole('group', { name: label! })
        .waitFor({ state: 'detached', timeout: 30_000 });
      log(`${label} in ${name} undeployed`);
    }
  }
  const token = await signIn('guest');
  const left = await api(
    token,
    'GET',
    `/deployments?serviceRef=${encodeURIComponent(SERVICE)}&limit=100`,
  );
  assert.deepEqual(
    left.items.filter((d: { state: string }) => d.state !== 'undeployed'),
    [],
  );
  assert.ok(configurationId);
});

test('every page renders populated, in the light and the dark theme', async () => {
  const seeded = await seedShowcase();
  const out = path.join(artifacts, 'screenshots');
  const files = await takeScreenshots(browser, out, seeded);
  for (const file of files) {
    assert.ok(fs.statSync(path.join(out, file)).size > 20_000, file);
  }

  // Dark mode: the page background is dark and the pipeline's text is light.
  const p = await signedInPage(browser, FRONTEND, { theme: 'dark' });
  try {
    await p.goto(
      `${FRONTEND}/stage-manager/services/component/default/shop-frontend`,
    );
    const heading = p
      .getByRole('region', { name: 'Stage integration' })
      .getByRole('heading', { name: 'integration' });
    await heading.waitFor();
    const luminance = (color: string) => {
      const [r, g, b] = color.match(/\d+(\.\d+)?/g)!.map(Number);
      return (0.2126 * r + 0.7152 * g + 0.0722 * b) / 255;
    };
    const background = await p.evaluate(() => {
      // No `??` or `?.` in here: the transpiler's helpers do not exist in the page.
      let el: Element | null = document.querySelector('main') || document.body;
      while (el) {
        const c = getComputedStyle(el).backgroundColor;
        if (c && c !== 'rgba(0, 0, 0, 0)' && c !== 'transparent') return c;
        el = el.parentElement;
      }
      return getComputedStyle(document.documentElement).backgroundColor;
    });
    const text = await heading.evaluate(el => getComputedStyle(el).color);
    assert.ok(luminance(background) < 0.25, `background ${background}`);
    assert.ok(luminance(text) > 0.7, `text ${text}`);
  } finally {
    await p.context().close();
  }
});

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
import { launchChromium } from './browser';

const FRONTEND = process.env.SM_FRONTEND ?? 'http://localhost:3000';
const BACKEND = process.env.SM_BACKEND ?? 'http://localhost:7007';

async function token(provider: string) {
  const res = await fetch(`${BACKEND}/api/auth/${provider}`, {
    headers: { 'X-Requested-With': 'XMLHttpRequest' },
  });
  if (!res.ok) throw new Error(`sign-in ${provider}: ${res.status}`);
  return (await res.json()).backstageIdentity.token as string;
}

async function api(t: string, method: string, url: string, body?: unknown) {
  const res = await fetch(`${BACKEND}/api/stage-manager${url}`, {
    method,
    headers: {
      Authorization: `Bearer ${t}`,
      'Content-Type': 'application/json',
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const json = await res.json().catch(() => undefined);
  if (!res.ok)
    throw new Error(`${method} ${url}: ${res.status} ${JSON.stringify(json)}`);
  return json;
}

async function settle(t: string, id: string) {
  for (;;) {
    const op = await api(t, 'GET', `/operations/${id}`);
    if (
      ['succeeded', 'failed', 'rolled-back', 'awaiting-approval'].includes(
        op.state,
      )
    )
      return op;
    await new Promise(r => setTimeout(r, 500));
  }
}

/** Gives every page something to show; returns a running deployment of shop-frontend. */
export async function seedShowcase() {
  const guest = await token('guest/refresh');
  const service = 'component:default/shop-frontend';
  const running = await api(
    guest,
    'GET',
    `/deployments?serviceRef=${service}&state=running`,
  );
  if (running.totalCount > 0) return running.items[0].id as string;
  const configs = await api(
    guest,
    'GET',
    `/configurations?serviceRef=${service}`,
  );
  const configuration =
    configs.items[0] ??
    (await api(guest, 'POST', '/configurations', {
      serviceRef: service,
      name: 'shop-stack',
      description: 'Web and app tier of the shop',
      machines: [
        { name: 'app', template: 'tiny-linux', tier: 'app', startOrder: 0 },
        { name: 'web', template: 'tiny-linux', tier: 'web', startOrder: 1 },
      ],
    }));
  const deploy = await settle(
    guest,
    (
      await api(guest, 'POST', '/deployments', {
        configurationId: configuration.id,
        stage: 'integration',
      })
    ).id,
  );
  const promoted = await settle(
    guest,
    (
      await api(
        guest,
        'POST',
        `/deployments/${deploy.targetDeploymentId}/promote`,
        {},
      )
    ).id,
  );
  await settle(
    guest,
    (
      await api(
        guest,
        'POST',
        `/deployments/${promoted.targetDeploymentId}/clone`,
        { stage: 'test' },
      )
    ).id,
  );
  // A promotion into UAT waits for QA's approval: the board and service page show it pending.
  await api(
    guest,
    'POST',
    `/deployments/${promoted.targetDeploymentId}/promote`,
    {},
  ).catch(error =>
    console.warn(
      `No pending promotion to show: ${error.message.split('\n')[0]}`,
    ),
  );
  return promoted.targetDeploymentId as string;
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

/** Signs in as the guest in a new browser context (dark theme if asked). */
async function guestPage(browser: Browser, theme: 'light' | 'dark') {
  const context = await browser.newContext({
    viewport: { width: 1440, height: 900 },
  });
  await context.addInitScript(t => {
    window.localStorage.setItem('theme', t);
  }, theme);
  const page = await context.newPage();
  await page.goto(FRONTEND);
  await page.getByRole('button', { name: 'Enter' }).first().click();
  await page.getByText('Overview').first().waitFor({ timeout: 60_000 });
  return page;
}

/**
 * Screenshots of every page into `out`; each waits for content that only a populated page has.
 * Returns the file names.
 */
export async function takeScreenshots(
  browser: Browser,
  out: string,
  deploymentId: string,
): Promise<string[]> {
  fs.mkdirSync(out, { recursive: true });
  const page = await guestPage(browser, 'light');
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
    await shot(out, page, 'usage', '/stage-manager/usage', 'lab');
    await shot(out, page, 'storage', '/stage-manager/storage?pool=lab', 'sm-');
  } finally {
    await page.context().close();
  }
  const dark = await guestPage(browser, 'dark');
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
  const deploymentId = await seedShowcase();
  const browser = await launchChromium();
  try {
    for (const file of await takeScreenshots(browser, out, deploymentId)) {
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

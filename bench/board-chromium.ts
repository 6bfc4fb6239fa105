/**
 * First render of the overview board in Debian's Chromium with 1,000 services in the catalog,
 * side by side with the same board filtered down to 20 of them.
 *
 *   node -r sucrase/register bench/board-chromium.ts [services=1000] [runs=5]
 *
 * Starts the portal with the README start command (e2e/portal.ts: fresh data directory, real
 * backend and catalog) plus a catalog file of generated services: all owned by
 * `group:default/bench-large` except 20 owned by `group:default/bench-small`. Each run opens a
 * new page of a signed-in browser context (bundle cached, as for a returning user) and times from
 * navigation until the first page of rows and the service count are on screen, for
 * `/stage-manager` (all services) and `/stage-manager?owner=group:default/bench-small` (20), in
 * alternating order. Prints the medians and their ratio.
 */
import fs from 'node:fs';
import path from 'node:path';
import { launchChromium, signedInPage } from '../e2e/browser';
import { FRONTEND, startPortal } from '../e2e/portal';

const services = Number(process.argv[2] ?? 1000);
const runs = Number(process.argv[3] ?? 5);
const SMALL = 20;

function catalogFile(dir: string) {
  const docs = [];
  for (let i = 0; i < services; i++) {
    const number = String(i).padStart(5, '0');
    const name = `bench-service-${number}`;
    docs.push({
      apiVersion: 'backstage.io/v1alpha1',
      kind: 'Component',
      metadata: {
        name,
        title: `Bench service ${number}`,
        annotations: { 'stage-manager.io/workflow': 'default' },
      },
      spec: {
        type: 'service',
        lifecycle: 'experimental',
        owner:
          i < SMALL ? 'group:default/bench-small' : 'group:default/bench-large',
      },
    });
  }
  const file = path.join(dir, 'bench-services.yaml');
  // One JSON document per YAML document.
  fs.writeFileSync(file, docs.map(d => `---\n${JSON.stringify(d)}\n`).join(''));
  return { file, last: docs[docs.length - 1].metadata.name };
}

function median(values: number[]) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

async function main() {
  const dir = fs.mkdtempSync('/tmp/sm-bench-catalog-');
  const { file, last } = catalogFile(dir);
  const portal = await startPortal({
    config: {
      catalog: {
        locations: [
          {
            type: 'file',
            target: path.resolve('examples/org.yaml'),
            rules: [{ allow: ['User', 'Group'] }],
          },
          { type: 'file', target: file },
        ],
      },
    },
    waitForServices: [`component:default/${last}`],
    timeoutMs: 900_000,
  });
  console.log(
    `portal with ${services} services answered after ${portal.startupMs} ms`,
  );
  const browser = await launchChromium();
  try {
    const signIn = await signedInPage(browser, FRONTEND, {
      timeoutMs: 120_000,
    });
    const context = signIn.context();
    await signIn.close();

    const cases = [
      {
        name: `all ${services} services`,
        url: '/stage-manager',
        total: services,
      },
      {
        name: `${SMALL} services (owner filter)`,
        url: `/stage-manager?owner=${encodeURIComponent(
          'group:default/bench-small',
        )}`,
        total: SMALL,
      },
    ];
    const measure = async (c: (typeof cases)[number]) => {
      const page = await context.newPage();
      const start = Date.now();
      await page.goto(`${FRONTEND}${c.url}`);
      // The app shell (bundle parsed, signed in, page mounted) ...
      await page.getByRole('tab', { name: 'Overview' }).waitFor();
      const shell = Date.now() - start;
      // ... then the first page of rows (20) and the count of all matching services.
      await page.getByRole('row', { name: /Bench service 00019/ }).waitFor();
      await page
        .getByText(new RegExp(`of ${c.total}\\b`))
        .first()
        .waitFor();
      const total = Date.now() - start;
      await page.close();
      return { total, board: total - shell };
    };
    // Warm-up: bundle in the browser cache, backend caches filled.
    for (const c of cases) await measure(c);
    const times = new Map(
      cases.map(c => [
        c.name,
        { total: [] as number[], board: [] as number[] },
      ]),
    );
    for (let run = 0; run < runs; run++) {
      const order = run % 2 === 0 ? cases : [...cases].reverse();
      for (const c of order) {
        const m = await measure(c);
        times.get(c.name)!.total.push(m.total);
        times.get(c.name)!.board.push(m.board);
      }
    }
    const base = times.get(cases[1].name)!;
    const ratio = (a: number[], b: number[]) =>
      (median(a) / median(b)).toFixed(2);
    for (const c of cases) {
      const t = times.get(c.name)!;
      console.log(
        `${c.name.padEnd(30)} navigation → rows: median ${median(
          t.total,
        )} ms ` +
          `(${t.total.join(', ')}) ${ratio(t.total, base.total)}×; ` +
          `app shell → rows: median ${median(t.board)} ms ` +
          `(${t.board.join(', ')}) ${ratio(t.board, base.board)}×`,
      );
    }
  } finally {
    await browser.close();
    await portal.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch(error => {
  console.error(error);
  process.exit(1);
});

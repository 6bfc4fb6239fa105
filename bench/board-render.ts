/**
 * First render of the overview board with 20, 1,000 and 10,000 services, side by side.
 *
 *   node -r sucrase/register bench/board-render.ts [runs=5]
 *
 * Renders the real `BoardPage` in jsdom with @testing-library/react, inside the same test app the
 * component tests use (`renderInTestApp`), against a fake `StageManagerApi` whose `getBoard`
 * pages through seeded rows (`items.slice(offset, offset + limit)`, the real `totalCount`).
 * Times from `render` until the first page of rows is in the DOM; prints medians and ratios.
 * An empty element rendered in the same test app gives the cost of the app shell alone.
 */
import fs from 'node:fs';
import Module from 'node:module';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { JSDOM } from 'jsdom';
import type { BoardRow } from '../plugins/stage-manager-common/src/types';

const runs = Number(process.argv[2] ?? 5);

/**
 * A browser for React: jsdom's window as the global scope, as Jest's jsdom environment does.
 */
function installJsdom() {
  const dom = new JSDOM('<!doctype html><html><body></body></html>', {
    url: 'http://localhost/',
    pretendToBeVisual: true,
  });
  const win = dom.window as unknown as Record<string, unknown>;
  const g = globalThis as unknown as Record<string, unknown>;
  const keys = new Set<string>();
  for (
    let proto: object | null = win;
    proto && proto !== Object.prototype;
    proto = Object.getPrototypeOf(proto)
  ) {
    Object.getOwnPropertyNames(proto).forEach(key => keys.add(key));
  }
  // DOM event classes must be jsdom's (Node has its own); other Node globals stay.
  const fromDom = new Set(['Event', 'CustomEvent', 'EventTarget']);
  for (const key of keys) {
    if (key in g && !fromDom.has(key)) {
      continue;
    }
    Object.defineProperty(g, key, {
      configurable: true,
      get: () => {
        const value = win[key];
        // Methods such as addEventListener must run with the window as `this`.
        return typeof value === 'function' && !/^[A-Z]/.test(key)
          ? (value as Function).bind(win)
          : value;
      },
    });
  }
  for (const key of ['navigator', 'window', 'document', 'self']) {
    Object.defineProperty(g, key, {
      configurable: true,
      get: () => (key === 'window' || key === 'self' ? win : win[key]),
    });
  }
  g.IS_REACT_ACT_ENVIRONMENT = true;
}

/**
 * The Backstage frontend packages ship ES modules only; Jest compiles them, plain Node needs
 * help: compile those files (and react-use's `esm` folder) to CommonJS with sucrase, ignore
 * stylesheets. The plugin's own TypeScript is compiled by `-r sucrase/register` (classic JSX
 * runtime, hence the global React).
 */
function installModuleHooks() {
  const { addHook } = require('sucrase/dist/register');
  addHook(
    '.js',
    { transforms: ['imports', 'jsx'], jsxRuntime: 'automatic' },
    {
      ignoreNodeModules: false,
      matcher: (file: string) =>
        file.includes(`${path.sep}node_modules${path.sep}`) &&
        (file.endsWith('.esm.js') ||
          file.includes(`${path.sep}esm${path.sep}`) ||
          isEsm(file)),
    },
  );
  const extensions = (Module as any)._extensions;
  extensions['.css'] = (module: { exports: unknown }) => {
    module.exports = {};
  };
  // Images and fonts become their file name, as with Jest's file transform.
  for (const ext of ['.svg', '.png', '.jpg', '.gif', '.woff', '.woff2']) {
    extensions[ext] = (module: { exports: unknown }, file: string) => {
      module.exports = { __esModule: true, default: path.basename(file) };
    };
  }
  (globalThis as any).React = require('react');
}

const esmCache = new Map<string, boolean>();
/** Whether a .js file in node_modules is an ES module (has import/export statements). */
function isEsm(file: string) {
  let result = esmCache.get(file);
  if (result === undefined) {
    const code = fs.readFileSync(file, 'utf8');
    result = /^\s*(import|export)\s/m.test(code) && !/\brequire\(/.test(code);
    esmCache.set(file, result);
  }
  return result;
}

function seed(count: number): BoardRow[] {
  const stages = ['integration', 'test', 'staging', 'production'];
  const states = ['running', 'stopped', 'provisioning', 'failed'] as const;
  return Array.from({ length: count }, (_, i) => ({
    service: {
      entityRef: `component:default/service-${i}`,
      kind: 'component',
      namespace: 'default',
      name: `service-${i}`,
      title: `Service ${i}`,
      owner: `group:default/team-${i % 40}`,
      system: `system-${i % 25}`,
      workflow: 'default',
      stages: [],
      problems: i % 50 === 0 ? ['Pool "gpu" is not defined'] : [],
    },
    cells: stages
      .filter((_, s) => s < 3 || i % 3 !== 0)
      .map((stage, s) => ({
        stage,
        pool: 'lab',
        requiredApprovals: stage === 'production' ? 1 : 0,
        primary:
          (i + s) % 5 === 0
            ? undefined
            : {
                id: `d-${i}-${s}`,
                configurationId: `c-${i}`,
                configurationName: `stack-${i}`,
                configurationVersion: 1 + ((i + s) % 9),
                state: states[(i + s) % states.length],
                role: 'primary' as const,
                machineCount: 1 + (i % 4),
                leaseExpiresAt: new Date(
                  Date.now() + (1 + ((i * 7 + s) % 90)) * 3600_000,
                ).toISOString(),
                activeOperation:
                  (i + s) % 7 === 0
                    ? {
                        id: `op-${i}-${s}`,
                        kind: 'promote' as const,
                        state: 'awaiting-approval' as const,
                      }
                    : undefined,
              },
        copies: [],
        retired: (i + s) % 11 === 0 ? 1 : 0,
        pendingApprovals: stage === 'production' && i % 13 === 0 ? 1 : 0,
      })),
  }));
}

function median(values: number[]) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

async function main() {
  installJsdom();
  installModuleHooks();

  const { createElement } = require('react') as typeof import('react');
  const rtl =
    require('@testing-library/react') as typeof import('@testing-library/react');
  const { renderInTestApp } =
    require('@backstage/frontend-test-utils') as typeof import('@backstage/frontend-test-utils');
  const { BoardPage, DEFAULT_PAGE_SIZE } =
    require('../plugins/stage-manager/src/components/BoardPage/BoardPage') as typeof import('../plugins/stage-manager/src/components/BoardPage/BoardPage');
  const { stageManagerApiRef } =
    require('../plugins/stage-manager/src/api') as typeof import('../plugins/stage-manager/src/api');
  const { rootRouteRef } =
    require('../plugins/stage-manager/src/routes') as typeof import('../plugins/stage-manager/src/routes');

  /** Renders `element` in the test app and waits until `ready` holds; returns milliseconds. */
  async function timeRender(
    element: JSX.Element,
    apis: any[],
    ready: () => boolean,
  ) {
    const start = performance.now();
    rtl.act(() => {
      renderInTestApp(element, {
        apis: apis as any,
        mountedRoutes: { '/stage-manager': rootRouteRef },
        initialRouteEntries: ['/stage-manager'],
      });
    });
    await rtl.waitFor(
      () => {
        if (!ready()) {
          throw new Error(
            `not rendered yet: ${document.body.textContent?.slice(0, 600)}`,
          );
        }
      },
      {
        interval: 1,
        timeout: 60_000,
        onTimeout: error => {
          const message = error.message.split('\n')[0];
          return new Error(message);
        },
      },
    );
    const ms = performance.now() - start;
    rtl.cleanup();
    return ms;
  }

  /**
   * Renders the board over `rows`. `pageRows` makes the fake server answer pages of that size
   * whatever the board asks for (as if the user had picked it), to show what rows in the DOM cost.
   */
  async function boardRender(rows: BoardRow[], pageRows?: number) {
    const api = {
      async getBoard({ limit = 50, offset = 0 } = {}) {
        const size = pageRows ?? limit;
        return {
          items: rows.slice(offset, offset + size),
          totalCount: rows.length,
        };
      },
    };
    const expected = Math.min(rows.length, pageRows ?? DEFAULT_PAGE_SIZE);
    const last = rows[expected - 1].service.title!;
    return timeRender(
      createElement(BoardPage),
      [[stageManagerApiRef, api]],
      () => {
        const text = document.body.textContent ?? '';
        return (
          document.querySelectorAll('tbody tr').length === expected &&
          text.includes(last) &&
          text.includes(`Services (${rows.length})`)
        );
      },
    );
  }

  async function shellRender() {
    return timeRender(createElement('p', null, 'empty'), [], () =>
      document.body.textContent!.includes('empty'),
    );
  }

  const cases: Array<{ label: string; services: number; pageRows?: number }> = [
    { label: '20 services', services: 20 },
    { label: '1,000 services', services: 1_000 },
    { label: '10,000 services', services: 10_000 },
    {
      label: '1,000 services, 100 rows a page',
      services: 1_000,
      pageRows: 100,
    },
  ];
  const seeded = new Map(
    cases.map(c => [c.services, seed(c.services)] as [number, BoardRow[]]),
  );
  const times = new Map<string, number[]>([
    ['shell', []],
    ...cases.map(c => [c.label, []] as [string, number[]]),
  ]);
  const renderCase = (c: (typeof cases)[number]) =>
    boardRender(seeded.get(c.services)!, c.pageRows);

  // Warm-up: module loading and JIT, not measured.
  for (let i = 0; i < 3; i++) {
    await shellRender();
    for (const c of cases) {
      await renderCase(c);
    }
  }

  // Alternate the order every run so drift of the machine hits every case alike.
  for (let run = 0; run < runs; run++) {
    const order = run % 2 === 0 ? cases : [...cases].reverse();
    times.get('shell')!.push(await shellRender());
    for (const c of order) {
      times.get(c.label)!.push(await renderCase(c));
    }
  }

  const m = (key: string) => median(times.get(key)!);
  const shell = m('shell');
  const baseline = m(cases[0].label);
  const rowsOut = cases.map(c => {
    const all = times.get(c.label)!;
    const total = m(c.label);
    return {
      case: c.label,
      'first page (ms)': total.toFixed(1),
      'min–max (ms)': `${Math.min(...all).toFixed(0)}–${Math.max(
        ...all,
      ).toFixed(0)}`,
      'minus app shell (ms)': (total - shell).toFixed(1),
      'vs 20 services': `${(total / baseline).toFixed(2)}×`,
    };
  });
  process.stdout.write(
    `Overview board first render, page size ${DEFAULT_PAGE_SIZE}, median of ${runs} runs (node ${process.version})\n`,
  );
  process.stdout.write(`test app shell alone: ${shell.toFixed(1)} ms\n`);
  console.table(rowsOut);
}

main().catch(error => {
  console.error(error);
  process.exit(1);
});

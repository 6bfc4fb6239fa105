/**
 * Removes what an interrupted browser-suite run left behind: starts the portal on that run's data
 * directory, withdraws its pending approvals, undeploys every deployment through the lifecycle
 * engine (machines, disks, fences), stops the portal and deletes the directory.
 *
 *   node -r sucrase/register e2e/cleanup.ts /tmp/sm-e2e-XXXXXX [...]
 */
import fs from 'node:fs';
import path from 'node:path';
import os from 'node:os';
import { signIn, startPortal, undeployAll } from './portal';

async function main() {
  const dirs = process.argv.slice(2);
  if (dirs.length === 0)
    throw new Error('name the data directories to clean up');
  for (const dir of dirs) {
    const resolved = path.resolve(dir);
    if (
      path.dirname(resolved) !== os.tmpdir() ||
      !path.basename(resolved).startsWith('sm-e2e-')
    ) {
      throw new Error(`${dir} is not a browser-suite data directory`);
    }
    const portal = await startPortal({ dir: resolved });
    try {
      await undeployAll(await signIn('guest'));
    } finally {
      await portal.stop();
    }
    fs.rmSync(resolved, { recursive: true, force: true });
    console.log(`${resolved}: cleaned up`);
  }
}

main().catch(error => {
  console.error(error);
  process.exit(1);
});

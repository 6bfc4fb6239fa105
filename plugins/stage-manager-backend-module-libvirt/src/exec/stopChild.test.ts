import { ChildProcess, spawn } from 'node:child_process';
import { stopChild } from './stopChild';

/** Every child a test started, killed afterwards should a failing test leave one running. */
const children: ChildProcess[] = [];

/** A node child running `script`, resolved once it has printed "ready". */
async function startNode(script: string) {
  const child = spawn(process.execPath, ['-e', script], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  children.push(child);
  await new Promise<void>((resolve, reject) => {
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (text: string) => {
      if (text.includes('ready')) resolve();
    });
    child.once('exit', code => reject(new Error(`exited early (${code})`)));
  });
  return child;
}

describe('stopChild', () => {
  afterEach(() => {
    for (const child of children.splice(0)) {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGKILL');
      }
    }
  });

  it('repeats SIGTERM until a child that lost the first one exits', async () => {
    // Ignores the first SIGTERM, as qemu-nbd does while it is starting up.
    const child = await startNode(`
      let terms = 0;
      process.on('SIGTERM', () => { if (++terms === 2) process.exit(7); });
      setInterval(() => {}, 1000);
      console.log('ready');
    `);
    const started = Date.now();
    await stopChild(child, { repeatMs: 50 });
    expect(child.exitCode).toBe(7);
    expect(Date.now() - started).toBeLessThan(4_000);
  }, 10_000);

  it('kills a child that ignores SIGTERM once the grace time is over', async () => {
    const child = await startNode(`
      process.on('SIGTERM', () => {});
      setInterval(() => {}, 1000);
      console.log('ready');
    `);
    const started = Date.now();
    await stopChild(child, { repeatMs: 50, killAfterMs: 300 });
    expect(child.signalCode).toBe('SIGKILL');
    expect(Date.now() - started).toBeGreaterThanOrEqual(300);
  }, 10_000);

  it('resolves at once for a child that has exited or never started', async () => {
    const done = spawn(process.execPath, ['-e', 'process.exit(3)']);
    await new Promise(resolve => done.once('exit', resolve));
    await expect(stopChild(done)).resolves.toBeUndefined();
    expect(done.exitCode).toBe(3);

    const missing = spawn('/nonexistent/sm-program');
    const failed = new Promise(resolve => missing.once('error', resolve));
    await expect(stopChild(missing)).resolves.toBeUndefined();
    expect(await failed).toMatchObject({ code: 'ENOENT' });
  });
});

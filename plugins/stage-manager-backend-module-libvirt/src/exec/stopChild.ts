import type { ChildProcess } from 'node:child_process';

/**
 * Stops a child process and resolves once it has exited (at once if it never started or has
 * exited already). SIGTERM is repeated every `repeatMs`, because qemu-nbd loses a SIGTERM that
 * arrives while it is still starting up; a child still running after `killAfterMs` gets SIGKILL.
 */
export async function stopChild(
  child: ChildProcess,
  options: { repeatMs?: number; killAfterMs?: number } = {},
): Promise<void> {
  const { repeatMs = 100, killAfterMs = 5_000 } = options;
  const running = () =>
    child.pid !== undefined &&
    child.exitCode === null &&
    child.signalCode === null;
  if (!running()) return;
  const exited = new Promise<void>(resolve =>
    child.once('exit', () => resolve()),
  );
  const start = Date.now();
  const signal = () => {
    if (running()) {
      child.kill(Date.now() - start >= killAfterMs ? 'SIGKILL' : 'SIGTERM');
    }
  };
  signal();
  const repeat = setInterval(signal, repeatMs);
  try {
    await exited;
  } finally {
    clearInterval(repeat);
  }
}

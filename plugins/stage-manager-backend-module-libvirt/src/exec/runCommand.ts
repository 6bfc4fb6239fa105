import { ConflictError, NotFoundError } from '@backstage/errors';
import { execFile } from 'node:child_process';

/** What a program printed. */
export interface CommandOutput {
  stdout: string;
  stderr: string;
}

/** A program that failed: the command line, its exit code and what it printed on stderr. */
export class CommandError extends Error {
  constructor(
    readonly command: string[],
    readonly exitCode: number | string | null,
    readonly stderr: string,
  ) {
    super(
      `${command.join(' ')} failed (${exitCode ?? 'killed'}): ${
        stderr.trim() || 'no output'
      }`,
    );
    this.name = 'CommandError';
  }
}

/** stderr patterns of libvirt and qemu-img that mean "no such object" or "exists already". */
const NOT_FOUND = [
  /Domain not found/i,
  /failed to get domain/i,
  /failed to get network/i,
  /Network not found/i,
  /no domain with matching name/i,
  /no network with matching name/i,
  /Domain snapshot not found/i,
  /snapshot not found/i,
  /Could not open '.*': No such file or directory/i,
  /Cannot open network namespace .*: No such file or directory/i,
];
const CONFLICT = [
  /already exists/i,
  /already defined/i,
  /is already in use/i,
  /already active/i,
  /File exists/i,
];

/**
 * Runs a program with an argument array (never a shell), a timeout and a size limit, and turns
 * failures into errors callers can act on: NotFoundError, ConflictError, or a CommandError with
 * the program's stderr.
 */
export function runCommand(
  command: string[],
  options: { timeoutMs?: number } = {},
): Promise<CommandOutput> {
  const [file, ...args] = command;
  return new Promise((resolve, reject) => {
    execFile(
      file,
      args,
      {
        timeout: options.timeoutMs ?? 60_000,
        maxBuffer: 16 * 1024 * 1024,
        encoding: 'utf8',
        env: { ...process.env, LC_ALL: 'C' },
      },
      (error, stdout, stderr) => {
        if (!error) {
          resolve({ stdout, stderr });
          return;
        }
        const code =
          (error as NodeJS.ErrnoException & { code?: number | string }).code ??
          null;
        const message = `${command.join(' ')}: ${
          stderr.trim() || error.message
        }`;
        if (NOT_FOUND.some(p => p.test(stderr))) {
          reject(new NotFoundError(message));
        } else if (CONFLICT.some(p => p.test(stderr))) {
          reject(new ConflictError(message));
        } else {
          reject(
            new CommandError(
              command,
              error.killed ? 'timeout' : code,
              stderr || error.message,
            ),
          );
        }
      },
    );
  });
}

import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** `qemu-img convert` of a raw source (a file or an `nbd+unix://` export) into a raw file. */
export async function convertToRaw(source: string, target: string) {
  await run('qemu-img', ['convert', '-f', 'raw', '-O', 'raw', source, target]);
}

/** One range of `qemu-img map --output=json`. */
export interface MappedRange {
  start: number;
  length: number;
  zero: boolean;
  data: boolean;
}

/** `qemu-img map` of a raw source: for an NBD export, what its block status answers. */
export async function mapOf(source: string): Promise<MappedRange[]> {
  const { stdout } = await run('qemu-img', [
    'map',
    '--output=json',
    '-f',
    'raw',
    source,
  ]);
  return JSON.parse(stdout);
}

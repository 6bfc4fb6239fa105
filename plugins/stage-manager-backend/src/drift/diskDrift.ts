import { DiskDrift } from '@internal/plugin-stage-manager-common';
import { DiskExtent } from '@internal/plugin-stage-manager-node';
import { chunkSpan } from '../archives/ChunkRepository';

/** Changed regions a disk's drift lists at most (the largest). */
export const MAX_REGIONS = 20;

/**
 * Compares the chunk lists of a copy's disk and its production counterpart (sha256 per chunk,
 * null for zeros, as `hashDisk` makes them): which chunks differ, their share of the disk's
 * bytes, and the runs of differing chunks as regions, largest first. A disk of another size
 * differs in every chunk only one of them has.
 */
export function compareChunkLists(input: {
  machine: string;
  disk: string;
  chunkSizeBytes: number;
  production: { virtualSizeBytes: number; chunks: Array<string | null> };
  copy: { virtualSizeBytes: number; chunks: Array<string | null> };
}): DiskDrift {
  const { chunkSizeBytes: size, production, copy } = input;
  const virtualSizeBytes = Math.max(
    production.virtualSizeBytes,
    copy.virtualSizeBytes,
  );
  const count = Math.max(production.chunks.length, copy.chunks.length);
  const regions: Array<{ offset: number; length: number }> = [];
  let differingChunks = 0;
  let differingBytes = 0;
  for (let i = 0; i < count; i++) {
    const inBoth = i < production.chunks.length && i < copy.chunks.length;
    if (inBoth && production.chunks[i] === copy.chunks[i]) continue;
    differingChunks++;
    const offset = i * size;
    const length = Math.min(size, virtualSizeBytes - offset);
    differingBytes += length;
    const last = regions[regions.length - 1];
    if (last && last.offset + last.length === offset) last.length += length;
    else regions.push({ offset, length });
  }
  return {
    machine: input.machine,
    disk: input.disk,
    virtualSizeBytes,
    chunkSizeBytes: size,
    chunks: count,
    differingChunks,
    fraction: virtualSizeBytes ? differingBytes / virtualSizeBytes : 0,
    regions: regions
      .sort((a, b) => b.length - a.length || a.offset - b.offset)
      .slice(0, MAX_REGIONS),
  };
}

/**
 * Per chunk, where its bytes come from: the places in read-only layers its data ranges map to
 * (by position in the chunk), `zero` for a chunk without data, undefined when some of its data
 * is in a disk's own writable layer or the driver did not say. Two disks' chunks with the same
 * defined signature hold the same bytes without reading them (linked clones share their frozen
 * layers).
 */
export function chunkSignatures(
  extents: DiskExtent[] | undefined,
  chunkSize: number,
  chunkCount: number,
): Array<string | undefined> {
  if (!extents) return new Array(chunkCount).fill(undefined);
  const parts: string[][] = Array.from({ length: chunkCount }, () => []);
  const unknown = new Uint8Array(chunkCount);
  for (const e of extents) {
    const [first, last] = chunkSpan(e, chunkSize, chunkCount);
    for (let i = first; i <= last; i++) {
      if (e.layer === undefined || e.layerOffset === undefined) {
        unknown[i] = 1;
        continue;
      }
      const start = Math.max(e.offset, i * chunkSize);
      const end = Math.min(e.offset + e.length, (i + 1) * chunkSize);
      parts[i].push(
        `${start - i * chunkSize}+${end - start}@${e.layer}:${
          e.layerOffset + (start - e.offset)
        }`,
      );
    }
  }
  return parts.map((p, i) => {
    if (unknown[i]) return undefined;
    return p.length ? p.join(',') : 'zero';
  });
}

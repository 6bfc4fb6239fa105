import { DiskDrift } from '@internal/plugin-stage-manager-common';

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

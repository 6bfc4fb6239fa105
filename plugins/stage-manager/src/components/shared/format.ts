/** Memory in MiB, as GiB when it is a whole number of them. */
export function formatMemory(memoryMiB: number): string {
  return memoryMiB % 1024 === 0
    ? `${memoryMiB / 1024} GiB`
    : `${memoryMiB} MiB`;
}

/** A timestamp in the user's locale. */
export function formatTime(iso: string): string {
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? iso : date.toLocaleString();
}

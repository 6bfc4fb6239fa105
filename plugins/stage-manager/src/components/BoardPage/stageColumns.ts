import { BoardRow } from '@internal/plugin-stage-manager-common';

/** Stages in their usual promotion order; they come first on the board, in this order. */
export const TYPICAL_STAGE_ORDER = [
  'integration',
  'test',
  'staging',
  'uat',
  'production',
];

/**
 * The union of the stage names of the given services, as board columns: the typical stages in
 * promotion order, then any other stage in the order it is first seen.
 */
export function stageColumns(
  rows: BoardRow[],
  extra: readonly string[] = [],
): string[] {
  const seen = new Set<string>();
  for (const row of rows) {
    for (const cell of row.cells) {
      seen.add(cell.stage);
    }
  }
  for (const stage of extra) {
    seen.add(stage);
  }
  const typical = TYPICAL_STAGE_ORDER.filter(stage => seen.has(stage));
  const others = [...seen].filter(
    stage => !TYPICAL_STAGE_ORDER.includes(stage),
  );
  return [...typical, ...others];
}

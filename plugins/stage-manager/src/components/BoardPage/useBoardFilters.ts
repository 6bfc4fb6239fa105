import { useCallback, useMemo } from 'react';
import { useSearchParams } from 'react-router-dom';

/** What the board is filtered by; kept in the URL query so a filtered board can be shared. */
export interface BoardFilters {
  /** Text searched in the services' names and titles (server-side). */
  search: string;
  /** Entity ref of the owner, e.g. `group:default/shop-team` (server-side). */
  owner: string;
  /** System name or ref (server-side). */
  system: string;
  /** Stage columns to show; all when empty (client-side). */
  stages: string[];
}

/** Separates the stage names in the `stages` query parameter. */
const STAGE_SEPARATOR = ',';

/**
 * The board's filters, read from and written to the URL query
 * (`?search=&owner=&system=&stages=a,b`). Updates replace the history entry.
 */
export function useBoardFilters(): [
  BoardFilters,
  (patch: Partial<BoardFilters>) => void,
] {
  const [params, setParams] = useSearchParams();
  const search = params.get('search') ?? '';
  const owner = params.get('owner') ?? '';
  const system = params.get('system') ?? '';
  const stagesParam = params.get('stages') ?? '';

  const filters = useMemo<BoardFilters>(
    () => ({
      search,
      owner,
      system,
      stages: stagesParam
        .split(STAGE_SEPARATOR)
        .map(stage => stage.trim())
        .filter(Boolean),
    }),
    [search, owner, system, stagesParam],
  );

  const update = useCallback(
    (patch: Partial<BoardFilters>) => {
      setParams(
        current => {
          const next = new URLSearchParams(current);
          for (const [key, value] of Object.entries(patch)) {
            const text = Array.isArray(value)
              ? value.join(STAGE_SEPARATOR)
              : value ?? '';
            if (text) {
              next.set(key, text);
            } else {
              next.delete(key);
            }
          }
          return next;
        },
        { replace: true },
      );
    },
    [setParams],
  );

  return [filters, update];
}

import { useApi } from '@backstage/frontend-plugin-api';
import {
  Configuration,
  MachineSpec,
} from '@internal/plugin-stage-manager-common';
import useAsync from 'react-use/esm/useAsync';
import { stageManagerApiRef } from '../../api';

/** The machines of a configuration's latest version, or why they could not be loaded. */
export type MachinesResult = { machines: MachineSpec[] } | { error: Error };

/**
 * The machines of the latest version of each listed configuration. The list endpoint has no
 * machines, so this asks for each configuration of the page, all at once; a failure only
 * affects its own row.
 */
export function useConfigurationMachines(
  configurations: Configuration[] | undefined,
) {
  const api = useApi(stageManagerApiRef);
  return useAsync(async () => {
    const results = new Map<string, MachinesResult>();
    await Promise.all(
      (configurations ?? []).map(async c => {
        try {
          const details = await api.getConfiguration(c.id);
          results.set(c.id, { machines: details.current.machines });
        } catch (e) {
          results.set(c.id, {
            error: e instanceof Error ? e : new Error(String(e)),
          });
        }
      }),
    );
    return results;
  }, [api, configurations]);
}

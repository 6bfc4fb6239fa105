import { useApi } from '@backstage/frontend-plugin-api';
import { Template } from '@internal/plugin-stage-manager-common';
import { useMemo } from 'react';
import useAsyncRetry from 'react-use/esm/useAsyncRetry';
import { stageManagerApiRef } from '../../api';

/** Templates are a shared catalog of a few dozen at most: one page holds them all. */
export const TEMPLATE_LIMIT = 500;

/** The template catalog shared by all services, and the templates by name. */
export function useTemplateCatalog() {
  const api = useApi(stageManagerApiRef);
  const { value, error, loading, retry } = useAsyncRetry(
    () => api.listTemplates({ limit: TEMPLATE_LIMIT }),
    [api],
  );
  const byName = useMemo(
    () => new Map<string, Template>((value?.items ?? []).map(t => [t.name, t])),
    [value],
  );
  return {
    templates: value?.items,
    totalCount: value?.totalCount,
    byName,
    error,
    loading,
    retry,
  };
}

import {
  ContentHeader,
  Progress,
  ResponseErrorPanel,
} from '@backstage/core-components';
import { useApi } from '@backstage/frontend-plugin-api';
import { useParams, useSearchParams } from 'react-router-dom';
import useAsync from 'react-use/esm/useAsync';
import { stageManagerApiRef } from '../../api';
import { ConfigurationForm } from './ConfigurationForm';
import { errorTitle } from '../shared/errors';
import { formatEntityRef } from './format';
import { SERVICE_LIMIT } from './ConfigurationListPage';
import { useTemplateCatalog } from './useTemplateCatalog';

function NewConfigurationEditor() {
  const api = useApi(stageManagerApiRef);
  const [searchParams] = useSearchParams();
  const serviceRef = searchParams.get('service') ?? undefined;
  const catalog = useTemplateCatalog();
  const services = useAsync(
    () => api.listServices({ limit: SERVICE_LIMIT }),
    [api],
  );

  return (
    <>
      <ContentHeader
        title="New configuration"
        description="A named set of machines of a service, built from the template catalog. It starts at version 1."
      />
      <ConfigurationForm
        serviceRef={serviceRef}
        templates={catalog.templates}
        templatesError={catalog.error}
        // While the services load only the one from the URL is offered; without them the
        // entity ref is typed.
        services={services.value?.items ?? (services.loading ? [] : undefined)}
      />
    </>
  );
}

function ExistingConfigurationEditor(props: { id: string }) {
  const { id } = props;
  const api = useApi(stageManagerApiRef);
  const catalog = useTemplateCatalog();
  const { value, error } = useAsync(() => api.getConfiguration(id), [api, id]);

  let body;
  if (error) {
    body = <ResponseErrorPanel error={error} title={errorTitle(error)} />;
  } else if (!value) {
    body = <Progress />;
  } else {
    body = (
      <ConfigurationForm
        configuration={value}
        templates={catalog.templates}
        templatesError={catalog.error}
      />
    );
  }
  return (
    <>
      <ContentHeader
        title={value ? `Edit ${value.name}` : 'Edit configuration'}
        description={
          value
            ? `Configuration of ${formatEntityRef(
                value.serviceRef,
              )}. Saving adds version ${
                value.latestVersion + 1
              }; deployments keep the version they run.`
            : undefined
        }
      />
      {body}
    </>
  );
}

/**
 * The configuration editor: `/configurations/new?service=<entityRef>` creates a configuration,
 * `/configurations/:id/edit` adds a version to one.
 *
 * @public
 */
export function ConfigurationEditorPage() {
  const { id } = useParams();
  return id ? (
    <ExistingConfigurationEditor key={id} id={id} />
  ) : (
    <NewConfigurationEditor />
  );
}

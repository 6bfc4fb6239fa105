import {
  ContentHeader,
  Link,
  Progress,
  ResponseErrorPanel,
} from '@backstage/core-components';
import { useApi } from '@backstage/frontend-plugin-api';
import { ConfigurationWithVersion } from '@internal/plugin-stage-manager-common';
import Box from '@material-ui/core/Box';
import Button from '@material-ui/core/Button';
import Grid from '@material-ui/core/Grid';
import Paper from '@material-ui/core/Paper';
import Typography from '@material-ui/core/Typography';
import EditIcon from '@material-ui/icons/Edit';
import { ReactNode } from 'react';
import {
  Link as RouterLink,
  useParams,
  useSearchParams,
} from 'react-router-dom';
import useAsyncRetry from 'react-use/esm/useAsyncRetry';
import { stageManagerApiRef } from '../../api';
import { useStageManagerLinks } from '../links';
import { errorTitle } from '../shared/errors';
import { ErrorText } from '../shared/ErrorText';
import { formatEntityRef, formatMemory, formatTime } from './format';
import { MachinesTable } from './MachinesTable';
import { totalResources } from './resources';
import { useTemplateCatalog } from './useTemplateCatalog';
import { VersionDiffView } from './VersionDiffView';
import { VersionsTable } from './VersionsTable';
import { RefreshButton } from '../shared/RefreshButton';

function Section(props: { title: string; children: ReactNode }) {
  return (
    <Paper component="section" aria-label={props.title}>
      <Box p={2}>
        <Typography variant="h6" component="h2" gutterBottom>
          {props.title}
        </Typography>
        {props.children}
      </Box>
    </Paper>
  );
}

function Fact(props: { label: string; children: ReactNode }) {
  return (
    <Grid item xs={12} sm={6} md={3}>
      <Typography variant="caption" color="textSecondary" component="div">
        {props.label}
      </Typography>
      <Typography variant="body2" component="div">
        {props.children}
      </Typography>
    </Grid>
  );
}

/** A version number from the query, when it names an existing version. */
function versionParam(
  params: URLSearchParams,
  name: string,
  latest: number,
): number | undefined {
  const value = Number(params.get(name));
  return Number.isInteger(value) && value >= 1 && value <= latest
    ? value
    : undefined;
}

function ConfigurationDetails(props: {
  configuration: ConfigurationWithVersion;
}) {
  const { configuration } = props;
  const links = useStageManagerLinks();
  const catalog = useTemplateCatalog();
  const [searchParams, setSearchParams] = useSearchParams();
  const latest = configuration.latestVersion;
  const to = versionParam(searchParams, 'to', latest) ?? latest;
  const from =
    versionParam(searchParams, 'from', latest) ?? Math.max(1, to - 1);
  const compare = (nextFrom: number, nextTo: number) => {
    const next = new URLSearchParams(searchParams);
    next.set('from', String(nextFrom));
    next.set('to', String(nextTo));
    setSearchParams(next, { replace: true });
  };

  const machines = configuration.current.machines;
  const total = totalResources(machines, catalog.byName);
  const mark = total.incomplete ? ' (without unknown templates)' : '';

  return (
    <Grid container spacing={3} direction="column">
      <Grid item>
        <Paper>
          <Box p={2}>
            {configuration.description && (
              <Typography variant="body1" paragraph>
                {configuration.description}
              </Typography>
            )}
            <Grid container spacing={2}>
              <Fact label="Service">
                <Link to={links.service(configuration.serviceRef)}>
                  {formatEntityRef(configuration.serviceRef)}
                </Link>
              </Fact>
              <Fact label="Latest version">{latest}</Fact>
              <Fact label="Machines">{machines.length}</Fact>
              <Fact label="Resources">
                {`${total.vcpus} vCPU, ${formatMemory(total.memoryMiB)}, ${
                  total.diskGiB
                } GiB disk${mark}`}
              </Fact>
              <Fact label="Created">
                {`${formatTime(configuration.createdAt)} by ${formatEntityRef(
                  configuration.createdBy,
                  'user',
                )}`}
              </Fact>
              <Fact label="Updated">{formatTime(configuration.updatedAt)}</Fact>
            </Grid>
          </Box>
        </Paper>
      </Grid>
      <Grid item>
        <Section title={`Machines of version ${configuration.current.version}`}>
          {catalog.error && (
            <ErrorText
              error={catalog.error}
              prefix="Could not load the template catalog (sizes from templates are unknown)"
            />
          )}
          <MachinesTable
            machines={machines}
            templates={catalog.byName}
            label="Machines"
          />
        </Section>
      </Grid>
      <Grid item>
        <Section title="Compare versions">
          {latest < 2 ? (
            <Typography variant="body2" color="textSecondary">
              Only version 1 exists: edit the configuration to create another.
            </Typography>
          ) : (
            <VersionDiffView
              configurationId={configuration.id}
              current={configuration.current}
              from={from}
              to={to}
              onChange={compare}
              templates={catalog.byName}
            />
          )}
        </Section>
      </Grid>
      <Grid item>
        <Section title="Versions">
          <VersionsTable
            configurationId={configuration.id}
            latestVersion={latest}
            onCompare={compare}
          />
        </Section>
      </Grid>
    </Grid>
  );
}

/**
 * A configuration: its latest version's machines, its versions, and what changed between any
 * two of them (`?from=&to=`, by default the previous and the latest version).
 *
 * @public
 */
export function ConfigurationPage() {
  const { id = '' } = useParams();
  const api = useApi(stageManagerApiRef);
  const links = useStageManagerLinks();
  const { value, error, loading, retry } = useAsyncRetry(
    () => api.getConfiguration(id),
    [api, id],
  );

  let body;
  if (error) {
    body = <ResponseErrorPanel error={error} title={errorTitle(error)} />;
  } else if (!value || value.id !== id) {
    body = <Progress />;
  } else {
    body = <ConfigurationDetails configuration={value} />;
  }

  return (
    <>
      <ContentHeader
        title={value?.id === id ? value.name : 'Configuration'}
        description={
          value?.id === id
            ? `Configuration of ${formatEntityRef(value.serviceRef)}`
            : undefined
        }
      >
        <Box display="flex" alignItems="center" gridGap={16}>
          <Button
            variant="outlined"
            component={RouterLink}
            to={links.configurations(value?.serviceRef)}
          >
            All configurations
          </Button>
          <Button
            variant="contained"
            color="primary"
            startIcon={<EditIcon />}
            component={RouterLink}
            to={links.editConfiguration(id)}
            disabled={!value}
          >
            Edit
          </Button>
          <RefreshButton onClick={retry} loading={loading} />
        </Box>
      </ContentHeader>
      {body}
    </>
  );
}

import { Content } from '@backstage/core-components';
import Tab from '@material-ui/core/Tab';
import Tabs from '@material-ui/core/Tabs';
import { lazy, Suspense } from 'react';
import { Route, Routes, useLocation, useNavigate } from 'react-router-dom';
import { Progress } from '@backstage/core-components';
import { useStageManagerLinks } from '../links';

const BoardPage = lazy(() =>
  import('../BoardPage').then(m => ({ default: m.BoardPage })),
);
const ServicePage = lazy(() =>
  import('../ServicePage').then(m => ({ default: m.ServicePage })),
);
const ConsoleWall = lazy(() =>
  import('../ConsoleWall').then(m => ({ default: m.ConsoleWallPage })),
);
const ConfigurationListPage = lazy(() =>
  import('../ConfigurationsPage').then(m => ({
    default: m.ConfigurationListPage,
  })),
);
const ConfigurationPage = lazy(() =>
  import('../ConfigurationsPage').then(m => ({
    default: m.ConfigurationPage,
  })),
);
const ConfigurationEditorPage = lazy(() =>
  import('../ConfigurationsPage').then(m => ({
    default: m.ConfigurationEditorPage,
  })),
);
const TemplatesPage = lazy(() =>
  import('../TemplatesPage').then(m => ({ default: m.TemplatesPage })),
);
const UsagePage = lazy(() =>
  import('../UsagePage').then(m => ({ default: m.UsagePage })),
);
const StoragePage = lazy(() =>
  import('../StoragePage').then(m => ({ default: m.StoragePage })),
);

/**
 * The tab of the section `pathname` is in: the first section after Overview whose path is the
 * pathname or a parent of it (`/configurations/abc/edit` is in Configurations); Overview (0) for
 * everything else, service pages and console walls included.
 */
function currentSection(pathname: string, paths: string[]): number {
  const index = paths.findIndex((to, i) => {
    const path = to.replace(/\?.*$/, '').replace(/\/$/, '');
    return i > 0 && (pathname === path || pathname.startsWith(`${path}/`));
  });
  return index < 0 ? 0 : index;
}

/** The sections of Stage Manager, as tabs under the page header. */
function SectionTabs() {
  const links = useStageManagerLinks();
  const location = useLocation();
  const navigate = useNavigate();
  const sections = [
    { label: 'Overview', to: links.board() },
    { label: 'Configurations', to: links.configurations() },
    { label: 'Templates', to: links.templates() },
    { label: 'Usage', to: links.usage() },
    { label: 'Storage', to: links.storage() },
  ];
  const current = currentSection(
    location.pathname,
    sections.map(s => s.to),
  );
  return (
    <Tabs
      value={current}
      onChange={(_, i) => navigate(sections[i].to)}
      indicatorColor="primary"
      aria-label="Stage Manager sections"
    >
      {sections.map(s => (
        <Tab key={s.label} label={s.label} />
      ))}
    </Tabs>
  );
}

/**
 * The Stage Manager page: the overview board, service pages, console walls, configurations and
 * their editor, the template catalog, usage and storage, each a route below the plugin's mount
 * point.
 *
 * @public
 */
export function StageManagerPage() {
  return (
    <Content>
      <SectionTabs />
      <Suspense fallback={<Progress />}>
        <Routes>
          <Route path="/" element={<BoardPage />} />
          <Route
            path="/services/:kind/:namespace/:name"
            element={<ServicePage />}
          />
          <Route path="/deployments/:id/consoles" element={<ConsoleWall />} />
          <Route path="/configurations" element={<ConfigurationListPage />} />
          <Route
            path="/configurations/new"
            element={<ConfigurationEditorPage />}
          />
          <Route path="/configurations/:id" element={<ConfigurationPage />} />
          <Route
            path="/configurations/:id/edit"
            element={<ConfigurationEditorPage />}
          />
          <Route path="/templates" element={<TemplatesPage />} />
          <Route path="/usage" element={<UsagePage />} />
          <Route path="/storage" element={<StoragePage />} />
        </Routes>
      </Suspense>
    </Content>
  );
}

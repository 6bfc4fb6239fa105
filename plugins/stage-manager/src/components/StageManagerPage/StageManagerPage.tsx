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
const UsagePage = lazy(() =>
  import('../UsagePage').then(m => ({ default: m.UsagePage })),
);
const StoragePage = lazy(() =>
  import('../StoragePage').then(m => ({ default: m.StoragePage })),
);

/** The sections of Stage Manager, as tabs under the page header. */
function SectionTabs() {
  const links = useStageManagerLinks();
  const location = useLocation();
  const navigate = useNavigate();
  const sections = [
    { label: 'Overview', to: links.board() },
    { label: 'Usage', to: links.usage() },
    { label: 'Storage', to: links.storage() },
  ];
  const current = sections.findIndex(
    (s, i) => i > 0 && location.pathname.startsWith(s.to.replace(/\?.*$/, '')),
  );
  return (
    <Tabs
      value={current < 0 ? 0 : current}
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
 * The Stage Manager page: the overview board, service pages, console walls, usage and storage,
 * each a route below the plugin's mount point.
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
          <Route path="/usage" element={<UsagePage />} />
          <Route path="/storage" element={<StoragePage />} />
        </Routes>
      </Suspense>
    </Content>
  );
}

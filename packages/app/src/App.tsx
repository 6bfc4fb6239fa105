import { createApp } from '@backstage/frontend-defaults';
import catalogPlugin from '@backstage/plugin-catalog/alpha';
import stageManagerPlugin from '@internal/plugin-stage-manager';
import { navModule } from './modules/nav';

export default createApp({
  features: [catalogPlugin, stageManagerPlugin, navModule],
});

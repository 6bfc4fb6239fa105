import { createApp } from '@backstage/frontend-defaults';
import catalogPlugin from '@backstage/plugin-catalog/alpha';
import stageManagerPlugin from '@internal/plugin-stage-manager';
import { navModule } from './modules/nav';
import { signInModule } from './modules/signIn';

export default createApp({
  features: [catalogPlugin, stageManagerPlugin, navModule, signInModule],
});

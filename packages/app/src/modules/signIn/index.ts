import { createFrontendModule } from '@backstage/frontend-plugin-api';
import { SignInPageBlueprint } from '@backstage/plugin-app-react';

/** Replaces the app's default (guest only) sign-in page. */
const signInPage = SignInPageBlueprint.make({
  params: {
    loader: () =>
      import('./StageManagerSignInPage').then(m => m.StageManagerSignInPage),
  },
});

export const signInModule = createFrontendModule({
  pluginId: 'app',
  extensions: [signInPage],
});

import {
  coreServices,
  createBackendModule,
} from '@backstage/backend-plugin-api';
import { NotAllowedError, InputError } from '@backstage/errors';
import {
  authProvidersExtensionPoint,
  createProxyAuthenticator,
  createProxyAuthProviderFactory,
} from '@backstage/plugin-auth-node';

/** Catalog user names (namespace default) that may be chosen. */
const USER_NAME = /^[a-z0-9](?:[a-z0-9._-]{0,62})$/;

/**
 * Demo sign-in for the embedded portal: pick any User of the catalog (namespace `default`) by
 * name, from the header `x-stage-manager-demo-user` or the query `?user=`. It exists so that
 * approvals (which need a second person) can be tried and tested without an identity provider.
 * Like Backstage's guest provider it refuses to work outside development unless
 * `auth.providers.demo.dangerouslyAllowOutsideDevelopment` is set, and only users that exist in
 * the catalog can sign in.
 */
const demoAuthenticator = createProxyAuthenticator({
  defaultProfileTransform: async (result: { user: string }) => ({
    profile: { displayName: result.user },
  }),
  initialize({ config }) {
    return {
      disabled:
        process.env.NODE_ENV !== 'development' &&
        config.getOptionalBoolean('dangerouslyAllowOutsideDevelopment') !==
          true,
    };
  },
  async authenticate({ req }, { disabled }) {
    if (disabled) {
      throw new NotAllowedError(
        'The demo sign-in works only in development unless auth.providers.demo.dangerouslyAllowOutsideDevelopment is set',
      );
    }
    const header = req.header('x-stage-manager-demo-user');
    const query = typeof req.query.user === 'string' ? req.query.user : '';
    const user = (header ?? query).toLocaleLowerCase('en-US');
    if (!USER_NAME.test(user)) {
      throw new InputError(
        'user: name a catalog user with the x-stage-manager-demo-user header or ?user=',
      );
    }
    return { result: { user } };
  },
});

export const authModuleDemoUsers = createBackendModule({
  pluginId: 'auth',
  moduleId: 'stage-manager-demo-users',
  register(reg) {
    reg.registerInit({
      deps: {
        providers: authProvidersExtensionPoint,
        config: coreServices.rootConfig,
      },
      async init({ providers, config }) {
        if (!config.has('auth.providers.demo')) return;
        providers.registerProvider({
          providerId: 'demo',
          factory: createProxyAuthProviderFactory({
            authenticator: demoAuthenticator,
            async signInResolver({ result }, ctx) {
              return ctx.signInWithCatalogUser({
                entityRef: {
                  kind: 'user',
                  namespace: 'default',
                  name: result.user,
                },
              });
            },
          }),
        });
      },
    });
  },
});

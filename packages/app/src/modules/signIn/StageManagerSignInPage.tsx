import { ProxiedSignInPage, SignInPage } from '@backstage/core-components';
import {
  IdentityApi,
  SignInPageProps,
  configApiRef,
  useApi,
} from '@backstage/core-plugin-api';
import Box from '@material-ui/core/Box';
import Button from '@material-ui/core/Button';
import TextField from '@material-ui/core/TextField';
import Typography from '@material-ui/core/Typography';
import { FormEvent, useState } from 'react';

/** Where the chosen demo user is kept for the browser tab, so reloads stay signed in. */
export const DEMO_USER_STORAGE_KEY = 'stage-manager:demo-user';
const USER_NAME = /^[a-z0-9](?:[a-z0-9._-]{0,62})$/;

function initialDemoUser(): string | undefined {
  const fromQuery = new URLSearchParams(window.location.search).get('as');
  if (fromQuery && USER_NAME.test(fromQuery)) {
    window.sessionStorage.setItem(DEMO_USER_STORAGE_KEY, fromQuery);
    return fromQuery;
  }
  return window.sessionStorage.getItem(DEMO_USER_STORAGE_KEY) ?? undefined;
}

/** Signing out of a demo session also forgets the chosen user. */
function forgetOnSignOut(identityApi: IdentityApi): IdentityApi {
  return {
    getProfileInfo: () => identityApi.getProfileInfo(),
    getBackstageIdentity: () => identityApi.getBackstageIdentity(),
    getCredentials: () => identityApi.getCredentials(),
    signOut: async () => {
      window.sessionStorage.removeItem(DEMO_USER_STORAGE_KEY);
      await identityApi.signOut();
    },
  };
}

function DemoUserForm(props: { onChoose: (user: string) => void }) {
  const [user, setUser] = useState('');
  const valid = USER_NAME.test(user);
  const submit = (event: FormEvent) => {
    event.preventDefault();
    if (valid) props.onChoose(user);
  };
  return (
    <Box>
      <Typography variant="h4" component="h2" gutterBottom>
        Sign in
      </Typography>
      <Box
        component="form"
        onSubmit={submit}
        display="flex"
        alignItems="center"
        gridGap={8}
        aria-label="Sign in as a catalog user"
      >
        <Typography variant="body2" color="textSecondary">
          Development: sign in as a catalog user, e.g. to approve as a second
          person
        </Typography>
        <TextField
          size="small"
          variant="outlined"
          label="User name"
          value={user}
          onChange={e => setUser(e.target.value.trim().toLocaleLowerCase())}
          error={user !== '' && !valid}
          inputProps={{ 'aria-label': 'Catalog user name' }}
        />
        <Button type="submit" variant="outlined" disabled={!valid}>
          Sign in as user
        </Button>
      </Box>
    </Box>
  );
}

/**
 * The portal's sign-in page: the guest, and in development a catalog user by name through the
 * backend's `demo` provider (header `x-stage-manager-demo-user`). `?as=<user>` in the URL picks
 * the user directly; the choice lasts for the browser tab.
 */
export function StageManagerSignInPage(props: SignInPageProps) {
  const configApi = useApi(configApiRef);
  const development =
    (configApi.getOptionalString('auth.environment') ?? 'development') ===
    'development';
  const [demoUser, setDemoUser] = useState(() =>
    development ? initialDemoUser() : undefined,
  );

  if (demoUser) {
    return (
      <ProxiedSignInPage
        provider="demo"
        headers={{ 'x-stage-manager-demo-user': demoUser }}
        onSignInSuccess={identityApi =>
          props.onSignInSuccess(forgetOnSignOut(identityApi))
        }
        ErrorComponent={({ error }) => (
          <Box p={4}>
            <Typography variant="h5" gutterBottom>
              Could not sign in as {demoUser}
            </Typography>
            <Typography color="error" paragraph>
              {error?.message ?? 'Unknown error'}
            </Typography>
            <Button
              variant="outlined"
              onClick={() => {
                window.sessionStorage.removeItem(DEMO_USER_STORAGE_KEY);
                setDemoUser(undefined);
              }}
            >
              Back to sign-in
            </Button>
          </Box>
        )}
      />
    );
  }
  return (
    <SignInPage
      onSignInSuccess={props.onSignInSuccess}
      providers={['guest']}
      titleComponent={
        development ? (
          <DemoUserForm
            onChoose={user => {
              window.sessionStorage.setItem(DEMO_USER_STORAGE_KEY, user);
              setDemoUser(user);
            }}
          />
        ) : undefined
      }
    />
  );
}

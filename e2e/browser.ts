/** Debian's Chromium driven by playwright-core (no browser downloads). */
import { Browser, Page, chromium } from 'playwright-core';

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: process.env.SM_CHROMIUM ?? '/usr/bin/chromium',
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

export interface SignedInPageOptions {
  /** `guest` (default) or a catalog user name, signed in through the demo provider. */
  user?: string;
  theme?: 'light' | 'dark';
  /** Default timeout of the context's actions and waits. */
  timeoutMs?: number;
}

/**
 * A page in a new browser context, signed in on the portal's sign-in page and showing the app
 * (the Stage Manager tabs). Close it with `page.context().close()`.
 */
export async function signedInPage(
  browser: Browser,
  frontend: string,
  options: SignedInPageOptions = {},
): Promise<Page> {
  const { user = 'guest', theme = 'light', timeoutMs = 60_000 } = options;
  const context = await browser.newContext({
    viewport: { width: 1440, height: 900 },
  });
  context.setDefaultTimeout(timeoutMs);
  // The theme the user settings would have stored.
  await context.addInitScript(
    t => window.localStorage.setItem('theme', t),
    theme,
  );
  const page = await context.newPage();
  await page.goto(frontend);
  if (user === 'guest') {
    await page.getByRole('button', { name: 'Enter' }).click();
  } else {
    // The sign-in page's form for catalog users (demo provider, development only).
    await page.getByLabel('Catalog user name').fill(user);
    await page.getByRole('button', { name: 'Sign in as user' }).click();
  }
  await page.getByRole('tab', { name: 'Overview' }).waitFor();
  return page;
}

import { defineConfig, type LaunchOptions } from '@playwright/test';

/** The machine's Chromium; Playwright's own browser downloads are not used. */
const launchOptions: LaunchOptions = {
  executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
  args: [
    '--headless',
    '--no-sandbox',
    '--disable-gpu',
    '--disable-quic',
    '--no-first-run',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
  ],
};

export default defineConfig({
  testDir: './tests',
  // One server per project (see support/global-setup.ts); each test reads its project's URL.
  globalSetup: require.resolve('./support/global-setup'),
  globalTeardown: require.resolve('./support/global-teardown'),
  // Two cores: the two projects run side by side, one worker each. Within a project the
  // files run one after the other in name order, so foundation.spec.ts bootstraps the
  // first Admin through the setup page before the other files need it.
  workers: 2,
  fullyParallel: false,
  forbidOnly: !!process.env.CI,
  retries: 0,
  // A cold first hydration on a loaded 2-core machine can take a few seconds.
  timeout: 60_000,
  expect: { timeout: 10_000 },
  reporter: [
    ['list'],
    ['./support/summary-reporter.ts'],
    ...(process.env.CI ? [['html', { open: 'never' }] as const] : []),
  ],
  use: {
    headless: true,
    launchOptions,
    actionTimeout: 10_000,
    navigationTimeout: 30_000,
    trace: 'retain-on-failure',
    screenshot: 'only-on-failure',
  },
  projects: [
    { name: 'js', workers: 1, use: { javaScriptEnabled: true } },
    { name: 'nojs', workers: 1, use: { javaScriptEnabled: false } },
  ],
});

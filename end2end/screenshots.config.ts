import { defineConfig } from '@playwright/test';
import baseConfig from './playwright.config';

/**
 * Takes the README's screenshots against a server that scripts/screenshots started on fixed
 * demo data (its address and the demo Admin come in KEYWARD_SHOT_* variables).
 */
export default defineConfig({
  testDir: './screenshots',
  workers: 1,
  retries: 0,
  timeout: 60_000,
  reporter: [['list']],
  use: {
    ...baseConfig.use,
    baseURL: process.env.KEYWARD_SHOT_ORIGIN,
    viewport: { width: 1280, height: 800 },
    colorScheme: 'light',
    javaScriptEnabled: true,
  },
});

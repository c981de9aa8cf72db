/**
 * The README's two screenshots: the token table and the one-time reveal modal. Run by
 * scripts/screenshots (never part of the test suite); the page objects are the suite's own,
 * so a UI change that breaks this also breaks a test.
 */
import * as path from 'node:path';
import { test, expect } from '@playwright/test';
import { LoginPage } from '../pages/auth';
import { ServiceAccountsPage, ServiceAccountPage } from '../pages/service-accounts';
import { TokenTable } from '../pages/token-table';
import { Reveal } from '../pages/reveal';

const out = process.env.KEYWARD_SHOT_OUT ?? path.resolve(__dirname, '..', '..', 'docs', 'screenshots');
const email = process.env.KEYWARD_SHOT_EMAIL ?? '';
const password = process.env.KEYWARD_SHOT_PASSWORD ?? '';

test('token table and reveal modal', async ({ page }) => {
  const login = new LoginPage(page, true);
  await login.goto();
  await login.signIn(email, password);
  await expect(page).not.toHaveURL(/\/login/);

  const table = new TokenTable(page, true);
  await table.goto('sort=last_used&dir=desc');
  await expect(table.table).toBeVisible();
  // Tall enough to show the filters and the first rows of the table together.
  await page.setViewportSize({ width: 1280, height: 1280 });
  await page.screenshot({ path: path.join(out, 'token-table.png') });
  await page.setViewportSize({ width: 1280, height: 800 });

  const accounts = new ServiceAccountsPage(page, true);
  await accounts.goto();
  const id = await accounts.create('deploy_bot', { description: 'Deploys the web shop from CI', role: 'Deployment' });
  const account = new ServiceAccountPage(page, true);
  await account.goto(id, 'deploy_bot');
  await account.createToken('github_actions', { description: 'main branch deploys', expires: '90 days' });
  const reveal = new Reveal(page, true);
  await reveal.expectOpen();
  await page.screenshot({ path: path.join(out, 'reveal-modal.png') });
});

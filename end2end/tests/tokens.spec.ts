/**
 * The service-account token lifecycle: create an account and a token, read the secret once
 * in the reveal, never see it again; revoke, restore, revoke again, delete.
 * With JavaScript also the reveal modal itself: focus, Copy, Escape.
 */
import { test, expect, uniqueName } from '../support/fixtures';
import { Reveal, ServiceAccountPage, ServiceAccountsPage } from '../pages';

/** `kwsa_` + 12-character public id + 33-character secret + 6-character checksum. */
const SERVICE_ACCOUNT_TOKEN = /^kwsa_[0-9A-Za-z]{51}$/;

test.describe('token lifecycle', () => {
  test.describe.configure({ mode: 'serial' });

  const accountName = uniqueName('ci_bot');
  const tokenName = uniqueName('deploy_prod');
  let accountId = 0;
  let secret = '';

  test.beforeEach(async ({ pageApi, adminCredentials }) => {
    await pageApi.login(adminCredentials);
  });

  test('an Admin creates a service account and a token, and sees the secret exactly once', async ({ page, js }) => {
    const list = new ServiceAccountsPage(page, js);
    await list.goto();
    accountId = await list.create(accountName, { description: 'Deploys from CI', role: 'Deployment' });

    const account = new ServiceAccountPage(page, js);
    await account.ready();
    await expect(page.getByText('No tokens yet')).toBeVisible();
    await account.createToken(tokenName, { description: 'GitHub Actions, production', expires: '90 days' });

    const reveal = new Reveal(page, js, 'token');
    await reveal.expectOpen();
    await expect(reveal.root).toContainText(`Token “${tokenName}” of service account “${accountName}”, acting as Deployment.`);
    secret = await reveal.secret();
    expect(secret).toMatch(SERVICE_ACCOUNT_TOKEN);
    await reveal.close();

    // Closed: the list shows the token by its prefix only.
    await account.ready();
    await expect(account.tokens.row(tokenName)).toBeVisible();
    await expect(account.tokens.status(tokenName, 'Active')).toBeVisible();
    await expect(account.tokens.row(tokenName)).toContainText(`${secret.slice(0, 13)}…`);
    expect(await page.content()).not.toContain(secret);

    // Nor does a fresh load of the page carry the secret anywhere in its HTML.
    await account.goto(accountId, accountName);
    await expect(account.tokens.row(tokenName)).toBeVisible();
    expect(await page.content()).not.toContain(secret);
    expect(await page.content()).not.toContain(secret.slice(17));
  });

  test('revoke, restore, revoke again and delete: the row disappears', async ({ page, js }) => {
    test.skip(!accountId, 'needs the account of the previous test');
    const account = new ServiceAccountPage(page, js);
    await account.goto(accountId, accountName);
    const tokens = account.tokens;
    await expect(tokens.status(tokenName, 'Active')).toBeVisible();

    await tokens.revoke(tokenName);
    await expect(tokens.row(tokenName).getByLabel(`Rotate ${tokenName}`)).toHaveCount(0);

    await tokens.restore(tokenName);
    await tokens.revoke(tokenName);
    await tokens.delete(tokenName);
    await expect(tokens.row(tokenName)).toHaveCount(0);

    // Gone for good, also after a fresh load.
    await account.goto(accountId, accountName);
    await expect(tokens.row(tokenName)).toHaveCount(0);
    await expect(page.getByText('No tokens yet')).toBeVisible();
  });
});

test.describe('the reveal modal (JavaScript)', () => {
  test.skip(({ javaScriptEnabled }) => javaScriptEnabled === false, 'the modal exists only with JavaScript');

  /** Signs in as the Admin, opens a fresh account and creates a token: the modal opens. */
  async function openReveal({ page, js, pageApi, adminCredentials }: {
    page: import('@playwright/test').Page;
    js: boolean;
    pageApi: import('../support/api').Api;
    adminCredentials: import('../support/api').Credentials;
  }) {
    await pageApi.login(adminCredentials);
    const created = await pageApi.createServiceAccount(uniqueName('modal_bot'), 'viewer');
    const tokenName = uniqueName('modal_token');
    const account = new ServiceAccountPage(page, js);
    await account.goto(created.id, created.name);
    await account.createToken(tokenName);
    const reveal = new Reveal(page, js, 'token');
    await reveal.expectOpen();
    return { account, reveal, tokenName, secret: await reveal.secret() };
  }

  test('focus is inside the dialog, Copy copies, Escape asks before closing', async ({ page, context, js, server, pageApi, adminCredentials }) => {
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: server.origin });
    const { account, reveal, tokenName, secret } = await openReveal({ page, js, pageApi, adminCredentials });

    // Focus moves into the dialog (onto Copy), and Tab moves within it.
    await expect(reveal.copyButton).toBeFocused();
    await page.keyboard.press('Tab');
    await expect(reveal.closeControl).toBeFocused();
    await page.keyboard.press('Shift+Tab');
    await expect(reveal.copyButton).toBeFocused();

    // Copy puts the secret on the clipboard and says so.
    await reveal.copyButton.click();
    await expect(reveal.copyButton).toHaveText('Copied');
    await expect(reveal.root.getByRole('status')).toHaveText('Copied to the clipboard.');
    expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(secret);

    // Escape asks first; "Keep it open" keeps it open, with the secret.
    await page.keyboard.press('Escape');
    await expect(reveal.closeQuestion).toContainText('Close without storing it? You will not be able to see this secret again.');
    await expect(reveal.root).toBeVisible();
    await reveal.closeQuestion.getByRole('button', { name: 'Keep it open' }).click();
    await expect(reveal.closeQuestion).toHaveCount(0);
    await expect(reveal.root).toBeVisible();
    await expect(reveal.secretField).toHaveText(secret);

    // Escape again, then "Close anyway":
    // closed, and the secret is gone from the page.
    await reveal.closeControl.focus();
    await page.keyboard.press('Escape');
    await reveal.closeQuestion.getByRole('button', { name: 'Close anyway' }).click();
    await expect(reveal.root).toHaveCount(0);
    await expect(account.tokens.row(tokenName)).toBeVisible();
    expect(await page.content()).not.toContain(secret);
  });

  test('after "Keep it open" focus stays in the dialog and Escape asks again', async ({ page, js, pageApi, adminCredentials }) => {
    const { reveal } = await openReveal({ page, js, pageApi, adminCredentials });
    await page.keyboard.press('Escape');
    await reveal.closeQuestion.getByRole('button', { name: 'Keep it open' }).click();
    await expect(reveal.closeQuestion).toHaveCount(0);
    await expect(reveal.root.getByRole('button', { name: 'Copy' })).toBeFocused();

    expect(await reveal.root.evaluate((d) => d.contains(document.activeElement)), 'focus is inside the dialog').toBe(true);
    await page.keyboard.press('Escape');
    await expect(reveal.closeQuestion).toBeVisible({ timeout: 2000 });
  });
});

/**
 * Roles: an Admin adds a Power User through the Team page; the Power User sets a password
 * through the one-time link and cannot hand out a role above their own, neither in the form
 * nor by posting to the server directly.
 */
import { test, expect, uniqueName } from '../support/fixtures';
import { Reveal, ServiceAccountsPage, SetPasswordPage, TeamPage } from '../pages';

test.describe.configure({ mode: 'serial' });

const powerUser = {
  email: `${uniqueName('pat')}@example.com`,
  name: 'Pat Power',
  password: 'correct-horse-battery-staple',
};
let link = '';

test('an Admin adds a Power User and gets a one-time set-password link', async ({ page, js, server, pageApi, adminCredentials }) => {
  await pageApi.login(adminCredentials);
  const team = new TeamPage(page, js);
  await team.goto();
  await team.addMember({ email: powerUser.email, name: powerUser.name, role: 'Power User' });

  const reveal = new Reveal(page, js, 'link');
  await reveal.expectOpen();
  await expect(reveal.root).toContainText(`One-time link for ${powerUser.email} (Power User).`);
  link = await reveal.secret();
  expect(link).toMatch(new RegExp(`^${server.origin}/set-password\\?code=[0-9A-Za-z]+$`));
  await reveal.close();

  await team.ready();
  await expect(team.member(powerUser.email)).toBeVisible();
  await expect(team.member(powerUser.email).getByText('Invited', { exact: true })).toBeVisible();
  expect(await page.content()).not.toContain(new URL(link).search);
});

test('the Power User sets a password through the link and is signed in', async ({ page, js }) => {
  test.skip(!link, 'needs the link of the previous test');
  const setPassword = new SetPasswordPage(page, js);
  await setPassword.goto(link);
  await expect(page.getByText(`Choose a password for ${powerUser.email}.`)).toBeVisible();
  await setPassword.setPassword(powerUser.password);

  await expect(page).toHaveURL(/\/service-accounts$/);
  const shell = new ServiceAccountsPage(page, js);
  await shell.ready();
  await expect(shell.nav.getByText(powerUser.name, { exact: true })).toBeVisible();
  await expect(shell.nav.getByText('Power User', { exact: true })).toBeVisible();
  // Admin-only areas are not offered.
  await expect(shell.nav.getByRole('link', { name: 'Settings' })).toHaveCount(0);

  // The link worked once.
  await page.context().clearCookies();
  await setPassword.goto(link);
  await expect(page.getByRole('alert')).toContainText('This link has expired or was already used.');
  await expect(page.getByLabel('New password')).toHaveCount(0);
});

test('a Power User is not offered the Admin role for a new service account', async ({ page, js, pageApi }) => {
  test.skip(!link, 'needs the Power User of the first test');
  await pageApi.login(powerUser);
  const accounts = new ServiceAccountsPage(page, js);
  await accounts.goto();
  expect(await accounts.roleOptions()).toEqual(['Viewer', 'Deployment', 'Power User']);

  // Roles up to their own work.
  const name = uniqueName('pu_bot');
  await accounts.create(name, { role: 'Power User' });
  await expect(accounts.heading(name)).toBeVisible();
});

test('the server refuses a service account above the caller’s role', async ({ page, pageApi }) => {
  test.skip(!link, 'needs the Power User of the first test');
  await pageApi.login(powerUser);
  const name = uniqueName('sneaky_admin');
  const res = await pageApi.post('service-accounts/create', { name, description: '', role: 'admin' });
  expect(res.status()).toBe(403);
  expect(await res.json()).toMatchObject({ code: 'forbidden' });

  // Nothing was created.
  const list = await pageApi.get<{ items: { name: string }[] }>('service-accounts/list', { q: name, page: 1 });
  expect(list.items).toEqual([]);
  void page;
});

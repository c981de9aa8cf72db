/**
 * The foundation: first-admin bootstrap through the one-time setup URL, the app shell,
 * signing out and in, and the redirect of protected pages through the login page.
 *
 * This file runs first in each project (files run in name order, one worker per project),
 * so its first test is the one that consumes the project's setup URL.
 */
import { test, expect } from '../support/fixtures';
import { AppShell as Shell, LoginPage, SetupPage } from '../pages';

test('bootstrap through the setup URL lands signed in, in the app shell', async ({ page, js, server, api }) => {
  const code = new URL(server.setupUrl).searchParams.get('code')!;
  const state = await api.get<{ needs_setup: boolean; code_valid: boolean }>('auth/setup-state', { code });
  expect(state, 'nothing may have used the setup URL before this test (foundation.spec.ts must run first)').toEqual({
    needs_setup: true,
    code_valid: true,
  });

  const setup = new SetupPage(page, js);
  await setup.goto(server.setupUrl);
  await expect(setup.title).toBeVisible();
  await setup.createAdmin(server.admin);

  await expect(page).toHaveURL(/\/service-accounts$/);
  const shell = new Shell(page, js);
  await shell.ready();
  await expect(shell.heading('Service accounts')).toBeVisible();
  await expect(shell.nav).toBeVisible();
  for (const link of ['Service accounts', 'Tokens', 'My tokens', 'Team', 'Audit log', 'Settings']) {
    await expect(shell.nav.getByRole('link', { name: link, exact: true })).toBeVisible();
  }
  await expect(shell.nav.getByText(server.admin.name, { exact: true })).toBeVisible();
  await expect(shell.nav.getByText('Admin', { exact: true })).toBeVisible();
  await expect(shell.signOutButton).toBeVisible();
});

test('the setup URL does not work a second time', async ({ page, js, server, adminCredentials, api }) => {
  const setup = new SetupPage(page, js);
  await setup.goto(server.setupUrl);
  await expect(setup.title).toBeVisible();
  await expect(setup.alreadySetUp).toBeVisible();
  await expect(setup.submitButton).toHaveCount(0);
  await expect(page.getByLabel(/^Password/)).toHaveCount(0);

  // Nor does posting the form directly: no second Admin.
  const code = new URL(server.setupUrl).searchParams.get('code')!;
  const res = await api.post('auth/setup', {
    code,
    email: 'intruder@keyward.test',
    display_name: '',
    password: 'another-long-password',
    password_confirm: 'another-long-password',
  });
  expect(res.status()).toBeGreaterThanOrEqual(400);
  expect(res.status()).toBeLessThan(500);
  const login = await api.post('auth/login', { email: 'intruder@keyward.test', password: 'another-long-password' });
  expect(login.status()).toBeGreaterThanOrEqual(400);
  expect(await login.json()).toMatchObject({ message: 'The e-mail address or password is incorrect.' });
  void adminCredentials;
});

test('signing out returns to the login page and ends the session', async ({ page, js, pageApi, adminCredentials }) => {
  await pageApi.login(adminCredentials);
  const shell = new Shell(page, js);
  await page.goto('/service-accounts');
  await shell.ready();
  await expect(shell.heading('Service accounts')).toBeVisible();

  await shell.signOut();
  const login = new LoginPage(page, js);
  await expect(login.title).toBeVisible();
  await expect(shell.nav).toHaveCount(0);

  // The session is gone on the server too: protected pages send us back to sign in.
  await page.goto('/service-accounts');
  await expect(page).toHaveURL(/\/login\?next=%2Fservice-accounts$/);
  await login.ready();
  await expect(login.title).toBeVisible();
});

test('a wrong password shows the error in the sign-in form', async ({ page, js, adminCredentials }) => {
  const login = new LoginPage(page, js);
  await login.goto();
  await expect(login.title).toBeVisible();
  await login.signIn(adminCredentials.email, 'not-the-right-password');

  await expect(login.formError).toHaveText('The e-mail address or password is incorrect.');
  // Without JavaScript the browser is sent back to the page (post/redirect/get), which shows
  // the error once: a reload does not post the form again.
  await expect(page).toHaveURL(/\/login$/);
  await expect(login.title).toBeVisible();
  // The e-mail address is kept; a re-rendered page never echoes the password.
  await expect(page.getByLabel('E-mail address')).toHaveValue(adminCredentials.email);
  if (!js) await expect(page.getByLabel('Password')).toHaveValue('');
  await expect(login.nav).toHaveCount(0);
  if (!js) {
    await page.reload();
    await expect(login.formError).toHaveCount(0);
  }
});

test('a protected page redirects to the login page and back after signing in', async ({ page, js, adminCredentials }) => {
  await page.goto('/team');
  await expect(page).toHaveURL(/\/login\?next=%2Fteam$/);
  const login = new LoginPage(page, js);
  await login.ready();
  await expect(login.title).toBeVisible();

  await login.signIn(adminCredentials.email, adminCredentials.password);
  await expect(page).toHaveURL(/\/team$/);
  await login.ready();
  await expect(login.heading('Team')).toBeVisible();
  await expect(login.nav).toBeVisible();
});

/**
 * The organisation-wide token table: sort, search, filter, a view shared by its URL, and
 * bulk revoke (selected rows, and everything matching a filter). Each project arranges its
 * own accounts under a unique tag, and every view searches for that tag, so tokens other
 * specs created never show up here.
 */
import { test, expect, uniqueName } from '../support/fixtures';
import { Api } from '../support/api';
import { TokenTable } from '../pages';

test.describe('organisation-wide token table', () => {
  test.describe.configure({ mode: 'serial' });

  const tag = uniqueName('tt');
  const ops = `${tag}_ops`;
  const web = `${tag}_web`;
  /** In creation order: the table's default order (newest first) is the reverse. */
  const tokens: [string, string][] = [
    ['alpha', ops],
    ['bravo', web],
    ['charlie', ops],
    ['delta', web],
    ['echo', web],
  ];
  const byName = ['alpha', 'bravo', 'charlie', 'delta', 'echo'];

  test.beforeAll(async ({ server, adminCredentials, playwright }) => {
    const ctx = await playwright.request.newContext({ baseURL: server.origin });
    const api = new Api(ctx, server.origin);
    await api.login(adminCredentials);
    const ids = new Map<string, number>();
    for (const account of [ops, web]) ids.set(account, (await api.createServiceAccount(account, 'deployment')).id);
    const tokenIds = new Map<string, number>();
    for (const [name, owner] of tokens) {
      tokenIds.set(name, (await api.createAccountToken(ids.get(owner)!, name)).token.id);
    }
    await api.call('tokens/revoke', { id: tokenIds.get('delta')! });
    await ctx.dispose();
  });

  test.beforeEach(async ({ pageApi, adminCredentials }) => {
    await pageApi.login(adminCredentials);
  });

  test('sorts by any column both ways, with aria-sort, and back/forward restores the order', async ({ page, js }) => {
    const table = new TokenTable(page, js);
    await table.goto(`q=${tag}`);
    await table.expectNames([...byName].reverse());
    await expect(table.columnHeader('Created')).toHaveAttribute('aria-sort', 'descending');
    await expect(table.columnHeader('Name')).toHaveAttribute('aria-sort', 'none');

    await table.sortBy('Name', 'name', 'asc');
    await table.expectNames(byName);
    await table.sortBy('Name', 'name', 'desc');
    await table.expectNames([...byName].reverse());

    // Ties (same owner) keep a stable order: by token id, in the sort's direction.
    await table.sortBy('Owner', 'owner', 'asc');
    await table.expectNames(['alpha', 'charlie', 'bravo', 'delta', 'echo']);

    await page.goBack();
    await expect(page).toHaveURL(/sort=name&dir=desc/);
    await table.ready();
    await table.expectNames([...byName].reverse());
    await page.goForward();
    await expect(page).toHaveURL(/sort=owner&dir=asc/);
    await table.ready();
    await table.expectNames(['alpha', 'charlie', 'bravo', 'delta', 'echo']);
  });

  test('searches and filters by status and owner', async ({ page, js }) => {
    const table = new TokenTable(page, js);
    await table.goto();

    // The search matches owner names too: every token of the "web" account.
    await table.filter({ search: web });
    await table.expectNames(['echo', 'delta', 'bravo']);
    await expect(page.getByRole('status').filter({ hasText: '3 tokens match.' })).toBeVisible();

    await table.filter({ statuses: ['Revoked'] });
    await table.expectNames(['delta']);
    await expect(table.status('delta', 'Revoked')).toBeVisible();

    await table.filter({ search: tag, statuses: [], owners: ops });
    await table.expectNames(['charlie', 'alpha']);

    await table.filter({ search: `${tag}_nobody`, owners: '' });
    await expect(page.getByText('No tokens match these filters')).toBeVisible();
    await expect(table.table).toHaveCount(0);
  });

  test('a view shared by its URL opens the same way: filters, sort and form state', async ({ page, js, context }) => {
    const table = new TokenTable(page, js);
    await table.goto();
    await table.filter({ search: tag, statuses: ['Active'] });
    await table.sortBy('Name', 'name', 'asc');
    const live = ['alpha', 'bravo', 'charlie', 'echo'];
    await table.expectNames(live);
    const shared = page.url();
    expect(new URL(shared).searchParams.get('q')).toBe(tag);

    const other = await context.newPage();
    const view = new TokenTable(other, js);
    await other.goto(shared);
    await view.ready();
    await view.expectNames(live);
    await expect(view.filters.getByLabel('Search')).toHaveValue(tag);
    await expect(view.filters.getByLabel('Active', { exact: true })).toBeChecked();
    await expect(view.filters.getByLabel('Revoked', { exact: true })).not.toBeChecked();
    await expect(view.columnHeader('Name')).toHaveAttribute('aria-sort', 'ascending');
    await other.close();

    await page.reload();
    await table.ready();
    await table.expectNames(live);
  });

  test('bulk revoke: the selected rows, then everything matching a filter after stating the count', async ({ page, js }) => {
    const table = new TokenTable(page, js);
    await table.goto(`q=${tag}&sort=name&dir=asc`);
    await table.select('alpha', ops);
    await table.select('bravo', web);
    await table.revokeSelected();
    await expect(table.status('alpha', 'Revoked')).toBeVisible();
    await expect(table.status('bravo', 'Revoked')).toBeVisible();
    await expect(table.status('charlie', 'Active')).toBeVisible();
    await expect(table.status('echo', 'Active')).toBeVisible();

    // What is still live under the tag: charlie and echo.
    await table.goto(`q=${tag}&status=active`);
    await table.expectNames(['echo', 'charlie']);
    await table.revokeAllMatching(2);
    await expect(page.getByText('No tokens match these filters')).toBeVisible();

    await table.goto(`q=${tag}&sort=name&dir=asc`);
    await table.expectNames(byName);
    for (const name of byName) await expect(table.status(name, 'Revoked')).toBeVisible();
    await expect(table.revokeMatchingSummary).toHaveCount(0);
  });
});

/**
 * The token page: reached from a token list, empty until the token is used, then a chart
 * with a text summary, the client address and the audit trail. And the notice about one's
 * own tokens that expire within a week.
 */
import { test, expect, uniqueName } from '../support/fixtures';
import { ServiceAccountPage, TokenDetailPage } from '../pages';

test.describe('token page', () => {
  test.beforeEach(async ({ pageApi, adminCredentials }) => {
    await pageApi.login(adminCredentials);
  });

  test('a token list links to the page; the chart appears once the token is used', async ({ page, js, pageApi, request, baseURL }) => {
    const account = await pageApi.createServiceAccount(uniqueName('usage_bot'));
    const tokenName = uniqueName('usage_token');
    const { secret, token } = await pageApi.createAccountToken(account.id, tokenName);

    const accountPage = new ServiceAccountPage(page, js);
    await accountPage.goto(account.id, account.name);
    await Promise.all([
      page.waitForURL(new RegExp(`/tokens/${token.id}$`)),
      accountPage.tokens.row(tokenName).getByRole('link', { name: tokenName, exact: true }).click(),
    ]);

    const detail = new TokenDetailPage(page, js);
    await detail.ready();
    await expect(detail.heading(tokenName)).toBeVisible();
    await expect(page.getByText('No requests recorded yet')).toBeVisible();
    await expect(detail.auditTrail.getByText('token.create')).toBeVisible();

    for (let i = 0; i < 3; i++) {
      const res = await request.get(`${baseURL}/api/v1/whoami`, {
        headers: { Authorization: `Bearer ${secret}`, 'User-Agent': 'e2e-client/1.0' },
      });
      expect(res.status()).toBe(200);
    }
    // Usage is written behind (every 20 seconds): reload until it is.
    await expect(async () => {
      await detail.reload();
      await expect(page.getByText(/^3 requests in the last 90 days; busiest day \d{4}-\d{2}-\d{2} with 3\.$/)).toBeVisible();
    }).toPass({ timeout: 60_000 });
    await expect(detail.chart).toBeVisible();
    await expect(detail.addresses.getByText('e2e-client/1.0')).toBeVisible();
  });

  test('the owner of a token that expires within a week sees a notice with a link to it', async ({ page, js, pageApi }) => {
    const soon = uniqueName('expiring');
    // Through the end of the day after tomorrow (UTC): well inside the 7-day warning period.
    // (A 7-day token is not "expiring soon" when it is created: the period is exclusive.)
    const expiresOn = new Date(Date.now() + 2 * 86_400_000).toISOString().slice(0, 10);
    const { token } = await pageApi.call<{ token: { id: number } }>('me/tokens/create', { name: soon, expires_in: 'custom', expires_on: expiresOn });
    const detail = new TokenDetailPage(page, js);
    await detail.goto(token.id, soon);
    const notice = page.getByRole('status').filter({ hasText: 'expires soon' }).or(page.getByRole('status').filter({ hasText: 'expire soon' }));
    await expect(notice.getByRole('link', { name: soon, exact: true })).toBeVisible();
    // Revoked: the notice (shown on every page) does not follow the other specs around.
    await pageApi.call('tokens/revoke', { id: token.id });
  });
});

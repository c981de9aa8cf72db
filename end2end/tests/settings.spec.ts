/**
 * Settings: webhook endpoints (add one, its signing secret shown once, a signed test event
 * reaching a real receiver, the delivery log, delete after confirming) and the stale-token
 * policy (a preview before it can be turned on, errors by the field).
 */
import * as http from 'node:http';
import { createHmac } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { test, expect, uniqueName } from '../support/fixtures';
import { Reveal, SettingsPage, WebhooksPage } from '../pages';

interface Received {
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** A local receiver that records every request and answers 204. */
async function startReceiver(): Promise<{ url: string; got: Received[]; close: () => Promise<void> }> {
  const got: Received[] = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      got.push({ headers: req.headers, body });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hook/${uniqueName('e')}`,
    got,
    close: () => new Promise((r) => server.close(() => r())),
  };
}

/** The receiver's side of Standard Webhooks. */
function verifies(secret: string, r: Received): boolean {
  const key = Buffer.from(secret.replace(/^whsec_/, ''), 'base64');
  const signed = `${r.headers['webhook-id']}.${r.headers['webhook-timestamp']}.${r.body}`;
  const expected = `v1,${createHmac('sha256', key).update(signed).digest('base64')}`;
  return String(r.headers['webhook-signature']).split(' ').includes(expected);
}

test.describe('settings', () => {
  test.beforeEach(async ({ pageApi, adminCredentials }) => {
    await pageApi.login(adminCredentials);
  });

  test('a webhook endpoint gets a signed test event and shows it in its delivery log', async ({ page, js }) => {
    const receiver = await startReceiver();
    try {
      const webhooks = new WebhooksPage(page, js);
      await webhooks.goto();
      await webhooks.add(receiver.url, 'all', 'e2e receiver');

      const reveal = new Reveal(page, js, 'secret');
      await reveal.expectOpen();
      const secret = await reveal.secret();
      expect(secret).toMatch(/^whsec_[A-Za-z0-9+/=]{32,}$/);
      await reveal.close();
      await webhooks.ready();
      // Shown once: the page keeps only a hint.
      await expect(page.getByText(secret)).toHaveCount(0);

      const endpoint = webhooks.endpoint(receiver.url);
      await expect(endpoint.getByText('Enabled', { exact: true })).toBeVisible();
      await webhooks.sendTest(receiver.url);
      await expect.poll(() => receiver.got.length, { timeout: 30_000 }).toBeGreaterThan(0);
      const event = receiver.got[0];
      expect(JSON.parse(event.body).type).toBe('webhook.test');
      expect(verifies(secret, event)).toBe(true);

      // The worker writes the attempt down after the receiver answered: reload until it shows.
      await expect(async () => {
        await webhooks.reload();
        const log = await webhooks.deliveries(receiver.url);
        await expect(log.getByRole('row').filter({ hasText: 'webhook.test' }).getByRole('cell', { name: '204', exact: true })).toBeVisible({ timeout: 2_000 });
      }).toPass({ timeout: 30_000 });

      await webhooks.delete(receiver.url);
      await expect(webhooks.endpoint(receiver.url)).toHaveCount(0);
    } finally {
      await receiver.close();
    }
  });

  test('the stale-token policy is previewed before it is turned on', async ({ page, js }) => {
    const settings = new SettingsPage(page, js);
    await settings.goto();
    await expect(settings.staleStatus).toHaveText(/^Off:/);

    // The browser refuses 5 in the field itself (min 14); the server says why for a link.
    await settings.goto('?stale_days=5');
    await expect(settings.stalePolicy.getByRole('alert')).toHaveText(/between 14 and 3650/);
    await expect(settings.stalePolicy.getByRole('button', { name: /^Turn on/ })).toHaveCount(0);

    await settings.previewStale('400');
    await expect(page).toHaveURL(/stale_days=400/);
    await expect(settings.preview).toContainText(/unused for 393 days or more|No token has been unused for 393 days/);
    await settings.turnStaleOn(400);
    await expect(settings.staleStatus).toHaveText(/^On: a token unused for 400 days is revoked, after a 7-day warning/);

    // The preview survives a reload (it is in the URL).
    await page.reload();
    await settings.ready();
    await expect(settings.preview).toContainText(/393 days/);
    // Previewing the policy in force offers nothing to turn on.
    await expect(settings.preview).toContainText('The policy is on with these days');
    await expect(settings.stalePolicy.getByRole('button', { name: /^Turn on/ })).toHaveCount(0);

    await settings.turnStaleOff();
    await expect(settings.staleStatus).toHaveText(/^Off:/);
  });
});

import { expect, type Locator, type Page } from '@playwright/test';
import { BasePage } from './base';

/** /settings: organisation settings and the stale-token policy. */
export class SettingsPage extends BasePage {
  constructor(page: Page, js: boolean) {
    super(page, js);
  }

  async goto(query = ''): Promise<void> {
    await this.open(`/settings${query}`);
    await expect(this.heading('Settings')).toBeVisible();
  }

  get stalePolicy(): Locator {
    return this.page.getByRole('region', { name: 'Stale-token policy' });
  }

  /** The preview for the days in the URL. */
  get preview(): Locator {
    return this.stalePolicy.locator('#stale-preview');
  }

  get staleStatus(): Locator {
    return this.stalePolicy.locator('#stale-status');
  }

  /** Types the days and asks for the preview (a GET form: the URL carries it). */
  async previewStale(days: string): Promise<void> {
    await this.stalePolicy.getByRole('spinbutton', { name: 'Revoke tokens unused for (days)' }).fill(days);
    await this.submit(this.stalePolicy.getByRole('button', { name: 'Preview', exact: true }));
  }

  async turnStaleOn(days: number): Promise<void> {
    await this.submit(this.stalePolicy.getByRole('button', { name: `Turn on: revoke tokens unused for ${days} days` }));
  }

  async turnStaleOff(): Promise<void> {
    await this.submit(this.stalePolicy.getByRole('button', { name: 'Turn the policy off' }));
  }
}

/** /settings/webhooks: endpoints, their delivery logs, the signing secret's one-time reveal. */
export class WebhooksPage extends BasePage {
  constructor(page: Page, js: boolean) {
    super(page, js);
  }

  async goto(): Promise<void> {
    await this.open('/settings/webhooks');
    await expect(this.heading('Webhooks')).toBeVisible();
  }

  async reload(): Promise<void> {
    await this.page.reload();
    await this.ready();
  }

  async add(url: string, events: string, description: string): Promise<void> {
    // By role: a required field's label ends with a (hidden) asterisk.
    await this.page.getByRole('textbox', { name: 'URL', exact: true }).fill(url);
    await this.page.getByRole('textbox', { name: 'Events', exact: true }).fill(events);
    await this.page.getByRole('textbox', { name: 'Description', exact: true }).fill(description);
    await this.submit(this.page.getByRole('button', { name: 'Add endpoint' }));
  }

  /** An endpoint's panel, by its URL. */
  endpoint(url: string): Locator {
    return this.page.getByRole('list', { name: 'Webhook endpoints' }).getByRole('listitem').filter({ hasText: url });
  }

  async sendTest(url: string): Promise<void> {
    await this.submit(this.endpoint(url).getByRole('button', { name: 'Send test event' }));
  }

  /** Opens the endpoint's delivery log (a native disclosure) and returns its table. */
  async deliveries(url: string): Promise<Locator> {
    const details = await this.expand(this.summary(this.endpoint(url), 'Deliveries'));
    return details.getByRole('table', { name: 'Delivery log' });
  }

  async delete(url: string): Promise<void> {
    const panel = await this.expand(this.summary(this.endpoint(url), 'Delete…'));
    await this.submit(panel.getByRole('button', { name: 'Delete endpoint' }));
  }
}

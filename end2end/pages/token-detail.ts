import { expect, type Locator, type Page } from '@playwright/test';
import { BasePage } from './base';

/** /tokens/<id>: one token, its usage chart, client addresses and audit trail. */
export class TokenDetailPage extends BasePage {
  constructor(page: Page, js: boolean) {
    super(page, js);
  }

  async goto(id: number, name?: string): Promise<void> {
    await this.open(`/tokens/${id}`);
    if (name) await expect(this.heading(name)).toBeVisible();
  }

  async reload(): Promise<void> {
    await this.page.reload();
    await this.ready();
  }

  /** The chart, by its role and accessible name. */
  get chart(): Locator {
    return this.page.getByRole('img', { name: /^Requests per day/ });
  }

  get addresses(): Locator {
    return this.page.getByRole('table', { name: 'The latest distinct client addresses' });
  }

  get auditTrail(): Locator {
    return this.page.getByRole('table', { name: 'Audit records about this token' });
  }
}

import { expect, type Locator, type Page } from '@playwright/test';
import { BasePage } from './base';

/** A token table (a service account's tokens, or "My tokens") and its row actions. */
export class TokenList extends BasePage {
  constructor(page: Page, js: boolean) {
    super(page, js);
  }

  /** The row of a token (`<tr data-token-name=…>`). */
  row(name: string): Locator {
    return this.page.getByRole('table', { name: 'Tokens' }).locator(`tr[data-token-name="${name}"]`);
  }

  /** The status badge text of a token, e.g. "Active" or "Revoked". */
  status(name: string, status: string): Locator {
    return this.row(name).getByRole('cell').nth(2).getByText(status, { exact: true });
  }

  /** Opens a row disclosure by its accessible name ("Revoke deploy_prod") and returns it. */
  private async rowAction(name: string, action: string): Promise<Locator> {
    return this.expand(this.row(name).getByLabel(`${action} ${name}`, { exact: true }));
  }

  async revoke(name: string): Promise<void> {
    const panel = await this.rowAction(name, 'Revoke');
    await this.submit(panel.getByRole('button', { name: 'Yes, revoke' }));
    await expect(this.status(name, 'Revoked')).toBeVisible();
  }

  async restore(name: string): Promise<void> {
    await this.submit(this.row(name).getByRole('button', { name: `Restore ${name}`, exact: true }));
    await expect(this.status(name, 'Active')).toBeVisible();
  }

  async delete(name: string): Promise<void> {
    const panel = await this.rowAction(name, 'Delete');
    await this.submit(panel.getByRole('button', { name: 'Yes, delete' }));
    await expect(this.row(name)).toHaveCount(0);
  }

  /** Rotates a token; the reveal with the new secret opens next. */
  async rotate(name: string, keepOldFor?: string): Promise<void> {
    const panel = await this.rowAction(name, 'Rotate');
    if (keepOldFor) await panel.getByLabel('Keep the old secret working for').selectOption({ label: keepOldFor });
    await this.submit(panel.getByRole('button', { name: 'Rotate now' }));
  }
}

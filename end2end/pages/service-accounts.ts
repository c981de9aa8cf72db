import { expect, type Locator } from '@playwright/test';
import { BasePage } from './base';
import { TokenList } from './tokens';

/** /service-accounts: the list, the search and the "New service account" form. */
export class ServiceAccountsPage extends BasePage {
  async goto(query?: string): Promise<void> {
    await this.open(query ? `/service-accounts?q=${encodeURIComponent(query)}` : '/service-accounts');
    await expect(this.title).toBeVisible();
  }

  get title(): Locator {
    return this.heading('Service accounts');
  }

  get newAccountSummary(): Locator {
    return this.summary(this.page, 'New service account');
  }

  /** The "Name" input. Its label ends in an aria-hidden "*", so match the start. */
  get nameInput(): Locator {
    return this.page.getByLabel(/^Name\b/);
  }

  get roleSelect(): Locator {
    return this.formWith('Create service account').getByLabel('Role');
  }

  /** Opens the "New service account" disclosure. */
  async openCreateForm(): Promise<Locator> {
    return this.expand(this.newAccountSummary);
  }

  /** The roles the create form offers, by label. */
  async roleOptions(): Promise<string[]> {
    await this.openCreateForm();
    return (await this.roleSelect.locator('option').allTextContents()).map((t) => t.trim());
  }

  /** Fills and submits the create form; ends on the new account's page. Returns its id. */
  async create(name: string, opts: { description?: string; role?: string } = {}): Promise<number> {
    const form = await this.openCreateForm();
    await this.nameInput.fill(name);
    await form.getByLabel('Description (optional)').fill(opts.description ?? '');
    if (opts.role) await this.roleSelect.selectOption({ label: opts.role });
    await this.submit(form.getByRole('button', { name: 'Create service account' }));
    await expect(this.page).toHaveURL(/\/service-accounts\/\d+$/);
    await this.ready();
    await expect(this.heading(name)).toBeVisible();
    return Number(new URL(this.page.url()).pathname.split('/').pop());
  }

  async search(text: string): Promise<void> {
    await this.page.getByLabel('Search service accounts').fill(text);
    await this.submit(this.page.getByRole('button', { name: 'Search', exact: true }));
    await expect(this.page).toHaveURL(new RegExp(`[?&]q=${encodeURIComponent(text)}`));
  }

  /** The link to an account in the table. */
  accountLink(name: string): Locator {
    return this.page.getByRole('table', { name: 'Service accounts' }).getByRole('link', { name, exact: true });
  }
}

/** /service-accounts/<id>: one account, its actions and its tokens. */
export class ServiceAccountPage extends BasePage {
  readonly tokens = new TokenList(this.page, this.js);

  async goto(id: number, name?: string): Promise<void> {
    await this.open(`/service-accounts/${id}`);
    if (name) await expect(this.heading(name)).toBeVisible();
  }

  async reload(): Promise<void> {
    await this.page.reload();
    await this.ready();
  }

  get newTokenSummary(): Locator {
    return this.summary(this.page, 'New token');
  }

  /** Fills and submits the "New token" form; the reveal opens next. */
  async createToken(name: string, opts: { description?: string; expires?: string } = {}): Promise<void> {
    const form = await this.expand(this.newTokenSummary);
    await form.getByLabel('Token name').fill(name);
    await form.getByLabel('Description (optional)').fill(opts.description ?? '');
    if (opts.expires) await form.getByLabel('Expires', { exact: true }).selectOption({ label: opts.expires });
    await this.submit(form.getByRole('button', { name: 'Create token' }));
  }

  /** Deletes the account, typing its name to confirm; ends on the list. */
  async deleteAccount(name: string): Promise<void> {
    const panel = await this.expand(this.summary(this.page, 'Delete…'));
    await panel.getByLabel('Type the account name to confirm').fill(name);
    await this.submit(panel.getByRole('button', { name: 'Delete service account' }));
  }
}

import { expect, type Locator, type Page } from '@playwright/test';
import { BasePage } from './base';

/** `/tokens`: the organisation-wide token table, its filter form and bulk actions. */
export class TokenTable extends BasePage {
  constructor(page: Page, js: boolean) {
    super(page, js);
  }

  /** Opens the table with a query string (no leading `?`). */
  async goto(query = ''): Promise<void> {
    await this.open(query ? `/tokens?${query}` : '/tokens');
    await expect(this.heading('Tokens')).toBeVisible();
  }

  get table(): Locator {
    return this.page.getByRole('table', { name: 'Tokens, sortable by column' });
  }

  get filters(): Locator {
    return this.page.getByRole('search', { name: 'Filter tokens' });
  }

  row(name: string): Locator {
    return this.table.locator(`tbody tr[data-token-name="${name}"]`);
  }

  /** The token names of the shown rows, top to bottom. */
  async names(): Promise<string[]> {
    const rows = this.table.locator('tbody tr');
    const out: string[] = [];
    for (const row of await rows.all()) out.push((await row.getAttribute('data-token-name')) ?? '');
    return out;
  }

  /** Waits until the table shows exactly these rows, in this order. */
  async expectNames(names: string[]): Promise<void> {
    await expect(async () => expect(await this.names()).toEqual(names)).toPass({ timeout: 15_000 });
  }

  status(name: string, label: string): Locator {
    return this.row(name).getByRole('cell').nth(9).getByText(label, { exact: true });
  }

  columnHeader(label: string): Locator {
    return this.table.getByRole('columnheader', { name: label, exact: true });
  }

  /** Clicks a column's sort link and waits for the URL to carry the new sort. */
  async sortBy(label: string, column: string, dir: 'asc' | 'desc'): Promise<void> {
    await this.submit(this.columnHeader(label).getByRole('link'));
    await expect(this.page).toHaveURL(new RegExp(`[?&]sort=${column}&dir=${dir}(&|$)`));
    await expect(this.columnHeader(label)).toHaveAttribute('aria-sort', dir === 'asc' ? 'ascending' : 'descending');
  }

  /** Fills the filter form (only what is given) and applies it. */
  async filter(opts: { search?: string; statuses?: string[]; ownerType?: string; owners?: string }): Promise<void> {
    const f = this.filters;
    if (opts.search !== undefined) await f.getByLabel('Search').fill(opts.search);
    if (opts.ownerType !== undefined) await f.getByLabel('Owner type').selectOption({ label: opts.ownerType });
    if (opts.owners !== undefined) await f.getByLabel('Owners').fill(opts.owners);
    if (opts.statuses) {
      for (const box of await f.getByRole('group', { name: 'Status' }).getByRole('checkbox').all()) {
        await box.setChecked(false);
      }
      for (const s of opts.statuses) await f.getByLabel(s, { exact: true }).check();
    }
    await this.submit(f.getByRole('button', { name: 'Apply' }));
  }

  /** Ticks the row checkbox of a token. */
  async select(name: string, owner: string): Promise<void> {
    await this.table.getByLabel(`Select ${name} (${owner})`, { exact: true }).check();
  }

  async revokeSelected(): Promise<void> {
    const panel = await this.expand(this.summary(this.page, 'Revoke selected…'));
    await this.submit(panel.getByRole('button', { name: 'Yes, revoke selected' }));
  }

  /** The "Revoke all N matching…" disclosure, which states the count. */
  get revokeMatchingSummary(): Locator {
    return this.page.locator('summary').filter({ hasText: /^Revoke all \d+ matching…$/ });
  }

  async revokeAllMatching(count: number): Promise<void> {
    await expect(this.revokeMatchingSummary).toHaveText(`Revoke all ${count} matching…`);
    const panel = await this.expand(this.revokeMatchingSummary);
    await expect(panel).toContainText(`This revokes ${count} live token${count === 1 ? '' : 's'} matching the current filters`);
    await this.submit(panel.getByRole('button', { name: `Revoke ${count} token${count === 1 ? '' : 's'}` }));
  }
}

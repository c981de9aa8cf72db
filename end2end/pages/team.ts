import { expect, type Locator } from '@playwright/test';
import { BasePage } from './base';

/** /team: members, and (for Admins) "Add team member", which reveals a set-password link. */
export class TeamPage extends BasePage {
  async goto(): Promise<void> {
    await this.open('/team');
    await expect(this.heading('Team')).toBeVisible();
  }

  get addMemberSummary(): Locator {
    return this.summary(this.page, 'Add team member');
  }

  /** Submits "Add team member"; the reveal with the set-password link opens next. */
  async addMember(who: { email: string; name?: string; role: string }): Promise<void> {
    const form = await this.expand(this.addMemberSummary);
    await form.getByLabel('E-mail address').fill(who.email);
    await form.getByLabel('Name (optional)').fill(who.name ?? '');
    // Options read "Power User — Creates and manages …": pick by the role's value.
    const value = who.role.toLowerCase().replace(/ /g, '_');
    await form.getByLabel('Role').selectOption(value);
    await this.submit(form.getByRole('button', { name: 'Add member' }));
  }

  /** The row of a member, by e-mail address. */
  member(email: string): Locator {
    return this.page.getByRole('table', { name: 'Team members' }).getByRole('row').filter({ hasText: email });
  }
}

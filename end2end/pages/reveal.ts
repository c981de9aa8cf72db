import { expect, type Locator, type Page } from '@playwright/test';

/**
 * The one-time secret reveal after creating or rotating a token, or adding a team member.
 * With JavaScript: a modal `<dialog>`, the secret in a `<code>`. Without: a panel at the top
 * of the re-rendered page, the secret in a read-only `<textarea>`, and a "continue" link.
 */
export class Reveal {
  constructor(
    readonly page: Page,
    readonly js: boolean,
    /** The noun in the wording. */
    readonly noun: 'token' | 'link' | 'secret' | 'recovery codes' = 'token',
  ) {}

  /** The dialog (JavaScript) or the panel (no JavaScript). */
  get root(): Locator {
    return this.js
      ? this.page.getByRole('dialog')
      : this.page.getByRole('region').filter({ has: this.page.getByLabel(`The new ${this.noun}`) });
  }

  get secretField(): Locator {
    return this.root.getByLabel(`The new ${this.noun}`);
  }

  get warning(): Locator {
    const these = this.noun.endsWith('s') ? 'These' : 'This';
    return this.root.getByText(`${these} ${this.noun} will not be shown again.`);
  }

  /** "I have stored the token — close" (button) or "… — continue" (link). */
  get closeControl(): Locator {
    return this.js
      ? this.root.getByRole('button', { name: `I have stored the ${this.noun} — close` })
      : this.root.getByRole('link', { name: `I have stored the ${this.noun} — continue` });
  }

  get copyButton(): Locator {
    return this.root.getByRole('button', { name: /^Cop(y|ied)$/ });
  }

  /** The question Escape brings up. */
  get closeQuestion(): Locator {
    return this.root.getByRole('alertdialog');
  }

  async expectOpen(): Promise<void> {
    await expect(this.root).toBeVisible();
    await expect(this.warning).toBeVisible();
    if (this.js) {
      // A modal dialog: opened with showModal(), so the rest of the page is inert.
      expect(await this.root.evaluate((d) => (d as HTMLDialogElement).open && d.matches(':modal'))).toBe(true);
    }
  }

  /** Reads the secret shown. */
  async secret(): Promise<string> {
    await expect(this.secretField).toBeVisible();
    const value = this.js ? await this.secretField.textContent() : await this.secretField.inputValue();
    const secret = (value ?? '').trim();
    expect(secret, 'the reveal shows a secret').not.toBe('');
    return secret;
  }

  /** Confirms the secret was stored and closes the reveal (JS) or continues (no JS). */
  async close(): Promise<void> {
    await this.closeControl.click();
    await expect(this.root).toHaveCount(0);
  }
}

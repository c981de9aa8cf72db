import { expect, type Locator } from '@playwright/test';
import { BasePage } from './base';

/** /account: the signed-in person's two-step sign-in (authenticator app, recovery codes). */
export class AccountPage extends BasePage {
  async goto(): Promise<void> {
    await this.open('/account');
    await expect(this.heading('Your account')).toBeVisible();
  }

  get section(): Locator {
    return this.page.getByRole('region', { name: 'Two-step sign-in' });
  }

  get qrCode(): Locator {
    return this.section.getByRole('img', { name: 'QR code for your authenticator app' });
  }

  /** The key to type into an app by hand (grouped base32). */
  get setupKey(): Locator {
    return this.section.locator('#totp-setup-key');
  }

  get codeField(): Locator {
    return this.section.getByLabel('Enter the 6-digit code the app shows');
  }

  get codesLeft(): Locator {
    return this.section.locator('#recovery-codes-left');
  }

  /** "Set up authenticator app": shows the QR code and key; returns the key. */
  async startSetup(): Promise<string> {
    await this.submit(this.section.getByRole('button', { name: 'Set up authenticator app' }));
    await expect(this.qrCode).toBeVisible();
    const key = ((await this.setupKey.textContent()) ?? '').trim();
    expect(key).toMatch(/^[A-Z2-7 ]{32,}$/);
    return key;
  }

  async confirm(code: string): Promise<void> {
    await this.codeField.fill(code);
    await this.submit(this.section.getByRole('button', { name: 'Turn on two-step sign-in' }));
  }
}

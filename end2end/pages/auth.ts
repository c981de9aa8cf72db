import { expect, type Locator } from '@playwright/test';
import { BasePage } from './base';

/** /setup?code=…: creates the first Admin. */
export class SetupPage extends BasePage {
  async goto(setupUrl: string): Promise<void> {
    await this.open(setupUrl);
  }

  get title(): Locator {
    return this.heading('Set up Keyward');
  }

  get submitButton(): Locator {
    return this.page.getByRole('button', { name: 'Create Admin account' });
  }

  /** The message shown when the setup link no longer works. */
  get invalidLink(): Locator {
    return this.page.getByRole('alert').filter({ hasText: 'This setup link is not valid' });
  }

  get alreadySetUp(): Locator {
    return this.page.getByRole('status').filter({ hasText: 'Keyward is already set up' });
  }

  async createAdmin(who: { email: string; name?: string; password: string; confirm?: string }): Promise<void> {
    await this.page.getByLabel('E-mail address').fill(who.email);
    await this.page.getByLabel('Your name (optional)').fill(who.name ?? '');
    await this.page.getByLabel(/^Password/).fill(who.password);
    await this.page.getByLabel('Repeat the password').fill(who.confirm ?? who.password);
    await this.submit(this.submitButton);
  }
}

/** /login */
export class LoginPage extends BasePage {
  async goto(next?: string): Promise<void> {
    await this.open(next ? `/login?next=${encodeURIComponent(next)}` : '/login');
  }

  get title(): Locator {
    return this.heading('Sign in to Keyward');
  }

  get form(): Locator {
    return this.formWith('Sign in');
  }

  /** The error banner inside the sign-in form. */
  get formError(): Locator {
    return this.form.getByRole('alert');
  }

  async signIn(email: string, password: string): Promise<void> {
    await this.page.getByLabel('E-mail address').fill(email);
    await this.page.getByLabel('Password').fill(password);
    await this.submit(this.page.getByRole('button', { name: 'Sign in' }));
  }
}

/** /set-password?code=…: a one-time link from an Admin. */
export class SetPasswordPage extends BasePage {
  async goto(link: string): Promise<void> {
    await this.open(link);
  }

  get title(): Locator {
    return this.heading('Set your password');
  }

  async setPassword(password: string): Promise<void> {
    await expect(this.title).toBeVisible();
    await this.page.getByLabel('New password').fill(password);
    await this.page.getByLabel('Repeat the password').fill(password);
    await this.submit(this.page.getByRole('button', { name: 'Set password and sign in' }));
  }
}

/** /login/second-factor: the code after the password, for people with an authenticator app. */
export class SecondFactorPage extends BasePage {
  get title(): Locator {
    return this.heading('Two-step sign-in');
  }

  get codeField(): Locator {
    return this.page.getByRole('textbox', { name: 'Code', exact: true });
  }

  async enter(code: string): Promise<void> {
    await expect(this.title).toBeVisible();
    await this.codeField.fill(code);
    await this.submit(this.page.getByRole('button', { name: 'Verify' }));
  }
}

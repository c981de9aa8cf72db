import { expect, type Locator, type Page } from '@playwright/test';
import { pageReady } from '../support/fixtures';

/** What every page object shares: the page, whether JavaScript is on, the app shell. */
export abstract class BasePage {
  constructor(
    readonly page: Page,
    readonly js: boolean,
  ) {}

  /** Opens `path` and waits until the page can be used (hydrated, with JavaScript). */
  protected async open(path: string): Promise<void> {
    await this.page.goto(path);
    await this.ready();
  }

  /**
   * Waits until the page can be used: hydrated with JavaScript (see support/fixtures.ts,
   * which also works around a known server-side rendering bug by reloading).
   */
  async ready(): Promise<void> {
    await pageReady(this.page, this.js);
  }

  /**
   * Clicks a form's submit button (or a link). Without JavaScript that loads the page the
   * server answers with (or redirects to): wait for it, then for the page to be ready. With
   * JavaScript the router handles it in place.
   */
  protected async submit(button: Locator): Promise<void> {
    if (this.js) {
      await button.click();
    } else {
      await Promise.all([this.page.waitForEvent('load'), button.click()]);
    }
    await this.ready();
  }

  /** The top navigation of signed-in pages. */
  get nav(): Locator {
    return this.page.getByRole('navigation', { name: 'Main' });
  }

  get signOutButton(): Locator {
    return this.nav.getByRole('button', { name: 'Sign out' });
  }

  async signOut(): Promise<void> {
    await this.signOutButton.click();
    await expect(this.page).toHaveURL(/\/login(\?|$)/);
    await this.ready();
  }

  /** The page's main heading. */
  heading(name: string | RegExp): Locator {
    return this.page.getByRole('heading', { level: 1, name });
  }

  /** The `<form>` that holds the submit button named `button`. */
  protected formWith(button: string): Locator {
    return this.page.locator('form').filter({ has: this.page.getByRole('button', { name: button, exact: true }) });
  }

  /** The summary (the button-like toggle) of a `<details>` disclosure, by its visible text. */
  protected summary(scope: Locator | Page, text: string): Locator {
    return scope.locator('summary').filter({ hasText: text });
  }

  /**
   * Opens the disclosure of `summary` (unless it is open already) and returns its
   * `<details>` element. Native HTML: works with and without JavaScript.
   */
  protected async expand(summary: Locator): Promise<Locator> {
    const details = summary.locator('xpath=..');
    if ((await details.getAttribute('open')) === null) {
      await summary.click();
    }
    await expect(details).toHaveAttribute('open', '');
    return details;
  }
}

/** Any signed-in page: the navigation and the user menu. */
export class AppShell extends BasePage {}

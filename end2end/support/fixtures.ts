/**
 * The suite's fixtures: the project's server, `baseURL` pointing at it, whether JavaScript
 * is on, a small client for the server functions (fast test setup), and the checks that a
 * page is usable (hydrated, no browser errors).
 */
import { test as base, expect, type APIRequestContext, type Page } from '@playwright/test';
import type { ServerInfo } from './server';
import { serverFor } from './state';
import { Api, type Credentials } from './api';

type WorkerFixtures = {
  /** The server started for this worker's project. */
  server: ServerInfo;
  /** Makes sure the first Admin exists (bootstrapping through the API if no spec did yet). */
  adminCredentials: Credentials;
};

type TestFixtures = {
  /** Is JavaScript on in this project? */
  js: boolean;
  /** Server functions over a request context of its own (cookies not shared with `page`). */
  api: Api;
  /** Server functions over the page's context: a sign-in here signs the page in too. */
  pageApi: Api;
  /**
   * Collects the page's uncaught errors and console errors (a hydration mismatch panics the
   * WASM and leaves a dead page behind that still "works" as plain HTML); the test fails if
   * there were any.
   */
  pageErrors: string[];
};

/** The errors seen so far on each page (read by waitForHydration). */
const errorsByPage = new WeakMap<Page, string[]>();

export const test = base.extend<TestFixtures, WorkerFixtures>({
  server: [
    async ({}, use, workerInfo) => {
      await use(serverFor(workerInfo.project.name));
    },
    { scope: 'worker' },
  ],

  adminCredentials: [
    async ({ server, playwright }, use) => {
      const ctx = await playwright.request.newContext({ baseURL: server.origin });
      const api = new Api(ctx, server.origin);
      await api.ensureFirstAdmin(server);
      await ctx.dispose();
      await use(server.admin);
    },
    { scope: 'worker' },
  ],

  baseURL: async ({ server }, use) => {
    await use(server.origin);
  },

  js: async ({ javaScriptEnabled }, use) => {
    await use(javaScriptEnabled !== false);
  },

  api: async ({ server, playwright }, use) => {
    const ctx: APIRequestContext = await playwright.request.newContext({ baseURL: server.origin });
    await use(new Api(ctx, server.origin));
    await ctx.dispose();
  },

  pageApi: async ({ server, page }, use) => {
    await use(new Api(page.request, server.origin));
  },

  pageErrors: [
    async ({ page }, use) => {
      const errors: string[] = [];
      errorsByPage.set(page, errors);
      page.on('pageerror', (e) => errors.push(`${page.url()}: uncaught ${e.name}: ${e.message}`));
      page.on('console', (m) => {
        // The browser logs failed loads (a 404 page, say) as console errors: not the app's.
        if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) {
          errors.push(`${page.url()}: console error: ${m.text().split('\n').slice(0, 3).join(' ')}`);
        }
      });
      await use(errors);
      expect(errors, 'errors in the browser console').toEqual([]);
    },
    { auto: true },
  ],
});

export { expect };

/** A name no other test (or earlier run against the same server) uses. */
export function uniqueName(prefix: string): string {
  const suffix = `${Date.now().toString(36)}${Math.floor(Math.random() * 1296).toString(36)}`;
  return `${prefix}_${suffix}`.toLowerCase().slice(0, 64);
}

/** Waits until the WASM has hydrated the page (with JavaScript on); a no-op without it. */
export async function waitForHydration(page: Page, js: boolean): Promise<void> {
  const problem = await hydrationProblem(page, js);
  if (problem) throw new Error(problem);
}

/** Null when the page hydrated; otherwise what went wrong. */
async function hydrationProblem(page: Page, js: boolean): Promise<string | null> {
  if (!js) return null;
  await expect(page.locator('body[data-hydrated="true"]')).toHaveCount(1, { timeout: 30_000 });
  // The marker is set once hydration returned; still make sure no error was logged (one round
  // trip delivers the console events before it).
  await page.evaluate(() => 0);
  const seen = errorsByPage.get(page) ?? [];
  const errors = seen.filter((e) => /hydrat|panicked|unreachable/i.test(e));
  if (!errors.length) return null;
  seen.length = 0; // reported here; the end-of-test check need not repeat them
  return (
    `The page did not hydrate (the WASM panicked), so it only works as plain HTML.\n` +
    `If target/site is older than the server binary, rebuild both with \`cargo leptos build\`.\n` +
    errors.join('\n')
  );
}

const INTERNAL_ERROR = /Something went wrong on our side \(reference/;

/** Waits until the page is usable: hydrated (with JavaScript) and not showing an internal error. */
export async function pageReady(page: Page, js: boolean): Promise<void> {
  const problem = (await hydrationProblem(page, js)) ?? (await internalErrorShown(page));
  if (problem) {
    const url = new URL(page.url());
    throw new Error(`${problem}\n(the page is ${url.pathname}${url.search})`);
  }
}

async function internalErrorShown(page: Page): Promise<string | null> {
  const alert = page.getByRole('alert').filter({ hasText: INTERNAL_ERROR });
  if ((await alert.count()) === 0) return null;
  return `The page shows an internal error: ${(await alert.first().innerText()).replace(/\s+/g, ' ')}`;
}

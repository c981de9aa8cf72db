/**
 * The server functions under /api/fn, for arranging a test quickly (form-encoded POSTs that
 * answer JSON). A POST must look same-origin, so every one carries `Origin`.
 */
import { expect, type APIRequestContext, type APIResponse } from '@playwright/test';
import type { ServerInfo } from './server';

export interface Credentials {
  email: string;
  password: string;
  name?: string;
}

export interface ServiceAccount {
  id: number;
  name: string;
  role: string;
}

export interface TokenSecret {
  secret: string;
  token: { id: number; name: string };
}

export class Api {
  constructor(
    readonly request: APIRequestContext,
    readonly origin: string,
  ) {}

  /** POSTs a form to /api/fn/<path> and returns the raw response (no redirects followed). */
  post(path: string, form: Record<string, string | number>): Promise<APIResponse> {
    return this.request.post(`${this.origin}/api/fn/${path}`, {
      form: Object.fromEntries(Object.entries(form).map(([k, v]) => [k, String(v)])),
      headers: { Origin: this.origin, Accept: 'application/json' },
      maxRedirects: 0,
    });
  }

  /** POSTs and expects success; returns the JSON answer (if any). */
  async call<T = unknown>(path: string, form: Record<string, string | number>): Promise<T> {
    const res = await this.post(path, form);
    const body = await res.text();
    expect(res.status(), `POST /api/fn/${path} answered ${res.status()}: ${body}`).toBeLessThan(400);
    return (body ? JSON.parse(body) : undefined) as T;
  }

  async get<T = unknown>(path: string, params: Record<string, string | number> = {}): Promise<T> {
    const res = await this.request.get(`${this.origin}/api/fn/${path}`, {
      params,
      headers: { Accept: 'application/json' },
    });
    const body = await res.text();
    expect(res.status(), `GET /api/fn/${path} answered ${res.status()}: ${body}`).toBe(200);
    return JSON.parse(body) as T;
  }

  async login(who: Credentials): Promise<void> {
    await this.call('auth/login', { email: who.email, password: who.password });
  }

  /**
   * Creates the first Admin through the setup code, unless some test already did (the
   * foundation spec does it through the setup page).
   */
  async ensureFirstAdmin(server: ServerInfo): Promise<void> {
    const code = new URL(server.setupUrl).searchParams.get('code') ?? '';
    const state = await this.get<{ needs_setup: boolean }>('auth/setup-state', { code });
    if (!state.needs_setup) return;
    await this.call('auth/setup', {
      code,
      email: server.admin.email,
      display_name: server.admin.name,
      password: server.admin.password,
      password_confirm: server.admin.password,
    });
  }

  createServiceAccount(name: string, role = 'viewer', description = ''): Promise<ServiceAccount> {
    return this.call<ServiceAccount>('service-accounts/create', { name, description, role });
  }

  createAccountToken(accountId: number, name: string, expiresIn = '30'): Promise<TokenSecret> {
    return this.call<TokenSecret>('service-accounts/tokens/create', {
      account_id: accountId,
      name,
      description: '',
      expires_in: expiresIn,
    });
  }

  /** Adds a team member; returns the one-time set-password link. */
  async invite(email: string, role: string, displayName = ''): Promise<string> {
    const out = await this.call<{ link: string }>('team/invite', { email, display_name: displayName, role });
    return out.link;
  }
}

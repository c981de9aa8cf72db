/**
 * Starts one Keyward server per project (each with a fresh data directory, so each project
 * bootstraps its own first Admin) and writes where they are to a JSON file named by
 * KEYWARD_E2E_STATE, which the workers inherit.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { FullConfig } from '@playwright/test';
import { serverBinary, siteRoot, startServer, stopPid } from './server';
import { STATE_ENV, type SuiteState } from './state';

export default async function globalSetup(config: FullConfig): Promise<void> {
  const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'keyward-e2e-state-'));
  const stateFile = path.join(stateDir, 'servers.json');
  process.env[STATE_ENV] = stateFile;
  const state: SuiteState = {};
  const write = () => fs.writeFileSync(stateFile, JSON.stringify(state, null, 2));
  write();
  try {
    const infos = await Promise.all(config.projects.map((p) => startServer(p.name)));
    for (const info of infos) state[info.project] = info;
    write();
  } catch (e) {
    // Do not leave half of the servers behind.
    await Promise.all(Object.values(state).map((s) => stopPid(s.pid)));
    throw e;
  }
  warnIfSiteIsStale();
  for (const s of Object.values(state)) {
    console.log(`[keyward-e2e] ${s.project}: ${s.origin} (pid ${s.pid}, log ${s.logFile})`);
  }
}

/**
 * `cargo leptos build` writes the site first and the server binary last; a binary much newer
 * than the site was probably rebuilt alone (`cargo build`/`cargo test`), and the old WASM may
 * not hydrate what it renders.
 */
function warnIfSiteIsStale(): void {
  try {
    const bin = fs.statSync(serverBinary()).mtimeMs;
    const wasm = fs.statSync(path.join(siteRoot(), 'pkg', 'keyward.wasm')).mtimeMs;
    const minutes = Math.round((bin - wasm) / 60_000);
    if (minutes > 10) {
      console.log(
        `[keyward-e2e] note: the server binary is ${minutes} min newer than target/site; ` +
          'if the js project reports hydration failures, rebuild both with `cargo leptos build`',
      );
    }
  } catch {
    // startServer reports missing files
  }
}

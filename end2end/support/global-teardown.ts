/** Stops the servers of the global setup and removes their temporary directories. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { stopPid } from './server';
import { STATE_ENV, type SuiteState } from './state';

export default async function globalTeardown(): Promise<void> {
  const stateFile = process.env[STATE_ENV];
  if (!stateFile || !fs.existsSync(stateFile)) return;
  const state = JSON.parse(fs.readFileSync(stateFile, 'utf8')) as SuiteState;
  await Promise.all(Object.values(state).map((s) => stopPid(s.pid)));
  const keep = process.env.KEYWARD_E2E_KEEP === '1';
  for (const s of Object.values(state)) {
    if (keep) {
      console.log(`[keyward-e2e] kept ${s.tmpDir} (server log: ${s.logFile})`);
    } else {
      fs.rmSync(s.tmpDir, { recursive: true, force: true });
    }
  }
  if (!keep) fs.rmSync(path.dirname(stateFile), { recursive: true, force: true });
}

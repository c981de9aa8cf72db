/** Hands the servers started by the global setup to the test workers (a JSON file). */
import * as fs from 'node:fs';
import type { ServerInfo } from './server';

export const STATE_ENV = 'KEYWARD_E2E_STATE';

export type SuiteState = Record<string, ServerInfo>;

export function readState(): SuiteState {
  const file = process.env[STATE_ENV];
  if (!file || !fs.existsSync(file)) {
    throw new Error(`${STATE_ENV} is not set or missing: run the suite with \`npx playwright test\` (the global setup starts the servers)`);
  }
  return JSON.parse(fs.readFileSync(file, 'utf8')) as SuiteState;
}

export function serverFor(project: string): ServerInfo {
  const info = readState()[project];
  if (!info) throw new Error(`no server was started for project ${project}`);
  return info;
}

/**
 * Starts and stops Keyward servers for the suite: each on its own loopback port with a fresh
 * temporary data directory (SQLite), so each gets its own one-time first-admin setup URL.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';

export const REPO_ROOT = path.resolve(__dirname, '..', '..');

/** What a test needs to know about the server of its project. */
export interface ServerInfo {
  project: string;
  pid: number;
  port: number;
  /** `http://127.0.0.1:<port>` (no trailing slash). */
  origin: string;
  /** The one-time setup URL printed on the server's standard output. */
  setupUrl: string;
  /** The temporary directory (data dir, site snapshot, logs) removed at teardown. */
  tmpDir: string;
  /** The server's log (standard error), for debugging a failure. */
  logFile: string;
  /** The first Admin: created by the first spec that needs it. */
  admin: { email: string; name: string; password: string };
}

/** The server binary: KEYWARD_BIN, or target/release/keyward (what scripts/run serves). */
export function serverBinary(): string {
  const bin = process.env.KEYWARD_BIN ?? 'target/release/keyward';
  return path.resolve(REPO_ROOT, bin);
}

/** The compiled site (wasm, js, css): KEYWARD_SITE_ROOT, or target/site in the repository. */
export function siteRoot(): string {
  return path.resolve(REPO_ROOT, process.env.KEYWARD_SITE_ROOT ?? 'target/site');
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Waits until `file` exists (a rebuild may have removed it for a moment). */
async function waitForFile(file: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let told = false;
  while (!fs.existsSync(file)) {
    if (Date.now() > deadline) {
      throw new Error(`${file} does not exist: build the site first (cargo leptos build), or set KEYWARD_BIN`);
    }
    if (!told) {
      console.log(`[keyward-e2e] waiting for ${file} (being rebuilt?)`);
      told = true;
    }
    await sleep(1000);
  }
}

/** A port nothing listens on right now. */
async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

function randomPassword(): string {
  const chars = 'abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789';
  let out = '';
  for (let i = 0; i < 24; i++) out += chars[Math.floor(Math.random() * chars.length)];
  return `${out}-e2e`;
}

/** The runner's environment minus anything that would point the server elsewhere. */
function inheritedEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const key of Object.keys(env)) {
    if (key === 'DATABASE_URL' || (key.startsWith('KEYWARD_') && key !== 'KEYWARD_LOG') || key.startsWith('LEPTOS_')) {
      delete env[key];
    }
  }
  return env;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * Starts one server and waits until it prints its setup URL and answers /healthz.
 * Retries with another port if the first one was taken in the meantime.
 */
export async function startServer(project: string): Promise<ServerInfo> {
  const bin = serverBinary();
  const site = siteRoot();
  await waitForFile(bin, 180_000);
  await waitForFile(path.join(site, 'pkg', 'keyward.wasm'), 180_000);

  const tmpDir = fs.mkdtempSync(path.join(os.tmpdir(), `keyward-e2e-${project}-`));
  // A snapshot of the site, so a rebuild during the run cannot swap the wasm under a page.
  const siteCopy = path.join(tmpDir, 'site');
  fs.cpSync(site, siteCopy, { recursive: true });

  let lastError: unknown;
  for (let attempt = 1; attempt <= 3; attempt++) {
    const port = await freePort();
    const origin = `http://127.0.0.1:${port}`;
    const dataDir = path.join(tmpDir, `data-${attempt}`);
    const stdoutFile = path.join(tmpDir, `stdout-${attempt}.log`);
    const logFile = path.join(tmpDir, `server-${attempt}.log`);
    const out = fs.openSync(stdoutFile, 'w');
    const err = fs.openSync(logFile, 'w');
    const child = spawn(bin, [], {
      cwd: REPO_ROOT,
      detached: true,
      stdio: ['ignore', out, err],
      env: {
        ...inheritedEnv(),
        KEYWARD_DATA_DIR: dataDir,
        KEYWARD_LISTEN: `127.0.0.1:${port}`,
        KEYWARD_BASE_URL: `${origin}/`,
        // The webhook spec sends to a receiver on this machine (loopback is refused otherwise).
        KEYWARD_WEBHOOK_ALLOW_PRIVATE: '1',
        NO_COLOR: '1',
        LEPTOS_SITE_ROOT: siteCopy,
        LEPTOS_OUTPUT_NAME: 'keyward',
        LEPTOS_SITE_PKG_DIR: 'pkg',
      },
    });
    fs.closeSync(out);
    fs.closeSync(err);
    let spawnError: Error | undefined;
    child.on('error', (e) => (spawnError = e));
    child.unref();
    try {
      const setupUrl = await waitForStart(child.pid, stdoutFile, origin, () => spawnError);
      return {
        project,
        pid: child.pid!,
        port,
        origin,
        setupUrl,
        tmpDir,
        logFile,
        admin: {
          email: `admin.${project}@keyward.test`,
          name: `Ada Admin (${project})`,
          password: randomPassword(),
        },
      };
    } catch (e) {
      lastError = e;
      if (child.pid) stopPid(child.pid);
      const log = fs.existsSync(logFile) ? fs.readFileSync(logFile, 'utf8').slice(-2000) : '';
      console.log(`[keyward-e2e] ${project}: server start attempt ${attempt} failed: ${e}\n${log}`);
      await sleep(1000);
    }
  }
  throw lastError;
}

async function waitForStart(
  pid: number | undefined,
  stdoutFile: string,
  origin: string,
  spawnError: () => Error | undefined,
): Promise<string> {
  const deadline = Date.now() + 60_000;
  const pattern = new RegExp(`${origin.replace(/[.]/g, '\\.')}/setup\\?code=[0-9A-Za-z]{32}`);
  let setupUrl: string | undefined;
  while (Date.now() < deadline) {
    const e = spawnError();
    if (e) throw e;
    if (!pid || !isAlive(pid)) throw new Error('the server exited during start-up');
    if (!setupUrl) {
      const m = fs.readFileSync(stdoutFile, 'utf8').match(pattern);
      if (m) setupUrl = m[0];
    }
    if (setupUrl) {
      try {
        const res = await fetch(`${origin}/healthz`);
        if (res.status === 200) return setupUrl;
      } catch {
        // not listening yet
      }
    }
    await sleep(200);
  }
  throw new Error(setupUrl ? '/healthz did not answer 200 in time' : 'no setup URL on standard output in time');
}

/** SIGTERM, then SIGKILL if it is still there after a few seconds. */
export function stopPid(pid: number): Promise<void> {
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    return Promise.resolve();
  }
  return (async () => {
    const deadline = Date.now() + 5000;
    while (isAlive(pid) && Date.now() < deadline) await sleep(100);
    if (isAlive(pid)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone
      }
    }
  })();
}

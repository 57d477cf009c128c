// The browser-test harness: builds the app, gives it a fresh database, starts it on a free
// port, and stops it afterwards. Run through `make test` (or `make e2e`), which provides
// DATABASE_URL (owner role) and APP_DATABASE_URL (runtime role) for the project's PostgreSQL.
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { chromium } from 'playwright-core';

export const root = path.resolve(import.meta.dirname, '..');

function log(message) {
  process.stderr.write(`[e2e] ${message}\n`);
}

function requireEnv(name) {
  const value = process.env[name];
  if (!value) {
    throw new Error(`${name} is not set: run the browser tests through 'make test' or 'make e2e'`);
  }
  return value;
}

/** The same URL pointing at another database. */
function withDatabase(url, database) {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}

function freePort() {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.unref();
    probe.on('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address();
      probe.close(() => resolve(port));
    });
  });
}

function psql(url, sql) {
  execFileSync('psql', [url, '-q', '-v', 'ON_ERROR_STOP=1', '-c', sql], { stdio: ['ignore', 'ignore', 'inherit'] });
}

/**
 * Builds (unless E2E_SKIP_BUILD=1), creates a fresh database, migrates and seeds it, starts the
 * server on a free port and waits until /healthz answers. Returns { url, logs, stop }.
 * `options.env` adds to the server's environment (JASIYO_DEV_PROVIDERS=1 starts the provider
 * simulators, as `make run` does).
 */
export async function startServer(options = {}) {
  const ownerUrl = requireEnv('DATABASE_URL');
  const appUrl = requireEnv('APP_DATABASE_URL');

  if (process.env.E2E_SKIP_BUILD !== '1') {
    log('building with cargo leptos build');
    execFileSync('cargo', ['leptos', 'build'], { cwd: root, stdio: ['ignore', 'inherit', 'inherit'] });
    // The public pages' own bundle (payment link, portal, hotspot).
    execFileSync('server/scripts/public-bundle.sh', [], { cwd: root, stdio: ['ignore', 'inherit', 'inherit'] });
  }
  const binary = path.join(root, 'target', 'debug', 'server');

  const database = `jasiyo_e2e_${randomBytes(6).toString('hex')}`;
  log(`creating database ${database}`);
  psql(ownerUrl, `create database "${database}"`);
  const env = {
    ...process.env,
    DATABASE_URL: withDatabase(ownerUrl, database),
    APP_DATABASE_URL: withDatabase(appUrl, database),
    // A key of its own for each run: seeding and serving share it, nothing is left behind.
    JASIYO_SECRET_KEY: randomBytes(32).toString('base64'),
  };
  execFileSync(binary, ['migrate'], { cwd: root, env, stdio: ['ignore', 'ignore', 'inherit'] });
  execFileSync(binary, ['seed-demo'], { cwd: root, env, stdio: ['ignore', 'ignore', 'inherit'] });

  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const logs = [];
  const child = spawn(binary, ['serve'], {
    cwd: root,
    env: {
      ...env,
      JASIYO_DEV_MAIL: '1',
      LEPTOS_SITE_ADDR: `127.0.0.1:${port}`,
      NO_COLOR: '1',
      ...(options.env ?? {}),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  for (const stream of [child.stdout, child.stderr]) {
    stream.on('data', (chunk) => logs.push(chunk.toString()));
  }
  const exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));

  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) {
      throw new Error(`server exited early (${child.exitCode}):\n${logs.join('')}`);
    }
    try {
      const res = await fetch(`${url}/healthz`);
      if (res.ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`server did not become healthy within 60 s:\n${logs.join('')}`);
    }
    await sleep(200);
  }
  log(`server up at ${url}`);

  async function stop() {
    child.kill('SIGTERM');
    const result = await Promise.race([exited, sleep(10_000).then(() => null)]);
    if (result === null) {
      child.kill('SIGKILL');
      await exited;
    }
    // The server has exited, but PostgreSQL may not yet have ended its backends; `with (force)`
    // cannot end them for the owner role (they belong to the runtime role), so wait for them.
    for (let attempt = 1; ; attempt += 1) {
      try {
        psql(ownerUrl, `drop database if exists "${database}" with (force)`);
        break;
      } catch (err) {
        if (attempt >= 40) throw err;
        await sleep(250);
      }
    }
    return result;
  }
  return { url, logs, stop };
}

/** Debian's Chromium, headless, with the flags that keep it off the network. */
export function launchBrowser() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

/** A page that records console errors and uncaught exceptions (hydration panics show here). */
export async function openPage(browser, options = {}) {
  const context = await browser.newContext(options);
  const page = await context.newPage();
  const errors = [];
  page.on('console', (msg) => {
    if (msg.type() === 'error') errors.push(msg.text());
  });
  page.on('pageerror', (err) => errors.push(String(err)));
  return { context, page, errors };
}

/** The demo logins `server seed-demo` creates (also printed by `make run`). */
export const DEMO = {
  owner: { email: 'owner@demo.jasiyo.test', password: 'demo-owner-pass', name: 'Wanjiku Otieno' },
  support: { email: 'support@demo.jasiyo.test', password: 'demo-support-pass', name: 'Amina Hassan' },
};

/** Signs in through the sign-in page and waits for the dashboard. */
export async function signIn(page, baseUrl, who = DEMO.owner) {
  await page.goto(`${baseUrl}/login`);
  await page.getByLabel('Email').fill(who.email);
  await page.getByLabel('Password').fill(who.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL(`${baseUrl}/app`);
  // Attached, not visible: on a phone the name is hidden to make room.
  await page.getByTestId('user-name').waitFor({ state: 'attached' });
}

/** Signs in over plain HTTP (no browser) and returns the Cookie header value. */
export async function signInCookie(baseUrl, who = DEMO.owner) {
  const res = await fetch(`${baseUrl}/api/sign-in`, {
    method: 'POST',
    redirect: 'manual',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ email: who.email, password: who.password }),
  });
  const cookie = res.headers.getSetCookie().find((c) => c.startsWith('jasiyo_session='));
  if (!cookie) throw new Error(`sign-in set no session cookie (${res.status})`);
  return cookie.split(';')[0];
}

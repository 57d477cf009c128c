// The operator shell end to end: server rendering, hydration, client-side navigation, and a
// server function round trip to PostgreSQL, in Debian's Chromium.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { DEMO, launchBrowser, openPage, signIn, signInCookie, startServer } from '../harness.mjs';

let server;
let browser;

before(async () => {
  server = await startServer();
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  if (server) {
    const exit = await server.stop();
    assert.ok(exit, 'the server did not stop within 10 s of SIGTERM');
    assert.equal(exit.code, 0, `the server exited with ${JSON.stringify(exit)} on SIGTERM`);
  }
});

const PHONE = { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true };

test('the dashboard arrives server-rendered with the ISP and the signed-in user', async () => {
  const cookie = await signInCookie(server.url);
  const res = await fetch(`${server.url}/app`, { headers: { cookie } });
  assert.equal(res.status, 200);
  const html = await res.text();
  assert.match(html, /data-testid="isp-name"[^>]*>Demo Networks</);
  assert.match(html, /Wanjiku Otieno/);
  assert.match(html, /data-hydrated="false"/, 'the server must render the not-yet-hydrated state');
});

test('without JavaScript one can sign in and read the shell', async () => {
  const { context, page } = await openPage(browser, { javaScriptEnabled: false });
  await page.goto(`${server.url}/app`);
  await page.waitForURL(`${server.url}/login`);
  // A refused sign-in comes back to the form with the reason (the error rides in the address),
  // not as a bare 401 answer: this is also what a phone sees when it submits before the
  // WebAssembly has arrived.
  await page.getByLabel('Email').fill(DEMO.owner.email);
  await page.getByLabel('Password').fill('not-the-password');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL(/\/login\?/);
  assert.equal(
    await page.getByTestId('sign-in-error').textContent(),
    'The email or password is not right.',
  );
  await page.getByLabel('Email').fill(DEMO.owner.email);
  await page.getByLabel('Password').fill(DEMO.owner.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL(`${server.url}/app`);
  assert.equal(await page.getByTestId('isp-name').textContent(), 'Demo Networks');
  assert.equal(await page.getByTestId('workspace-isp').textContent(), 'Demo Networks');
  assert.equal(await page.locator('.shell').getAttribute('data-hydrated'), 'false');
  await context.close();
});

test('the page hydrates and the menu opens without a reload on a phone', async () => {
  const { context, page, errors } = await openPage(browser, PHONE);
  await signIn(page, server.url);
  await page.locator('.shell[data-hydrated="true"]').waitFor({ timeout: 30_000 });

  // A marker on window survives client-side updates but not a reload.
  await page.evaluate(() => {
    window.__jasiyoMarker = 'still here';
  });
  const toggle = page.locator('button.nav-toggle');
  assert.equal(await toggle.getAttribute('aria-expanded'), 'false');
  assert.equal(await page.locator('#sidenav').isVisible(), false, 'the drawer starts closed');

  await toggle.click();
  assert.equal(await toggle.getAttribute('aria-expanded'), 'true');
  await page.locator('.shell.nav-open').waitFor();
  await page.locator('#sidenav').waitFor({ state: 'visible' });

  // Following a link navigates on the client and closes the drawer.
  await page.locator('#sidenav a', { hasText: 'Plans' }).click();
  await page.waitForURL(`${server.url}/app/plans`);
  await page.getByRole('heading', { name: 'Plans', level: 1 }).waitFor();
  assert.equal(await page.evaluate(() => window.__jasiyoMarker), 'still here', 'the page reloaded');
  assert.equal(await toggle.getAttribute('aria-expanded'), 'false');
  assert.equal(await page.locator('#sidenav a[aria-current="page"]').textContent(), '▤Plans');

  assert.deepEqual(errors, [], 'console errors during hydration or navigation');
  await context.close();
});

test('a server function round-trips to PostgreSQL from the browser', async () => {
  const { context, page, errors } = await openPage(browser);
  await signIn(page, server.url);
  await page.locator('.shell[data-hydrated="true"]').waitFor({ timeout: 30_000 });
  await page.evaluate(() => {
    window.__jasiyoMarker = 'still here';
  });

  const check = page.getByTestId('check-database');
  const [response] = await Promise.all([
    page.waitForResponse((r) => r.url().endsWith('/api/check-database') && r.request().method() === 'POST'),
    check.click(),
  ]);
  assert.equal(response.status(), 200);
  const time = page.getByTestId('database-time');
  await time.waitFor();
  const first = await time.textContent();
  assert.match(first, /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\.\d{3} UTC$/);
  assert.match(await page.getByTestId('database-check').textContent(), /PostgreSQL \d+/);

  // A second check asks the database again: its clock has moved on.
  await check.click();
  await page.waitForFunction(
    (previous) => document.querySelector('[data-testid="database-time"]')?.textContent !== previous,
    first,
  );
  assert.equal(await page.evaluate(() => window.__jasiyoMarker), 'still here', 'the page reloaded');
  assert.deepEqual(errors, [], 'console errors');
  await context.close();
});

test('health answers and unknown pages say so', async () => {
  const health = await fetch(`${server.url}/healthz`);
  assert.equal(health.status, 200);
  assert.deepEqual(await health.json(), { status: 'ok', database: 'ok' });
  const missing = await fetch(`${server.url}/app/nowhere`);
  assert.equal(missing.status, 404);
  assert.match(await missing.text(), /Page not found/);
});

test('a wrong password is refused generically, then sign in and out', async () => {
  const { context, page, errors } = await openPage(browser);
  await page.goto(`${server.url}/app`);
  await page.waitForURL(`${server.url}/login`);
  await page.locator('body').waitFor();
  await page.getByLabel('Email').fill(DEMO.support.email);
  await page.getByLabel('Password').fill('not-the-password');
  await page.getByRole('button', { name: 'Sign in' }).click();
  assert.equal(
    await page.getByTestId('sign-in-error').textContent(),
    'The email or password is not right.',
  );
  await page.getByLabel('Password').fill(DEMO.support.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL(`${server.url}/app`);
  assert.equal(await page.getByTestId('user-name').textContent(), DEMO.support.name);

  await page.getByTestId('sign-out').click();
  await page.waitForURL(`${server.url}/login`);
  await page.goto(`${server.url}/app`);
  await page.waitForURL(`${server.url}/login`);
  // The refused sign-in is a 401 answer, which Chromium logs; anything else is a real error.
  const unexpected = errors.filter((e) => !e.includes('status of 401 (Unauthorized)'));
  assert.deepEqual(unexpected, [], 'console errors');
  await context.close();
});

// The hotspot captive page in Chromium on a phone-sized screen, the way a MikroTik hotspot sends
// visitors to it: the router page's login.html points at the ISP's page with the router's
// variables; a visitor buys a package by M-Pesa (the demo's simulated Daraja pays it), and the
// page logs the device in by posting the code to the router's login address (here a small fake
// router login on loopback that records what it was sent); a printed voucher does the same.
import assert from 'node:assert/strict';
import http from 'node:http';
import { after, before, test } from 'node:test';
import { launchBrowser, openPage, signIn, startServer } from '../harness.mjs';

let server;
let browser;
let routerLogin;
const logins = [];

before(async () => {
  server = await startServer({ env: { JASIYO_DEV_PROVIDERS: '1' } });
  browser = await launchBrowser();
  // The hotspot router's own login page: it takes the form post and says who logged in.
  routerLogin = http.createServer((req, res) => {
    let body = '';
    req.on('data', (chunk) => {
      body += chunk;
    });
    req.on('end', () => {
      if (req.method === 'POST' && req.url === '/login') {
        const form = new URLSearchParams(body);
        logins.push(Object.fromEntries(form));
        res.writeHead(200, { 'content-type': 'text/html' });
        res.end(`<html><body><h1 id="logged-in">Logged in as ${form.get('username')}</h1></body></html>`);
      } else {
        // The browser's favicon request, and anything else: nothing to see.
        res.writeHead(204);
        res.end();
      }
    });
  });
  await new Promise((resolve) => routerLogin.listen(0, '127.0.0.1', resolve));
});

after(async () => {
  await browser?.close();
  await server?.stop();
  routerLogin?.close();
});

const hydrated = (page) => page.locator('main[data-hydrated="true"]').waitFor({ timeout: 30_000 });
const shellHydrated = (page) =>
  page.locator('.shell[data-hydrated="true"]').waitFor({ timeout: 30_000 });

/** The hotspot address the demo router's login.html sends a visitor to, as RouterOS fills it. */
async function hotspotUrlFromRouterPage() {
  const { page, context } = await openPage(browser);
  await signIn(page, server.url);
  await page.goto(`${server.url}/app/routers`);
  await shellHydrated(page);
  await page.getByTestId('router-row').first().locator('a').click();
  await page.waitForURL(/\/app\/routers\/[0-9a-f-]{36}$/);
  await page.getByTestId('hotspot-login-download').waitFor();
  const router = page.url().split('/').at(-1);
  const file = await context.request.get(`${server.url}/app/routers/${router}/login.html`);
  assert.equal(file.status(), 200);
  assert.match(file.headers()['content-disposition'], /login\.html/);
  const html = await file.text();
  const target = html.match(/url=([^"]+)"/)[1];
  assert.ok(target.startsWith(`${server.url}/hotspot/demo?router=${router}&`), target);
  await context.close();
  const port = routerLogin.address().port;
  return target
    .replace('$(mac-esc)', encodeURIComponent('AA:BB:CC:00:11:22'))
    .replace('$(ip)', '10.5.50.23')
    .replace('$(link-login-only-esc)', encodeURIComponent(`http://127.0.0.1:${port}/login`))
    .replace('$(link-orig-esc)', encodeURIComponent('http://example.com/news'));
}

let hotspotUrl;

test('a visitor buys a package by M-Pesa and is logged in through the router', async () => {
  hotspotUrl = await hotspotUrlFromRouterPage();
  const { context, page, errors } = await openPage(browser, { viewport: { width: 390, height: 844 } });
  const loaded = [];
  page.on('request', (request) => loaded.push(new URL(request.url()).pathname));
  await page.goto(hotspotUrl);
  await hydrated(page);
  // Hydrated from the hotspot page's own bundle, never the operator app's.
  assert.ok(loaded.includes('/pkg/jasiyo_hotspot.wasm'), loaded.join(' '));
  assert.ok(!loaded.includes('/pkg/jasiyo.wasm'), loaded.join(' '));
  assert.equal((await page.getByTestId('hotspot-business').textContent()).trim(), 'Demo Networks');
  const plans = page.getByTestId('hotspot-plan');
  assert.ok((await plans.count()) >= 2);
  const daily = plans.filter({ hasText: 'Hotspot Daily' });
  assert.match(await daily.textContent(), /KES 50/);
  await daily.click();

  // A wrong number is told plainly, before any prompt goes out.
  await page.getByTestId('hotspot-phone').fill('12345');
  await page.getByTestId('hotspot-buy').click();
  await page.getByTestId('hotspot-error').waitFor();
  assert.match(await page.getByTestId('hotspot-error').textContent(), /Phone number/);

  await page.getByTestId('hotspot-phone').fill('0722 000 111');
  await page.getByTestId('hotspot-buy').click();
  await page.getByTestId('pay-countdown').waitFor({ timeout: 15_000 });
  assert.match(await page.getByTestId('pay-countdown').textContent(), /\d+ s left/);

  // Paid, the code reaches the router; the page then posts it to the router's login page.
  await page.waitForURL(/127\.0\.0\.1:\d+\/login$/, { timeout: 60_000 });
  await page.locator('#logged-in').waitFor();
  const login = logins.at(-1);
  assert.match(login.username, /^[2-9A-HJKMNP-Z]{4}-[2-9A-HJKMNP-Z]{4}$/);
  assert.equal(login.password, login.username);
  assert.equal(login.dst, 'http://example.com/news');

  // The code was texted to the phone that paid, too (the sender sends within a second or so).
  let sent = [];
  for (let i = 0; i < 50 && !sent.some((m) => m.to === '+254722000111'); i += 1) {
    sent = await (await fetch(`${server.url}/dev/sms.json`)).json();
    await new Promise((r) => setTimeout(r, 200));
  }
  assert.ok(
    sent.some((m) => m.to === '+254722000111' && m.message.includes(login.username)),
    JSON.stringify(sent.slice(-3)),
  );
  // The wrong number's refusal (422) is the only error the console saw.
  assert.deepEqual(errors.filter((e) => !e.includes('422')), []);
  await context.close();
});

test('a printed voucher logs a device in', async () => {
  const staff = await openPage(browser);
  await signIn(staff.page, server.url);
  await staff.page.goto(`${server.url}/app/vouchers`);
  await shellHydrated(staff.page);
  await staff.page.locator('#voucher-count').fill('3');
  await staff.page.getByTestId('make-vouchers').click();
  await staff.page.getByTestId('vouchers-made').waitFor();
  const code = (await staff.page.getByTestId('voucher-row').first().locator('code').textContent()).trim();
  await staff.context.close();

  const { context, page, errors } = await openPage(browser, { viewport: { width: 390, height: 844 } });
  await page.goto(hotspotUrl ?? `${server.url}/hotspot/demo`);
  await hydrated(page);
  await page.getByText('Have a voucher?').click();
  // A mistyped code is refused with the reason.
  await page.getByTestId('hotspot-voucher-code').fill('ABCD-EFGH');
  await page.getByTestId('hotspot-use-voucher').click();
  await page.getByTestId('hotspot-voucher-error').waitFor();
  assert.match(await page.getByTestId('hotspot-voucher-error').textContent(), /not a voucher/);

  await page.getByTestId('hotspot-voucher-code').fill(code.toLowerCase());
  await page.getByTestId('hotspot-use-voucher').click();
  await page.waitForURL(/127\.0\.0\.1:\d+\/login$/, { timeout: 30_000 });
  assert.equal(logins.at(-1).username, code);
  assert.deepEqual(errors.filter((e) => !e.includes('422')), []);
  await context.close();
});

test('the hotspot page reads without JavaScript', async () => {
  const { context, page } = await openPage(browser, {
    javaScriptEnabled: false,
    viewport: { width: 390, height: 844 },
  });
  await page.goto(`${server.url}/hotspot/demo`);
  assert.ok((await page.getByTestId('hotspot-plan').count()) >= 2);
  assert.match(await page.getByTestId('hotspot-plan').first().textContent(), /KES \d+/);
  await page.getByTestId('hotspot-voucher-code').waitFor({ state: 'attached' });
  await page.getByTestId('hotspot-no-router').waitFor();
  await context.close();
});

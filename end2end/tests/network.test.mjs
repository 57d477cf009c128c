// Routers in Chromium: the demo router (a RouterOS simulator the server starts) comes online and
// its queue fills with confirmed commands; suspending a customer shows up on the router page as
// a confirmed cut-off without a reload; a new phone-home router shows its install script.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { launchBrowser, openPage, signIn, startServer } from '../harness.mjs';

let server;
let browser;

before(async () => {
  server = await startServer({ env: { JASIYO_DEV_PROVIDERS: '1' } });
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

const shellHydrated = (page) =>
  page.locator('.shell[data-hydrated="true"]').waitFor({ timeout: 30_000 });

test('the demo router is online, and a suspension reaches it', async () => {
  const { page, errors, context } = await openPage(browser);
  await signIn(page, server.url);
  await page.goto(`${server.url}/app/routers`);
  await shellHydrated(page);
  const row = page.getByTestId('router-row').first();
  await row.waitFor();
  assert.match(await row.textContent(), /Kasarani POP \(simulated\)/);
  await row.locator('a').click();
  await page.waitForURL(/\/app\/routers\/[0-9a-f-]{36}$/);
  await shellHydrated(page);
  // The page looks again every 5 s: the router comes online with its users confirmed.
  await page.getByTestId('router-status').filter({ hasText: 'Online' }).waitFor({ timeout: 30_000 });
  await page.getByTestId('command-row').filter({ hasText: 'confirmed' }).first().waitFor({ timeout: 30_000 });
  const routerUrl = page.url();

  // Suspend the first active customer from their panel.
  await page.goto(`${server.url}/app/customers?status=active`);
  await shellHydrated(page);
  await page.getByTestId('customer-link').first().click();
  const panel = page.getByTestId('customer-panel');
  assert.match(await panel.getByTestId('service-router').first().textContent(), /Kasarani POP/);
  const username = (await panel.locator('.service-card code').first().textContent()).trim();
  await panel.getByTestId('suspend').first().click();
  await panel.getByTestId('reactivate').first().waitFor();

  await page.goto(routerUrl);
  await shellHydrated(page);
  const cutOff = page
    .getByTestId('command-row')
    .filter({ hasText: username })
    .filter({ hasText: 'Suspended' })
    .filter({ hasText: 'confirmed' });
  await cutOff.first().waitFor({ timeout: 30_000 });
  assert.deepEqual(errors, []);
  await context.close();
});

test('a new phone-home router shows the script to paste into it', async () => {
  const { page, errors, context } = await openPage(browser, { viewport: { width: 390, height: 844 } });
  await signIn(page, server.url);
  await page.goto(`${server.url}/app/routers`);
  await shellHydrated(page);
  await page.locator('#name').fill('Mwiki mast');
  await page.locator('#site').fill('Mwiki, next to the water tower');
  await page.getByRole('button', { name: 'Add router' }).click();
  const created = page.getByTestId('router-created');
  await created.waitFor();
  await created.locator('a').click();
  await page.waitForURL(/\/app\/routers\/[0-9a-f-]{36}$/);
  await shellHydrated(page);
  const script = await page.getByTestId('install-script').inputValue();
  assert.match(script, /\/system scheduler add name="jasiyo-agent" interval=10s/);
  assert.match(script, /\/api\/routers\/agent/);
  assert.equal(await page.getByTestId('router-status').textContent(), 'Never seen');
  await page.getByTestId('copy-script').waitFor();
  assert.deepEqual(errors, []);
  await context.close();
});

test('vouchers are made for a hotspot plan and printed', async () => {
  const { page, errors, context } = await openPage(browser);
  await signIn(page, server.url);
  await page.goto(`${server.url}/app/vouchers`);
  await shellHydrated(page);
  await page.locator('#voucher-count').fill('12');
  await page.getByTestId('make-vouchers').click();
  const made = page.getByTestId('vouchers-made');
  await made.waitFor();
  assert.equal(await page.getByTestId('voucher-row').count(), 12);
  const first = (await page.getByTestId('voucher-row').first().locator('code').textContent()).trim();
  assert.match(first, /^[2-9A-HJKMNP-Z]{4}-[2-9A-HJKMNP-Z]{4}$/);

  // The sheet: every code on a card with the business and the plan.
  const href = await made.locator('a').getAttribute('href');
  await page.goto(`${server.url}${href}`);
  await page.getByTestId('voucher-sheet').waitFor();
  assert.equal(await page.getByTestId('voucher-card').count(), 12);
  const card = await page.getByTestId('voucher-card').first().textContent();
  assert.match(card, /Demo Networks/);
  assert.deepEqual(errors, []);
  await context.close();
});

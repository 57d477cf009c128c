// The public payment link in Chromium: staff copy a customer's link from the customer panel,
// the customer opens it without signing in, presses Pay now, and the page follows the M-Pesa
// prompt (the Daraja simulator answers as the payer after a few seconds) until it shows the new
// expiry, without a reload.
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

/** Nairobi-time "29 Nov 2026 14:05" as a comparable number. */
function parseLocal(text) {
  const ms = Date.parse(`${text.trim()} UTC`);
  assert.ok(!Number.isNaN(ms), `a date: ${text}`);
  return ms;
}

/**
 * The payment link of the `nth` customer with a renewal invoice waiting (the demo's first
 * billing run made them), copied from the customer panel as staff would. Returns
 * { link, account }.
 */
async function paymentLinkOfPendingCustomer(staff, nth) {
  await staff.page.goto(`${server.url}/app/invoices?status=pending`);
  await shellHydrated(staff.page);
  const row = staff.page.getByTestId('invoice-row').nth(nth);
  await row.waitFor();
  const account = (await row.locator('td').nth(1).locator('span.muted').textContent()).trim();

  await staff.page.goto(`${server.url}/app/customers?q=${encodeURIComponent(account)}`);
  await shellHydrated(staff.page);
  await staff.page.getByTestId('customer-link').first().click();
  const panel = staff.page.getByTestId('customer-panel');
  await panel.getByTestId('customer-payments').locator('summary').click();
  await panel.getByTestId('get-payment-link').click();
  const link = await panel.getByTestId('payment-link').inputValue();
  assert.match(link, /\/pay\/[A-Za-z0-9_-]{40,}$/);
  return { link, account };
}

test('a customer pays from the payment link and sees the new expiry live', async () => {
  const staff = await openPage(browser);
  await signIn(staff.page, server.url);
  const { link, account } = await paymentLinkOfPendingCustomer(staff, 0);

  // The customer: another browser, no session.
  const payer = await openPage(browser, { viewport: { width: 390, height: 844 } });
  const path = new URL(link).pathname;
  await payer.page.goto(`${server.url}${path}`);
  await payer.page.locator('main[data-hydrated="true"]').waitFor({ timeout: 30_000 });
  assert.equal((await payer.page.getByTestId('pay-business').textContent()).trim(), 'Demo Networks');
  const before = parseLocal(await payer.page.getByTestId('pay-service-expiry').first().textContent());
  assert.match(await payer.page.getByTestId('pay-amount').textContent(), /KES [\d,]+/);

  let reloads = 0;
  payer.page.on('framenavigated', (frame) => {
    if (frame === payer.page.mainFrame()) reloads += 1;
  });
  await payer.page.getByTestId('pay-now').click();
  const status = payer.page.getByTestId('pay-status');
  await status.waitFor();
  const newExpiry = payer.page.getByTestId('pay-new-expiry');
  await newExpiry.waitFor({ timeout: 30_000 });
  assert.equal(await status.getAttribute('data-status'), 'paid');
  const afterExpiry = parseLocal(await newExpiry.textContent());
  assert.ok(afterExpiry > before, `renewed: ${before} → ${afterExpiry}`);
  assert.equal(reloads, 0, 'the page followed the payment without a reload');
  assert.match(await status.textContent(), /M-Pesa receipt/);

  // Staff see the invoice paid.
  await staff.page.goto(`${server.url}/app/invoices?q=${encodeURIComponent(account)}`);
  await shellHydrated(staff.page);
  const statuses = await staff.page.getByTestId('invoice-status').allTextContents();
  assert.ok(statuses.includes('Paid'), `an invoice paid: ${statuses}`);

  assert.deepEqual(payer.errors, []);
  assert.deepEqual(staff.errors, []);

  // A wrong code is a clear "not found" page (served with status 404).
  const response = await payer.page.goto(`${server.url}/pay/not-a-real-code`);
  await payer.page.getByTestId('pay-not-found').waitFor();
  assert.equal(response.status(), 404);
  await payer.context.close();
  await staff.context.close();
});

test('a card payment goes to Paystack and comes back paid', async () => {
  const staff = await openPage(browser);
  await signIn(staff.page, server.url);
  const { link } = await paymentLinkOfPendingCustomer(staff, 1);

  const payer = await openPage(browser, { viewport: { width: 390, height: 844 } });
  await payer.page.goto(`${server.url}${new URL(link).pathname}`);
  await payer.page.locator('main[data-hydrated="true"]').waitFor({ timeout: 30_000 });
  await payer.page.locator('.pay-card-option summary').click();
  await payer.page.getByTestId('pay-email').fill('payer@example.com');
  await payer.page.getByTestId('pay-card').click();
  // The (simulated) Paystack checkout page.
  await payer.page.waitForURL(/\/checkout\//);
  await payer.page.getByRole('button', { name: /^Pay / }).click();
  // Back on the payment link with the reference, verified.
  await payer.page.waitForURL(/reference=JSY-/);
  const status = payer.page.getByTestId('pay-status');
  await status.waitFor();
  assert.equal(await status.getAttribute('data-status'), 'paid');
  await payer.page.getByTestId('pay-new-expiry').waitFor();
  assert.deepEqual(payer.errors, []);
  await payer.context.close();
  await staff.context.close();
});

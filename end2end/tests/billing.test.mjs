// Billing in Chromium: two customers are invoiced when their service starts; one invoice is
// waived and the other marked paid from the invoices page, and the statuses and the customer's
// balance follow.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { launchBrowser, openPage, signIn, startServer } from '../harness.mjs';

let server;
let browser;

before(async () => {
  server = await startServer();
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

const hydrated = (page) => page.locator('.shell[data-hydrated="true"]').waitFor({ timeout: 30_000 });

async function addCustomer(page, name, phone, planName) {
  await page.goto(`${server.url}/app/customers`);
  await hydrated(page);
  await page.getByTestId('add-customer').click();
  await page.getByLabel('Full name').fill(name);
  await page.getByLabel('Phone').fill(phone);
  const plan = page.getByTestId('new-customer-plan');
  await plan.selectOption(await plan.locator('option', { hasText: planName }).getAttribute('value'));
  await page.getByTestId('save-customer').click();
  await page.getByTestId('customer-created').waitFor();
}

async function openInvoiceOf(page, name) {
  await page.goto(`${server.url}/app/invoices?q=${encodeURIComponent(name)}`);
  await hydrated(page);
  const rows = page.getByTestId('invoice-row');
  await rows.first().waitFor();
  assert.equal(await rows.count(), 1, `one invoice for ${name}`);
  assert.equal(await rows.first().getByTestId('invoice-status').textContent(), 'Pending');
  await rows.first().getByTestId('invoice-link').click();
  const panel = page.getByTestId('invoice-panel');
  try {
    await panel.getByTestId('panel-number').waitFor({ timeout: 10_000 });
  } catch (e) {
    console.log('PANEL', page.url(), await page.locator('main').innerText());
    throw e;
  }
  return panel;
}

async function customerBalance(page, name) {
  await page.goto(`${server.url}/app/customers?q=${encodeURIComponent(name)}`);
  await hydrated(page);
  await page.getByTestId('customer-link').first().click();
  const balance = page.getByTestId('customer-balance-panel');
  await balance.waitFor();
  return (await balance.textContent()).trim();
}

test('an invoice is waived, another marked paid, and balances follow', async () => {
  const { context, page, errors } = await openPage(browser);
  await signIn(page, server.url);

  await page.goto(`${server.url}/app/plans`);
  await hydrated(page);
  await page.locator('#name').fill('Billing E2E 5');
  await page.locator('#price').fill('1,500');
  await page.locator('#download_mbps').fill('5');
  await page.locator('#upload_mbps').fill('2');
  await page.getByRole('button', { name: 'Add plan' }).click();
  await page.getByTestId('plan-created').waitFor();

  await addCustomer(page, 'Wanjiru Billingtest', '0711 000 111', 'Billing E2E 5');
  await addCustomer(page, 'Otieno Billingtest', '0711 000 222', 'Billing E2E 5');
  assert.equal(await customerBalance(page, 'otieno billingtest'), 'Owes KES 1,500');

  // The status tabs count the ISP's invoices.
  const tabCount = async (status) => {
    await page.goto(`${server.url}/app/invoices`);
    await hydrated(page);
    return Number(await page.getByTestId(`tab-${status}`).getByTestId('tab-count').textContent());
  };
  const waivedBefore = await tabCount('waived');

  // Waive Wanjiru's invoice, with a reason, after a confirmation step.
  let panel = await openInvoiceOf(page, 'wanjiru billingtest');
  await panel.getByTestId('waive').click();
  await panel.getByTestId('waive-reason').fill('Installation delayed');
  await panel.getByTestId('confirm-waive').click();
  await panel.locator('[data-testid="invoice-status"]', { hasText: 'Waived' }).waitFor();
  await page.locator('[data-testid="invoice-row"] [data-testid="invoice-status"]', { hasText: 'Waived' }).waitFor();

  // Mark Otieno's paid in cash with a receipt number.
  panel = await openInvoiceOf(page, 'otieno billingtest');
  await panel.getByTestId('pay-reference').fill('CASH-E2E-1');
  await panel.getByTestId('mark-paid').click();
  await panel.locator('[data-testid="invoice-status"]', { hasText: 'Paid' }).waitFor();
  await page.locator('[data-testid="invoice-row"] [data-testid="invoice-status"]', { hasText: 'Paid' }).waitFor();
  assert.equal(await page.getByTestId('invoice-owed').first().textContent(), 'KES 0');

  // The waived tab lists the waived one and counts one more; both customers owe nothing now.
  assert.equal(await tabCount('waived'), waivedBefore + 1);
  await page.goto(`${server.url}/app/invoices?status=waived&q=billingtest`);
  await hydrated(page);
  assert.equal(await page.getByTestId('invoice-row').count(), 1);
  assert.equal(await customerBalance(page, 'otieno billingtest'), 'Nothing owed');
  assert.equal(await customerBalance(page, 'wanjiru billingtest'), 'Nothing owed');

  assert.deepEqual(errors, []);
  await context.close();
});

// The operator's day in Chromium: create a plan, add a customer on it, find them by search,
// then suspend and reactivate them from the detail panel; plus the CSV import with a bad file.
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

test('create a plan, add a customer, search for them, suspend and reactivate them', async () => {
  const { context, page, errors } = await openPage(browser);
  await signIn(page, server.url);

  // A plan.
  await page.goto(`${server.url}/app/plans`);
  await hydrated(page);
  await page.locator('#name').fill('Fibre 15 E2E');
  await page.locator('#price').fill('2,800');
  await page.locator('#download_mbps').fill('15');
  await page.locator('#upload_mbps').fill('5');
  await page.getByRole('button', { name: 'Add plan' }).click();
  await page.getByTestId('plan-created').waitFor();

  // Edit its price in place.
  const row = page.getByTestId('plan-row').filter({ hasText: 'Fibre 15 E2E' });
  await row.getByTestId('edit-plan').click();
  const editor = page.locator('tr.edit-row');
  await editor.getByLabel('Price (KES)').fill('3,000');
  await editor.getByTestId('save-plan').click();
  await row.getByText('KES 3,000').waitFor();

  // A customer on it, the phone checked as it is typed by the shared rule.
  await page.goto(`${server.url}/app/customers`);
  await hydrated(page);
  await page.getByTestId('add-customer').click();
  await page.getByLabel('Full name').fill('Baraka Wafula');
  await page.getByLabel('Phone').fill('0799 123 456');
  assert.equal(await page.getByTestId('phone-hint').textContent(), 'Saved as 254799123456');
  const plan = page.getByTestId('new-customer-plan');
  const option = plan.locator('option', { hasText: 'Fibre 15 E2E' });
  await plan.selectOption(await option.getAttribute('value'));
  await page.getByTestId('save-customer').click();
  const created = await page.getByTestId('customer-created').textContent();
  assert.match(created, /^Baraka Wafula added with account number \d+\.$/);

  // Found by search (the address carries the query), opened in the panel.
  await page.getByTestId('customer-search').fill('baraka waf');
  await page.getByTestId('customer-search').press('Enter');
  await page.waitForURL(/q=baraka/);
  const rows = page.getByTestId('customer-row');
  await rows.first().waitFor();
  assert.equal(await rows.count(), 1);
  await page.getByTestId('customer-link').click();
  const panel = page.getByTestId('customer-panel');
  await panel.getByTestId('panel-name').waitFor();
  assert.equal(await panel.getByTestId('panel-name').textContent(), 'Baraka Wafula');
  assert.equal(await panel.getByTestId('status-badge').textContent(), 'Active');

  // Suspend, then reactivate: the panel and the table follow.
  await panel.getByTestId('suspend').click();
  await panel.getByTestId('reactivate').waitFor();
  assert.equal(await panel.getByTestId('status-badge').textContent(), 'Suspended');
  await page.locator('[data-testid="customer-row"] [data-testid="status-badge"]', { hasText: 'Suspended' }).waitFor();
  await panel.getByTestId('reactivate').click();
  await panel.getByTestId('suspend').waitFor();
  assert.equal(await panel.getByTestId('status-badge').textContent(), 'Active');
  await page.locator('[data-testid="customer-row"] [data-testid="status-badge"]', { hasText: 'Active' }).waitFor();

  // The owner may reveal the generated password.
  await panel.getByTestId('reveal-password').click();
  const password = await panel.getByTestId('revealed-password').textContent();
  assert.match(password, /^[a-z2-9]{10}$/);

  assert.deepEqual(errors, [], 'console errors');
  await context.close();
});

test('an import with a bad row imports nothing and lists the problem', async () => {
  const { context, page, errors } = await openPage(browser);
  await signIn(page, server.url);
  await page.goto(`${server.url}/app/customers/import`);
  await hydrated(page);
  const csv = 'name,phone,plan\nGood Person,0711222333,\nBad Phone,0811222333,\n';
  await page.getByTestId('csv-file').setInputFiles({ name: 'customers.csv', mimeType: 'text/csv', buffer: Buffer.from(csv) });
  assert.equal(await page.getByTestId('csv-summary').textContent(), 'customers.csv: 2 customer lines.');
  await page.getByTestId('start-import').click();
  await page.getByTestId('import-errors').waitFor();
  const cells = await page.locator('[data-testid="import-error-table"] tbody td').allTextContents();
  assert.deepEqual(cells.slice(0, 2), ['3', 'phone']);

  // Fixed, it imports.
  await page.getByTestId('csv-file').setInputFiles({
    name: 'fixed.csv',
    mimeType: 'text/csv',
    buffer: Buffer.from(csv.replace('0811222333', '0711222334')),
  });
  await page.getByTestId('start-import').click();
  assert.equal(await page.getByTestId('import-done').textContent(), 'Imported 2 customers.');
  assert.deepEqual(errors, [], 'console errors');
  await context.close();
});

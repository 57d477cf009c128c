// The subscriber portal in Chromium on a phone-sized screen: a subscriber signs in with the code
// the demo SMS gateway caught, sees their service, pays with an M-Pesa prompt and sees the
// expiry move without a reload, then signs out.
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

// The demo's first customer (see server/src/demo.rs).
const PHONE = '0710123457';

/** The newest code texted to `phone` (07…), from the demo phone's JSON (receipts and notices
 *  to the same phone may come after it). */
async function codeFor(phone) {
  const to = `+254${phone.slice(1)}`;
  for (let i = 0; i < 50; i += 1) {
    const sent = await (await fetch(`${server.url}/dev/sms.json`)).json();
    const mine = sent.filter((m) => m.to === to && m.message.includes('sign-in code'));
    const code = mine.at(-1)?.message.match(/\b\d{6}\b/)?.[0];
    if (code) return code;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`no code was texted to ${to}`);
}

const hydrated = (page) => page.locator('main[data-hydrated="true"]').waitFor({ timeout: 30_000 });

/** Nairobi-time "29 Nov 2026 14:05" as a comparable number. */
function parseLocal(text) {
  const ms = Date.parse(`${text.trim()} UTC`);
  assert.ok(!Number.isNaN(ms), `a date: ${text}`);
  return ms;
}

test('a subscriber signs in with an SMS code, pays and sees the expiry move', async () => {
  const { context, page, errors } = await openPage(browser, { viewport: { width: 390, height: 844 } });
  await page.goto(`${server.url}/portal/demo`);
  await hydrated(page);
  assert.equal((await page.getByTestId('portal-business').textContent()).trim(), 'Demo Networks');

  // A wrong number is told plainly.
  await page.getByTestId('portal-phone').fill('12345');
  await page.getByTestId('portal-send-code').click();
  await page.getByTestId('portal-error').waitFor();
  assert.match(await page.getByTestId('portal-error').textContent(), /Phone number/);

  await page.getByTestId('portal-phone').fill(PHONE);
  await page.getByTestId('portal-send-code').click();
  await page.getByTestId('portal-code-sent').waitFor();
  const code = await codeFor(PHONE);
  const wrong = code === '000000' ? '111111' : '000000';
  await page.getByTestId('portal-code').fill(wrong);
  await page.getByTestId('portal-verify').click();
  await page.getByTestId('portal-error').waitFor();
  assert.match(await page.getByTestId('portal-error').textContent(), /not right: 4 more tries/);
  await page.getByTestId('portal-code').fill(code);
  await page.getByTestId('portal-verify').click();

  await page.getByTestId('portal-customer').waitFor({ timeout: 15_000 });
  const account = (await page.getByTestId('portal-account-number').textContent()).trim();
  assert.match(account, /^[A-Z0-9]+$/);
  assert.ok((await page.getByTestId('portal-service').count()) >= 1);
  const before = parseLocal(await page.getByTestId('pay-service-expiry').first().textContent());

  let reloads = 0;
  page.on('framenavigated', (frame) => {
    if (frame === page.mainFrame()) reloads += 1;
  });
  await page.getByTestId('pay-now').click();
  // While the prompt is on the phone, the page counts down its 90 seconds.
  const countdown = page.getByTestId('pay-countdown');
  await countdown.waitFor();
  assert.match(await countdown.textContent(), /\d+ s left to enter your M-Pesa PIN/);
  const newExpiry = page.getByTestId('pay-new-expiry');
  await newExpiry.waitFor({ timeout: 30_000 });
  assert.equal(await page.getByTestId('pay-status').getAttribute('data-status'), 'paid');
  assert.ok(parseLocal(await newExpiry.textContent()) > before, 'the expiry moved');
  assert.equal(reloads, 0, 'followed without a reload');

  // The page fits a phone: nothing wider than the screen.
  const width = await page.evaluate(() => document.documentElement.scrollWidth);
  assert.ok(width <= 390, `no sideways scrolling (${width}px)`);

  // Another plan: the preview says what the change costs now, computed in the browser.
  const service = page.getByTestId('portal-service').first();
  await service.getByTestId('portal-change-plan').click();
  const select = service.getByTestId('portal-plan-select');
  const options = await select.locator('option').allTextContents();
  const target = options.find((o) => o.startsWith('Home 20'));
  assert.ok(target, `Home 20 is offered: ${options}`);
  await select.selectOption({ label: target });
  await service.getByTestId('portal-plan-preview').waitFor();
  assert.match(await service.getByTestId('portal-plan-preview').textContent(), /Then KES [\d,]+ for/);
  await service.getByTestId('portal-plan-confirm').click();
  await page.getByTestId('portal-plan-changed').waitFor({ timeout: 15_000 });
  assert.match(await page.getByTestId('portal-service').first().textContent(), /Home 20/);
  // Invoices download as the same PDFs staff get.
  const pdf = await page.getByTestId('portal-invoice-pdf').first().getAttribute('href');
  const response = await page.request.get(`${server.url}${pdf}`);
  assert.equal(response.status(), 200);
  assert.equal(response.headers()['content-type'], 'application/pdf');

  // A ticket: the subscriber reports a problem, staff answer it, the portal shows the answer.
  await page.getByTestId('portal-new-ticket').click();
  await page.getByTestId('portal-ticket-category').selectOption('slow');
  await page.getByTestId('portal-ticket-subject').fill('Slow in the evening');
  await page.getByTestId('portal-ticket-message').fill('Pages take a minute to load after 8 pm.');
  await page.getByTestId('portal-ticket-send').click();
  const ticket = page.getByTestId('portal-ticket').first();
  await ticket.waitFor({ timeout: 15_000 });
  assert.match(await ticket.getByTestId('portal-ticket-status').textContent(), /Waiting for your provider/);

  const staff = await openPage(browser);
  await signIn(staff.page, server.url);
  await staff.page.goto(`${server.url}/app/tickets`);
  await staff.page.getByTestId('ticket-link').filter({ hasText: 'Slow in the evening' }).click();
  await staff.page.getByTestId('ticket-reply').fill('We are upgrading the Kasarani link tonight.');
  await staff.page.getByTestId('ticket-send').click();
  await staff.page.locator('[data-testid="ticket-status"]', { hasText: 'Answered' }).waitFor({ timeout: 15_000 });
  assert.deepEqual(staff.errors, []);
  await staff.context.close();
  await page.reload();
  await hydrated(page);
  const answered = page.getByTestId('portal-ticket').first();
  assert.match(await answered.getByTestId('portal-ticket-status').textContent(), /Answered/);
  assert.match(await answered.textContent(), /upgrading the Kasarani link/);

  await page.getByTestId('portal-sign-out').click();
  await page.getByTestId('portal-signed-out').waitFor();
  await page.getByTestId('portal-phone').waitFor();
  // The two refusals above answered 422 on purpose; nothing else went wrong.
  assert.deepEqual(errors.filter((e) => !e.includes('422')), []);
  await context.close();
});

test('the portal reads without JavaScript and an unknown ISP is a clear page', async () => {
  const { context, page } = await openPage(browser, { javaScriptEnabled: false });
  await page.goto(`${server.url}/portal/demo`);
  assert.equal((await page.getByTestId('portal-business').textContent()).trim(), 'Demo Networks');
  assert.equal(await page.getByTestId('portal-phone').count(), 1);
  await page.goto(`${server.url}/portal/no-such-isp`);
  await page.getByTestId('portal-not-found').waitFor();
  await context.close();
});

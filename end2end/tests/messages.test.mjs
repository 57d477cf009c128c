// Messages in Chromium. Settings → Messages: an event's SMS is rewritten with a live preview and
// SMS count (a curly quote turns it Unicode), a bad placeholder is refused by name, the ISP's own
// words are saved, kept on reload, and put back to the default. The messages page: a subscriber's
// sign-in code shows hidden, and delivered once the gateway's delivery report came back.
// Bulk SMS: a segment counted with its cost and the subscribers left out for want of consent,
// sent, and followed to 100%.
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

const hydrated = (page) => page.locator('.shell[data-hydrated="true"]').waitFor({ timeout: 30_000 });

test('an ISP rewrites its Swahili reconnection message with a live SMS count', async () => {
  const { context, page, errors } = await openPage(browser);
  await signIn(page, server.url);
  await page.goto(`${server.url}/app/settings/messages`);
  await hydrated(page);
  const editor = page
    .locator('[data-testid="template-event"][data-event="reactivated"]')
    .locator('[data-testid="template-editor"][data-language="sw"]');
  const text = editor.getByTestId('template-text');
  const preview = editor.getByTestId('template-preview');
  const meter = editor.getByTestId('template-meter');
  assert.match(await preview.textContent(), /karibu tena Wanjiru/);

  await text.fill('Karibu tena {name}! Intaneti ya {plan} iko hewani hadi {expiry}.');
  await preview.filter({ hasText: 'Karibu tena Wanjiru! Intaneti ya Home 10 Mbps' }).waitFor();
  assert.match(await meter.textContent(), /^1 SMS · \d+ characters left$/);

  // One curly quote: the whole message becomes Unicode, 70 characters a message.
  await text.fill(`${'a'.repeat(69)}’s`);
  await meter.filter({ hasText: 'Unicode because of “’”' }).waitFor();
  assert.match(await meter.textContent(), /^2 SMS/);

  await text.fill('Karibu {nmae}');
  await editor.getByTestId('template-save').click();
  assert.equal(
    await editor.getByTestId('template-error').textContent(),
    'This message uses {nmae}, which is not a placeholder.',
  );

  await text.fill('Karibu tena {name}, {plan} iko hewani.');
  await editor.getByTestId('template-save').click();
  await editor.getByTestId('template-saved').waitFor();
  await editor.getByTestId('template-custom').waitFor();

  await page.reload();
  await hydrated(page);
  assert.equal(await text.inputValue(), 'Karibu tena {name}, {plan} iko hewani.');
  await editor.getByTestId('template-reset').click();
  await editor.getByTestId('template-custom').waitFor({ state: 'detached' });
  assert.match(await text.inputValue(), /^\{business\}: karibu tena \{name\}/);
  // The refused placeholder's 422 is the one failed request the page should have made.
  assert.deepEqual(errors.filter((e) => !e.includes('status of 422')), []);
  await context.close();
});

test('a sign-in code shows hidden on the messages page, then delivered', async () => {
  const subscriber = await openPage(browser);
  await subscriber.page.goto(`${server.url}/portal/demo`);
  await subscriber.page.locator('main[data-hydrated="true"]').waitFor({ timeout: 30_000 });
  // The demo's first customer (see server/src/demo.rs).
  await subscriber.page.getByTestId('portal-phone').fill('0710123457');
  await subscriber.page.getByTestId('portal-send-code').click();
  await subscriber.page.getByTestId('portal-code-sent').waitFor();
  await subscriber.context.close();

  const { context, page, errors } = await openPage(browser);
  await signIn(page, server.url);
  let row;
  // The simulator reports delivery a moment after the send; the page shows it on the next load.
  // The demo's own receipts and notices go out at start-up too: look for the code's row.
  for (let i = 0; i < 40; i += 1) {
    await page.goto(`${server.url}/app/messages?status=delivered&number=0710123457`);
    await hydrated(page);
    row = page.getByTestId('message-row').filter({ hasText: 'sign-in code' }).first();
    if (await row.count()) break;
    await new Promise((r) => setTimeout(r, 250));
  }
  assert.equal(await row.getByTestId('message-status').textContent(), 'Delivered');
  const body = await row.getByTestId('message-body').textContent();
  assert.match(body, /^•••••• is your .* sign-in code/);
  assert.doesNotMatch(body, /\d{6}/);
  // Sign-in codes are never sent again by hand.
  assert.equal(await row.getByTestId('message-resend').count(), 0);
  assert.deepEqual(errors, []);
  await context.close();
});

test('a bulk SMS to everyone on a plan: count and cost first, then progress to 100%', async () => {
  const { context, page, errors } = await openPage(browser);
  await signIn(page, server.url);
  await page.goto(`${server.url}/app/messages`);
  await hydrated(page);
  await page.getByTestId('bulk-link').click();
  await page.waitForURL(`${server.url}/app/messages/bulk`);
  await page.getByTestId('bulk-segment').selectOption('plan');
  await page.getByTestId('bulk-plan').selectOption({ label: 'Home 8 Mbps' });
  await page
    .getByTestId('bulk-text')
    .fill('Hi {name}, Home 8 Mbps now runs at 10 Mbps at no extra cost. Reply STOP to opt out.');
  assert.match(await page.getByTestId('bulk-meter').textContent(), /^1 SMS · \d+ characters left$/);

  await page.getByTestId('bulk-count').click();
  await page.getByTestId('bulk-preview').waitFor();
  const recipients = Number(await page.getByTestId('bulk-recipients').textContent());
  assert.ok(recipients > 0, 'the demo has consenting subscribers on Home 8 Mbps');
  // A quarter of the demo's subscribers said no to SMS: they are counted and left out.
  assert.match(
    await page.getByTestId('bulk-left-out').textContent(),
    /^\d+ in this group have not agreed to SMS and are left out\.$/,
  );
  assert.match(
    await page.getByTestId('bulk-cost').textContent(),
    /^About \d+ SMS, estimated KES [\d,.]+ \(at KES 0\.80 an SMS\)\.$/,
  );
  assert.match(await page.getByTestId('bulk-sample').textContent(), /^Hi [A-Z]\w+ \w+, Home 8 Mbps now/);
  const send = page.getByTestId('bulk-send');
  assert.equal(await send.textContent(), `Send to ${recipients} subscribers`);
  await send.click();

  await page.waitForURL(/\/app\/messages\/bulk\/[0-9a-f-]{36}$/);
  await hydrated(page);
  // The page looks again every 2 s until the sender has settled every message.
  await page.locator('[data-testid="bulk-progress"][data-percent="100"]').waitFor({ timeout: 60_000 });
  assert.equal(await page.getByTestId('bulk-percent').textContent(), '100%');
  const rows = page.getByTestId('bulk-recipient');
  assert.equal(await rows.count(), recipients);
  const statuses = await rows.evaluateAll((trs) => trs.map((tr) => tr.dataset.status));
  assert.ok(
    statuses.every((s) => s === 'sent' || s === 'delivered'),
    `every message went: ${statuses}`,
  );
  assert.deepEqual(errors, []);
  await context.close();
});

// Messages in Chromium. Settings → Messages: an event's SMS is rewritten with a live preview and
// SMS count (a curly quote turns it Unicode), a bad placeholder is refused by name, the ISP's own
// words are saved, kept on reload, and put back to the default. The messages page: a subscriber's
// sign-in code shows hidden, and delivered once the gateway's delivery report came back.
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
  for (let i = 0; i < 40; i += 1) {
    await page.goto(`${server.url}/app/messages?status=delivered`);
    await hydrated(page);
    row = page.getByTestId('message-row').first();
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

// Settings → Messages in Chromium: an event's SMS is rewritten with a live preview and SMS count
// (a curly quote turns it Unicode), a bad placeholder is refused by name, the ISP's own words
// are saved, kept on reload, and put back to the default.
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

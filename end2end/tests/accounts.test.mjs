// An ISP signs up, confirms its email from the mail Jasiyo sent, signs in and out, in Chromium.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { launchBrowser, openPage, startServer } from '../harness.mjs';

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

/** Waits for the mail to `to` in the demo mailbox (the server's SMTP sink). */
async function mailTo(to) {
  for (let i = 0; i < 100; i++) {
    const messages = await (await fetch(`${server.url}/dev/mail.json`)).json();
    const found = messages.find((m) => m.to.includes(to));
    if (found) return found;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`no mail to ${to}`);
}

test('sign up, confirm the email, sign in, sign out', async () => {
  const { context, page, errors } = await openPage(browser);
  const email = `owner-${Date.now()}@lakeside-wifi.co.ke`;
  const password = 'tilapia and ugali';

  await page.goto(`${server.url}/signup`);
  await page.locator('main[data-hydrated="true"]').waitFor();
  await page.getByLabel('Your name').fill('Otieno Were');
  await page.getByLabel('Business name').fill('Lakeside WiFi');
  await page.getByLabel('Work email').fill(email);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Create account' }).click();
  await page.getByTestId('sign-up-done').waitFor();

  const mail = await mailTo(email);
  assert.equal(mail.subject, 'Confirm your email for Jasiyo');
  const link = mail.body.match(/http:\/\/\S+\/verify-email\?token=[0-9a-f]{64}/)?.[0];
  assert.ok(link, mail.body);

  await page.goto(link);
  await page.locator('main[data-hydrated="true"]').waitFor();
  await page.getByRole('button', { name: 'Confirm my email' }).click();
  await page.getByTestId('verified').waitFor();
  await page.getByRole('link', { name: 'Sign in' }).click();

  await page.waitForURL(`${server.url}/login`);
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL(`${server.url}/app`);
  assert.equal(await page.getByTestId('user-name').textContent(), 'Otieno Were');
  assert.equal(await page.getByTestId('isp-name').textContent(), 'Lakeside WiFi');

  await page.getByTestId('sign-out').click();
  await page.waitForURL(`${server.url}/login`);
  await page.goto(`${server.url}/app`);
  await page.waitForURL(`${server.url}/login`);
  assert.deepEqual(errors, [], 'console errors');
  await context.close();
});

// The web console in Debian's headless Chromium, as an agent-turned-CSM uses it:
// sign in, filter by a national-format phone, open a message's history, run a
// reconciliation pass, read the per-stay queue (urgent first, at 1280 pixels), resolve
// a flag, and see the flag queue shrink.
// Env: CONSOLE_URL, CONSOLE_TOKEN (a csm token), SCREENSHOT_DIR (optional).
import { chromium } from 'playwright-core';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import assert from 'node:assert/strict';

const base = process.env.CONSOLE_URL;
const token = process.env.CONSOLE_TOKEN;
const shots = process.env.SCREENSHOT_DIR || '';
assert.ok(base && token, 'CONSOLE_URL and CONSOLE_TOKEN are required');

const profile = mkdtempSync(join(tmpdir(), 'sentlog-chromium-'));
const context = await chromium.launchPersistentContext(profile, {
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  headless: true,
  viewport: { width: 1400, height: 900 },
  args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking',
    '--disable-component-update', '--disable-sync'],
});
const page = context.pages()[0] ?? await context.newPage();
const step = (what) => console.log(`browser: ${what}`);
const shot = async (name) => {
  if (shots) await page.screenshot({ path: join(shots, `${name}.png`), fullPage: false });
};

try {
  step('a visitor without a session is sent to sign-in');
  await page.goto(`${base}/messages`);
  assert.match(page.url(), /\/signin\?next=/);
  await shot('signin');
  await page.fill('input[name=token]', token);
  await page.click('button[type=submit]');
  await page.waitForURL(/\/messages$/);
  assert.match(await page.textContent('h1'), /Messages envoyés/);
  const cookies = await context.cookies();
  const session = cookies.find((c) => c.name === 'sentlog_session');
  assert.ok(session && session.httpOnly && session.sameSite === 'Strict', 'HttpOnly SameSite=Strict session');
  assert.ok(!session.value.includes(token), 'the cookie holds no token');
  await shot('messages');

  step('filter by a phone typed in national format');
  await page.goto(`${base}/messages?channel=SMS&channel=WHATSAPP`);
  const phones = await page.$$eval('tbody td.recipient', (tds) => tds.map((td) => td.textContent.trim()));
  const e164 = phones.find((p) => /^\+33[67]\d{8}$/.test(p));
  assert.ok(e164, `a French mobile among ${phones.length} rows`);
  const national = ('0' + e164.slice(3)).replace(/(\d\d)(?=\d)/g, '$1 ');
  await page.goto(`${base}/messages`);
  await page.fill('input[name=phone]', national);
  await page.click('form.filters button[type=submit]');
  await page.waitForURL(/phone=/);
  const found = await page.$$eval('tbody td.recipient', (tds) => tds.map((td) => td.textContent.trim()));
  assert.ok(found.length >= 1, `messages to ${national}`);
  assert.ok(found.every((p) => p.startsWith(e164)), `only ${e164}: ${found}`);
  await shot('messages-by-phone');

  step('open a message and read its status history');
  await page.click('tbody tr:first-child td:first-child a');
  await page.waitForURL(/\/messages\/[^/?]+$/);
  assert.match(await page.textContent('h2'), /Status history/);
  await shot('message-history');

  step('a campaign funnel');
  await page.goto(`${base}/messages`);
  await page.click('tbody tr:first-child a[href^="/campaigns/"]');
  await page.waitForURL(/\/campaigns\//);
  assert.ok(await page.$('svg rect'), 'the funnel is drawn');
  await shot('campaign');

  step('arrivals of the next weeks, and the not-reached ones');
  const today = new Date().toISOString().slice(0, 10);
  const later = new Date(Date.now() + 30 * 86400e3).toISOString().slice(0, 10);
  await page.goto(`${base}/arrivals?hotel=paris-opera&from=${today}&to=${later}`);
  assert.match(await page.textContent('h1'), /Arrivals/);
  const stays = await page.$$eval('tbody tr', (trs) => trs.length);
  assert.ok(stays > 0, 'stays arrive at the demo hotel');
  await shot('arrivals');
  await page.click('div.counts a:has-text("Not reached")');
  await page.waitForURL(/reach=NOT_REACHED/);
  const reaches = await page.$$eval('tbody tr', (trs) => trs.map((tr) => tr.className));
  assert.ok(reaches.every((c) => c === 'reach-NOT_REACHED'), `only not reached: ${reaches}`);

  step('run a reconciliation pass, then resolve a flag');
  await page.goto(`${base}/flags`);
  await page.click('text=Run reconciliation now');
  await page.waitForURL(/\/flags\?.*done=/);
  assert.match(await page.textContent('.ok'), /Reconciliation pass finished/);
  const rows = () => page.$$eval('tr[id^=flag-]', (trs) => trs.map((tr) => tr.id));
  const before = await rows();
  assert.ok(before.length > 0 && before.length < 50, `a queue of one page: ${before.length}`);

  step('the queue is one row per stay, urgent first, and fits a 1280-pixel screen');
  await page.setViewportSize({ width: 1280, height: 900 });
  const priorities = await page.$$eval('tr[id^=flag-]', (trs) => trs.map((tr) => tr.className));
  const rank = { 'priority-urgent': 0, 'priority-normal': 1, 'priority-low': 2 };
  assert.ok(priorities.every((c) => c in rank), `a priority per row: ${priorities}`);
  assert.ok(priorities.every((c, i) => i === 0 || rank[priorities[i - 1]] <= rank[c]), `urgent first: ${priorities}`);
  const stayKeys = await page.$$eval('tr[id^=flag-] td:nth-child(2) small', (s) => s.map((e) => e.textContent));
  assert.equal(new Set(stayKeys).size, stayKeys.length, 'one row per stay');
  assert.match(await page.textContent('tr[id^=flag-] td:nth-child(4)'), /failures?/);
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 0, `no horizontal scrolling at 1280 px (${overflow} px too wide)`);
  await shot('flags');
  await page.setViewportSize({ width: 1400, height: 900 });
  const id = before[0];
  await page.fill(`#${id} textarea[name=note]`, 'guest called, number fixed');
  await page.click(`#${id} button[value=ACKNOWLEDGED]`);
  await page.waitForURL(/done=/);
  assert.match(await page.textContent('.ok'), /acknowledged/);
  await page.click(`#${id} button[value=RESOLVED]`);
  await page.waitForURL(/done=/);
  assert.match(await page.textContent('.ok'), /resolved/);
  const after = await rows();
  assert.equal(after.length, before.length - 1, 'the queue shrinks by one');
  assert.ok(!after.includes(id), 'the resolved flag left the queue');
  step('ok');
} finally {
  await context.close();
  rmSync(profile, { recursive: true, force: true });
}

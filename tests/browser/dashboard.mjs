// The dashboard's headless-browser driver, run by tests/dashboard.rs (after setup.sh):
//
//   node tests/browser/dashboard.mjs ADMIN_URL TOKEN SCREENSHOT
//
// Opens ADMIN_URL/dashboard?token=TOKEN in Debian's chromium through playwright-core and prints one
// JSON line per check on stdout ({"check": NAME, "ok": true|false, ...}): "page loads", "tiles
// appear", "tiles update" (the users tile's data-requests changes while the Rust test drives
// traffic), "turns red" (the ratings tile reaches data-health="bad" once the test injects chaos),
// "screenshot" (written to SCREENSHOT) and "no script errors". Every wait is bounded; exits 0 only
// when every check passed.
import { chromium } from 'playwright-core';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const [base, token, screenshot] = process.argv.slice(2);
if (!base || !token || !screenshot) {
  console.error('usage: node dashboard.mjs ADMIN_URL TOKEN SCREENSHOT');
  process.exit(2);
}
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const TILES_MS = 20000;
const UPDATE_MS = 20000;
const RED_MS = 30000;

const results = [];
function report(check, ok, details = {}) {
  results.push({ check, ok });
  process.stdout.write(JSON.stringify({ check, ok, ...details }) + '\n');
}

let browser;
let page;
const scriptErrors = [];
const consoleErrors = [];

async function check(name, fn) {
  try {
    const details = await fn();
    report(name, true, details || {});
  } catch (e) {
    report(name, false, { error: String(e && e.message ? e.message : e).split('\n')[0] });
    throw new Error(`check "${name}" failed: ${e && e.message ? e.message : e}`);
  }
}

// The users and ratings tiles' state, for messages.
async function tileState(selector) {
  return page.$eval(selector, (t) => ({ ...t.dataset })).catch(() => null);
}

async function main() {
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    timeout: 30000,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  const context = await browser.newContext({ viewport: { width: 1440, height: 1000 }, deviceScaleFactor: 1 });
  page = await context.newPage();
  page.setDefaultTimeout(15000);
  page.on('pageerror', (e) => scriptErrors.push(String(e && e.message ? e.message : e)));
  page.on('console', (m) => { if (m.type() === 'error') consoleErrors.push(m.text()); });

  const url = `${base.replace(/\/$/, '')}/dashboard?token=${encodeURIComponent(token)}`;
  await check('page loads', async () => {
    const response = await page.goto(url, { waitUntil: 'load', timeout: 15000 });
    if (!response) throw new Error('no response');
    if (response.status() !== 200) throw new Error(`GET /dashboard answered ${response.status()}`);
    const title = await page.title();
    if (!/Switchyard/.test(title)) throw new Error(`unexpected title ${JSON.stringify(title)}`);
    if (await page.locator('#token-form').isVisible()) throw new Error('the page asks for a token although the URL has one');
    return { status: response.status(), title, token_in_url: page.url().includes('token=') };
  });

  await check('tiles appear', async () => {
    await page.waitForSelector('[data-dependency]', { timeout: TILES_MS }).catch(() => {
      throw new Error(`no [data-dependency] tile within ${TILES_MS / 1000} s`);
    });
    await page.waitForSelector('[data-endpoint]', { timeout: TILES_MS }).catch(() => {
      throw new Error(`no [data-endpoint] tile within ${TILES_MS / 1000} s`);
    });
    const dependencies = await page.$$eval('[data-dependency]', (ts) => ts.map((t) => t.dataset.dependency));
    const endpoints = await page.$$eval('[data-endpoint]', (ts) => ts.map((t) => t.dataset.endpoint));
    const connection = await page.$eval('#connection', (e) => e.dataset.state);
    return { dependencies, endpoints, connection };
  });

  await check('tiles update', async () => {
    const users = '[data-dependency="users"]';
    await page.waitForSelector(`${users}[data-requests]`, { timeout: TILES_MS }).catch(() => {
      throw new Error(`no users tile with data-requests within ${TILES_MS / 1000} s`);
    });
    const before = await page.$eval(users, (t) => t.dataset.requests);
    await page.waitForFunction(([sel, was]) => {
      const t = document.querySelector(sel);
      return t && t.dataset.requests !== was;
    }, [users, before], { timeout: UPDATE_MS, polling: 200 }).catch(async () => {
      throw new Error(`users data-requests stayed ${before} for ${UPDATE_MS / 1000} s: ${JSON.stringify(await tileState(users))}`);
    });
    const after = await page.$eval(users, (t) => t.dataset.requests);
    return { dependency: 'users', requests_before: Number(before), requests_after: Number(after) };
  });

  await check('turns red', async () => {
    const ratings = '[data-dependency="ratings"]';
    const started = Date.now();
    await page.waitForSelector(`${ratings}[data-health="bad"]`, { timeout: RED_MS }).catch(async () => {
      throw new Error(`ratings never reached data-health="bad" in ${RED_MS / 1000} s: ${JSON.stringify(await tileState(ratings))}`);
    });
    const tile = await tileState(ratings);
    return { dependency: 'ratings', after_ms: Date.now() - started, health: tile.health, circuit: tile.circuit,
      error_percent: Number(tile.errorPercent), requests: Number(tile.requests) };
  });

  await check('screenshot', async () => {
    // A couple more frames, so the sparklines and the red tile have settled.
    await page.waitForTimeout(2500);
    fs.mkdirSync(path.dirname(path.resolve(screenshot)), { recursive: true });
    await page.screenshot({ path: screenshot, fullPage: true, timeout: 15000 });
    return { path: screenshot, bytes: fs.statSync(screenshot).size };
  });

  await check('no script errors', async () => {
    if (scriptErrors.length) throw new Error(`uncaught errors in the page: ${scriptErrors.join(' | ')}`);
    return { console_errors: consoleErrors.length };
  });
}

// One overall bound besides each wait's own.
const overall = setTimeout(() => {
  console.error('dashboard.mjs: gave up after 120 s');
  process.exit(3);
}, 120000);

let failure = null;
try {
  await main();
} catch (e) {
  failure = e;
  if (page) {
    const shot = path.join(os.tmpdir(), `dashboard-failure-${process.pid}.png`);
    await page.screenshot({ path: shot, fullPage: true, timeout: 5000 }).then(
      () => console.error(`dashboard.mjs: screenshot of the failure: ${shot}`), () => {});
    console.error(`dashboard.mjs: page state: ${JSON.stringify({
      connection: await page.$eval('#connection', (el) => el.textContent).catch(() => null),
      tiles: await page.$$eval('.tile', (ts) => ts.map((t) => ({ ...t.dataset }))).catch(() => null),
      scriptErrors, consoleErrors: consoleErrors.slice(0, 5),
    })}`);
  }
} finally {
  if (browser) await browser.close().catch(() => {});
  clearTimeout(overall);
}
if (failure) {
  console.error(`dashboard.mjs: FAILED: ${failure.message}`);
  process.exit(1);
}
console.error(`dashboard.mjs: all ${results.length} checks passed`);
process.exit(0);

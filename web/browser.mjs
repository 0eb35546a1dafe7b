// Drives Debian's headless Chromium through GraphiQL on a live gateway: opens the page, sets a
// query, runs it and prints JSON with the result pane's text and every URL the page requested.
// Usage: node browser.mjs <page url> <query> [screenshot.png] [text the result must show]
// (a subscription's results replace each other in the pane: the last argument waits for one).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

const [url, query, screenshot, awaited] = process.argv.slice(2);
if (!url || !query) {
  console.error('usage: node browser.mjs <page url> <query> [screenshot.png]');
  process.exit(2);
}

const executablePath = process.env.CHROMIUM || '/usr/bin/chromium';
const profile = mkdtempSync(join(tmpdir(), 'gateway-chromium-'));
const requests = [];
const problems = [];
const context = await chromium.launchPersistentContext(profile, {
  executablePath,
  headless: true,
  args: [
    '--headless',
    '--no-sandbox',
    '--disable-gpu',
    '--disable-quic',
    '--no-first-run',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
  ],
});
try {
  const page = context.pages()[0] ?? (await context.newPage());
  page.on('request', (request) => requests.push(request.url()));
  page.on('pageerror', (error) => problems.push(`pageerror: ${error.message}`));
  page.on('console', (message) => {
    if (message.type() === 'error') problems.push(`console: ${message.text()}`);
  });

  const response = await page.goto(url, { waitUntil: 'load' });
  const editor = '.graphiql-query-editor .CodeMirror';
  // The page's own failure notice ends the wait at once, with its explanation.
  const shown = await page.waitForSelector(`${editor}, .graphiql-unavailable`, { timeout: 20000 });
  if (await shown.evaluate((node) => node.classList.contains('graphiql-unavailable'))) {
    throw new Error(`GraphiQL did not start: ${await shown.textContent()}`);
  }
  // CodeMirror's own API: typing would fight its auto-closing brackets and hint popups.
  await page.evaluate(
    ([selector, text]) => document.querySelector(selector).CodeMirror.setValue(text),
    [editor, query],
  );
  // GraphiQL works out the operation name 100 ms after an edit; running sooner would send
  // the previous tab content's name with the new query.
  const named = /^\s*(?:query|mutation|subscription)\s+([_A-Za-z][_0-9A-Za-z]*)/.exec(query);
  await page.waitForFunction(
    ([selector, name]) => (document.querySelector(selector).CodeMirror.operationName ?? null) === name,
    [editor, named ? named[1] : null],
    { timeout: 5000 },
  );
  await page.click('.graphiql-execute-button');
  const resultPane = '.result-window .CodeMirror';
  await page.waitForFunction(
    ([selector, text]) => {
      const node = document.querySelector(selector);
      const shown = node ? node.CodeMirror.getValue() : '';
      return text ? shown.includes(text) : shown.trim().length > 0;
    },
    [resultPane, awaited ?? ''],
    { timeout: 20000 },
  );
  const result = await page.evaluate(
    (selector) => document.querySelector(selector).CodeMirror.getValue(),
    resultPane,
  );
  const tools = await page.$$eval('.graphiql-editor-tool .CodeMirror', (nodes) =>
    nodes.map((node) => node.CodeMirror.getValue()),
  );
  const tabs = await page.$$eval('.graphiql-tab', (nodes) => nodes.map((n) => n.textContent.trim()));
  if (screenshot && screenshot !== '-') await page.screenshot({ path: screenshot });
  console.log(
    JSON.stringify({ status: response.status(), result, tools, tabs, requests, problems }, null, 2),
  );
} finally {
  await context.close();
  rmSync(profile, { recursive: true, force: true });
}

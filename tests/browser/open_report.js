// Opens a (large) evalgate HTML report in headless Chromium and prints how long
// loading and one filter took and how many rows it has. For tests/bench.
// Usage: node open_report.js REPORT.html
'use strict';
const path = require('path');
const { chromium } = require('playwright-core');

(async () => {
	const browser = await chromium.launch({
		executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
		args: ['--no-sandbox', '--disable-gpu'],
	});
	const page = await browser.newPage();
	const errors = [];
	page.on('pageerror', (e) => errors.push(String(e)));
	page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
	let t = Date.now();
	await page.goto('file://' + path.resolve(process.argv[2]), { waitUntil: 'load', timeout: 300000 });
	const load = Date.now() - t;
	const rows = await page.locator('tr.case').count();
	t = Date.now();
	await page.selectOption('#f-status', 'fail');
	const shown = await page.locator('#shown').textContent();
	const filter = Date.now() - t;
	t = Date.now();
	await page.locator('tr.case[data-d]:visible').first().click();
	await page.locator('tr.detail').first().waitFor();
	const open = Date.now() - t;
	console.log(JSON.stringify({ rows, load_ms: load, filter_ms: filter, open_details_ms: open, shown, errors }));
	await browser.close();
	process.exit(errors.length ? 1 : 0);
})().catch((e) => { console.log('failed: ' + e); process.exit(1); });

// Loads an evalgate HTML report in headless Chromium (Debian's /usr/bin/chromium)
// and checks that it is inert and works: no console error, no dialog, no request
// but the file itself, hostile answers shown as text, filters and search change
// the visible rows. Usage: node check_report.js REPORT.html SCREENSHOT.png
'use strict';
const path = require('path');
const { chromium } = require('playwright-core');

const [file, shot] = process.argv.slice(2);
const url = 'file://' + path.resolve(file);
let failures = 0, checks = 0;
function check(what, cond, info) {
	checks++;
	if (cond) {
		console.log('ok - ' + what);
	} else {
		failures++;
		console.log('not ok - ' + what + (info !== undefined ? ': ' + JSON.stringify(info).slice(0, 600) : ''));
	}
}

(async () => {
	const browser = await chromium.launch({
		executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
		args: ['--no-sandbox', '--disable-gpu'],
	});
	const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
	const problems = [], requests = [], dialogs = [];
	page.on('console', (m) => { if (m.type() === 'error' || m.type() === 'warning') problems.push(m.text()); });
	page.on('pageerror', (e) => problems.push(String(e)));
	page.on('dialog', (d) => { dialogs.push(d.message()); d.dismiss().catch(() => {}); });
	page.on('request', (r) => { if (r.url() !== url) requests.push(r.url()); });

	await page.goto(url, { waitUntil: 'load' });
	const summary = JSON.parse(await page.locator('#eg-summary').textContent());
	const total = summary.totals.results.n;
	const visible = () => page.locator('tr.case:visible').count();
	// the search filters after a short timer: wait (at most 2 s) for the rows to settle
	const visibleSoon = async (want) => {
		let n = await visible();
		for (let i = 0; i < 100 && n !== want; i++) {
			await page.waitForTimeout(20);
			n = await visible();
		}
		return n;
	};

	check('every result has a row', (await page.locator('tr.case').count()) === total, total);
	check('all rows shown at first', (await visible()) === total);
	check('the count line says so', (await page.locator('#shown').textContent()) === `${total} of ${total} results shown`);

	const payloads = {
		'xss-script': '<script>alert(1)</script>',
		'textarea': '</textarea><script>alert(2)</script>',
		'jslink': '<a href="javascript:alert(1)">x</a>',
		'endscript': 'text </script><script>alert(3)</script>',
	};
	for (const [id, text] of Object.entries(payloads)) {
		const row = page.locator('tr.case', { has: page.locator('td:first-child', { hasText: new RegExp('^' + id + '$') }) });
		check(`payload of ${id} shows as text in its row`, (await row.locator('td:nth-child(5)').textContent()).includes(text));
		await row.click();
		const answer = page.locator('tr.detail h4:text-is("Answer") + pre').last();
		check(`payload of ${id} shows as text in its details`, (await answer.textContent()).includes(text));
	}
	// every other row of the hostile suite opens too (the img payload, the invalid UTF-8)
	for (const id of ['img', 'badutf8', 'pipes', 'boom', 'fixed']) {
		await page.locator('tr.case', { has: page.locator('td:first-child', { hasText: new RegExp('^' + id + '$') }) }).click();
	}
	const counts = await page.evaluate(() => ({
		scripts: document.querySelectorAll('script').length,
		foreign: document.querySelectorAll('img,iframe,object,embed,textarea,a[href],form,link').length,
		handlers: Array.from(document.querySelectorAll('*')).filter((e) =>
			Array.from(e.attributes).some((a) => a.name.startsWith('on'))).length,
		details: document.querySelectorAll('tr.detail').length,
	}));
	check('no script element was added', counts.scripts === summary.suites.length + 2, counts);
	check('no image, link, frame or textarea element exists', counts.foreign === 0, counts);
	check('no element has an event handler attribute', counts.handlers === 0, counts);
	check('nine rows are open', counts.details === 9, counts);
	check('the invalid UTF-8 shows replacement characters',
		(await page.locator('tr.case > td:nth-child(5)', { hasText: 'alert lone' }).textContent()).includes('\ufffd'));

	// the status filter
	for (const s of ['pass', 'fail', 'error']) {
		await page.selectOption('#f-status', s);
		check(`status ${s} shows ${summary.totals.results[s]} rows`, (await visibleSoon(summary.totals.results[s])) === summary.totals.results[s],
			await visible());
	}
	await page.selectOption('#f-status', '');
	// the tag filter
	await page.selectOption('#f-tag', 'plain');
	check('tag plain shows the plain suite only', (await visibleSoon(summary.suites.find((s) => s.name === 'plain').results.n)) === summary.suites.find((s) => s.name === 'plain').results.n);
	await page.selectOption('#f-tag', '');
	// the search
	await page.fill('#f-search', 'xss-scr');
	check('search shows the one matching row', (await visibleSoon(1)) === 1, await visible());
	await page.fill('#f-search', 'no such text anywhere');
	check('a search without match shows nothing', (await visibleSoon(0)) === 0);
	await page.fill('#f-search', '');
	check('clearing the search shows every row', (await visibleSoon(total)) === total);

	// the screenshot: the top of the report, then the regression table and one open row
	await page.locator('tr.case.open').evaluateAll((rows) => rows.forEach((r) => r.click()));
	await page.locator('tr.case', { has: page.locator('td:first-child', { hasText: /^img$/ }) }).click();
	await page.evaluate(() => window.scrollTo(0, 0));
	await page.screenshot({ path: shot, fullPage: true });

	check('no console error or warning', problems.length === 0, problems);
	check('no dialog fired', dialogs.length === 0, dialogs);
	check('no request but the file itself', requests.length === 0, requests);
	await browser.close();
	console.log(`${checks - failures} passed, ${failures} failed`);
	process.exit(failures ? 1 : 0);
})().catch((e) => {
	console.log('not ok - the browser check crashed: ' + e);
	process.exit(1);
});

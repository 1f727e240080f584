(function () {
	'use strict';
	var rows = Array.prototype.slice.call(document.querySelectorAll('tr.case'));
	var fStatus = document.getElementById('f-status');
	var fTag = document.getElementById('f-tag');
	var fText = document.getElementById('f-search');
	var shown = document.getElementById('shown');

	function el(tag, cls, text) {
		var e = document.createElement(tag);
		if (cls) e.className = cls;
		if (text !== undefined && text !== null) e.textContent = String(text);
		return e;
	}

	/* the tag filter lists every tag the rows carry */
	var tags = {};
	rows.forEach(function (r) {
		(r.getAttribute('data-t') || '').split(',').forEach(function (t) { if (t) tags[t] = 1; });
	});
	Object.keys(tags).sort().forEach(function (t) {
		var o = el('option', null, t);
		o.value = t;
		fTag.appendChild(o);
	});

	/*
	 * Each suite shows at most its limit of matching rows (PAGE at first, as
	 * the file was written; "show more" adds a page), so a run of 100,000
	 * cases lays out only a few thousand rows.
	 */
	var PAGE = 1000;
	var suites = Array.prototype.slice.call(document.querySelectorAll('section.suite'));
	suites.forEach(function (sec) {
		sec.egRows = Array.prototype.slice.call(sec.querySelectorAll('tr.case'));
		sec.egLimit = PAGE;
		var p = el('p', 'more'), b = el('button');
		b.type = 'button';
		b.addEventListener('click', function () { sec.egLimit += PAGE; apply(); });
		p.appendChild(b);
		p.hidden = true;
		sec.appendChild(p);
		sec.egMore = p;
	});

	function apply() {
		var s = fStatus.value, t = fTag.value, q = fText.value.trim().toLowerCase();
		var matched = 0, shownRows = 0;
		suites.forEach(function (sec) {
			var m = 0;
			sec.egRows.forEach(function (r) {
				var ok = (!s || r.getAttribute('data-s') === s) &&
					(!t || (',' + r.getAttribute('data-t') + ',').indexOf(',' + t + ',') >= 0) &&
					(!q || r.textContent.toLowerCase().indexOf(q) >= 0 ||
					 (r.getAttribute('data-t') || '').toLowerCase().indexOf(q) >= 0);
				var show = ok && m < sec.egLimit;
				if (ok) m++;
				if (r.hidden === show) r.hidden = !show;
				if (r.egDetail) r.egDetail.hidden = !show;
				if (show) shownRows++;
			});
			matched += m;
			sec.egMore.hidden = m <= sec.egLimit;
			sec.egMore.firstChild.textContent = 'show ' + Math.min(PAGE, m - sec.egLimit) +
				' more of ' + (m - sec.egLimit) + ' hidden rows';
		});
		shown.textContent = matched + ' of ' + rows.length + ' results ' +
			(shownRows < matched ? 'match, ' + shownRows + ' shown' : 'shown');
	}
	var timer = null;
	function later() {
		clearTimeout(timer);
		timer = setTimeout(apply, rows.length > 5000 ? 250 : 0);
	}
	fStatus.addEventListener('change', apply);
	fTag.addEventListener('change', apply);
	fText.addEventListener('input', later);

	/* details: parsed from the suite's embedded JSON the first time a row opens */
	function details(row) {
		var sec = row.closest('section.suite');
		if (!sec.egDetails) {
			var s = sec.querySelector('script.eg-details');
			sec.egDetails = s ? JSON.parse(s.textContent) : [];
		}
		return sec.egDetails[Number(row.getAttribute('data-d'))];
	}

	function value(v) {
		if (v === null || v === undefined) return el('span', 'muted', '\u2013');
		if (typeof v !== 'object') {
			var str = String(v);
			return typeof v === 'string' && (str.length > 80 || str.indexOf('\n') >= 0) ?
				el('pre', null, str) : el('span', 'val', str);
		}
		if (Array.isArray(v)) {
			if (v.length === 0) return el('span', null, '[]');
			var ol = el('ol');
			v.forEach(function (x) { var li = el('li'); li.appendChild(value(x)); ol.appendChild(li); });
			return ol;
		}
		var dl = el('dl', 'kv');
		Object.keys(v).forEach(function (k) {
			dl.appendChild(el('dt', null, k));
			var dd = el('dd');
			dd.appendChild(value(v[k]));
			dl.appendChild(dd);
		});
		return dl;
	}

	/* control characters shown as the other reports show them: a NUL is \x00 */
	function visible(s) {
		return s.replace(/[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]/g, function (c) {
			return '\\x' + ('0' + c.charCodeAt(0).toString(16)).slice(-2);
		});
	}

	function section(box, title, v) {
		if (v === null || v === undefined || v === '') return;
		box.appendChild(el('h4', null, title));
		box.appendChild(typeof v === 'string' ? el('pre', null, visible(v)) : value(v));
	}

	/* an agent's steps: text, each call with its arguments and the result it got */
	function trajectory(box, t) {
		if (!Array.isArray(t) || !t.length) return;
		box.appendChild(el('h4', null, 'Trajectory'));
		var ol = el('ol', 'steps');
		t.forEach(function (s) {
			var li = el('li');
			if (typeof s.user === 'string')
				li.appendChild(el('pre', 'user', 'turn ' + s.turn + ' user: ' + s.user));
			li.appendChild(el('div', null, 'step ' + s.step +
				(s.finish_reason ? ' (' + s.finish_reason + ')' : '') +
				(s.stopped ? ', stopped at max_steps' : '')));
			if (s.content) li.appendChild(el('pre', null, s.content));
			(s.tool_calls || []).forEach(function (c) {
				var line = 'call ' + c.name + '(' + c.arguments + ')';
				if (c.error) line += ' [' + c.error + ']';
				if (c.undeclared) line += ' [undeclared tool]';
				if (c.result !== undefined) line += '\n\u2192 ' + c.result;
				if (c.result_error) line += '\n\u2192 no result: ' + c.result_error;
				li.appendChild(el('pre', 'call', line));
			});
			ol.appendChild(li);
		});
		box.appendChild(ol);
	}

	function render(d) {
		var box = el('div', 'detail');
		section(box, 'Input', d.input);
		section(box, 'Context', d.context);
		section(box, 'Expected', d.expected);
		if (d.retrieved) {
			section(box, 'Retrieved context', d.retrieved.context);
			section(box, 'Retrieved ids', d.retrieved.context_ids);
			if (!d.retrieved.trajectory)
				section(box, 'Tool calls', d.retrieved.tool_calls);
			section(box, 'Reply metadata', d.retrieved.metadata);
			trajectory(box, d.retrieved.trajectory);
		}
		section(box, 'Answer', d.output);
		if (d.output_truncated)
			box.appendChild(el('p', 'note', 'The answer was cut here: ' + d.output_truncated +
				' more bytes are in the JSON report and the history.'));
		section(box, 'Error', d.error);
		var facts = {
			status: d.status, repeat: d.repeat, latency_ms: d.latency_ms,
			prompt_tokens: d.prompt_tokens, completion_tokens: d.completion_tokens,
			cost_usd: d.cost_usd, finish_reason: d.finish_reason, attempts: d.attempts,
			cached: d.cached, tags: (d.tags || []).join(', '), case_hash: d.case_hash
		};
		box.appendChild(el('h4', null, 'Call'));
		box.appendChild(value(facts));
		if (d.scores && d.scores.length) {
			box.appendChild(el('h4', null, 'Scores'));
			var t = el('table'), head = el('tr');
			['scorer', 'type', 'result', 'score', 'reason', 'detail'].forEach(function (h) { head.appendChild(el('th', null, h)); });
			t.appendChild(head);
			d.scores.forEach(function (s) {
				var tr = el('tr');
				tr.appendChild(el('td', null, s.scorer));
				tr.appendChild(el('td', null, s.type));
				tr.appendChild(el('td', s.error ? 'warn' : s.pass ? 'ok' : 'bad',
					s.error ? 'error' : s.pass ? 'pass' : 'fail'));
				tr.appendChild(el('td', 'n', s.score === null ? 'n/a' : Number(s.score).toFixed(3)));
				tr.appendChild(el('td', null, s.reason));
				var td = el('td');
				if (s.detail !== null && s.detail !== undefined) {
					var det = el('details');
					det.appendChild(el('summary', null, s.calls ? 'judge prompts and verdicts' : 'detail'));
					det.appendChild(value(s.detail));
					td.appendChild(det);
				}
				tr.appendChild(td);
				t.appendChild(tr);
			});
			box.appendChild(t);
		}
		return box;
	}

	document.querySelectorAll('table.cases tbody').forEach(function (tb) {
		tb.addEventListener('click', function (ev) {
			var row = ev.target.closest('tr.case');
			if (!row || !row.hasAttribute('data-d') || ev.target.closest('a,summary')) return;
			if (row.egDetail) {
				row.egDetail.remove();
				row.egDetail = null;
				row.classList.remove('open');
				return;
			}
			var d = details(row);
			if (!d) return;
			var tr = el('tr', 'detail'), td = el('td');
			td.colSpan = row.children.length;
			td.appendChild(render(d));
			tr.appendChild(td);
			row.after(tr);
			row.egDetail = tr;
			row.classList.add('open');
		});
	});
	apply();
})();

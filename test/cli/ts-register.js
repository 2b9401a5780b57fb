/**
 * Test helper: lets `node -r ./test/cli/ts-register.js lib/cli/index.ts` run
 * the CLI straight from the TypeScript sources, so CLI tests need no build
 * step. Each file is transpiled on load with the repo's own typescript; the
 * output is cached by content hash (node_modules/.cache) so later spawns skip
 * loading the compiler.
 */
'use strict';
const crypto = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');

const cacheDir = path.join(__dirname, '..', '..', 'node_modules', '.cache', 'hybridlm-ts-register');
let ts = null;

function transpile(source, filename) {
  ts ??= require('typescript');
  const compilerOptions = {
    module: ts.ModuleKind.CommonJS,
    target: ts.ScriptTarget.ES2022,
    esModuleInterop: true,
    inlineSourceMap: true,
  };
  return ts.transpileModule(source, { compilerOptions, fileName: filename }).outputText;
}

require.extensions['.ts'] = function compileTs(module, filename) {
  const source = fs.readFileSync(filename, 'utf8');
  const key = crypto.createHash('sha1').update(filename).update('\0').update(source).digest('hex');
  const cached = path.join(cacheDir, `${key}.js`);
  let output;
  try {
    output = fs.readFileSync(cached, 'utf8');
  } catch {
    output = transpile(source, filename);
    try {
      fs.mkdirSync(cacheDir, { recursive: true });
      const tmp = `${cached}.${process.pid}`;
      fs.writeFileSync(tmp, output);
      fs.renameSync(tmp, cached);
    } catch {
      // a read-only tree just means no cache
    }
  }
  module._compile(output, filename);
};

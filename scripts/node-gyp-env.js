// Where node-gyp is and how to run it offline: shared by build-native.js (the
// source-build fallback) and prebuild.js (prebuildify). node-gyp would
// otherwise download Node's headers; the headers that ship with Node itself
// (<prefix>/include/node) are used when present.
'use strict';
const fs = require('fs');
const path = require('path');

/** Path of a node-gyp CLI script (npm's bundled copy when none is installed), or null. */
function nodeGypScript(root) {
  // npm exports the path of its bundled node-gyp to lifecycle scripts.
  if (process.env.npm_config_node_gyp && fs.existsSync(process.env.npm_config_node_gyp)) return process.env.npm_config_node_gyp;
  try {
    return require.resolve('node-gyp/bin/node-gyp.js', { paths: [root] });
  } catch {
    const bundled = path.join(path.dirname(process.execPath), '../lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js');
    return fs.existsSync(bundled) ? bundled : null;
  }
}

/** Environment additions that point node-gyp at the running Node's own headers (no download). */
function nodeGypEnv() {
  const prefix = path.resolve(path.dirname(process.execPath), '..');
  if (process.env.npm_config_nodedir || !fs.existsSync(path.join(prefix, 'include', 'node', 'node_api.h'))) return {};
  return { npm_config_nodedir: prefix };
}

module.exports = { nodeGypScript, nodeGypEnv };

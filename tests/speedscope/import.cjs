#!/usr/bin/env node
// Imports a file with speedscope's own importer (the npm package `speedscope`, version pinned
// in package.json) and prints what speedscope made of it, as one line of JSON:
//
//   {"name": group name, "indexToView": n, "profiles": [{"name", "unit", "totalWeight",
//     "frames": [{"name", "file", "line", "self", "total"}],      sorted by name, file, line
//     "stacks": [{"stack": [root name, ..., leaf name], "weight"}]}]}   sorted by stack
//
// Usage: node import.cjs FILE
// Exit status: 0 with the JSON on stdout; 1 with speedscope's error on stderr when the import
// throws or finds no profile; 2 when the importer cannot be found in the package.
//
// How the importer is reached: the package ships only the bundled web app (one minified
// script, dist/release/speedscope-*.js, loaded by dist/release/index.html), not a module. Its
// import code is an internal bundler module whose exports keep their source names
// (importProfileGroupFromBase64, importProfileGroupFromText, ...) and are installed with
// Object.defineProperty when the app starts. So the script runs in a fresh V8 context (node's
// vm) whose Object.defineProperty notes the object that receives those exports; nothing in the
// bundle is edited. The app's user-interface code then fails for want of a DOM, which is
// expected and ignored: the import module is set up before that, in a promise job.
//
// The file goes in through importProfileGroupFromBase64, the path the `speedscope FILE`
// command takes (its bin/cli.mjs hands the page the file as base64): speedscope sniffs the
// format from the bytes (pprof is tried first, then JSON with the speedscope "$schema"), the
// way a dropped file is handled. The file name given to it is the basename, so a
// *.speedscope.json name is detected by its suffix exactly as speedscope does.

'use strict';
const fs = require('fs');
const path = require('path');
const vm = require('vm');

function fail(code, message) {
  process.stderr.write('import.cjs: ' + message + '\n');
  process.exit(code);
}

function bundlePath() {
  const root = path.dirname(require.resolve('speedscope/package.json', {paths: [__dirname]}));
  const release = path.join(root, 'dist', 'release');
  const html = fs.readFileSync(path.join(release, 'index.html'), 'utf8');
  const m = /<script src="(speedscope-[^"]+\.js)"><\/script>/.exec(html);
  if (!m) fail(2, 'no speedscope script named in ' + path.join(release, 'index.html'));
  return path.join(release, m[1]);
}

function loadImporter() {
  let file;
  try {
    file = bundlePath();
  } catch (e) {
    fail(2, 'the speedscope package is not installed next to this script (run npm ci in ' +
            __dirname + '): ' + e.message);
  }
  const source = fs.readFileSync(file, 'utf8');
  const ctx = vm.createContext({
    console: {log() {}, info() {}, warn() {}, error() {}, debug() {}, time() {}, timeEnd() {}},
    setTimeout, clearTimeout, setInterval, clearInterval, queueMicrotask,
    TextDecoder, TextEncoder,  // without TextDecoder speedscope decodes files as Latin-1
    location: {href: 'file:///index.html', hash: '', search: '', protocol: 'file:'},
  });
  vm.runInContext(`
    globalThis.window = globalThis;
    globalThis.self = globalThis;
    const define = Object.defineProperty;
    Object.defineProperty = function (o, name, d) {
      if (name === 'importProfileGroupFromBase64') globalThis.__speedscopeImporter = o;
      return define.call(this, o, name, d);
    };`, ctx);
  let uiError = null;
  try {
    vm.runInContext(source, ctx, {filename: file});
  } catch (e) {
    uiError = e;  // the user interface needs a DOM; the importer does not
  }
  return {ctx, uiError, file};
}

function describe(group) {
  const out = {name: group.name, indexToView: group.indexToView, profiles: []};
  for (const p of group.profiles) {
    const frames = [];
    p.forEachFrame(f => frames.push({
      name: f.name,
      file: f.file === undefined ? null : f.file,
      line: f.line === undefined ? null : f.line,
      self: f.getSelfWeight(),
      total: f.getTotalWeight(),
    }));
    const key = f => JSON.stringify([f.name, f.file, f.line]);
    frames.sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));

    // Self weight of every distinct root-to-leaf path, from the calls speedscope replays for
    // its time-order view (each weight lands on the stack that was open while it passed).
    const weights = new Map();
    const open = [];
    let last = 0;
    const account = value => {
      if (value > last && open.length > 0) {
        const k = JSON.stringify(open);
        weights.set(k, (weights.get(k) || 0) + (value - last));
      }
      last = value;
    };
    p.forEachCall(
      (node, value) => { account(value); open.push(node.frame.name); },
      (node, value) => {
        account(value);
        const top = open.pop();
        if (top !== node.frame.name) throw new Error('unbalanced calls: ' + top + ' / ' + node.frame.name);
      });
    const stacks = [...weights.keys()].sort().map(k => ({stack: JSON.parse(k), weight: weights.get(k)}));

    out.profiles.push({
      name: p.getName(),
      unit: p.getWeightUnit(),
      totalWeight: p.getTotalWeight(),
      frames,
      stacks,
    });
  }
  return out;
}

async function main() {
  const file = process.argv[2];
  if (!file || process.argv.length !== 3) fail(2, 'usage: node import.cjs FILE');
  const bytes = fs.readFileSync(file);
  const {ctx, uiError, file: bundle} = loadImporter();
  // The import module is initialized in a promise job queued by the bundle.
  await new Promise(resolve => setTimeout(resolve, 0));
  const importer = ctx.__speedscopeImporter;
  if (!importer || typeof importer.importProfileGroupFromBase64 !== 'function')
    fail(2, 'importProfileGroupFromBase64 not found in ' + bundle +
            (uiError ? ' (the bundle stopped with: ' + uiError.message + ')' : ''));
  let group;
  try {
    group = await importer.importProfileGroupFromBase64(path.basename(file), bytes.toString('base64'));
  } catch (e) {
    fail(1, 'speedscope rejected ' + file + ': ' + (e && e.message ? e.message : String(e)));
  }
  if (!group) fail(1, 'speedscope found no profile in ' + file);
  process.stdout.write(JSON.stringify(describe(group)) + '\n');
}

main().catch(e => fail(1, e && e.stack ? e.stack : String(e)));

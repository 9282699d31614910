#!/usr/bin/env node
// Decodes a pprof file with the npm package `pprof-format` (DataDog's pure-JavaScript pprof
// reader, version pinned in package.json) and prints what it read as one line of JSON:
//
//   {"gzip": bool, "sampleTypes": [[type, unit]], "periodType": [type, unit], "period": n,
//    "timeNanos": "decimal", "durationNanos": "decimal", "comments": [...],
//    "samples": [{"stack": [function names, leaf first], "values": [n], "labels": [[key, str]]}]}
//
// 64-bit fields are printed as decimal strings (pprof-format may give BigInt). Used by
// tests/test_pyroscope.cpp on the bodies cpprof uploads. Usage: node decode.cjs FILE
// Exit status 0 with the JSON on stdout; 1 with pprof-format's error on stderr.
'use strict';
const fs = require('fs');
const zlib = require('zlib');
const { Profile } = require('pprof-format');

let data = fs.readFileSync(process.argv[2]);
const gzip = data.length >= 2 && data[0] === 0x1f && data[1] === 0x8b;
if (gzip) data = zlib.gunzipSync(data);

let p;
try {
  p = Profile.decode(new Uint8Array(data));
} catch (e) {
  process.stderr.write('pprof-format could not decode the file: ' + e.stack + '\n');
  process.exit(1);
}
const str = (i) => p.stringTable.strings[Number(i)];
const fnName = new Map(p.function.map((f) => [String(f.id), str(f.name)]));
const loc = new Map(p.location.map((l) => [String(l.id), l]));
const out = {
  gzip,
  sampleTypes: p.sampleType.map((t) => [str(t.type), str(t.unit)]),
  periodType: p.periodType ? [str(p.periodType.type), str(p.periodType.unit)] : null,
  period: String(p.period),
  timeNanos: String(p.timeNanos),
  durationNanos: String(p.durationNanos),
  comments: p.comment.map(str),
  samples: p.sample.map((s) => ({
    // Each location's lines are innermost first; a sample's locations are leaf first.
    stack: s.locationId.flatMap((id) => loc.get(String(id)).line.map((l) => fnName.get(String(l.functionId)))),
    values: s.value.map(String),
    labels: s.label.map((l) => [str(l.key), Number(l.str) !== 0 ? str(l.str) : String(l.num)]),
  })),
};
process.stdout.write(JSON.stringify(out) + '\n');

#!/usr/bin/env node
// A stand-in for Pyroscope's /ingest on Node's own HTTP server (its llhttp parser is strict
// about framing and headers), for tests/test_pyroscope.cpp: it listens on 127.0.0.1, prints
// its port on the first line, answers the first request 503 (Retry-After: 0) and the next
// ones 200 with a chunked body, and after `count` requests prints one JSON line per request
// and exits:
//
//   {"method", "url", "headers": {lower-case name: value}, "bodyBytes",
//    "profile": {"sampleTypes": [[type, unit]], "samples": n, "functions": [names]}}
//
// The profile is the body, gunzipped and decoded with npm pprof-format. Exits 2 after 60 s
// without the requests. Usage: node server.cjs COUNT
'use strict';
const http = require('http');
const zlib = require('zlib');
const { Profile } = require('pprof-format');

const count = Number(process.argv[2] || 2);
const seen = [];
const server = http.createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    const body = Buffer.concat(chunks);
    const entry = { method: req.method, url: req.url, headers: req.headers, bodyBytes: body.length };
    try {
      const raw = body[0] === 0x1f && body[1] === 0x8b ? zlib.gunzipSync(body) : body;
      const p = Profile.decode(new Uint8Array(raw));
      const str = (i) => p.stringTable.strings[Number(i)];
      entry.profile = {
        sampleTypes: p.sampleType.map((t) => [str(t.type), str(t.unit)]),
        samples: p.sample.length,
        functions: p.function.map((f) => str(f.name)).sort(),
      };
    } catch (e) {
      entry.error = String(e);
    }
    seen.push(entry);
    if (seen.length === 1) {
      res.writeHead(503, { 'Retry-After': '0', 'Content-Type': 'application/json' });
      res.write('{"code":"unavailable",');
      res.end('"message":"try again"}');
    } else {
      res.writeHead(200, { 'Content-Type': 'application/json' });  // chunked: no length given
      res.write('{');
      res.end('}');
    }
    if (seen.length >= count) {
      for (const s of seen) process.stdout.write(JSON.stringify(s) + '\n');
      server.close();
      setTimeout(() => process.exit(0), 100);
    }
  });
});
server.listen(0, '127.0.0.1', () => process.stdout.write(server.address().port + '\n'));
setTimeout(() => process.exit(2), 60000).unref();

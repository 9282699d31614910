#!/usr/bin/env node
// Decodes one OTLP/HTTP protobuf request body and prints it as one line of JSON:
//
//   {"decoder": which code decoded it, "type": the message type,
//    "consumed": true when re-encoding the decoded message gives back as many bytes as the
//                body had, i.e. no field of the body was unknown to the decoder and skipped,
//    "message": the message, field names in lowerCamelCase, 64-bit integers as decimal
//               strings, bytes (trace, span and profile ids) as lowercase hex, enums as numbers}
//
// Usage: node decode.cjs metrics|traces|profiles FILE
//   metrics   ExportMetricsServiceRequest, by OpenTelemetry's own generated code: the static
//             protobufjs module that @opentelemetry/otlp-transformer ships
//             (build/src/generated/root.js, generated from the official opentelemetry-proto
//             files; the package's last release with it is the one pinned in package.json)
//   traces    ExportTraceServiceRequest, by the same generated code
//   profiles  ExportProfilesServiceRequest (profiles/v1development). No npm package ships the
//             official profiles .proto or code generated from it, so protobufjs decodes it with
//             profiles-v1.11.0-transcribed.proto, transcribed by hand from formats.md §8.6
//             (see the note at the top of that file). The "decoder" field says so.
// Exit status: 0 with the JSON on stdout; 1 when decoding throws (message on stderr); 2 on
// bad usage or a missing package.

'use strict';
const fs = require('fs');
const path = require('path');

function fail(code, message) {
  process.stderr.write('decode.cjs: ' + message + '\n');
  process.exit(code);
}

const [signal, file] = process.argv.slice(2);
if (!signal || !file) fail(2, 'usage: node decode.cjs metrics|traces|profiles FILE');

let type, decoder;
try {
  if (signal === 'metrics' || signal === 'traces') {
    const root = require('@opentelemetry/otlp-transformer/build/src/generated/root');
    const c = root.opentelemetry.proto.collector;
    type = signal === 'metrics' ? c.metrics.v1.ExportMetricsServiceRequest
                                : c.trace.v1.ExportTraceServiceRequest;
    const version = require('@opentelemetry/otlp-transformer/package.json').version;
    decoder = '@opentelemetry/otlp-transformer@' + version + ' generated root.js (official opentelemetry-proto)';
  } else if (signal === 'profiles') {
    const protobuf = require('protobufjs');
    const root = protobuf.loadSync(path.join(__dirname, 'profiles-v1.11.0-transcribed.proto'));
    type = root.lookupType('transcribed.profiles.v1development.ExportProfilesServiceRequest');
    const version = require('protobufjs/package.json').version;
    decoder = 'protobufjs@' + version + ' with profiles-v1.11.0-transcribed.proto (transcribed from formats.md, not the official .proto)';
  } else {
    fail(2, 'unknown signal ' + signal);
  }
} catch (e) {
  fail(2, 'cannot load the decoder (run npm ci in ' + __dirname + '): ' + e.message);
}

const body = fs.readFileSync(file);
let message;
try {
  message = type.decode(body);
} catch (e) {
  fail(1, type.name + ': ' + e.message);
}
const err = type.verify(message);
if (err) fail(1, type.name + ' does not verify: ' + err);
const consumed = type.encode(message).finish().length === body.length;

function plain(v) {
  if (v instanceof Uint8Array) return Buffer.from(v).toString('hex');
  if (Array.isArray(v)) return v.map(plain);
  if (v && typeof v === 'object') {
    if (typeof v.low === 'number' && typeof v.high === 'number' && typeof v.unsigned === 'boolean')
      return v.toString();  // Long
    const o = {};
    for (const k of Object.keys(v)) o[k] = plain(v[k]);
    return o;
  }
  return v;
}
const obj = type.toObject(message, {longs: String, enums: Number, bytes: Buffer, defaults: false, oneofs: false});
process.stdout.write(JSON.stringify({decoder, type: type.name, consumed, message: plain(obj)}) + '\n');

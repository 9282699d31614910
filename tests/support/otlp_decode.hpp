#pragma once
// Decodes OTLP/HTTP protobuf bodies with OpenTelemetry's own code, run by node:
// tests/otlp/decode.cjs (metrics and traces: the generated protobufjs module of
// @opentelemetry/otlp-transformer; profiles: protobufjs with a .proto transcribed from
// formats.md, because no npm package ships the official profiles .proto; see decode.cjs).
//
// Needs node (CPPROF_TEST_NODE) and `npm ci` in tests/otlp (tools/install-deps.sh does it);
// without them the checks are skipped with a message, except under CI=..., where they fail.

#include <doctest/doctest.h>

#include "external.hpp"
#include "json.hpp"

#include <cstdlib>
#include <string>
#include <string_view>

#include <sys/stat.h>

namespace cpprof_test::otlp {

inline std::string decoder_dir() { return std::string(CPPROF_TEST_SOURCE_DIR) + "/tests/otlp"; }

/// True when node and the npm packages are there; otherwise says why (and fails under CI).
inline bool decoder_available() {
    std::string missing;
    struct stat st;
    if (*CPPROF_TEST_NODE == '\0')
        missing = "node was not found when the tests were configured (Debian: nodejs)";
    else if (::stat((decoder_dir() + "/node_modules/@opentelemetry/otlp-transformer/package.json").c_str(),
                    &st) != 0)
        missing = "the npm packages are not installed: run `npm ci` in " + decoder_dir() +
                  " (tools/install-deps.sh does)";
    if (missing.empty()) return true;
    const char* ci = std::getenv("CI");
    if (ci != nullptr && *ci != '\0')
        FAIL_CHECK("OTLP decoder check cannot run under CI: " << missing);
    else
        MESSAGE("SKIPPED: OTLP decoder check: " << missing);
    return false;
}

/// {"decoder", "type", "consumed", "message"} as printed by decode.cjs for `body`.
inline json::value decode(std::string_view signal, std::string_view body) {
    temp_dir dir;
    const std::string in = dir / "body.bin", err = dir / "stderr";
    write_file(in, body);
    const command_result r = run(shell_quote(CPPROF_TEST_NODE) + " " + shell_quote(decoder_dir() + "/decode.cjs") +
                                 " " + shell_quote(signal) + " " + shell_quote(in) + " 2>" + shell_quote(err));
    INFO("node decode.cjs " << signal << "\nstdout: " << r.out << "\nstderr: " << read_file(err));
    REQUIRE(r.exit_code == 0);
    json::value v;
    try {
        v = json::parse(r.out);
    } catch (const std::exception& e) {
        FAIL("decode.cjs printed no valid JSON: " << e.what());
    }
    // Every byte understood: no field was unknown to OpenTelemetry's schema and skipped.
    CHECK_MESSAGE(v["consumed"].b, "the decoder skipped unknown fields in the " << signal << " body");
    return v;
}

/// The string value of attribute `key` in a decoded KeyValue list, or "<missing>".
inline std::string attr_str(const json::value& list, std::string_view key) {
    if (!list.is_array()) return "<missing>";
    for (const auto& kv : list.items)
        if (kv["key"].str() == key && kv["value"].has("stringValue")) return kv["value"]["stringValue"].str();
    return "<missing>";
}

/// The int value (decimal text) of attribute `key`, or "<missing>".
inline std::string attr_int(const json::value& list, std::string_view key) {
    if (!list.is_array()) return "<missing>";
    for (const auto& kv : list.items)
        if (kv["key"].str() == key && kv["value"].has("intValue")) return kv["value"]["intValue"].str();
    return "<missing>";
}

}  // namespace cpprof_test::otlp

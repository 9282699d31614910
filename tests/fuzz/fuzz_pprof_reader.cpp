// libFuzzer target for the pprof reader (cpprof/input/pprof.hpp): any input must either parse
// or throw cpprof::error; a crash, a sanitizer report, a leak, a hang or any other exception is
// a bug. Whatever parses must also be accepted by the writer (encode_pprof), and must read
// back from the writer's bytes.
//
// Not part of the CMake build. Build and run by hand from the repository root:
//
//   clang++ -std=c++17 -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
//       -I include tests/fuzz/fuzz_pprof_reader.cpp -o /tmp/fuzz_pprof_reader
//   mkdir -p /tmp/fuzz_pprof_corpus
//   /tmp/fuzz_pprof_reader -max_total_time=60 -rss_limit_mb=2048 /tmp/fuzz_pprof_corpus
//
// Seeds help: any .pb (raw, not gzip) written by cpprof or `go tool pprof -proto` (gunzipped)
// can be dropped into the corpus directory.

#include <cstddef>
#include <cstdint>
#include <string_view>

#include <cpprof/error.hpp>
#include <cpprof/input/pprof.hpp>
#include <cpprof/output/pprof.hpp>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view bytes(reinterpret_cast<const char*>(data), size);
    try {
        const cpprof::profile p = cpprof::parse_pprof(bytes);
        const std::string again = cpprof::encode_pprof(p);
        // The writer's output of a parsed profile must parse again (it need not equal the input).
        (void)cpprof::parse_pprof(again);
    } catch (const cpprof::error&) {
        // a rejected input: fine
    }
    return 0;
}

// libFuzzer target for the folded-stack reader (cpprof/input/folded.hpp): any input must either
// parse or throw cpprof::error; a crash, a sanitizer report, a hang or any other exception is
// a bug. What parses must be writable as folded text again and read back.
//
// Built and run by tools/test.sh's "fuzz" stage, or by hand from the repository root:
//
//   clang++ -std=c++17 -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
//       -I include tests/fuzz/fuzz_folded_reader.cpp -o /tmp/fuzz_folded_reader
//   /tmp/fuzz_folded_reader -max_total_time=60

#include <cstddef>
#include <cstdint>
#include <sstream>
#include <string_view>

#include <cpprof/error.hpp>
#include <cpprof/input/folded.hpp>
#include <cpprof/output/folded.hpp>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    try {
        const cpprof::profile p = cpprof::parse_folded(text);
        std::ostringstream os;
        cpprof::write_folded(p, os);
        (void)cpprof::parse_folded(os.str());
    } catch (const cpprof::error&) {
    }
    return 0;
}

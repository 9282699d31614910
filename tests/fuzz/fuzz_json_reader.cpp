// libFuzzer target for the strict JSON reader (cpprof/detail/json_reader.hpp), which reads
// request bodies from the network (POST /sampling/start). Any input must parse or throw
// cpprof::error; a crash, a sanitizer report, a hang, deep recursion or any other exception is
// a bug. Strings that parse must be valid UTF-8.
//
// Built and run by tools/test.sh's "fuzz" stage, or by hand from the repository root:
//
//   clang++ -std=c++17 -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
//       -I include tests/fuzz/fuzz_json_reader.cpp -o /tmp/fuzz_json_reader
//   /tmp/fuzz_json_reader -max_total_time=60

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include <cpprof/detail/json_reader.hpp>
#include <cpprof/detail/text.hpp>
#include <cpprof/error.hpp>

namespace {

void check_utf8(const std::string& text) {
    const auto* s = reinterpret_cast<const unsigned char*>(text.data());
    for (std::size_t i = 0; i < text.size();) {
        std::uint32_t cp = 0;
        const std::size_t len = cpprof::detail::utf8_decode(s + i, text.size() - i, cp);
        if (len == 0) std::abort();
        i += len;
    }
}

void check_strings(const cpprof::detail::json_value& v) {
    if (v.type == cpprof::detail::json_value::kind::string) check_utf8(v.text);
    for (const auto& item : v.items) check_strings(item);
    for (const auto& m : v.members) {
        check_utf8(m.first);
        check_strings(m.second);
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    try {
        check_strings(cpprof::detail::parse_json(text));
    } catch (const cpprof::error&) {
    }
    return 0;
}

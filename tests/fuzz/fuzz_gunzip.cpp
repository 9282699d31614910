// libFuzzer target for the gzip/DEFLATE reader (cpprof/detail/inflate.hpp): any input must
// either decompress or throw cpprof::error, within the output limit; a crash, a sanitizer
// report, a hang or any other exception is a bug. What decompresses must round-trip through
// cpprof's own gzip writer.
//
// Built and run by tools/test.sh's "fuzz" stage, or by hand from the repository root:
//
//   clang++ -std=c++17 -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
//       -I include tests/fuzz/fuzz_gunzip.cpp -o /tmp/fuzz_gunzip
//   /tmp/fuzz_gunzip -max_total_time=60 -rss_limit_mb=2048

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include <cpprof/detail/gzip.hpp>
#include <cpprof/detail/inflate.hpp>
#include <cpprof/error.hpp>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view bytes(reinterpret_cast<const char*>(data), size);
    constexpr std::size_t limit = 64 << 20;
    for (bool gzip : {true, false}) {
        try {
            const std::string out = gzip ? cpprof::detail::gunzip(bytes, limit)
                                         : cpprof::detail::inflate(bytes, limit);
            if (out.size() > limit) std::abort();
            if (cpprof::detail::gunzip(cpprof::detail::gzip_compress(out, 1), limit) != out)
                std::abort();
        } catch (const cpprof::error&) {
        }
    }
    return 0;
}

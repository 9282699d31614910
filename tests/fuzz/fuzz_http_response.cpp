// libFuzzer target for the export client's HTTP/1.1 response reader and its other parsers of
// what a server sends or a user configures (cpprof/export/transport.hpp): any input must end as
// more / done / error without a throw, crash, hang or out-of-bounds read. Checked besides:
//   - the result does not depend on how the bytes arrive: all at once, one byte at a time and in
//     7-byte pieces give the same state, status, body and truncation;
//   - a body never exceeds the limit (taken from the first input byte), and is marked
//     truncated when it was cut;
//   - done means a final status (200..999); error comes with a reason;
//   - Retry-After gives -1 or a wait >= 0; parse_http_url gives a URL or a cpprof::error.
//
// Built and run by tools/test.sh's "fuzz" stage, or by hand from the repository root:
//
//   clang++ -std=c++17 -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
//       -I include tests/fuzz/fuzz_http_response.cpp -o /tmp/fuzz_http_response
//   /tmp/fuzz_http_response -max_total_time=60

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include <cpprof/error.hpp>
#include <cpprof/export/transport.hpp>

namespace {

namespace cd = cpprof::detail;
using reader = cd::http_response_reader;

void check(bool ok) {
    if (!ok) std::abort();
}

struct result {
    reader::state state;
    int status;
    std::string body;
    bool truncated;
};

result read(std::string_view in, std::size_t max_body, std::size_t step) {
    reader r(max_body);
    reader::state s = reader::state::more;
    for (std::size_t pos = 0; pos < in.size() && s == reader::state::more; pos += step)
        s = r.feed(in.substr(pos, step));
    if (s == reader::state::more) s = r.finish();
    check(s != reader::state::more);
    if (s == reader::state::done) {
        check(r.status >= 200 && r.status <= 999);
        check(r.body.size() <= max_body);
        check(!r.truncated || r.body.size() == max_body);
    } else {
        check(!r.error.empty());
    }
    return {s, r.status, r.body, r.truncated};
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) return 0;
    const std::size_t max_body = data[0] < 128 ? data[0] : 1u << 20;
    const std::string_view in(reinterpret_cast<const char*>(data) + 1, size - 1);

    const result whole = read(in, max_body, in.size() + 1);
    for (std::size_t step : {std::size_t(1), std::size_t(7)}) {
        const result part = read(in, max_body, step);
        check(part.state == whole.state);
        if (whole.state == reader::state::done) {
            check(part.status == whole.status);
            check(part.body == whole.body);
            check(part.truncated == whole.truncated);
        }
    }

    const auto now = std::chrono::system_clock::time_point(std::chrono::seconds(1700000000));
    check(cd::retry_after_ms(in.substr(0, 64), now) >= -1);
    try {
        const cd::http_url u = cd::parse_http_url(in.substr(0, 256));
        check(!u.host.empty() && u.port >= 1 && u.port <= 65535 && !u.target.empty() && u.target[0] == '/');
    } catch (const cpprof::error&) {
    }
    return 0;
}

// libFuzzer target for the HTTP/1.1 request parser (cpprof/http/wire.hpp), which reads bytes
// straight from the network. Any input must give complete, incomplete or an error with a 4xx/5xx
// status and a reason; the parser must never throw, crash, hang or read out of bounds. Checked
// besides:
//   - pipelining: the input is parsed request after request until it stops being complete, and
//     each complete request consumes at least one byte and no more than is left;
//   - a complete request is complete again on exactly its own `consumed` bytes;
//   - a complete request written back out (path re-encoded, raw query, headers, body with its
//     Content-Length) parses to the same request;
//   - a response carrying the parsed path and headers serializes without error.
//
// Built and run by tools/test.sh's "fuzz" stage, or by hand from the repository root:
//
//   clang++ -std=c++17 -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
//       -I include tests/fuzz/fuzz_http_request.cpp -o /tmp/fuzz_http_request
//   /tmp/fuzz_http_request -max_total_time=60

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include <cpprof/http/message.hpp>
#include <cpprof/http/wire.hpp>

namespace {

namespace h = cpprof::http;
namespace hd = cpprof::http::detail;

void check(bool ok) {
    if (!ok) std::abort();
}

std::string encode_path(const std::string& path) {
    static const char hex[] = "0123456789ABCDEF";
    std::string out;
    for (char c : path) {
        const auto u = static_cast<unsigned char>(c);
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
            c == '/' || c == '-' || c == '.' || c == '_' || c == '~') {
            out.push_back(c);
        } else {
            out.push_back('%');
            out.push_back(hex[u >> 4]);
            out.push_back(hex[u & 15]);
        }
    }
    return out;
}

void check_round_trip(const h::request& r) {
    std::string text = r.method + " " + encode_path(r.path);
    if (!r.query.empty()) text += "?" + r.query;
    text += " HTTP/1.1\r\n";
    bool has_host = false;
    for (const auto& kv : r.headers) {
        text += kv.first + ": " + kv.second + "\r\n";
        has_host = has_host || hd::iequals(kv.first, "Host");
    }
    if (!has_host) text += "Host: x\r\n";
    text += "\r\n" + r.body;
    h::request again;
    hd::parse_limits roomy;
    roomy.max_head = 1 << 20;
    roomy.max_headers = 1000;
    const hd::parse_result res = hd::parse_request(text, again, roomy);
    check(res.status == hd::parse_status::complete);
    check(res.consumed == text.size());
    check(again.method == r.method && again.path == r.path && again.query == r.query);
    check(again.params == r.params && again.body == r.body);
    check(again.headers.size() == r.headers.size() + (has_host ? 0 : 1));
    for (std::size_t i = 0; i < r.headers.size(); ++i) check(again.headers[i] == r.headers[i]);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    // The first byte picks a well-formed prefix to put before the rest, so that the fuzzer
    // reaches the header and body paths without having to guess a request line first.
    static const char* const prefixes[] = {
        "", "GET /", "GET /debug/pprof/profile?seconds=1 HTTP/1.1\r\nHost: x\r\n",
        "POST /sampling/start HTTP/1.1\r\nHost: x\r\nContent-Length: "};
    if (size == 0) return 0;
    std::string input = prefixes[data[0] & 3];
    input.append(reinterpret_cast<const char*>(data) + 1, size - 1);
    std::string_view in(input);
    hd::parse_limits limits;
    limits.max_head = 1024;  // small limits so the fuzzer reaches them
    limits.max_headers = 16;
    limits.max_body = 256;
    for (int n = 0; n < 64; ++n) {
        h::request r;
        const hd::parse_result res = hd::parse_request(in, r, limits);
        if (res.status == hd::parse_status::error) {
            check(res.error_status >= 400 && res.error_status <= 599);
            check(!res.reason.empty());
            check(res.consumed == 0);
            break;
        }
        if (res.status == hd::parse_status::incomplete) {
            check(res.consumed == 0);
            break;
        }
        check(res.consumed > 0 && res.consumed <= in.size());
        check(r.body.size() <= limits.max_body);
        check(!r.path.empty());
        h::request alone;
        const hd::parse_result res2 = hd::parse_request(in.substr(0, res.consumed), alone, limits);
        check(res2.status == hd::parse_status::complete && res2.consumed == res.consumed);
        check_round_trip(r);

        h::response resp = h::text_response(200, r.path);
        for (const auto& kv : r.headers) resp.headers.push_back(kv);  // values already clean
        const std::string wire = hd::serialize_response(resp, r.method == "HEAD", res.keep_alive);
        check(wire.compare(0, 9, "HTTP/1.1 ") == 0);
        in.remove_prefix(res.consumed);
    }
    return 0;
}

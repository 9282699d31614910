// CRC-32, DEFLATE and gzip: checked against published check values, byte-exact stored-block
// examples (formats.md §3.4), and real decoders (Python's zlib/gzip modules and gzip(1)).

#include <doctest/doctest.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include <cpprof/detail/crc32.hpp>
#include <cpprof/detail/deflate.hpp>
#include <cpprof/detail/gzip.hpp>
#include <cpprof/output/pprof.hpp>

#include "support/hex.hpp"
#include "support/external.hpp"
#include "support/synthetic_profile.hpp"

namespace {

using cpprof::detail::crc32;
using cpprof::detail::gzip_compress;

using cpprof_test::hex;

std::uint32_t crc32_bitwise(std::string_view s) {
    std::uint32_t c = 0xffffffffu;
    for (unsigned char b : s) {
        c ^= b;
        for (int k = 0; k < 8; ++k) c = (c & 1u) ? (c >> 1) ^ 0xEDB88320u : c >> 1;
    }
    return ~c;
}

std::string random_bytes(std::size_t n, std::uint64_t seed) {
    cpprof_test::rng r{seed};
    std::string s(n, '\0');
    for (auto& c : s) c = static_cast<char>(r.next() & 0xff);
    return s;
}

/// English-like text: words from a small vocabulary, punctuation and line breaks.
std::string text_like(std::size_t n, std::uint64_t seed) {
    static const char* const words[] = {
        "the", "profile", "sample", "stack", "frame", "function", "of", "and", "to", "in",
        "compressor", "window", "match", "length", "distance", "Huffman", "code", "block",
        "literal", "a", "is", "for", "with", "that", "bytes", "every", "thread", "signal"};
    cpprof_test::rng r{seed};
    std::string s;
    while (s.size() < n) {
        s += words[r.below(std::size(words))];
        const auto p = r.below(20);
        s += p == 0 ? ".\n" : p == 1 ? ", " : " ";
    }
    s.resize(n);
    return s;
}

std::uint32_t le32(std::string_view s, std::size_t at) {
    std::uint32_t v = 0;
    for (std::size_t i = 0; i < 4; ++i) v |= std::uint32_t{static_cast<unsigned char>(s[at + i])} << (8 * i);
    return v;
}

/// The inputs every level is checked on: edge sizes, the window and block limits, and data
/// that is incompressible, extremely compressible, or somewhere in between.
std::vector<std::pair<std::string, std::string>> corpus() {
    std::vector<std::pair<std::string, std::string>> c;
    c.emplace_back("empty", "");
    c.emplace_back("one_byte", "x");
    c.emplace_back("two_bytes", "xy");
    c.emplace_back("hello", "hello");
    c.emplace_back("short_repeat", "abcabcabcabcabcabcabcabcabc");
    c.emplace_back("zeros_1MiB", std::string(1 << 20, '\0'));
    c.emplace_back("a_300k", std::string(300000, 'a'));
    c.emplace_back("random_100KiB", random_bytes(100 * 1024, 1));
    c.emplace_back("random_1.5MiB", random_bytes(1536 * 1024, 2));
    c.emplace_back("random_65535", random_bytes(65535, 3));
    c.emplace_back("random_65536", random_bytes(65536, 4));
    c.emplace_back("random_65537", random_bytes(65537, 5));
    std::string all;
    for (int i = 0; i < 256; ++i) all += static_cast<char>(i);
    c.emplace_back("all_bytes", all);
    std::string all_rep;
    for (int k = 0; k < 300; ++k) all_rep += all;
    c.emplace_back("all_bytes_x300", all_rep);
    c.emplace_back("text_200KiB", text_like(200 * 1024, 6));
    c.emplace_back("text_2MiB", text_like(2 * 1024 * 1024, 7));
    // Window edge: a random 32 KiB block repeated matches at distance exactly 32768; with
    // 32769 bytes the repeat is one byte out of reach.
    const std::string w = random_bytes(32768, 8);
    c.emplace_back("distance_32768", w + w + w);
    const std::string w1 = random_bytes(32769, 9);
    c.emplace_back("distance_32769", w1 + w1);
    // Alternating incompressible and compressible stretches: blocks switch between stored and
    // Huffman coded, and stored blocks must start on a byte boundary mid-stream.
    std::string mixed;
    for (int k = 0; k < 12; ++k)
        mixed += k % 2 == 0 ? random_bytes(40000 + 1000 * static_cast<std::size_t>(k), 10 + static_cast<std::uint64_t>(k))
                            : text_like(30000, 20 + static_cast<std::uint64_t>(k));
    c.emplace_back("mixed", mixed);
    // Symbol frequencies in a Fibonacci progression make the optimal Huffman tree deeper than
    // 15 levels, so the length limiter must work.
    std::string fib;
    {
        std::uint64_t a = 1, b = 1;
        cpprof_test::rng r{11};
        for (int sym = 0; sym < 27; ++sym) {
            fib.append(a, static_cast<char>('A' + sym));
            const std::uint64_t next = a + b;
            a = b;
            b = next;
        }
        for (std::size_t i = fib.size(); i > 1; --i) std::swap(fib[i - 1], fib[r.below(i)]);
    }
    c.emplace_back("fibonacci_frequencies", fib);
    // Long runs broken by single bytes: many length-258 matches and short literal runs.
    std::string runs;
    for (int k = 0; k < 2000; ++k) runs += std::string(300 + static_cast<std::size_t>(k % 7), 'z') + static_cast<char>(k);
    c.emplace_back("runs", runs);
    c.emplace_back("pprof_5000_samples", cpprof::encode_pprof(cpprof_test::synthetic_profile(5000)));
    // LZ-structured random inputs: literal runs and copies of earlier bytes at random distances
    // (1 to beyond the window) and lengths, overlapping copies included (distance < length).
    for (std::uint64_t seed = 0; seed < 24; ++seed) {
        cpprof_test::rng r{1000 + seed};
        std::string s = random_bytes(1 + r.below(64), seed);
        const std::size_t target = 1000 + r.below(seed % 4 == 0 ? 400000 : 60000);
        while (s.size() < target) {
            if (r.below(3) == 0) {
                s += random_bytes(1 + r.below(40), r.next());
            } else {
                const std::size_t dist = 1 + r.below(std::min<std::size_t>(s.size(), r.below(2) ? 300 : 40000));
                const std::size_t len = 1 + r.below(r.below(4) == 0 ? 600 : 20);
                for (std::size_t k = 0; k < len; ++k) s += s[s.size() - dist];
            }
        }
        c.emplace_back("lz_random_" + std::to_string(seed), s);
    }
    return c;
}

// Reads manifest lines "<compressed> <original>" and checks each file with Python's gzip module
// and, on the raw DEFLATE part, with zlib (which also proves the stream ends where the gzip
// trailer begins). Prints one line per failure and exits 1 if there was any.
const char* const python_checker = R"(
import gzip, sys, zlib, os
d = sys.argv[1]
bad = 0
n = 0
for line in open(os.path.join(d, 'manifest')):
    gz, orig = line.split()
    z = open(os.path.join(d, gz), 'rb').read()
    want = open(os.path.join(d, orig), 'rb').read()
    n += 1
    try:
        got = gzip.decompress(z)
        o = zlib.decompressobj(-15)
        raw = o.decompress(z[10:]) + o.flush()
        if got != want or raw != want or not o.eof or len(o.unused_data) != 8:
            bad += 1
            print('MISMATCH', gz, len(got), len(want))
        elif z[-8:] != (zlib.crc32(want) & 0xffffffff).to_bytes(4, 'little') + (len(want) & 0xffffffff).to_bytes(4, 'little'):
            bad += 1
            print('TRAILER', gz)
    except Exception as e:
        bad += 1
        print('ERROR', gz, e)
print('checked', n, 'failed', bad)
sys.exit(1 if bad else 0)
)";

}  // namespace

TEST_CASE("crc32 matches the published check values") {
    CHECK(crc32("123456789", 9) == 0xCBF43926u);
    CHECK(crc32("hello", 5) == 0x3610A686u);
    CHECK(crc32("", 0) == 0u);
    CHECK(crc32("a", 1) == 0xE8B7BE43u);
}

TEST_CASE("crc32 agrees with the bitwise definition at every length and alignment") {
    const std::string data = random_bytes(300, 99);
    for (std::size_t offset = 0; offset < 8; ++offset) {
        for (std::size_t len = 0; len + offset <= data.size(); len += 1 + len / 8) {
            const std::string_view s(data.data() + offset, len);
            REQUIRE_MESSAGE(crc32(s.data(), s.size()) == crc32_bitwise(s),
                            "offset " << offset << " length " << len);
        }
    }
}

TEST_CASE("crc32 chains: crc(a + b) == crc(b, crc(a))") {
    const std::string data = random_bytes(10000, 5);
    const std::uint32_t whole = crc32(data.data(), data.size());
    for (std::size_t cut : {0, 1, 7, 8, 9, 4096, 9999, 10000}) {
        const std::uint32_t first = crc32(data.data(), cut);
        CHECK(crc32(data.data() + cut, data.size() - cut, first) == whole);
    }
}

TEST_CASE("level 0 writes the byte-exact stored members of formats.md 3.4") {
    CHECK(hex(gzip_compress("", 0)) ==
          "1f 8b 08 00 00 00 00 00 00 ff 01 00 00 ff ff 00 00 00 00 00 00 00 00");
    CHECK(hex(gzip_compress("hello", 0)) ==
          "1f 8b 08 00 00 00 00 00 00 ff 01 05 00 fa ff 68 65 6c 6c 6f 86 a6 10 36 05 00 00 00");
}

TEST_CASE("gzip framing: header, XFL, CRC-32 and ISIZE trailer") {
    const std::string data = text_like(100000, 3);
    for (int level : {0, 1, 6, 9}) {
        const std::string z = gzip_compress(data, level);
        REQUIRE(z.size() > 18);
        CHECK(hex(z.substr(0, 8)) == "1f 8b 08 00 00 00 00 00");
        CHECK(static_cast<unsigned char>(z[8]) == (level == 1 ? 4 : level == 9 ? 2 : 0));
        CHECK(static_cast<unsigned char>(z[9]) == 0xff);
        CHECK(le32(z, z.size() - 8) == crc32(data.data(), data.size()));
        CHECK(le32(z, z.size() - 4) == data.size());
    }
}

TEST_CASE("the block type follows the smallest encoding") {
    auto first_btype = [](const std::string& z) { return (static_cast<unsigned char>(z[10]) >> 1) & 3; };
    // Tiny input: a dynamic header would cost more than the fixed code saves.
    CHECK(first_btype(gzip_compress("abcabcabc", 6)) == 1);
    // Text: a dynamic code beats the fixed one by far.
    const std::string text = text_like(50000, 1);
    const std::string zt = gzip_compress(text, 6);
    CHECK(first_btype(zt) == 2);
    CHECK(zt.size() < text.size() / 3);
    // Random data: stored, so the output grows by at most the block overhead.
    const std::string rnd = random_bytes(1 << 20, 2);
    const std::string zr = gzip_compress(rnd, 6);
    CHECK(first_btype(zr) == 0);
    const std::size_t blocks = rnd.size() / 16384 + 1;
    CHECK(zr.size() <= rnd.size() + 18 + 5 * blocks);
    // An empty input at a compressing level is one fixed block holding only end-of-block.
    CHECK(hex(gzip_compress("", 6).substr(10, 2)) == "03 00");
}

TEST_CASE("huffman code lengths are limited and form a complete prefix code") {
    using cpprof::detail::deflate_impl::build_code_lengths;
    std::array<std::uint32_t, 30> freq{};
    std::uint32_t a = 1, b = 1;
    for (auto& f : freq) {  // Fibonacci weights: the unlimited optimal depth would be 29
        f = a;
        const std::uint32_t next = a + b;
        a = b;
        b = next;
    }
    for (int max_bits : {15, 9, 7, 5}) {
        std::array<std::uint8_t, 30> len{};
        build_code_lengths(freq.data(), freq.size(), max_bits, len.data());
        std::uint64_t kraft = 0;
        for (std::size_t s = 0; s < freq.size(); ++s) {
            REQUIRE(len[s] >= 1);
            REQUIRE(len[s] <= max_bits);
            kraft += std::uint64_t{1} << (max_bits - len[s]);
            if (s > 0) CHECK(len[s] <= len[s - 1]);  // more frequent never gets a longer code
        }
        CHECK_MESSAGE(kraft == (std::uint64_t{1} << max_bits), "max_bits " << max_bits);
    }
    // Fewer than two used symbols still give a complete two-symbol code.
    std::array<std::uint32_t, 19> one{};
    one[7] = 100;
    std::array<std::uint8_t, 19> len{};
    build_code_lengths(one.data(), one.size(), 7, len.data());
    CHECK(len[7] == 1);
    CHECK(std::count(len.begin(), len.end(), 1) == 2);
}

TEST_CASE("rebasing the hash tables does not change the output") {
    const std::string data = text_like(600000, 12) + random_bytes(100000, 13) + text_like(300000, 14);
    for (int level : {1, 6}) {
        std::string plain, rebased;
        cpprof::detail::deflate_impl::deflater(level).compress(data, plain);
        cpprof::detail::deflate_impl::deflater(level, 70000).compress(data, rebased);
        CHECK_MESSAGE(plain == rebased, "level " << level);
    }
}

TEST_CASE("a deflater can be reused") {
    const std::string a = text_like(100000, 30);
    const std::string b = random_bytes(70000, 31) + text_like(50000, 32);
    cpprof::detail::deflate_impl::deflater d(6);
    std::string first, second;
    d.compress(a, first);
    d.compress(b, second);
    CHECK(first == cpprof::detail::deflate_compress(a, 6));
    CHECK(second == cpprof::detail::deflate_compress(b, 6));
}

TEST_CASE("output is deterministic and levels trade speed for size") {
    const std::string data = text_like(500000, 15);
    CHECK(gzip_compress(data, 6) == gzip_compress(data, 6));
    const std::size_t l1 = gzip_compress(data, 1).size();
    const std::size_t l6 = gzip_compress(data, 6).size();
    const std::size_t l9 = gzip_compress(data, 9).size();
    CHECK(l6 < l1);
    CHECK(l9 <= l6);
    // Out-of-range levels are clamped.
    CHECK(gzip_compress(data, -1) == gzip_compress(data, 6));
    CHECK(gzip_compress(data, 42) == gzip_compress(data, 9));
}

TEST_CASE("every level round-trips through Python's gzip and zlib and through gzip(1)") {
    if (!cpprof_test::on_path("python3") || !cpprof_test::on_path("gzip")) {
        FAIL("python3 and gzip(1) are needed to check the compressor with real decoders");
        return;
    }
    cpprof_test::temp_dir dir;
    std::string manifest;
    std::size_t files = 0;
    for (const auto& [name, data] : corpus()) {
        cpprof_test::write_file(dir / name, data);
        for (int level = 0; level <= 9; ++level) {
            const std::string gz = name + ".L" + std::to_string(level) + ".gz";
            cpprof_test::write_file(dir / gz, gzip_compress(data, level));
            manifest += gz + " " + name + "\n";
            ++files;
        }
    }
    cpprof_test::write_file(dir / "manifest", manifest);
    cpprof_test::write_file(dir / "check.py", python_checker);

    const auto py = cpprof_test::run("python3 " + cpprof_test::shell_quote(dir / "check.py") + " " +
                                     cpprof_test::shell_quote(dir.path()) + " 2>&1");
    INFO(py.out);
    CHECK(py.exit_code == 0);
    CHECK(py.out.find("checked " + std::to_string(files) + " failed 0") != std::string::npos);

    // gzip -t verifies the CRC and length; gzip -dc | cmp compares the bytes.
    const auto gz = cpprof_test::run(
        "cd " + cpprof_test::shell_quote(dir.path()) +
        " && while read z orig; do gzip -t \"$z\" && gzip -dc \"$z\" | cmp -s - \"$orig\" "
        "|| echo \"FAILED $z\"; done < manifest 2>&1");
    INFO(gz.out);
    CHECK(gz.exit_code == 0);
    CHECK(gz.out.find("FAILED") == std::string::npos);
}

TEST_CASE("compression ratio is on par with gzip -6") {
    if (!cpprof_test::on_path("gzip")) {
        FAIL("gzip(1) is needed for the ratio comparison");
        return;
    }
    cpprof_test::temp_dir dir;
    const std::pair<std::string, std::string> inputs[] = {
        {"pprof payload (20k samples)", cpprof::encode_pprof(cpprof_test::synthetic_profile(20000))},
        {"text 2 MiB", text_like(2 * 1024 * 1024, 77)},
        {"random 1 MiB", random_bytes(1 << 20, 78)},
    };
    for (const auto& [name, data] : inputs) {
        cpprof_test::write_file(dir / "in", data);
        const auto ref = cpprof_test::run("gzip -6 -n -c " + cpprof_test::shell_quote(dir / "in") + " | wc -c");
        REQUIRE(ref.exit_code == 0);
        const std::size_t theirs = std::stoul(ref.out);
        const std::size_t ours1 = gzip_compress(data, 1).size();
        const std::size_t ours6 = gzip_compress(data, 6).size();
        const std::size_t ours9 = gzip_compress(data, 9).size();
        const double relative = static_cast<double>(ours6) / static_cast<double>(theirs);
        MESSAGE(name << ": " << data.size() << " bytes; gzip -6 " << theirs << "; cpprof level 1 "
                     << ours1 << ", level 6 " << ours6 << " (" << relative
                     << " x gzip -6), level 9 " << ours9);
        CHECK(relative <= 1.02);
    }
}

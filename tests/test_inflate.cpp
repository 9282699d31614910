// The DEFLATE decoder and gzip reader (detail/inflate.hpp): round trips through cpprof's own
// compressor, files written by gzip(1), and hostile input (truncated, corrupted, crafted
// streams, a gzip bomb), which must give a cpprof::error naming the problem, never a crash.

#include <doctest/doctest.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <cpprof/detail/crc32.hpp>
#include <cpprof/detail/gzip.hpp>
#include <cpprof/detail/inflate.hpp>
#include <cpprof/error.hpp>

#include "support/external.hpp"
#include "support/synthetic_profile.hpp"

namespace {

using cpprof::detail::gunzip;
using cpprof::detail::gzip_compress;
using cpprof::detail::inflate;

std::string random_bytes(std::size_t n, std::uint64_t seed) {
    cpprof_test::rng r{seed};
    std::string s(n, '\0');
    for (auto& c : s) c = static_cast<char>(r.next() & 0xff);
    return s;
}

std::string text_like(std::size_t n, std::uint64_t seed) {
    static const char* const words[] = {"the", "profile", "sample", "stack", "frame", "function",
                                        "of", "and", "to", "in", "window", "match", "Huffman",
                                        "code", "block", "literal", "a", "is", "thread"};
    cpprof_test::rng r{seed};
    std::string s;
    while (s.size() < n) {
        s += words[r.below(std::size(words))];
        s += r.below(15) == 0 ? ".\n" : " ";
    }
    s.resize(n);
    return s;
}

/// Repetitive data: lines of a log with a counter, like a large text profile.
std::string repetitive(std::size_t n) {
    std::string s;
    for (std::size_t i = 0; s.size() < n; ++i)
        s += "sample " + std::to_string(i % 977) + " main;run;worker::loop;compute 1\n";
    s.resize(n);
    return s;
}

/// The message of the cpprof::error that `f` throws, or "<no error>".
template <class F>
std::string error_of(F&& f) {
    try {
        f();
    } catch (const cpprof::error& e) {
        return e.what();
    }
    return "<no error>";
}

/// An LSB-first bit writer, for crafting DEFLATE streams bit by bit.
struct bit_writer {
    std::string out;
    std::uint32_t acc = 0;
    int n = 0;
    void put(std::uint32_t value, int bits) {  // a value field: least significant bit first
        for (int i = 0; i < bits; ++i) {
            acc |= ((value >> i) & 1u) << n;
            if (++n == 8) {
                out += static_cast<char>(acc);
                acc = 0;
                n = 0;
            }
        }
    }
    void code(std::uint32_t c, int bits) {  // a Huffman code: most significant bit first
        for (int i = bits - 1; i >= 0; --i) put((c >> i) & 1u, 1);
    }
    std::string finish() {
        if (n > 0) out += static_cast<char>(acc);
        acc = 0;
        n = 0;
        return out;
    }
};

// RFC 1951 §3.2.6 fixed code.
void fixed_literal(bit_writer& w, unsigned sym) {
    if (sym < 144) w.code(0x30 + sym, 8);
    else w.code(0x190 + sym - 144, 9);
}
void fixed_eob(bit_writer& w) { w.code(0, 7); }

/// A gzip member around a raw DEFLATE stream, with the given trailer.
std::string gzip_wrap(std::string_view deflated, std::uint32_t crc, std::uint32_t isize) {
    std::string s("\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff", 10);
    s += deflated;
    for (int i = 0; i < 4; ++i) s += static_cast<char>(crc >> (8 * i));
    for (int i = 0; i < 4; ++i) s += static_cast<char>(isize >> (8 * i));
    return s;
}

/// A copy of `s` in a buffer of exactly its size, so that AddressSanitizer sees any read past
/// its end (a prefix of a std::string would still have the rest of the string after it).
std::vector<char> exact_copy(std::string_view s) { return std::vector<char>(s.begin(), s.end()); }
std::string_view view(const std::vector<char>& v) { return {v.data(), v.size()}; }

}  // namespace

TEST_CASE("is_gzip looks at the magic bytes") {
    CHECK(cpprof::detail::is_gzip(gzip_compress("x")));
    CHECK_FALSE(cpprof::detail::is_gzip(""));
    CHECK_FALSE(cpprof::detail::is_gzip("\x1f"));
    CHECK_FALSE(cpprof::detail::is_gzip("PK\x03\x04"));
}

TEST_CASE("gunzip round-trips gzip_compress at levels 0, 1, 6, 9") {
    const std::vector<std::pair<const char*, std::string>> inputs = {
        {"empty", ""},
        {"one byte", "x"},
        {"text", text_like(100000, 1)},
        {"random", random_bytes(100000, 2)},
        {"5 MB repetitive", repetitive(5u << 20)},
        {"pattern shorter than 8", std::string(70000, 'a') + "abcabcabcabcabcabcabc" + "xyzxyzxyzxyz"},
    };
    for (const auto& input : inputs) {
        const char* const name = input.first;  // not a structured binding: doctest's
        const std::string& data = input.second;  // message macros capture it in a lambda
        for (int level : {0, 1, 6, 9}) {
            const std::string z = gzip_compress(data, level);
            CHECK_MESSAGE(gunzip(z) == data, name << " level " << level);
            CHECK_MESSAGE(inflate(cpprof::detail::deflate_compress(data, level)) == data,
                          name << " level " << level << " (raw)");
        }
    }
}

TEST_CASE("gunzip round-trips 10 MB of zeros, and a synthetic pprof-sized profile text") {
    const std::string zeros(10u << 20, '\0');
    CHECK(gunzip(gzip_compress(zeros)) == zeros);
    const std::string mixed = text_like(300000, 3) + random_bytes(70000, 4) + text_like(300000, 3);
    CHECK(gunzip(gzip_compress(mixed, 9)) == mixed);
}

TEST_CASE("gunzip reads what gzip(1) writes") {
    if (!cpprof_test::on_path("gzip")) {
        MESSAGE("gzip not installed; skipped");
        return;
    }
    cpprof_test::temp_dir dir;
    const std::string a = text_like(200000, 5) + random_bytes(5000, 6);
    const std::string b = repetitive(300000);
    cpprof_test::write_file(dir / "a.txt", a);
    cpprof_test::write_file(dir / "b.txt", b);
    const std::string qa = cpprof_test::shell_quote(dir / "a.txt");
    const std::string qb = cpprof_test::shell_quote(dir / "b.txt");

    SUBCASE("default level, with the file name (FNAME)") {
        const auto r = cpprof_test::run("gzip -c " + qa);
        REQUIRE(r.exit_code == 0);
        REQUIRE(r.out.size() > 10);
        CHECK((static_cast<unsigned char>(r.out[3]) & 0x08u) != 0);  // FNAME is set
        CHECK(gunzip(r.out) == a);
    }
    SUBCASE("-9 and -1") {
        for (const char* opt : {"-9", "-1"}) {
            const auto r = cpprof_test::run(std::string("gzip -c -n ") + opt + " " + qa);
            REQUIRE(r.exit_code == 0);
            CHECK_MESSAGE(gunzip(r.out) == a, opt);
        }
    }
    SUBCASE("two concatenated members") {
        const auto r = cpprof_test::run("{ gzip -c " + qa + "; gzip -c -9 " + qb + "; }");
        REQUIRE(r.exit_code == 0);
        CHECK(gunzip(r.out) == a + b);
        // ... and zero padding after the last one, which gzip(1) also accepts.
        CHECK(gunzip(r.out + std::string(100, '\0')) == a + b);
    }
    SUBCASE("empty file") {
        cpprof_test::write_file(dir / "empty", "");
        const auto r = cpprof_test::run("gzip -c " + cpprof_test::shell_quote(dir / "empty"));
        REQUIRE(r.exit_code == 0);
        CHECK(gunzip(r.out).empty());
    }
}

TEST_CASE("gunzip reads the optional header fields FEXTRA, FNAME, FCOMMENT and FHCRC") {
    const std::string data = text_like(5000, 7);
    const std::string plain = gzip_compress(data);
    std::string h("\x1f\x8b\x08\x1e\x00\x00\x00\x00\x00\x03", 10);  // FHCRC|FEXTRA|FNAME|FCOMMENT
    h += std::string("\x06\x00" "AB\x02\x00xy", 8);                 // XLEN 6: one subfield
    h += std::string("profile.pb\0", 11);
    h += std::string("a comment\0", 10);
    const std::uint32_t hcrc = cpprof::detail::crc32(h.data(), h.size());
    std::string good = h;
    good += static_cast<char>(hcrc);
    good += static_cast<char>(hcrc >> 8);
    good += plain.substr(10);
    CHECK(gunzip(good) == data);

    std::string bad = good;
    bad[h.size()] = static_cast<char>(bad[h.size()] ^ 1);
    CHECK(error_of([&] { gunzip(bad); }).find("header CRC mismatch") != std::string::npos);
}

TEST_CASE("gunzip error messages: not gzip, empty, bad method, trailer checks") {
    CHECK(error_of([] { gunzip(""); }).find("gzip: empty input") != std::string::npos);
    CHECK(error_of([] { gunzip("PK\x03\x04"); }).find("not gzip data (magic 0x50 0x4b) at byte 0") != std::string::npos);
    CHECK(error_of([] { gunzip("\x1f"); }).find("not gzip data") != std::string::npos);
    CHECK(error_of([] { inflate(""); }).find("inflate: truncated deflate stream at byte 0") != std::string::npos);

    const std::string data = text_like(3000, 8);
    const std::string z = gzip_compress(data);

    std::string method = z;
    method[2] = 7;
    CHECK(error_of([&] { gunzip(method); }).find("unsupported compression method 7") != std::string::npos);

    std::string crc = z;
    crc[z.size() - 8] = static_cast<char>(crc[z.size() - 8] ^ 0x40);
    const std::string crc_msg = error_of([&] { gunzip(crc); });
    CHECK(crc_msg.find("gzip: CRC-32 mismatch (stored 0x") != std::string::npos);
    CHECK(crc_msg.find("computed 0x") != std::string::npos);

    std::string isize = z;
    isize[z.size() - 4] = static_cast<char>(isize[z.size() - 4] + 1);
    CHECK(error_of([&] { gunzip(isize); }).find("ISIZE mismatch") != std::string::npos);

    CHECK(error_of([&] { gunzip(z + "garbage"); }).find("not gzip data (magic 0x67 0x61) at byte " +
                                                       std::to_string(z.size())) != std::string::npos);
    CHECK(error_of([&] { gunzip(z.substr(0, z.size() - 3)); }).find("truncated gzip trailer") != std::string::npos);
}

TEST_CASE("inflate of crafted streams: block types, stored blocks, distances, code lengths") {
    SUBCASE("a valid fixed-Huffman block with an overlapping match (the writer is right)") {
        bit_writer w;
        w.put(1, 1);  // BFINAL
        w.put(1, 2);  // fixed Huffman
        fixed_literal(w, 'a');
        w.code(1, 7);  // length code 257: length 3
        w.code(0, 5);  // distance code 0: distance 1
        fixed_eob(w);
        CHECK(inflate(w.finish()) == "aaaa");
    }
    SUBCASE("reserved block type 3") {
        CHECK(error_of([] { inflate("\x07"); }).find("reserved block type 3") != std::string::npos);
        const std::string gz = gzip_wrap("\x07", 0, 0);
        CHECK(error_of([&] { gunzip(gz); }).find("gzip: reserved block type 3 at byte 10") != std::string::npos);
    }
    SUBCASE("stored block LEN/NLEN mismatch") {
        const std::string s("\x01\x05\x00\x00\x00", 5);
        CHECK(error_of([&] { inflate(s); }).find("stored block LEN/NLEN mismatch") != std::string::npos);
        CHECK(inflate(std::string("\x01\x03\x00\xfc\xff" "abc", 8)) == "abc");
        CHECK(error_of([] { inflate(std::string("\x01\x04\x00\xfb\xff" "abc", 8)); })
                  .find("truncated deflate stream") != std::string::npos);
    }
    SUBCASE("a distance beyond the start of the output") {
        bit_writer w;
        w.put(1, 1);
        w.put(1, 2);
        fixed_literal(w, 'a');
        w.code(1, 7);  // length 3
        w.code(1, 5);  // distance code 1: distance 2, but only 1 byte is there
        fixed_eob(w);
        CHECK(error_of([&] { inflate(w.finish()); }).find("distance 2 too far back") != std::string::npos);
    }
    SUBCASE("a back-reference may not reach into the previous gzip member") {
        bit_writer w;
        w.put(1, 1);
        w.put(1, 2);
        w.code(1, 7);  // length 3 at the very start of the member
        w.code(0, 5);  // distance 1
        fixed_eob(w);
        const std::string second = gzip_wrap(w.finish(), 0, 3);
        CHECK(error_of([&] { gunzip(gzip_compress("xyz") + second); }).find("too far back") != std::string::npos);
    }
    SUBCASE("literal/length codes 286 and 287, distance codes 30 and 31 of the fixed code") {
        bit_writer w;
        w.put(1, 1);
        w.put(1, 2);
        w.code(0xc6, 8);  // 286
        CHECK(error_of([&] { inflate(w.finish()); }).find("invalid literal/length code 286") != std::string::npos);
        bit_writer d;
        d.put(1, 1);
        d.put(1, 2);
        fixed_literal(d, 'a');
        d.code(1, 7);
        d.code(30, 5);
        fixed_eob(d);
        CHECK(error_of([&] { inflate(d.finish()); }).find("invalid distance code 30") != std::string::npos);
    }
    SUBCASE("over-subscribed code-length code") {
        bit_writer w;
        w.put(1, 1);
        w.put(2, 2);  // dynamic
        w.put(0, 5);  // HLIT 257
        w.put(0, 5);  // HDIST 1
        w.put(0, 4);  // HCLEN 4: lengths of 16, 17, 18, 0
        for (int i = 0; i < 4; ++i) w.put(1, 3);  // four codes of length 1
        w.put(0, 32);
        const std::string msg = error_of([&] { inflate(w.finish()); });
        CHECK(msg.find("invalid Huffman code lengths (code length code over-subscribed)") != std::string::npos);
    }
    SUBCASE("incomplete code-length code") {
        bit_writer w;
        w.put(1, 1);
        w.put(2, 2);
        w.put(0, 5);
        w.put(0, 5);
        w.put(0, 4);
        for (int len : {0, 0, 0, 1}) w.put(static_cast<std::uint32_t>(len), 3);  // one code
        w.put(0, 32);
        CHECK(error_of([&] { inflate(w.finish()); }).find("code length code incomplete") != std::string::npos);
    }
    SUBCASE("incomplete literal/length code") {
        bit_writer w;
        w.put(1, 1);
        w.put(2, 2);
        w.put(0, 5);  // HLIT 257
        w.put(0, 5);  // HDIST 1
        w.put(1, 4);  // HCLEN 5: lengths of 16, 17, 18, 0, 8
        for (int len : {0, 0, 0, 1, 1}) w.put(static_cast<std::uint32_t>(len), 3);
        // Code-length code: symbol 0 is '0', symbol 8 is '1'. Literal 0 and end-of-block get
        // length 8, everything else 0: two codes of length 8 leave most of the space unused.
        for (int i = 0; i < 258; ++i) w.put(i == 0 || i == 256 ? 1 : 0, 1);
        w.put(0, 32);
        CHECK(error_of([&] { inflate(w.finish()); }).find("literal/length code incomplete") != std::string::npos);
    }
    SUBCASE("a code-length repeat with nothing to repeat") {
        bit_writer w;
        w.put(1, 1);
        w.put(2, 2);
        w.put(0, 5);
        w.put(0, 5);
        w.put(0, 4);  // 16, 17, 18, 0
        for (int len : {1, 0, 0, 1}) w.put(static_cast<std::uint32_t>(len), 3);  // 0 -> '0', 16 -> '1'
        w.put(1, 1);  // 16 first
        w.put(0, 2);
        w.put(0, 32);
        CHECK(error_of([&] { inflate(w.finish()); }).find("repeat with no previous length") != std::string::npos);
    }
}

TEST_CASE("gunzip fails on every truncation of a small stream, never reading past the end") {
    for (int level : {0, 6}) {
        const std::string z = gzip_compress(text_like(3000, 9) + random_bytes(300, 10), level);
        for (std::size_t k = 0; k < z.size(); ++k) {
            const auto prefix = exact_copy(std::string_view(z).substr(0, k));
            const std::string msg = error_of([&] { gunzip(view(prefix)); });
            REQUIRE_MESSAGE(msg.find("gzip: ") != std::string::npos, "level " << level << " prefix " << k << ": " << msg);
        }
    }
    const std::string raw = cpprof::detail::deflate_compress(text_like(3000, 11), 6);
    for (std::size_t k = 0; k < raw.size(); ++k) {
        const auto prefix = exact_copy(std::string_view(raw).substr(0, k));
        const std::string msg = error_of([&] { inflate(view(prefix)); });
        REQUIRE_MESSAGE(msg.find("truncated") != std::string::npos, "prefix " << k << ": " << msg);
    }
}

TEST_CASE("gunzip and inflate survive a bit flip in every byte of a small stream") {
    const std::string data = text_like(2000, 12) + random_bytes(200, 13);
    for (int level : {1, 9}) {
        const std::string z = gzip_compress(data, level);
        std::size_t caught = 0;
        for (std::size_t i = 0; i < z.size(); ++i) {
            for (int bit = 0; bit < 8; ++bit) {
                std::string bad = z;
                bad[i] = static_cast<char>(bad[i] ^ (1 << bit));
                const auto buf = exact_copy(bad);
                try {
                    const std::string out = gunzip(view(buf));
                    // Only the header's MTIME, XFL and OS bytes, and the FNAME/FCOMMENT... flags'
                    // absence, can be flipped without notice; the content stays right.
                    CHECK(out == data);
                } catch (const cpprof::error&) {
                    ++caught;
                }
                // Raw DEFLATE has no CRC: whatever comes out, it must not crash.
                if (i >= 10 && i + 8 < z.size()) {
                    const auto raw = exact_copy(std::string_view(bad).substr(10, z.size() - 18));
                    try {
                        (void)inflate(view(raw), 1u << 20);
                    } catch (const cpprof::error&) {
                    }
                }
            }
        }
        CHECK(caught > 0);
    }
}

TEST_CASE("gunzip of hostile bulk input: 10 MB of zero bytes") {
    const std::string zeros(10u << 20, '\0');
    CHECK(error_of([&] { gunzip(zeros); }).find("not gzip data (magic 0x00 0x00)") != std::string::npos);
    // As raw DEFLATE, a zero byte starts a stored block whose NLEN is wrong.
    CHECK(error_of([&] { inflate(zeros); }).find("LEN/NLEN mismatch") != std::string::npos);
}

TEST_CASE("gunzip stops a gzip bomb at max_output") {
    const std::string zeros(64u << 20, '\0');
    const std::string bomb = gzip_compress(zeros, 1);
    REQUIRE(bomb.size() < (1u << 20));
    const std::string msg = error_of([&] { gunzip(bomb, 1u << 20); });
    CHECK(msg.find("gzip: output would exceed 1048576 bytes") != std::string::npos);

    // The limit is exact: the whole output fits at max_output, one byte less does not.
    const std::string small = gzip_compress(std::string(100000, 'z'));
    CHECK(gunzip(small, 100000).size() == 100000);
    CHECK(error_of([&] { gunzip(small, 99999); }).find("exceed 99999 bytes") != std::string::npos);
    CHECK(error_of([&] { inflate(cpprof::detail::deflate_compress(std::string(5000, 'q')), 10); })
              .find("inflate: output would exceed 10 bytes") != std::string::npos);

    // A lying ISIZE does not make the reader allocate it up front (it is only a size hint).
    std::string liar = gzip_compress("tiny");
    liar[liar.size() - 1] = '\x7f';
    CHECK(error_of([&] { gunzip(liar); }).find("ISIZE mismatch") != std::string::npos);
}

TEST_CASE("inflate of random bytes throws or returns, never crashes") {
    cpprof_test::rng r{14};
    std::size_t returned = 0;
    for (int i = 0; i < 5000; ++i) {
        std::string s = random_bytes(1 + r.below(400), r.next());
        // Half of them start with a dynamic block header, to reach the code-length decoder.
        if (i % 2 == 0) s[0] = static_cast<char>((s[0] & ~0x06) | 0x04);
        const auto buf = exact_copy(s);
        try {
            (void)inflate(view(buf), 1u << 20);
            ++returned;
        } catch (const cpprof::error& e) {
            CHECK(std::string(e.what()).find("inflate: ") != std::string::npos);
        }
    }
    MESSAGE(returned << " of 5000 random streams decoded without error");
}

// The protobuf wire-format encoder: byte-exact against the protobuf encoding rules and against
// an OTLP request that protoc decoded (formats.md §11), plus a randomized round trip through an
// independent reader.

#include <doctest/doctest.h>

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include <cpprof/detail/protobuf.hpp>

#include "support/hex.hpp"
#include "support/synthetic_profile.hpp"
#include "support/wire_reader.hpp"

namespace {

using cpprof::detail::proto_writer;

using cpprof_test::hex;

std::string from_hex(std::string_view h) {
    std::string out;
    auto nibble = [](char c) { return c <= '9' ? c - '0' : c - 'a' + 10; };
    for (std::size_t i = 0; i < h.size();) {
        if (h[i] == ' ' || h[i] == '\n') {
            ++i;
            continue;
        }
        out += static_cast<char>(nibble(h[i]) << 4 | nibble(h[i + 1]));
        i += 2;
    }
    return out;
}

template <class F>
std::string encode(F&& f) {
    proto_writer w;
    f(w);
    return hex(std::move(w).take());
}

}  // namespace

TEST_CASE("varints") {
    auto varint = [](std::uint64_t v) { return encode([&](proto_writer& w) { w.raw_varint(v); }); };
    CHECK(varint(0) == "00");
    CHECK(varint(1) == "01");
    CHECK(varint(127) == "7f");
    CHECK(varint(128) == "80 01");
    CHECK(varint(150) == "96 01");
    CHECK(varint(300) == "ac 02");
    CHECK(varint(16383) == "ff 7f");
    CHECK(varint(16384) == "80 80 01");
    CHECK(varint(10000000) == "80 ad e2 04");
    CHECK(varint(std::uint64_t{1} << 63) == "80 80 80 80 80 80 80 80 80 01");
    CHECK(varint(std::numeric_limits<std::uint64_t>::max()) == "ff ff ff ff ff ff ff ff ff 01");
    for (std::uint64_t v : {std::uint64_t{0}, std::uint64_t{127}, std::uint64_t{128},
                            std::uint64_t{1} << 35, ~std::uint64_t{0}})
        CHECK(cpprof::detail::varint_size(v) == (varint(v).size() + 1) / 3);
}

TEST_CASE("keys, signed and zigzag integers") {
    using cpprof::detail::zigzag32;
    using cpprof::detail::zigzag64;
    CHECK(encode([](proto_writer& w) { w.uint64(1, 150); }) == "08 96 01");
    CHECK(encode([](proto_writer& w) { w.uint64(15, 1); }) == "78 01");
    CHECK(encode([](proto_writer& w) { w.uint64(16, 1); }) == "80 01 01");
    CHECK(encode([](proto_writer& w) { w.uint64(536870911, 0); }) == "f8 ff ff ff 0f 00");
    // int32/int64/enum: negative numbers are sign-extended to ten bytes.
    CHECK(encode([](proto_writer& w) { w.int64(2, -1); }) == "10 ff ff ff ff ff ff ff ff ff 01");
    CHECK(encode([](proto_writer& w) { w.int32(2, -2); }) == "10 fe ff ff ff ff ff ff ff ff 01");
    CHECK(encode([](proto_writer& w) { w.enumeration(3, 2); }) == "18 02");
    CHECK(encode([](proto_writer& w) { w.boolean(3, true); }) == "18 01");
    CHECK(zigzag64(0) == 0);
    CHECK(zigzag64(-1) == 1);
    CHECK(zigzag64(1) == 2);
    CHECK(zigzag64(-2) == 3);
    CHECK(zigzag64(std::numeric_limits<std::int64_t>::max()) == std::numeric_limits<std::uint64_t>::max() - 1);
    CHECK(zigzag64(std::numeric_limits<std::int64_t>::min()) == std::numeric_limits<std::uint64_t>::max());
    CHECK(zigzag32(std::numeric_limits<std::int32_t>::min()) == 0xffffffffu);
    CHECK(encode([](proto_writer& w) { w.sint64(1, -3); }) == "08 05");
    CHECK(encode([](proto_writer& w) { w.sint32(1, 64); }) == "08 80 01");
}

TEST_CASE("fixed-width fields are little-endian") {
    CHECK(encode([](proto_writer& w) { w.fixed32(1, 0x01020304); }) == "0d 04 03 02 01");
    CHECK(encode([](proto_writer& w) { w.sfixed32(1, -1); }) == "0d ff ff ff ff");
    CHECK(encode([](proto_writer& w) { w.fixed64(2, 0x0102030405060708); }) == "11 08 07 06 05 04 03 02 01");
    CHECK(encode([](proto_writer& w) { w.sfixed64(6, 42); }) == "31 2a 00 00 00 00 00 00 00");
    CHECK(encode([](proto_writer& w) { w.float64(1, 1.0); }) == "09 00 00 00 00 00 00 f0 3f");
    CHECK(encode([](proto_writer& w) { w.float32(1, -2.0f); }) == "0d 00 00 00 c0");
}

TEST_CASE("strings and bytes") {
    CHECK(encode([](proto_writer& w) { w.string(2, "testing"); }) == "12 07 74 65 73 74 69 6e 67");
    CHECK(encode([](proto_writer& w) { w.string(6, ""); }) == "32 00");
    CHECK(encode([](proto_writer& w) { w.bytes(1, std::string("\0\xff", 2)); }) == "0a 02 00 ff");
    const std::string long_string(200, 'x');
    const std::string e = encode([&](proto_writer& w) { w.string(1, long_string); });
    CHECK(e.substr(0, 8) == "0a c8 01");
}

TEST_CASE("_opt setters skip proto3 defaults, plain setters always write") {
    CHECK(encode([](proto_writer& w) {
              w.uint64_opt(1, 0);
              w.int64_opt(2, 0);
              w.int32_opt(2, 0);
              w.uint32_opt(2, 0);
              w.enumeration_opt(2, 0);
              w.sint64_opt(3, 0);
              w.boolean_opt(4, false);
              w.fixed64_opt(5, 0);
              w.fixed32_opt(5, 0);
              w.float64_opt(6, 0.0);
              w.string_opt(7, "");
              w.bytes_opt(8, "");
          }) == "");
    CHECK(encode([](proto_writer& w) {
              w.uint64(1, 0);
              w.boolean(4, false);
              w.string(7, "");
          }) == "08 00 20 00 3a 00");
    CHECK(encode([](proto_writer& w) { w.int64_opt(2, -1); }) == "10 ff ff ff ff ff ff ff ff ff 01");
    // -0.0 is not the default: its bits are not zero.
    CHECK(encode([](proto_writer& w) { w.float64_opt(1, -0.0); }) == "09 00 00 00 00 00 00 00 80");
}

TEST_CASE("packed repeated scalars") {
    CHECK(encode([](proto_writer& w) { w.packed_uint64(4, std::vector<int>{3, 270, 86942}); }) ==
          "22 06 03 8e 02 9e a7 05");
    CHECK(encode([](proto_writer& w) { w.packed_int64(2, std::vector<std::int64_t>{1, -1}); }) ==
          "12 0b 01 ff ff ff ff ff ff ff ff ff 01");
    CHECK(encode([](proto_writer& w) { w.packed_sint64(1, std::vector<int>{0, -1, 1}); }) == "0a 03 00 01 02");
    CHECK(encode([](proto_writer& w) { w.packed_fixed64(1, std::vector<std::uint64_t>{1, 2}); }) ==
          "0a 10 01 00 00 00 00 00 00 00 02 00 00 00 00 00 00 00");
    CHECK(encode([](proto_writer& w) { w.packed_fixed32(1, std::vector<std::uint32_t>{7}); }) ==
          "0a 04 07 00 00 00");
    CHECK(encode([](proto_writer& w) { w.packed_float64(1, std::vector<double>{1.0}); }) ==
          "0a 08 00 00 00 00 00 00 f0 3f");
    // Empty repeated fields are absent.
    CHECK(encode([](proto_writer& w) {
              w.packed_uint64(1, std::vector<int>{});
              w.packed_fixed64(2, std::vector<std::uint64_t>{});
          }) == "");
    // A single element is still packed (every reader accepts packed).
    CHECK(encode([](proto_writer& w) { w.packed_uint64(1, std::vector<std::uint32_t>{1}); }) == "0a 01 01");
}

TEST_CASE("nested messages: the length is written before the body at every size") {
    CHECK(encode([](proto_writer& w) { w.message(3, [] {}); }) == "1a 00");
    CHECK(encode([](proto_writer& w) { w.message(3, [&] { w.uint64(1, 150); }); }) == "1a 03 08 96 01");
    // Body sizes around the 1-, 2- and 3-byte length boundaries: the body moves right.
    for (std::size_t body : {125u, 126u, 127u, 128u, 129u, 16381u, 16382u, 16383u, 16384u, 70000u}) {
        // The body is one string field: key (1 byte) + length varint + payload.
        std::size_t len = body - 2;
        while (1 + cpprof::detail::varint_size(len) + len > body) --len;
        REQUIRE(1 + cpprof::detail::varint_size(len) + len == body);
        const std::string payload(len, 'p');
        proto_writer w;
        w.uint64(1, 7);
        w.message(2, [&] { w.string(5, payload); });
        w.uint64(3, 9);
        const std::string bytes = std::move(w).take();
        const auto top = cpprof_test::parse_message(bytes);
        REQUIRE(top.size() == 3);
        CHECK(top[0].value == 7);
        CHECK(top[2].value == 9);
        const auto inner = cpprof_test::parse_message(top[1].bytes);
        REQUIRE(inner.size() == 1);
        CHECK(inner[0].bytes == payload);
        CHECK(top[1].bytes.size() == body);
    }
    // Three levels, each over 127 bytes, so every level shifts its body.
    const std::string leaf(300, 'q');
    proto_writer w;
    w.message(1, [&] {
        w.message(2, [&] {
            w.message(3, [&] { w.string(4, leaf); });
            w.string(5, leaf);
        });
        w.uint64(6, 1);
    });
    const std::string bytes = std::move(w).take();
    const auto l1 = cpprof_test::parse_message(bytes);
    REQUIRE(l1.size() == 1);
    const auto l2 = cpprof_test::parse_message(l1[0].bytes);
    REQUIRE(l2.size() == 2);
    CHECK(l2[1].value == 1);
    const auto l3 = cpprof_test::parse_message(l2[0].bytes);
    REQUIRE(l3.size() == 2);
    CHECK(l3[1].bytes == leaf);
    const auto l4 = cpprof_test::parse_message(l3[0].bytes);
    REQUIRE(l4.size() == 1);
    CHECK(l4[0].bytes == leaf);
}

TEST_CASE("an OTLP metrics request encodes byte for byte as protoc decoded it (formats.md 11)") {
    // ExportMetricsServiceRequest { resource_metrics { resource { attributes service.name=demo }
    //   scope_metrics { scope { cpprof 0.1.0 } metrics { cpprof.samples, "samples taken",
    //   "{sample}", sum { data_points { attributes thread=main, start, time, as_int 42 },
    //   temporality CUMULATIVE, monotonic } } } } }
    const std::string expected = from_hex(
        "0a 8d 01 0a 18 0a 16 0a 0c 73 65 72 76 69 63 65 2e 6e 61 6d 65 12 06 0a 04 64 65 6d 6f 12 71 0a 0f 0a 06"
        "63 70 70 72 6f 66 12 05 30 2e 31 2e 30 12 5e 0a 0e 63 70 70 72 6f 66 2e 73 61 6d 70 6c 65 73 12 0d 73 61"
        "6d 70 6c 65 73 20 74 61 6b 65 6e 1a 08 7b 73 61 6d 70 6c 65 7d 3a 33 0a 2d 3a 10 0a 06 74 68 72 65 61 64"
        "12 06 0a 04 6d 61 69 6e 11 00 00 2a 36 fe 9c 97 17 19 00 ca c4 71 fe 9c 97 17 31 2a 00 00 00 00 00 00 00"
        "10 02 18 01");
    REQUIRE(expected.size() == 144);
    proto_writer w;
    auto key_value = [&](std::uint32_t field, std::string_view key, std::string_view value) {
        w.message(field, [&] {
            w.string(1, key);
            w.message(2, [&] { w.string(1, value); });  // AnyValue.string_value
        });
    };
    w.message(1, [&] {                    // resource_metrics
        w.message(1, [&] { key_value(1, "service.name", "demo"); });  // resource.attributes
        w.message(2, [&] {                // scope_metrics
            w.message(1, [&] {            // scope
                w.string(1, "cpprof");
                w.string(2, "0.1.0");
            });
            w.message(2, [&] {            // metrics
                w.string(1, "cpprof.samples");
                w.string(2, "samples taken");
                w.string(3, "{sample}");
                w.message(7, [&] {        // sum
                    w.message(1, [&] {    // data_points
                        key_value(7, "thread", "main");
                        w.fixed64(2, 1700000000000000000);
                        w.fixed64(3, 1700000001000000000);
                        w.sfixed64(6, 42);  // as_int
                    });
                    w.enumeration(2, 2);    // AGGREGATION_TEMPORALITY_CUMULATIVE
                    w.boolean(3, true);     // is_monotonic
                });
            });
        });
    });
    CHECK(hex(w.view()) == hex(expected));
}

TEST_CASE("random messages round-trip through an independent reader") {
    cpprof_test::rng r{2024};
    for (int round = 0; round < 200; ++round) {
        struct expected_field {
            std::uint32_t number;
            int type;
            std::uint64_t value;
            std::string bytes;
        };
        std::vector<expected_field> want;
        proto_writer w;
        const std::size_t n = r.below(40);
        for (std::size_t i = 0; i < n; ++i) {
            const auto number = static_cast<std::uint32_t>(1 + r.below(r.below(2) ? 15 : 100000));
            const std::uint64_t v = r.next() >> r.below(64);
            switch (r.below(5)) {
            case 0: w.uint64(number, v); want.push_back({number, 0, v, {}}); break;
            case 1: w.fixed64(number, v); want.push_back({number, 1, v, {}}); break;
            case 2: {
                const auto v32 = static_cast<std::uint32_t>(v);
                w.fixed32(number, v32);
                want.push_back({number, 5, v32, {}});
                break;
            }
            case 3: {
                std::string s(r.below(300), '\0');
                for (auto& c : s) c = static_cast<char>(r.next());
                w.bytes(number, s);
                want.push_back({number, 2, 0, s});
                break;
            }
            default: {
                std::vector<std::uint64_t> vs(r.below(50));
                for (auto& x : vs) x = r.next() >> r.below(64);
                w.message(number, [&] { w.packed_uint64(1, vs); });
                std::string inner;
                if (!vs.empty()) {
                    proto_writer p;
                    p.packed_uint64(1, vs);
                    inner = std::string(p.view());
                    // the reader must see the same values
                    const auto f = cpprof_test::parse_message(inner);
                    REQUIRE(f.size() == 1);
                    CHECK(cpprof_test::unpack_varints(f[0].bytes) == vs);
                }
                want.push_back({number, 2, 0, inner});
            }
            }
        }
        const auto got = cpprof_test::parse_message(w.view());
        REQUIRE(got.size() == want.size());
        for (std::size_t i = 0; i < want.size(); ++i) {
            CHECK(got[i].number == want[i].number);
            CHECK(got[i].type == want[i].type);
            CHECK(got[i].value == want[i].value);
            CHECK(got[i].bytes == want[i].bytes);
        }
    }
}

TEST_CASE("take() moves the bytes out and leaves an empty writer") {
    proto_writer w(8);
    CHECK(w.empty());
    w.string(1, "abc");
    CHECK(w.size() == 5);
    const std::string first = std::move(w).take();
    CHECK(hex(first) == "0a 03 61 62 63");
    CHECK(w.empty());  // NOLINT(bugprone-use-after-move): take() documents the empty state
    w.uint64(2, 1);
    CHECK(hex(w.view()) == "10 01");
    w.clear();
    CHECK(w.view().empty());
}

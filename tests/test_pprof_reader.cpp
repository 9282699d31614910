// The pprof reader (cpprof/input/pprof.hpp) and its wire decoder
// (cpprof/detail/protobuf_reader.hpp): round trips through the writer, a profile rewritten by
// `go tool pprof`, and hostile inputs (truncations, wrong wire types, absurd lengths, bad
// indices, mutations), each of which must be a cpprof::error and never a crash.

#include <doctest/doctest.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <cpprof/detail/protobuf.hpp>
#include <cpprof/detail/protobuf_reader.hpp>
#include <cpprof/error.hpp>
#include <cpprof/input/pprof.hpp>
#include <cpprof/output/pprof.hpp>
#include <cpprof/profile.hpp>

#include "support/external.hpp"
#include "support/go_pprof.hpp"
#include "support/stack_builder.hpp"
#include "support/synthetic_profile.hpp"
#include "support/wire_reader.hpp"

namespace {

using cpprof::profile;
using cpprof::detail::proto_reader;
using cpprof::detail::proto_writer;
using cpprof::detail::wire_type;

bool contains(const std::string& haystack, const std::string& needle) {
    return haystack.find(needle) != std::string::npos;
}

/// The message of the cpprof::error that parse_pprof(bytes) throws ("" if it does not throw).
std::string parse_error(std::string_view bytes) {
    try {
        (void)cpprof::parse_pprof(bytes);
    } catch (const cpprof::error& e) {
        return e.what();
    }
    return "";
}

#define CHECK_PARSE_ERROR(bytes, needle)                                   \
    do {                                                                   \
        const std::string msg_ = parse_error(bytes);                       \
        INFO("error: " << msg_);                                           \
        CHECK(!msg_.empty());                                              \
        CHECK(contains(msg_, needle));                                     \
    } while (0)

/// A sample's stack as display names, leaf first; inlined frames marked with "(inl)".
std::vector<std::string> names(const profile& p, const cpprof::sample& s) {
    std::vector<std::string> out;
    for (const cpprof::frame_id id : s.stack) {
        const cpprof::frame& f = p.frame_at(id);
        out.push_back(f.display_name() + (f.inlined ? " (inl)" : "") + "@" + f.file + ":" +
                      std::to_string(f.line) + "/" + f.system_name);
    }
    return out;
}

/// A small profile using every field the writer writes.
profile small_profile() {
    cpprof_test::builder b({{"samples", "count"}, {"alloc_space", "bytes"}});
    cpprof::mapping exe;
    exe.memory_start = 0x400000;
    exe.memory_limit = 0x500000;
    exe.file_offset = 0x1000;
    exe.filename = "/bin/app";
    exe.build_id = "0123456789abcdef";
    exe.has_functions = true;
    const std::size_t m = b.p.add_mapping(exe);
    cpprof::mapping vdso;
    vdso.filename = "[vdso]";
    b.p.add_mapping(vdso);

    cpprof::frame main_f;
    main_f.function = "main";
    main_f.file = "main.cpp";
    main_f.line = 3;
    main_f.address = 0x401000;
    main_f.mapping = m;
    cpprof::frame work = main_f;
    work.function = "work(int)";
    work.system_name = "_Z4worki";
    work.line = 10;
    work.address = 0x402000;
    cpprof::frame inl = work;  // inlined into work at the same address
    inl.function = "helper()";
    inl.system_name = "_Z6helperv";
    inl.line = 42;
    inl.inlined = true;
    cpprof::frame anon;  // no name: an address-only Location
    anon.address = 0x7fff0000;
    const auto fm = b.p.intern(main_f), fw = b.p.intern(work), fi = b.p.intern(inl), fa = b.p.intern(anon);
    b.p.add_sample({fi, fw, fm}, {3, 4096}, {{"thread", "main", 0, ""}, {"bytes", "", 512, "bytes"}});
    b.p.add_sample({fa, fm}, {1, -7}, {{"thread_id", "", 1234, ""}});
    b.p.add_sample({fw, fm}, {2, 0});
    b.p.add_sample({}, {0, 1});
    b.p.set_period({"space", "bytes"}, 524288);
    b.p.set_time_nanos(1700000000123456789);
    b.p.set_duration_nanos(-5);
    b.p.add_comment("first comment");
    b.p.add_comment("second, with \"quotes\"");
    b.p.set_default_sample_index(0);
    cpprof::sample_losses l;
    l.buffer_full = 2;
    l.unwind_failed = 3;
    l.in_exception = 0;
    l.blocklisted = 5;
    l.truncated = 7;
    b.p.set_losses(l);
    return b.p;
}

void check_same(const profile& a, const profile& b) {
    CHECK(a.sample_types() == b.sample_types());
    REQUIRE(a.samples().size() == b.samples().size());
    for (std::size_t i = 0; i < a.samples().size(); ++i) {
        INFO("sample " << i);
        CHECK(a.samples()[i].values == b.samples()[i].values);
        CHECK(names(a, a.samples()[i]) == names(b, b.samples()[i]));
        CHECK(a.samples()[i].labels == b.samples()[i].labels);
        std::vector<std::uint64_t> addr_a, addr_b;
        std::vector<std::size_t> map_a, map_b;
        for (auto id : a.samples()[i].stack) addr_a.push_back(a.frame_at(id).address), map_a.push_back(a.frame_at(id).mapping);
        for (auto id : b.samples()[i].stack) addr_b.push_back(b.frame_at(id).address), map_b.push_back(b.frame_at(id).mapping);
        CHECK(addr_a == addr_b);
        CHECK(map_a == map_b);
    }
    REQUIRE(a.mappings().size() == b.mappings().size());
    for (std::size_t i = 0; i < a.mappings().size(); ++i) {
        const auto &x = a.mappings()[i], &y = b.mappings()[i];
        CHECK(x.memory_start == y.memory_start);
        CHECK(x.memory_limit == y.memory_limit);
        CHECK(x.file_offset == y.file_offset);
        CHECK(x.filename == y.filename);
        CHECK(x.build_id == y.build_id);
        CHECK(x.has_functions == y.has_functions);
    }
    CHECK(a.period_type() == b.period_type());
    CHECK(a.period() == b.period());
    CHECK(a.time_nanos() == b.time_nanos());
    CHECK(a.duration_nanos() == b.duration_nanos());
    CHECK(a.comments() == b.comments());
    CHECK(a.default_sample_index() == b.default_sample_index());
    CHECK(a.losses().buffer_full == b.losses().buffer_full);
    CHECK(a.losses().unwind_failed == b.losses().unwind_failed);
    CHECK(a.losses().in_exception == b.losses().in_exception);
    CHECK(a.losses().blocklisted == b.losses().blocklisted);
    CHECK(a.losses().truncated == b.losses().truncated);
}

// ---- hand-made messages ---------------------------------------------------------------------

/// A minimal valid profile: one sample type, one location with one function, one sample.
/// `tweak` may change the writer's output before the string table.
template <class Tweak>
std::string hand_profile(Tweak tweak, std::uint64_t location_id = 1, std::uint64_t function_id = 1,
                         std::int64_t type_index = 1) {
    proto_writer w;
    w.message(1, [&] { w.int64(1, type_index); w.int64(2, 2); });
    w.message(2, [&] {
        w.packed_uint64(1, std::vector<std::uint64_t>{location_id});
        w.packed_int64(2, std::vector<std::int64_t>{5});
    });
    w.message(4, [&] {
        w.uint64(1, 1);
        w.message(4, [&] { w.uint64(1, function_id); w.int64(2, 7); });
    });
    w.message(5, [&] { w.uint64(1, 1); w.int64(2, 3); });
    tweak(w);
    for (const char* s : {"", "samples", "count", "main"}) w.string(6, s);
    return std::move(w).take();
}
std::string hand_profile() { return hand_profile([](proto_writer&) {}); }

}  // namespace

// =============================================================================================

TEST_CASE("pprof reader: proto_reader decodes every wire type, packed and unpacked") {
    proto_writer w;
    w.uint64(1, 300);
    w.fixed64(2, 0x0102030405060708ull);
    w.fixed32(3, 0xdeadbeef);
    w.string(4, "hi");
    w.packed_uint64(5, std::vector<std::uint64_t>{1, 2, 1ull << 63});
    w.uint64(5, 4);  // the same repeated field, unpacked
    w.int64(6, -1);
    w.key(7, wire_type::i64);  // unknown fields of every type, skipped
    w.raw_fixed64(9);
    w.key(8, wire_type::i32);
    w.raw_fixed32(9);
    w.bytes(9, "skip me");
    w.uint64(10, 9);
    w.message(11, [&] { w.uint64(1, 77); });
    const std::string bytes = std::move(w).take();

    proto_reader r(bytes, "test");
    std::vector<std::uint64_t> rep;
    int skipped = 0;
    while (r.next()) {
        switch (r.field()) {
        case 1: CHECK(r.uint64() == 300); break;
        case 2: CHECK(r.fixed64() == 0x0102030405060708ull); break;
        case 3: CHECK(r.fixed32() == 0xdeadbeef); break;
        case 4: CHECK(r.bytes() == "hi"); break;
        case 5: r.repeated_varint([&](std::uint64_t v) { rep.push_back(v); }); break;
        case 6: CHECK(r.int64() == -1); break;
        case 11: {
            proto_reader m = r.message();
            REQUIRE(m.next());
            CHECK(m.field() == 1);
            CHECK(m.uint64() == 77);
            CHECK(!m.next());
            break;
        }
        default: r.skip(); ++skipped;
        }
    }
    CHECK(rep == std::vector<std::uint64_t>{1, 2, 1ull << 63, 4});
    CHECK(skipped == 4);
}

TEST_CASE("pprof reader: proto_reader errors name the problem and the byte") {
    auto error_of = [](const std::string& bytes, auto&& body) -> std::string {
        try {
            proto_reader r(bytes, "pprof");
            while (r.next()) body(r);
        } catch (const cpprof::error& e) {
            return e.what();
        }
        return "";
    };
    auto skip_all = [](proto_reader& r) { r.skip(); };
    // field 1 varint, then field 2 with an 11-byte varint
    std::string s = std::string("\x08\x01\x10", 3) + std::string(10, '\x80') + "\x01";
    CHECK(error_of(s, skip_all) == "cpprof: pprof: over-long varint (field 2) at byte 3");
    CHECK(contains(error_of(std::string("\x08\x80", 2), skip_all), "truncated varint (field 1): the data ends at byte 1"));
    CHECK(contains(error_of(std::string("\x08", 1), skip_all), "truncated varint (field 1)"));
    // 10th byte with more than bit 63
    CHECK(contains(error_of(std::string("\x08", 1) + std::string(9, '\xff') + "\x02", skip_all), "overflows 64 bits"));
    CHECK(error_of(std::string("\x12\x80\x89\x7a", 4), skip_all) ==
          "cpprof: pprof: field 2 length 2000000 exceeds the 0 bytes left at byte 0");
    CHECK(contains(error_of(std::string("\x0b", 1), skip_all), "field 1 uses wire type 3 (groups)"));
    CHECK(contains(error_of(std::string("\x0c", 1), skip_all), "wire type 4 (groups)"));
    CHECK(contains(error_of(std::string("\x0e", 1), skip_all), "field 1 has the invalid wire type 6"));
    CHECK(contains(error_of(std::string("\x0f", 1), skip_all), "invalid wire type 7"));
    CHECK(contains(error_of(std::string("\x00", 1), skip_all), "field number 0"));
    CHECK(contains(error_of(std::string("\x09\x01\x02", 3), skip_all), "field 1 needs 8 bytes but only 2 are left"));
    CHECK(contains(error_of(std::string("\x0d\x01", 2), skip_all), "needs 4 bytes"));
    // a huge field number in the key
    CHECK(contains(error_of(std::string("\xf8\xff\xff\xff\x7f\x00", 6), skip_all), "above the maximum"));
    // wrong wire type for what the caller expects
    CHECK(error_of(std::string("\x0d\x01\x02\x03\x04", 5), [](proto_reader& r) { r.uint64(); }) ==
          "cpprof: pprof: field 1 has wire type 5, expected 0 (varint) at byte 0");
    CHECK(contains(error_of(std::string("\x08\x01", 2), [](proto_reader& r) { r.message(); }),
                   "expected 2 (length-delimited)"));
    CHECK(contains(error_of(std::string("\x09\x01\x02\x03\x04\x05\x06\x07\x08", 9),
                            [](proto_reader& r) { r.repeated_varint([](std::uint64_t) {}); }),
                   "expected 0 (varint) or 2 (packed)"));
    // a packed run whose last varint is cut off
    CHECK(contains(error_of(std::string("\x0a\x02\x01\x80", 4),
                            [](proto_reader& r) { r.repeated_varint([](std::uint64_t) {}); }),
                   "truncated varint (packed value of field 1)"));
    // offsets inside nested messages count from the outermost message
    CHECK(contains(error_of(std::string("\x08\x01\x12\x02\x08\x80", 6),
                            [](proto_reader& r) {
                                if (r.field() != 2) return r.skip();
                                proto_reader m = r.message();
                                while (m.next()) m.skip();
                            }),
                   "truncated varint (field 1): the data ends at byte 5"));
}

TEST_CASE("pprof reader: round trip of everything the writer writes (small profile)") {
    const profile p = small_profile();
    const std::string bytes = cpprof::encode_pprof(p);
    const profile q = cpprof::parse_pprof(bytes);
    check_same(p, q);
    CHECK(q.default_sample_index() == 0);
    CHECK(q.losses().lost() == 10);
    // Inlined frames: one Location with two Lines becomes two frames, the inner one inlined.
    const auto& s0 = q.samples()[0];
    REQUIRE(s0.stack.size() == 3);
    CHECK(q.frame_at(s0.stack[0]).function == "helper()");
    CHECK(q.frame_at(s0.stack[0]).inlined);
    CHECK(q.frame_at(s0.stack[0]).system_name == "_Z6helperv");
    CHECK(!q.frame_at(s0.stack[1]).inlined);
    CHECK(q.frame_at(s0.stack[0]).address == q.frame_at(s0.stack[1]).address);
    CHECK(q.frame_at(s0.stack[2]).system_name.empty());  // system_name == name: not repeated
    // The address-only frame has no name and keeps its address.
    CHECK(q.frame_at(q.samples()[1].stack[0]).function.empty());
    CHECK(q.frame_at(q.samples()[1].stack[0]).address == 0x7fff0000);
    CHECK(q.frame_at(q.samples()[1].stack[0]).mapping == cpprof::no_mapping);
    CHECK(q.samples()[0].labels[1].is_numeric());
    CHECK(q.samples()[0].labels[1].num_unit == "bytes");
    // Byte for byte: the reader loses nothing the writer wrote.
    CHECK(cpprof::encode_pprof(q) == bytes);
}

TEST_CASE("pprof reader: round trip of a synthetic CPU profile, byte for byte") {
    profile p = cpprof_test::synthetic_profile(3000, 300);
    p.add_comment("a comment");
    const std::string bytes = cpprof::encode_pprof(p);
    const profile q = cpprof::parse_pprof(bytes);
    check_same(p, q);
    CHECK(q.total(1) == p.total(1));
    CHECK(cpprof::encode_pprof(q) == bytes);
    CHECK(cpprof::parse_pprof(cpprof::encode_pprof(profile{})).empty());
}

TEST_CASE("pprof reader: read_pprof reads files, raw and gzip") {
    cpprof_test::temp_dir dir;
    const profile p = small_profile();
    cpprof::write_pprof(p, dir / "p.pb");
    check_same(p, cpprof::read_pprof(dir / "p.pb"));
    cpprof::write_pprof(p, dir / "p.pb.gz");
    check_same(p, cpprof::read_pprof(dir / "p.pb.gz"));
    try {
        (void)cpprof::read_pprof(dir / "missing.pb.gz");
        FAIL("no error for a missing file");
    } catch (const cpprof::error& e) {
        CHECK(contains(e.what(), "missing.pb.gz"));
        CHECK(contains(e.what(), "No such file or directory"));
    }
    cpprof_test::write_file(dir / "bad.pb", std::string("\x08", 1));
    try {
        (void)cpprof::read_pprof(dir / "bad.pb");
        FAIL("no error for a bad file");
    } catch (const cpprof::error& e) {
        CHECK(std::string(e.what()).rfind("cpprof: pprof: field 1 (sample_type) has wire type 0", 0) == 0);
        CHECK(contains(e.what(), "bad.pb"));
    }
}

TEST_CASE("pprof reader: reads a profile rewritten by go tool pprof") {
    REQUIRE_GO_TOOL_PPROF();
    cpprof_test::go_pprof go;
    profile p = cpprof_test::synthetic_profile(500, 200);
    p.add_comment("kept by pprof");
    cpprof::write_pprof(p, go.file("ours.pb"));
    go.run("-proto -output=" + cpprof_test::shell_quote(go.file("go.pb.gz")), go.file("ours.pb"));
    const auto unz = cpprof_test::run("gzip -dc " + cpprof_test::shell_quote(go.file("go.pb.gz")) + " > " +
                                      cpprof_test::shell_quote(go.file("go.pb")));
    REQUIRE(unz.exit_code == 0);
    const profile q = cpprof::read_pprof(go.file("go.pb"));
    check_same(q, cpprof::read_pprof(go.file("go.pb.gz")));
    CHECK(q.sample_types() == p.sample_types());
    CHECK(q.period_type() == p.period_type());
    CHECK(q.period() == p.period());
    CHECK(q.time_nanos() == p.time_nanos());
    CHECK(q.duration_nanos() == p.duration_nanos());
    CHECK(q.comments() == p.comments());
    REQUIRE(q.mappings().size() == p.mappings().size());
    for (std::size_t i = 0; i < p.mappings().size(); ++i) {
        CHECK(q.mappings()[i].filename == p.mappings()[i].filename);
        CHECK(q.mappings()[i].build_id == p.mappings()[i].build_id);
        CHECK(q.mappings()[i].memory_start == p.mappings()[i].memory_start);
    }
    // pprof may merge and reorder samples: compare the values summed by (stack, labels).
    // pprof shortens Function.name ("f(int)" -> "f") and keeps the full name as system_name,
    // so frames are compared by the full name.
    auto by_stack = [](const profile& x) {
        std::map<std::string, std::vector<std::int64_t>> m;
        for (const auto& s : x.samples()) {
            std::string key;
            for (const auto id : s.stack) {
                const cpprof::frame& f = x.frame_at(id);
                key += (f.system_name.empty() ? f.function : f.system_name) + (f.inlined ? " (inl)" : "") + "@" +
                       f.file + ":" + std::to_string(f.line) + ":" + std::to_string(f.address) + ";";
            }
            for (const auto& l : s.labels) key += "|" + l.key + "=" + l.str + std::to_string(l.num) + l.num_unit;
            auto& v = m[key];
            v.resize(s.values.size());
            for (std::size_t i = 0; i < s.values.size(); ++i) v[i] += s.values[i];
        }
        return m;
    };
    const auto bq = by_stack(q), bp = by_stack(p);
    CHECK(bq.size() == bp.size());
    for (auto a = bq.begin(), b = bp.begin(); a != bq.end() && b != bp.end(); ++a, ++b) {
        INFO("go:   " << a->first << "\nours: " << b->first);
        CHECK(a->first == b->first);
        CHECK(a->second == b->second);
        if (a->first != b->first) break;
    }
    CHECK(q.total(1) == p.total(1));
}

// ---- hostile inputs -------------------------------------------------------------------------

TEST_CASE("pprof reader: every truncation of a small profile is an error or a valid prefix") {
    const std::string bytes = cpprof::encode_pprof(small_profile());
    // Top-level field boundaries, and where the string table ends: every prefix before that
    // leaves some string index, location or function dangling, so it must fail; a prefix at a
    // later field boundary is a valid profile with fewer scalar fields.
    std::vector<std::size_t> boundaries{0};
    std::size_t end_of_strings = 0;
    {
        std::size_t pos = 0;
        for (const auto& f : cpprof_test::parse_message(bytes)) {
            (void)f;
            std::size_t at = pos;
            const std::uint64_t key = cpprof_test::read_varint(bytes, at);
            if ((key & 7) == 2) {
                const std::uint64_t n = cpprof_test::read_varint(bytes, at);
                at += n;
            } else {
                cpprof_test::read_varint(bytes, at);
            }
            pos = at;
            boundaries.push_back(pos);
            if ((key >> 3) == 6) end_of_strings = pos;
        }
    }
    REQUIRE(end_of_strings > 0);
    for (std::size_t n = 0; n < bytes.size(); ++n) {
        INFO("prefix of " << n << " bytes of " << bytes.size());
        const std::string_view prefix(bytes.data(), n);
        const bool boundary = std::find(boundaries.begin(), boundaries.end(), n) != boundaries.end();
        if (n < end_of_strings || !boundary) {
            CHECK_THROWS_AS((void)cpprof::parse_pprof(prefix), cpprof::error);
        } else {
            CHECK_NOTHROW((void)cpprof::parse_pprof(prefix));
        }
    }
}

TEST_CASE("pprof reader: wrong wire types for known fields") {
    CHECK_PARSE_ERROR(hand_profile([](proto_writer& w) { w.fixed64(9, 1); }),
                      "field 9 (time_nanos) has wire type 1, expected 0 (varint) at byte ");
    CHECK_PARSE_ERROR(hand_profile([](proto_writer& w) { w.uint64(2, 1); }),
                      "field 2 (sample) has wire type 0, expected 2 (length-delimited)");
    CHECK_PARSE_ERROR(hand_profile([](proto_writer& w) { w.fixed32(6, 1); }),
                      "field 6 (string_table) has wire type 5");
    CHECK_PARSE_ERROR(hand_profile([](proto_writer& w) { w.message(3, [&] { w.fixed32(5, 1); }); }),
                      "field 5 (filename) has wire type 5");
    CHECK_PARSE_ERROR(hand_profile([](proto_writer& w) { w.key(13, wire_type::i64); w.raw_fixed64(1); }),
                      "field 13 (comment) has wire type 1, expected 0 (varint) or 2 (packed)");
    CHECK_PARSE_ERROR(hand_profile([](proto_writer& w) { w.key(20, static_cast<wire_type>(3)); }),
                      "field 20 uses wire type 3 (groups)");
    // Unknown fields of every valid wire type are skipped, at every level.
    const profile p = cpprof::parse_pprof(hand_profile([](proto_writer& w) {
        w.fixed64(20, 1);
        w.fixed32(21, 1);
        w.string(22, "x");
        w.uint64(23, 1);
        w.uint64(15, 1);  // doc_url, drop/keep frames: ignored
        w.uint64(7, 1);
        w.message(3, [&] { w.uint64(1, 1); w.fixed32(40, 9); w.boolean(8, true); });
    }));
    CHECK(p.samples().size() == 1);
    CHECK(p.mappings().size() == 1);
}

TEST_CASE("pprof reader: bad indices, ids and value counts are clear errors") {
    CHECK(cpprof::parse_pprof(hand_profile()).samples().size() == 1);
    CHECK_PARSE_ERROR(hand_profile([](proto_writer&) {}, 7), "sample 0 names location id 7, which does not exist");
    CHECK_PARSE_ERROR(hand_profile([](proto_writer&) {}, 1, 9),
                      "location 1 has a line naming function id 9, which does not exist");
    CHECK_PARSE_ERROR(hand_profile([](proto_writer&) {}, 1, 1, 99),
                      "sample_type.type is string index 99 but the string table has 4 strings, at byte 2");
    CHECK_PARSE_ERROR(hand_profile([](proto_writer&) {}, 1, 1, -1), "sample_type.type is string index -1");
    CHECK_PARSE_ERROR(hand_profile([](proto_writer& w) { w.message(5, [&] { w.uint64(1, 2); w.int64(4, 50); }); }),
                      "function.filename is string index 50");
    CHECK_PARSE_ERROR(hand_profile([](proto_writer& w) { w.message(3, [&] { w.uint64(1, 1); w.int64(6, 50); }); }),
                      "mapping.build_id is string index 50");
    CHECK_PARSE_ERROR(hand_profile([](proto_writer& w) { w.int64(13, 4); }), "comment is string index 4");
    CHECK_PARSE_ERROR(hand_profile([](proto_writer& w) { w.int64(14, 8); }), "default_sample_type is string index 8");
    CHECK_PARSE_ERROR(hand_profile([](proto_writer& w) { w.message(11, [&] { w.int64(2, 8); }); }),
                      "period_type.unit is string index 8");
    CHECK_PARSE_ERROR(hand_profile([](proto_writer& w) {
                          w.message(2, [&] { w.int64(2, 1); w.message(3, [&] { w.int64(1, 1); w.int64(2, 80); }); });
                      }),
                      "label.str is string index 80");
    CHECK_PARSE_ERROR(hand_profile([](proto_writer& w) { w.message(2, [&] { w.packed_int64(2, std::vector<int>{1, 2}); }); }),
                      "sample 1 has 2 values but the profile has 1 sample types");
    CHECK_PARSE_ERROR(hand_profile([](proto_writer& w) { w.message(5, [&] { w.uint64(1, 1); }); }),
                      "two functions have id 1");
    CHECK_PARSE_ERROR(hand_profile([](proto_writer& w) { w.message(4, [&] { w.uint64(1, 1); }); }),
                      "two locations have id 1");
    CHECK_PARSE_ERROR(hand_profile([](proto_writer& w) { w.message(4, [&] { w.uint64(2, 1); }); }),
                      "a location has id 0");
    CHECK_PARSE_ERROR(hand_profile([](proto_writer& w) { w.message(3, [&] { w.uint64(2, 1); }); }),
                      "a mapping has id 0");
    CHECK_PARSE_ERROR(hand_profile([](proto_writer& w) { w.int64(9, 1); w.int64(9, 2); }),
                      "field 9 (time_nanos) appears twice");
    // A dangling mapping id means "no mapping", as in pprof.
    const profile p = cpprof::parse_pprof(hand_profile([](proto_writer& w) {
        w.message(4, [&] { w.uint64(1, 2); w.uint64(2, 5); w.uint64(3, 0x1234); });
        w.message(2, [&] { w.packed_uint64(1, std::vector<int>{2, 1}); w.int64(2, 1); });
    }));
    REQUIRE(p.samples().size() == 2);
    CHECK(p.frame_at(p.samples()[1].stack[0]).mapping == cpprof::no_mapping);
    CHECK(p.frame_at(p.samples()[1].stack[0]).address == 0x1234);
    CHECK(p.frame_at(p.samples()[1].stack[1]).function == "main");
    // A default_sample_type naming no sample type is ignored.
    CHECK(cpprof::parse_pprof(hand_profile([](proto_writer& w) { w.int64(14, 3); })).default_sample_index() == 0);
}

TEST_CASE("pprof reader: the string table must exist and start with an empty string") {
    CHECK_PARSE_ERROR(std::string_view{}, "pprof: empty input");
    proto_writer w;
    w.int64(9, 5);
    CHECK_PARSE_ERROR(w.view(), "no string table");
    w.string(6, "x");
    CHECK_PARSE_ERROR(w.view(), "string_table[0] must be \"\" but is \"x\"");
    proto_writer ok;
    ok.string(6, "");
    const profile p = cpprof::parse_pprof(ok.view());
    CHECK(p.empty());
    CHECK(p.sample_types().empty());
}

TEST_CASE("pprof reader: over-long varints and absurd lengths") {
    std::string s = hand_profile();
    std::string over = s + std::string("\x48", 1) + std::string(10, '\xff') + std::string("\x01", 1);
    CHECK_PARSE_ERROR(over, "pprof: over-long varint (field 9 (time_nanos)) at byte " + std::to_string(s.size() + 1));
    // field 2 (sample) claiming 4,000,000 bytes
    proto_writer w;
    w.string(6, "");
    w.key(2, wire_type::len);
    w.raw_varint(4000000);
    w.raw_bytes("abcdef", 6);
    CHECK_PARSE_ERROR(w.view(), "pprof: field 2 (sample) length 4000000 exceeds the 6 bytes left at byte 2");
    // a length of 2^64 - 1
    proto_writer h;
    h.key(6, wire_type::len);
    h.raw_varint(~0ull);
    CHECK_PARSE_ERROR(h.view(), "length 18446744073709551615 exceeds the 0 bytes left at byte 0");
}

TEST_CASE("pprof reader: 10 MB of zeros fail at once with a clear message") {
    const std::string zeros(10 << 20, '\0');
    const auto t0 = std::chrono::steady_clock::now();
    CHECK_PARSE_ERROR(zeros, "pprof: field number 0 (a protobuf field number starts at 1) at byte 0");
    CHECK(std::chrono::steady_clock::now() - t0 < std::chrono::seconds(1));
    // and 10 MB of 0xff: one over-long varint
    CHECK_PARSE_ERROR(std::string(10 << 20, '\xff'), "over-long varint (field key) at byte 0");
}

TEST_CASE("pprof reader: a location repeated past the frame cap is refused") {
    // One Location with 2000 Lines, named 40000 times by one sample: 80 million frames from
    // a ~50 KB message.
    const std::string bytes = hand_profile([](proto_writer& w) {
        w.message(4, [&] {
            w.uint64(1, 2);
            for (int i = 0; i < 2000; ++i) w.message(4, [&] { w.uint64(1, 1); });
        });
        w.message(2, [&] {
            w.packed_uint64(1, std::vector<std::uint64_t>(40000, 2));
            w.int64(2, 1);
        });
    });
    CHECK_PARSE_ERROR(bytes, "frames in all, too many for a");
}

TEST_CASE("pprof reader: 1000 mutations of a valid profile never crash") {
    const std::string valid = cpprof::encode_pprof(small_profile());
    cpprof_test::rng r{12345};
    int parsed = 0, rejected = 0;
    for (int i = 0; i < 1000; ++i) {
        std::string m = valid;
        const std::size_t edits = 1 + r.below(4);
        for (std::size_t e = 0; e < edits; ++e) {
            switch (r.below(5)) {
            case 0: m[r.below(m.size())] = static_cast<char>(r.next()); break;   // replace a byte
            case 1: m[r.below(m.size())] ^= static_cast<char>(1u << r.below(8)); break;  // flip a bit
            case 2: m.insert(r.below(m.size() + 1), 1, static_cast<char>(r.next())); break;
            case 3: if (m.size() > 1) m.erase(r.below(m.size()), 1 + r.below(4)); break;
            case 4: m.resize(r.below(m.size() + 1)); break;
            }
            if (m.empty()) m = "x";
        }
        try {
            const profile p = cpprof::parse_pprof(m);
            // Whatever parses is a consistent profile: the writer accepts it.
            CHECK_NOTHROW((void)cpprof::encode_pprof(p));
            ++parsed;
        } catch (const cpprof::error&) {
            ++rejected;
        }
    }
    MESSAGE(parsed << " mutations parsed, " << rejected << " rejected");
    CHECK(parsed + rejected == 1000);
    CHECK(rejected > 0);
}

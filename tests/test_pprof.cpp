// The pprof writer: byte-exact for the worked example of formats.md §2.7, structurally checked
// with an independent wire reader, and read back by the real reader, `go tool pprof`.

#include <doctest/doctest.h>

#include <cstdint>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <cpprof/detail/gzip.hpp>
#include <cpprof/error.hpp>
#include <cpprof/output/pprof.hpp>
#include <cpprof/profile.hpp>

#include "support/hex.hpp"
#include "support/external.hpp"
#include "support/go_pprof.hpp"
#include "support/synthetic_profile.hpp"
#include "support/wire_reader.hpp"

namespace {

using cpprof::frame;
using cpprof::label;
using cpprof::mapping;
using cpprof::profile;
using cpprof::value_type;

using cpprof_test::hex;

bool contains(const std::string& haystack, const std::string& needle) {
    return haystack.find(needle) != std::string::npos;
}

// ---- an independent decoding of what encode_pprof wrote ---------------------------------

struct decoded {
    struct line {
        std::uint64_t function_id;
        std::int64_t line;
    };
    struct location {
        std::uint64_t mapping_id = 0, address = 0;
        std::vector<line> lines;
    };
    struct function {
        std::string name, system_name, file;
    };
    struct sample {
        std::vector<std::uint64_t> location_ids;
        std::vector<std::int64_t> values;
        std::vector<label> labels;
    };
    std::vector<std::string> strings;
    std::vector<value_type> sample_types;
    std::vector<sample> samples;
    std::map<std::uint64_t, mapping> mappings;
    std::map<std::uint64_t, location> locations;
    std::map<std::uint64_t, function> functions;
    std::vector<std::string> comments;
    std::string default_sample_type;  // "" when the field is absent
    bool has_default_sample_type = false;
    value_type period_type;
    std::int64_t period = 0, time_nanos = 0, duration_nanos = 0;
    bool repeated_ints_packed = true;  // every location_id, value and comment field was LEN
    std::vector<std::string> errors;   // reader-side rule violations

    const std::string& str(std::uint64_t i) {
        if (i >= strings.size()) {
            errors.push_back("string index " + std::to_string(i) + " out of range");
            static const std::string none;
            return none;
        }
        return strings[i];
    }
    /// Function names of the sample's frames, leaf first, inlined frames expanded.
    std::vector<std::string> stack_names(const sample& s) {
        std::vector<std::string> names;
        for (std::uint64_t id : s.location_ids) {
            const location& loc = locations.at(id);
            if (loc.lines.empty()) names.push_back("?");
            for (const line& l : loc.lines) names.push_back(functions.at(l.function_id).name);
        }
        return names;
    }
};

decoded decode(std::string_view bytes) {
    using cpprof_test::parse_message;
    using cpprof_test::unpack_varints;
    decoded d;
    const auto top = parse_message(bytes);
    for (const auto& f : top)
        if (f.number == 6) d.strings.emplace_back(f.bytes);
    if (d.strings.empty() || !d.strings[0].empty()) d.errors.push_back("string_table[0] is not \"\"");
    auto ints = [&](const cpprof_test::wire_field& f) {
        if (f.type != 2) {
            d.repeated_ints_packed = false;
            return std::vector<std::uint64_t>{f.value};
        }
        return unpack_varints(f.bytes);
    };
    auto value_type_of = [&](std::string_view b) {
        value_type v;
        for (const auto& g : parse_message(b)) {
            if (g.number == 1) v.type = d.str(g.value);
            if (g.number == 2) v.unit = d.str(g.value);
        }
        return v;
    };
    auto unique_id = [&](const char* what, std::uint64_t id, std::size_t seen_before) {
        if (id == 0) d.errors.push_back(std::string(what) + " with id 0");
        if (seen_before != 0) d.errors.push_back(std::string("duplicate ") + what + " id " + std::to_string(id));
    };
    for (const auto& f : top) {
        switch (f.number) {
        case 1: d.sample_types.push_back(value_type_of(f.bytes)); break;
        case 2: {
            decoded::sample s;
            for (const auto& g : parse_message(f.bytes)) {
                if (g.number == 1)
                    for (auto v : ints(g)) s.location_ids.push_back(v);
                if (g.number == 2)
                    for (auto v : ints(g)) s.values.push_back(static_cast<std::int64_t>(v));
                if (g.number == 3) {
                    label l;
                    for (const auto& h : parse_message(g.bytes)) {
                        if (h.number == 1) l.key = d.str(h.value);
                        if (h.number == 2) l.str = d.str(h.value);
                        if (h.number == 3) l.num = static_cast<std::int64_t>(h.value);
                        if (h.number == 4) l.num_unit = d.str(h.value);
                    }
                    s.labels.push_back(l);
                }
            }
            d.samples.push_back(s);
            break;
        }
        case 3: {
            mapping m;
            std::uint64_t id = 0;
            for (const auto& g : parse_message(f.bytes)) {
                if (g.number == 1) id = g.value;
                if (g.number == 2) m.memory_start = g.value;
                if (g.number == 3) m.memory_limit = g.value;
                if (g.number == 4) m.file_offset = g.value;
                if (g.number == 5) m.filename = d.str(g.value);
                if (g.number == 6) m.build_id = d.str(g.value);
                if (g.number == 7) m.has_functions = g.value != 0;
            }
            unique_id("mapping", id, d.mappings.count(id));
            d.mappings[id] = m;
            break;
        }
        case 4: {
            decoded::location loc;
            std::uint64_t id = 0;
            for (const auto& g : parse_message(f.bytes)) {
                if (g.number == 1) id = g.value;
                if (g.number == 2) loc.mapping_id = g.value;
                if (g.number == 3) loc.address = g.value;
                if (g.number == 4) {
                    decoded::line l{0, 0};
                    for (const auto& h : parse_message(g.bytes)) {
                        if (h.number == 1) l.function_id = h.value;
                        if (h.number == 2) l.line = static_cast<std::int64_t>(h.value);
                    }
                    loc.lines.push_back(l);
                }
            }
            unique_id("location", id, d.locations.count(id));
            d.locations[id] = loc;
            break;
        }
        case 5: {
            decoded::function fn;
            std::uint64_t id = 0;
            for (const auto& g : parse_message(f.bytes)) {
                if (g.number == 1) id = g.value;
                if (g.number == 2) fn.name = d.str(g.value);
                if (g.number == 3) fn.system_name = d.str(g.value);
                if (g.number == 4) fn.file = d.str(g.value);
            }
            unique_id("function", id, d.functions.count(id));
            d.functions[id] = fn;
            break;
        }
        case 9: d.time_nanos = static_cast<std::int64_t>(f.value); break;
        case 10: d.duration_nanos = static_cast<std::int64_t>(f.value); break;
        case 11: d.period_type = value_type_of(f.bytes); break;
        case 12: d.period = static_cast<std::int64_t>(f.value); break;
        case 13:
            for (auto v : ints(f)) d.comments.push_back(d.str(v));
            break;
        case 14:
            d.has_default_sample_type = true;
            d.default_sample_type = d.str(f.value);
            break;
        default: break;
        }
    }
    // Cross-references, as pprof's CheckValid does.
    for (const auto& s : d.samples) {
        if (s.values.size() != d.sample_types.size()) d.errors.push_back("sample value count");
        for (auto id : s.location_ids)
            if (d.locations.count(id) == 0) d.errors.push_back("sample names missing location");
    }
    for (const auto& [id, loc] : d.locations) {
        if (loc.mapping_id != 0 && d.mappings.count(loc.mapping_id) == 0)
            d.errors.push_back("location names missing mapping");
        for (const auto& l : loc.lines)
            if (d.functions.count(l.function_id) == 0) d.errors.push_back("line names missing function");
    }
    std::set<std::string> distinct(d.strings.begin(), d.strings.end());
    if (distinct.size() != d.strings.size()) d.errors.push_back("duplicate strings in the table");
    return d;
}

// ---- profiles -------------------------------------------------------------------------------

profile worked_example() {
    profile p({{"samples", "count"}, {"cpu", "nanoseconds"}});
    p.set_period({"cpu", "nanoseconds"}, 10000000);
    frame f;
    f.function = "main";
    f.line = 42;
    p.add_sample({p.intern(f)}, {1, 10000000});
    return p;
}

/// A heap-style profile with everything the writer handles: two mappings, an inlined chain
/// (push_back inlined into helper inlined into compute, all at one address), a frame without a
/// name, two call sites of one function, string and numeric labels, comments, losses, an
/// explicit default sample type, time and duration.
profile rich_profile() {
    profile p({{"alloc_objects", "count"}, {"alloc_space", "bytes"}, {"inuse_objects", "count"},
               {"inuse_space", "bytes"}});
    p.set_period({"space", "bytes"}, 524288);
    p.set_default_sample_index(1);
    p.set_time_nanos(1700000000000000000);
    p.set_duration_nanos(2500000000);
    p.add_comment("built by test_pprof");
    cpprof::sample_losses losses;
    losses.buffer_full = 3;
    losses.unwind_failed = 2;
    losses.truncated = 7;
    p.set_losses(losses);

    mapping exe;
    exe.memory_start = 0x400000;
    exe.memory_limit = 0x500000;
    exe.file_offset = 0x1000;
    exe.filename = "/opt/app/bin/server";
    exe.build_id = "abcdef0123456789";
    exe.has_functions = true;
    const std::size_t m_exe = p.add_mapping(exe);
    mapping lib;
    lib.memory_start = 0x7f0000000000;
    lib.memory_limit = 0x7f0000100000;
    lib.filename = "/nonexistent/libfoo.so";
    const std::size_t m_lib = p.add_mapping(lib);

    frame push_back;
    push_back.address = 0x401234;
    push_back.function = "std::vector<int, std::allocator<int> >::push_back(int const&)";
    push_back.file = "/usr/include/c++/12/bits/stl_vector.h";
    push_back.line = 1287;
    push_back.mapping = m_exe;
    push_back.inlined = true;
    frame helper = push_back;
    helper.function = "helper(int)";
    helper.system_name = "_Z6helperi";
    helper.file = "src/helper.h";
    helper.line = 12;
    frame compute;
    compute.address = 0x401234;
    compute.function = "compute()";
    compute.file = "src/compute.cpp";
    compute.line = 55;
    compute.mapping = m_exe;
    frame compute2 = compute;  // another call site of the same function
    compute2.address = 0x401300;
    compute2.line = 61;
    frame main_fn;
    main_fn.address = 0x400100;
    main_fn.function = "main";
    main_fn.file = "src/main.cpp";
    main_fn.line = 9;
    main_fn.mapping = m_exe;
    frame unknown;
    unknown.address = 0x7f0000001234;
    unknown.mapping = m_lib;

    const auto a = p.intern(push_back), b = p.intern(helper), c = p.intern(compute),
               c2 = p.intern(compute2), m = p.intern(main_fn), u = p.intern(unknown);
    p.add_sample({a, b, c, m}, {1, 64, 1, 64},
                 {label{"thread", "main", 0, ""}, label{"bytes", "", 64, "bytes"}});
    p.add_sample({u, c2, m}, {2, 256, 0, 0}, {label{"thread", "worker", 0, ""}});
    p.add_sample({c, m}, {5, 500, 5, 500}, {label{"request_id", "", 77, ""}});
    p.add_sample({a, b, c, m}, {1, 32, 0, 0}, {});
    return p;
}

}  // namespace

// ---- byte-level checks ------------------------------------------------------------------

TEST_CASE("the worked example of formats.md 2.7 encodes byte for byte (packed sample)") {
    // Identical to the 94-byte example except that the sample's repeated fields are packed,
    // which cpprof always does: `12 0a | 0a 01 01 | 12 05 01 80 ad e2 04` (12 bytes, not 11).
    const std::string expected =
        "0a 04 08 01 10 02 "                                    // sample_type samples/count
        "0a 04 08 03 10 04 "                                    // sample_type cpu/nanoseconds
        "12 0a 0a 01 01 12 05 01 80 ad e2 04 "                  // sample {location_id [1] value [1 1e7]}
        "22 08 08 01 22 04 08 01 10 2a "                        // location {id 1 line {fn 1 line 42}}
        "2a 06 08 01 10 05 18 05 "                              // function {id 1 name 5 system_name 5}
        "32 00 "                                                // ""
        "32 07 73 61 6d 70 6c 65 73 32 05 63 6f 75 6e 74 "      // "samples" "count"
        "32 03 63 70 75 32 0b 6e 61 6e 6f 73 65 63 6f 6e 64 73 " // "cpu" "nanoseconds"
        "32 04 6d 61 69 6e "                                    // "main"
        "5a 04 08 03 10 04 "                                    // period_type cpu/nanoseconds
        "60 80 ad e2 04";                                       // period 10000000
    const std::string bytes = cpprof::encode_pprof(worked_example());
    CHECK(hex(bytes) == expected);
    CHECK(bytes.size() == 95);
}

TEST_CASE("the encoding follows pprof's rules") {
    const profile p = rich_profile();
    const std::string bytes = cpprof::encode_pprof(p);
    decoded d = decode(bytes);
    INFO("errors: " << [&] {
        std::string e;
        for (const auto& s : d.errors) e += s + "; ";
        return e;
    }());
    CHECK(d.errors.empty());
    CHECK(d.repeated_ints_packed);
    REQUIRE(d.strings.size() > 1);
    CHECK(d.strings[0].empty());

    SUBCASE("header fields") {
        REQUIRE(d.sample_types.size() == 4);
        CHECK(d.sample_types[0] == value_type{"alloc_objects", "count"});
        CHECK(d.sample_types[3] == value_type{"inuse_space", "bytes"});
        CHECK(d.period_type == value_type{"space", "bytes"});
        CHECK(d.period == 524288);
        CHECK(d.time_nanos == 1700000000000000000);
        CHECK(d.duration_nanos == 2500000000);
        CHECK(d.has_default_sample_type);
        CHECK(d.default_sample_type == "alloc_space");
        REQUIRE(d.comments.size() == 3);
        CHECK(d.comments[0] == "built by test_pprof");
        CHECK(d.comments[1] == "cpprof: 5 samples lost (3 sample store full, 2 unwind failed)");
        CHECK(d.comments[2] == "cpprof: 7 stacks truncated at the maximum depth");
    }
    SUBCASE("mappings keep their order, ids from 1") {
        REQUIRE(d.mappings.size() == 2);
        CHECK(d.mappings.at(1).filename == "/opt/app/bin/server");
        CHECK(d.mappings.at(1).build_id == "abcdef0123456789");
        CHECK(d.mappings.at(1).memory_start == 0x400000);
        CHECK(d.mappings.at(1).memory_limit == 0x500000);
        CHECK(d.mappings.at(1).file_offset == 0x1000);
        CHECK(d.mappings.at(1).has_functions);
        CHECK(d.mappings.at(2).filename == "/nonexistent/libfoo.so");
        CHECK_FALSE(d.mappings.at(2).has_functions);
    }
    SUBCASE("an inlined chain is one Location with its Lines innermost first") {
        REQUIRE(d.samples.size() == 4);
        const auto& s0 = d.samples[0];
        REQUIRE(s0.location_ids.size() == 2);  // {push_back, helper, compute} and main
        const auto& folded = d.locations.at(s0.location_ids[0]);
        CHECK(folded.address == 0x401234);
        CHECK(folded.mapping_id == 1);
        REQUIRE(folded.lines.size() == 3);
        CHECK(d.functions.at(folded.lines[0].function_id).name ==
              "std::vector<int, std::allocator<int> >::push_back(int const&)");
        CHECK(folded.lines[0].line == 1287);
        CHECK(d.functions.at(folded.lines[1].function_id).name == "helper(int)");
        CHECK(d.functions.at(folded.lines[2].function_id).name == "compute()");
        CHECK(folded.lines[2].line == 55);
        // The same chain in another sample reuses the Location.
        CHECK(d.samples[3].location_ids == s0.location_ids);
        // compute() alone at the same address is a different Location.
        CHECK(d.samples[2].location_ids[0] != s0.location_ids[0]);
        CHECK(d.locations.at(d.samples[2].location_ids[0]).lines.size() == 1);
    }
    SUBCASE("a frame without a name has an address and mapping but no Line") {
        const auto& unknown = d.locations.at(d.samples[1].location_ids[0]);
        CHECK(unknown.address == 0x7f0000001234);
        CHECK(unknown.mapping_id == 2);
        CHECK(unknown.lines.empty());
    }
    SUBCASE("functions are shared by call sites and carry a system name") {
        CHECK(d.locations.size() == 5);  // folded chain, main, unknown, compute@61, compute@55
        CHECK(d.functions.size() == 4);  // push_back, helper, compute, main
        std::map<std::string, decoded::function> by_name;
        for (const auto& [id, fn] : d.functions) by_name[fn.name] = fn;
        CHECK(by_name.at("helper(int)").system_name == "_Z6helperi");
        CHECK(by_name.at("compute()").system_name == "compute()");
        CHECK(by_name.at("compute()").file == "src/compute.cpp");
        const auto& s1 = d.samples[1];
        const auto& site61 = d.locations.at(s1.location_ids[1]);
        const auto& site55 = d.locations.at(d.samples[2].location_ids[0]);
        CHECK(site61.lines.at(0).line == 61);
        CHECK(site61.lines.at(0).function_id == site55.lines.at(0).function_id);
    }
    SUBCASE("samples: values, stacks and labels") {
        CHECK(d.samples[0].values == std::vector<std::int64_t>{1, 64, 1, 64});
        CHECK(d.stack_names(d.samples[0]) ==
              std::vector<std::string>{"std::vector<int, std::allocator<int> >::push_back(int const&)",
                                       "helper(int)", "compute()", "main"});
        CHECK(d.stack_names(d.samples[1]) == std::vector<std::string>{"?", "compute()", "main"});
        REQUIRE(d.samples[0].labels.size() == 2);
        CHECK(d.samples[0].labels[0] == label{"thread", "main", 0, ""});
        CHECK(d.samples[0].labels[1] == label{"bytes", "", 64, "bytes"});
        REQUIRE(d.samples[2].labels.size() == 1);
        CHECK(d.samples[2].labels[0] == label{"request_id", "", 77, ""});
        CHECK(d.samples[3].labels.empty());
    }
    SUBCASE("the bytes are deterministic") {
        CHECK(cpprof::encode_pprof(rich_profile()) == bytes);
        CHECK(cpprof::encode_pprof(p) == bytes);
    }
}

TEST_CASE("default_sample_type is written only when it is not the last sample type") {
    profile p({{"alloc_space", "bytes"}, {"inuse_space", "bytes"}});
    CHECK_FALSE(decode(cpprof::encode_pprof(p)).has_default_sample_type);  // unset: last
    p.set_default_sample_index(1);
    CHECK_FALSE(decode(cpprof::encode_pprof(p)).has_default_sample_type);  // set to the last
    p.set_default_sample_index(0);
    const decoded d = decode(cpprof::encode_pprof(p));
    CHECK(d.has_default_sample_type);
    CHECK(d.default_sample_type == "alloc_space");
}

TEST_CASE("frames fold only into a caller at the same address and mapping") {
    profile p(std::vector<value_type>{{"samples", "count"}});
    frame inl;
    inl.address = 0x1000;
    inl.function = "inlined_callee";
    inl.inlined = true;
    frame caller = inl;
    caller.function = "caller";
    caller.inlined = false;
    frame elsewhere = caller;  // inconsistent data: the "caller" is at another address
    elsewhere.address = 0x2000;
    frame unnamed_inl = inl;  // an inlined frame without a name contributes no Line
    unnamed_inl.function.clear();
    frame other_line = caller;  // same address, another line: a different chain
    other_line.line = 7;
    const auto i = p.intern(inl), c = p.intern(caller), e = p.intern(elsewhere), u = p.intern(unnamed_inl),
               o = p.intern(other_line);
    p.add_sample({i, c}, {1});
    p.add_sample({i, e}, {1});
    p.add_sample({u, i, c}, {1});
    p.add_sample({i}, {1});  // an inlined leaf with nothing after it stands alone
    p.add_sample({i, o}, {1});
    p.add_sample({i, o}, {1});
    p.add_sample({i, c}, {1});
    decoded d = decode(cpprof::encode_pprof(p));
    CHECK(d.errors.empty());
    REQUIRE(d.samples.size() == 7);
    CHECK(d.samples[0].location_ids.size() == 1);
    CHECK(d.stack_names(d.samples[0]) == std::vector<std::string>{"inlined_callee", "caller"});
    CHECK(d.samples[1].location_ids.size() == 2);
    CHECK(d.stack_names(d.samples[1]) == std::vector<std::string>{"inlined_callee", "caller"});
    CHECK(d.samples[2].location_ids.size() == 1);
    CHECK(d.stack_names(d.samples[2]) == std::vector<std::string>{"inlined_callee", "caller"});
    CHECK(d.samples[3].location_ids.size() == 1);
    CHECK(d.samples[3].location_ids[0] != d.samples[0].location_ids[0]);
    CHECK(d.samples[3].location_ids[0] == d.samples[1].location_ids[0]);  // {inlined_callee} alone
    // Runs that start at the same frame but continue differently are different Locations, and
    // each is reused when it comes again.
    REQUIRE(d.samples[4].location_ids.size() == 1);
    CHECK(d.samples[4].location_ids != d.samples[0].location_ids);
    CHECK(d.samples[5].location_ids == d.samples[4].location_ids);
    CHECK(d.samples[6].location_ids == d.samples[0].location_ids);
    CHECK(d.locations.at(d.samples[4].location_ids[0]).lines.at(1).line == 7);
    CHECK(d.locations.size() == 5);  // {i,c}, {i}, {e}, {u,i,c}, {i,o}
    CHECK(d.functions.size() == 2);
}

TEST_CASE("negative values and large addresses survive") {
    profile p(std::vector<value_type>{{"delta", "bytes"}});
    frame f;
    f.address = 0xffffffffff600000ull;
    f.function = "f";
    p.add_sample({p.intern(f)}, {-12345});
    const decoded d = decode(cpprof::encode_pprof(p));
    REQUIRE(d.samples.size() == 1);
    CHECK(d.samples[0].values == std::vector<std::int64_t>{-12345});
    CHECK(d.locations.at(1).address == 0xffffffffff600000ull);
}

TEST_CASE("a profile the reader would reject is refused with a clear error") {
    profile p({{"samples", "count"}, {"cpu", "nanoseconds"}});
    frame f;
    f.function = "f";
    const auto id = p.intern(f);
    p.add_sample({id}, {1, 2});
    p.add_sample({id}, {1});  // one value for two sample types
    CHECK_THROWS_WITH_AS(cpprof::encode_pprof(p),
                         "cpprof: pprof: sample 1 has 1 values but the profile has 2 sample types",
                         cpprof::error);

    profile q(std::vector<value_type>{{"samples", "count"}});
    q.add_sample({7}, {1});  // no frame 7 in the table
    CHECK_THROWS_WITH_AS(cpprof::encode_pprof(q),
                         "cpprof: pprof: sample 0 refers to frame id 7 but the profile has only 0 frames",
                         cpprof::error);
}

TEST_CASE("write_pprof to a stream: gzip by default, raw on request") {
    const profile p = rich_profile();
    const std::string raw = cpprof::encode_pprof(p);
    std::ostringstream gz_out, raw_out;
    cpprof::write_pprof(p, gz_out);
    cpprof::write_pprof(p, raw_out, false);
    CHECK(raw_out.str() == raw);
    CHECK(gz_out.str() == cpprof::detail::gzip_compress(raw, cpprof::detail::pprof_gzip_level));
    CHECK(hex(gz_out.str().substr(0, 3)) == "1f 8b 08");

    std::ostringstream failed;
    failed.setstate(std::ios::badbit);
    CHECK_THROWS_WITH_AS(cpprof::write_pprof(p, failed),
                         "cpprof: writing the pprof profile to the output stream failed", cpprof::error);
}

TEST_CASE("write_pprof to a path: gzip for .gz, raw otherwise, errors name the file") {
    cpprof_test::temp_dir dir;
    const profile p = rich_profile();
    const std::string raw = cpprof::encode_pprof(p);
    cpprof::write_pprof(p, dir / "heap.pb");
    cpprof::write_pprof(p, dir / "heap.pb.gz");
    CHECK(cpprof_test::read_file(dir / "heap.pb") == raw);
    const std::string gz = cpprof_test::read_file(dir / "heap.pb.gz");
    CHECK(hex(gz.substr(0, 3)) == "1f 8b 08");
    const auto unzipped = cpprof_test::run("gzip -dc " + cpprof_test::shell_quote(dir / "heap.pb.gz"));
    CHECK(unzipped.exit_code == 0);
    CHECK(unzipped.out == raw);

    // Overwrites an existing file.
    cpprof::write_pprof(worked_example(), dir / "heap.pb");
    CHECK(cpprof_test::read_file(dir / "heap.pb").size() == 95);

    const std::string missing = dir / "no/such/dir/cpu.pb.gz";
    CHECK_THROWS_WITH_AS(cpprof::write_pprof(p, missing),
                         ("cpprof: cannot open '" + missing +
                          "' to write the pprof profile: No such file or directory").c_str(),
                         cpprof::error);
    CHECK_THROWS_WITH_AS(cpprof::write_pprof(p, dir.path()),
                         ("cpprof: cannot open '" + dir.path() +
                          "' to write the pprof profile: Is a directory").c_str(),
                         cpprof::error);
    if (cpprof_test::run("test -w /dev/full").exit_code == 0) {
        CHECK_THROWS_WITH_AS(cpprof::write_pprof(p, std::string("/dev/full")),
                             "cpprof: cannot write the pprof profile to '/dev/full': No space left on device",
                             cpprof::error);
    }
}

// ---- go tool pprof reads what we wrote ----------------------------------------------------

TEST_CASE("go tool pprof reads the worked example") {
    REQUIRE_GO_TOOL_PPROF();
    cpprof_test::go_pprof pprof;
    cpprof::write_pprof(worked_example(), pprof.file("example.pb"));
    const std::string raw = pprof.run("-raw", pprof.file("example.pb"));
    CHECK(contains(raw, "PeriodType: cpu nanoseconds"));
    CHECK(contains(raw, "Period: 10000000"));
    CHECK(contains(raw, "samples/count cpu/nanoseconds"));
    CHECK(contains(raw, "          1   10000000: 1 \n"));
    CHECK(contains(raw, "     1: 0x0 M=1 main :42 s=0\n"));
}

TEST_CASE("go tool pprof reads names, counts, labels, stacks, inlined Lines and mappings") {
    REQUIRE_GO_TOOL_PPROF();
    cpprof_test::go_pprof pprof;
    const std::string file = pprof.file("heap.pb.gz");
    cpprof::write_pprof(rich_profile(), file);

    const std::string raw = pprof.run("-symbolize=none -raw", file);
    CHECK(contains(raw, "Comment: built by test_pprof\n"));
    CHECK(contains(raw, "Comment: cpprof: 5 samples lost (3 sample store full, 2 unwind failed)\n"));
    CHECK(contains(raw, "Comment: cpprof: 7 stacks truncated at the maximum depth\n"));
    CHECK(contains(raw, "PeriodType: space bytes\n"));
    CHECK(contains(raw, "Period: 524288\n"));
    CHECK(contains(raw, "Time: 2023-11-14 22:13:20 +0000 UTC\n"));
    CHECK(contains(raw, "Duration: 2.5s\n"));
    // [dflt] marks default_sample_type.
    CHECK(contains(raw, "alloc_objects/count alloc_space/bytes[dflt] inuse_objects/count inuse_space/bytes\n"));
    CHECK(contains(raw, "          1         64          1         64: 1 2 \n"
                        "                thread:[main]\n"
                        "                bytes:[64 bytes]\n"));
    CHECK(contains(raw, "          2        256          0          0: 3 4 2 \n"
                        "                thread:[worker]\n"));
    CHECK(contains(raw, "          5        500          5        500: 5 2 \n"
                        "                request_id:[77]\n"));
    // Location 1: three Lines, innermost first. pprof prints the system name in parentheses
    // when it differs from the (simplified) name.
    CHECK(contains(raw, "     1: 0x401234 M=1 std::vector<int, std::allocator<int> >::push_back(int const&) "
                        "/usr/include/c++/12/bits/stl_vector.h:1287 s=0\n"));
    CHECK(contains(raw, "             helper(int) src/helper.h:12 s=0(_Z6helperi)\n"
                        "             compute() src/compute.cpp:55 s=0\n"
                        "     2: 0x400100 M=1 main src/main.cpp:9 s=0\n"
                        "     3: 0x7f0000001234 M=2 \n"
                        "     4: 0x401300 M=1 compute() src/compute.cpp:61 s=0\n"
                        "     5: 0x401234 M=1 compute() src/compute.cpp:55 s=0\n"));
    CHECK(contains(raw, "1: 0x400000/0x500000/0x1000 /opt/app/bin/server abcdef0123456789 [FN]\n"));
    CHECK(contains(raw, "2: 0x7f0000000000/0x7f0000100000/0x0 /nonexistent/libfoo.so  \n"));

    const std::string traces = pprof.run("-symbolize=none -traces", file);
    CHECK(contains(traces, "Type: alloc_space\n"));
    CHECK(contains(traces, "    thread:  main\n"
                           "     bytes:  64B\n"
                           "       64B   std::vector<int, std::allocator<int> >::push_back(int const&) (inline)\n"
                           "             helper(int) (inline)\n"
                           "             compute()\n"
                           "             main\n"));
    CHECK(contains(traces, "    thread:  worker\n"
                           "      256B   [libfoo.so]\n"
                           "             compute()\n"
                           "             main\n"));

    const std::string top = pprof.run("-symbolize=none -top -sample_index=inuse_space", file);
    CHECK(contains(top, "Type: inuse_space\n"));
    CHECK(contains(top, "Total samples = 564B"));
    CHECK(contains(top, "      500B 88.65% 88.65%       564B   100%  compute()\n"));

    const std::string tags = pprof.run("-symbolize=none -tags", file);
    CHECK(contains(tags, " thread: Total 320.0B\n"));
    CHECK(contains(tags, "256.0B (80.00%): worker\n"));
    CHECK(contains(tags, " bytes: Total 64.0B\n"));

    const std::string comments = pprof.run("-symbolize=none -comments", file);
    CHECK(comments == "built by test_pprof\n"
                      "cpprof: 5 samples lost (3 sample store full, 2 unwind failed)\n"
                      "cpprof: 7 stacks truncated at the maximum depth\n");
}

TEST_CASE("go tool pprof gives the same report for the raw and the gzip file") {
    REQUIRE_GO_TOOL_PPROF();
    cpprof_test::go_pprof pprof;
    const profile p = cpprof_test::synthetic_profile(3000);
    cpprof::write_pprof(p, pprof.file("cpu.pb"));
    cpprof::write_pprof(p, pprof.file("cpu.pb.gz"));
    const std::string raw = pprof.run("-symbolize=none -raw", pprof.file("cpu.pb"));
    const std::string gz = pprof.run("-symbolize=none -raw", pprof.file("cpu.pb.gz"));
    CHECK(raw == gz);
    const std::string top =
        pprof.run("-symbolize=none -sample_index=samples -top -nodecount=3", pprof.file("cpu.pb.gz"));
    CHECK(contains(top, "Total samples = " + std::to_string(p.total(0)) + " \n"));
    CHECK(contains(top, "File: server\n"));
    CHECK(contains(top, "Build ID: 5f0c7a3d9e2b41c68a1f0e9d7c6b5a4938271605\n"));
}

TEST_CASE("go tool pprof accepts empty profiles") {
    REQUIRE_GO_TOOL_PPROF();
    cpprof_test::go_pprof pprof;
    // Sample types but no samples: a valid, empty report.
    profile no_samples({{"samples", "count"}, {"cpu", "nanoseconds"}});
    no_samples.set_period({"cpu", "nanoseconds"}, 10000000);
    cpprof::write_pprof(no_samples, pprof.file("empty.pb.gz"));
    const std::string raw = pprof.run("-raw", pprof.file("empty.pb.gz"));
    CHECK(contains(raw, "samples/count cpu/nanoseconds\n"));
    const std::string top = pprof.run("-top", pprof.file("empty.pb.gz"));
    CHECK(contains(top, "Showing nodes accounting for 0, 0% of 0 total"));

    // Nothing at all: pprof parses it and says there is nothing to show (its exit code is 1
    // for "no samples", but it is not a parse error).
    cpprof::write_pprof(profile{}, pprof.file("nothing.pb.gz"));
    const std::string nothing = pprof.run("-top", pprof.file("nothing.pb.gz"), 1);
    CHECK(contains(nothing, "profile has no samples"));
    CHECK_FALSE(contains(nothing, "parsing profile"));
    CHECK_FALSE(contains(nothing, "malformed"));
}

// At global scope: addr2line does not name an extern "C" function inside an unnamed namespace.
extern "C" __attribute__((noinline)) int cpprof_test_symbolize_me(int x);
extern "C" __attribute__((noinline)) int cpprof_test_symbolize_me(int x) {
    // Something the optimizer cannot fold away, so the function keeps a body of its own.
    static volatile int sink;
    sink = x * 3 + 1;
    return sink;
}

TEST_CASE("go tool pprof names an unnamed frame from the binary through its mapping") {
    REQUIRE_GO_TOOL_PPROF();
    // The frame has only an address and the mapping of this test executable, as a frame the
    // symbolizer could not name would; pprof must find the function in the ELF file.
    const auto address = reinterpret_cast<std::uint64_t>(&cpprof_test_symbolize_me) + 1;
    REQUIRE(cpprof_test_symbolize_me(1) == 4);
    mapping m;
    std::ifstream maps("/proc/self/maps");
    std::string line;
    while (std::getline(maps, line)) {
        unsigned long lo = 0, hi = 0, offset = 0;
        char perms[5] = {};
        char path[4096] = {};
        if (std::sscanf(line.c_str(), "%lx-%lx %4s %lx %*s %*s %4095s", &lo, &hi, perms, &offset, path) < 5)
            continue;
        if (address >= lo && address < hi) {
            m.memory_start = lo;
            m.memory_limit = hi;
            m.file_offset = offset;
            m.filename = path;
        }
    }
    REQUIRE_MESSAGE(!m.filename.empty(), "no file mapping in /proc/self/maps holds the test function");
    profile p(std::vector<value_type>{{"samples", "count"}});
    const std::size_t mi = p.add_mapping(m);
    frame f;
    f.address = address;
    f.mapping = mi;
    p.add_sample({p.intern(f)}, {3});

    cpprof_test::go_pprof pprof;
    cpprof::write_pprof(p, pprof.file("unnamed.pb.gz"));
    const std::string traces = pprof.run("-symbolize=local -traces", pprof.file("unnamed.pb.gz"));
    CHECK(contains(traces, "         3   cpprof_test_symbolize_me\n"));
}

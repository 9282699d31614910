// OTLP/HTTP protobuf encoders: every body is decoded by OpenTelemetry's own code under node
// (tests/otlp/decode.cjs, see support/otlp_decode.hpp) and checked field by field against the
// profile it came from: names, values, ids, units, temporality, resource and scope.
#include <cpprof/export/otlp_encode.hpp>
#include <cpprof/version.hpp>

#include <doctest/doctest.h>

#include "support/json.hpp"
#include "support/otlp_decode.hpp"
#include "support/stack_builder.hpp"

#include <cstdint>
#include <cstdlib>
#include <map>
#include <set>
#include <string>
#include <vector>

namespace {

namespace json = cpprof_test::json;
namespace otlp = cpprof::otlp;
using cpprof::label;
using cpprof_test::builder;
using cpprof_test::otlp::attr_int;
using cpprof_test::otlp::attr_str;

constexpr std::int64_t t0 = 1700000000000000000;  // profile start
constexpr std::int64_t dur = 2000000000;          // 2 s

label str_label(const std::string& k, const std::string& v) { return label{k, v, 0, {}}; }

/// samples/count + cpu/nanoseconds: main->work->compute x5 (3 of them in span A),
/// main->work x2, main->parse x3 (in span B).
cpprof::profile cpu_profile() {
    builder b({{"samples", "count"}, {"cpu", "nanoseconds"}});
    const auto main_ = b.fn("main", 10), work = b.fn("work", 20), compute = b.fn("compute(int)", 30),
               parse = b.fn("parse", 40);
    const std::string trace_a = "0af7651916cd43dd8448eb211c80319c", span_a = "b7ad6b7169203331";
    const std::string span_b = "00f067aa0ba902b7";
    b.add({main_, work, compute}, {3, 30000000},
          {str_label("thread", "main"), str_label("span_id", span_a), str_label("trace_id", trace_a)});
    b.add({main_, work, compute}, {2, 20000000}, {str_label("thread", "main")});
    b.add({main_, work}, {2, 20000000}, {str_label("thread", "worker")});
    b.add({main_, parse}, {3, 30000000},
          {str_label("thread", "main"), str_label("span_id", span_b), str_label("trace_id", trace_a)});
    b.p.set_time_nanos(t0);
    b.p.set_duration_nanos(dur);
    b.p.set_period({"cpu", "nanoseconds"}, 10000000);
    return b.p;
}

otlp::encode_options options() {
    otlp::encode_options o;
    o.service_name = "checkout";
    o.resource_attributes = {{"deployment.environment.name", "test"}};
    return o;
}

void check_resource_and_scope(const json::value& resource, const json::value& scope) {
    CHECK(attr_str(resource["attributes"], "service.name") == "checkout");
    CHECK(attr_str(resource["attributes"], "deployment.environment.name") == "test");
    CHECK(resource["attributes"].size() == 2);
    CHECK(scope["name"].str() == "cpprof");
    CHECK(scope["version"].str() == CPPROF_VERSION_STRING);
}

double number(const json::value& v) {
    REQUIRE(v.is_number());
    return std::strtod(v.text.c_str(), nullptr);
}

}  // namespace

TEST_CASE("otlp: ids parse and print as lowercase hex, random ones are valid and distinct") {
    const auto t = otlp::trace_id::from_hex("0AF7651916CD43DD8448EB211C80319C");
    CHECK(t.hex() == "0af7651916cd43dd8448eb211c80319c");
    CHECK(otlp::span_id::from_hex("b7ad6b7169203331").hex() == "b7ad6b7169203331");
    CHECK_THROWS_AS(otlp::trace_id::from_hex("0af7"), cpprof::error);
    CHECK_THROWS_AS(otlp::span_id::from_hex("0000000000000000"), cpprof::error);
    CHECK_THROWS_AS(otlp::span_id::from_hex("b7ad6b716920333g"), cpprof::error);
    std::set<std::string> seen;
    for (int i = 0; i < 100; ++i) {
        const auto s = otlp::span_id::random();
        CHECK(s.valid());
        seen.insert(s.hex());
    }
    CHECK(seen.size() == 100);
    CHECK(otlp::trace_id::random() != otlp::trace_id::random());
}

TEST_CASE("otlp: metrics request as OpenTelemetry's generated code reads it") {
    if (!cpprof_test::otlp::decoder_available()) return;
    const cpprof::profile p = cpu_profile();
    const otlp::samples_counter counter{1234, static_cast<std::uint64_t>(t0 - 5000000000)};
    const json::value d = cpprof_test::otlp::decode("metrics", otlp::encode_metrics(p, options(), counter));
    CHECK(d["type"].str() == "ExportMetricsServiceRequest");
    MESSAGE("decoder: " << d["decoder"].str());
    const json::value& rms = d["message"]["resourceMetrics"];
    REQUIRE(rms.size() == 1);
    REQUIRE(rms[0]["scopeMetrics"].size() == 1);
    const json::value& sm = rms[0]["scopeMetrics"][0];
    check_resource_and_scope(rms[0]["resource"], sm["scope"]);
    const json::value& metrics = sm["metrics"];
    REQUIRE(metrics.size() == 2);

    // profiling_samples_total: monotonic cumulative sum of the counter
    const json::value& total = metrics[0];
    CHECK(total["name"].str() == "profiling_samples_total");
    CHECK(total["unit"].str() == "{sample}");
    CHECK_FALSE(total.has("gauge"));
    const json::value& sum = total["sum"];
    CHECK(sum["aggregationTemporality"].as_int() == 2);  // CUMULATIVE
    CHECK(sum["isMonotonic"].b);
    REQUIRE(sum["dataPoints"].size() == 1);
    const json::value& pt = sum["dataPoints"][0];
    CHECK(pt["asInt"].str() == "1234");
    CHECK(pt["startTimeUnixNano"].str() == std::to_string(t0 - 5000000000));
    CHECK(pt["timeUnixNano"].str() == std::to_string(t0 + dur));
    CHECK_FALSE(pt.has("asDouble"));

    // profiling_function_cpu_time_ratio: one gauge point per top function, by self CPU time
    const json::value& ratio = metrics[1];
    CHECK(ratio["name"].str() == "profiling_function_cpu_time_ratio");
    CHECK(ratio["unit"].str() == "1");
    CHECK_FALSE(ratio.has("sum"));
    const json::value& points = ratio["gauge"]["dataPoints"];
    // compute(int), parse, work; main has no self time and no point
    REQUIRE(points.size() == 3);
    std::map<std::string, double> got;
    for (const auto& q : points.items) {
        REQUIRE(q["attributes"].size() == 1);
        CHECK(q["timeUnixNano"].str() == std::to_string(t0 + dur));
        got[attr_str(q["attributes"], "function")] = number(q["asDouble"]);
    }
    CHECK(got["compute(int)"] == doctest::Approx(0.5));
    CHECK(got["parse"] == doctest::Approx(0.3));
    CHECK(got["work"] == doctest::Approx(0.2));
    CHECK(attr_str(points[0]["attributes"], "function") == "compute(int)");  // highest first
}

TEST_CASE("otlp: metrics of a profile alone count its own samples from its start") {
    if (!cpprof_test::otlp::decoder_available()) return;
    otlp::encode_options o = options();
    o.top_functions = 1;
    const json::value d = cpprof_test::otlp::decode("metrics", otlp::encode_metrics(cpu_profile(), o));
    const json::value& metrics = d["message"]["resourceMetrics"][0]["scopeMetrics"][0]["metrics"];
    const json::value& pt = metrics[0]["sum"]["dataPoints"][0];
    CHECK(pt["asInt"].str() == "10");
    CHECK(pt["startTimeUnixNano"].str() == std::to_string(t0));
    CHECK(metrics[1]["gauge"]["dataPoints"].size() == 1);

    // A heap profile has no CPU column: only the counter goes out, and a zero count still does.
    builder heap(std::vector<cpprof::value_type>{{"inuse_space", "bytes"}});
    heap.add({heap.fn("main"), heap.fn("alloc")}, {4096});
    const json::value h = cpprof_test::otlp::decode("metrics", otlp::encode_metrics(heap.p, o, otlp::samples_counter{0, 1}));
    const json::value& hm = h["message"]["resourceMetrics"][0]["scopeMetrics"][0]["metrics"];
    REQUIRE(hm.size() == 1);
    CHECK(hm[0]["name"].str() == "profiling_samples_total");
    CHECK(hm[0]["sum"]["dataPoints"][0]["asInt"].str() == "0");  // oneof written even at 0
}

TEST_CASE("otlp: traces request as OpenTelemetry's generated code reads it") {
    if (!cpprof_test::otlp::decoder_available()) return;
    otlp::span_data root;
    root.trace = otlp::trace_id::from_hex("0af7651916cd43dd8448eb211c80319c");
    root.id = otlp::span_id::from_hex("b7ad6b7169203331");
    root.name = "expensive_operation";
    root.start_unix_nano = static_cast<std::uint64_t>(t0);
    root.end_unix_nano = static_cast<std::uint64_t>(t0 + dur);
    root.attributes = {otlp::attribute::of("profiling.samples", std::int64_t{5}),
                       otlp::attribute::of("profiling.hotspot", "compute(int)"),
                       otlp::attribute::of("ratio", 0.25), otlp::attribute::of("flag", true)};
    otlp::span_data child = root;
    child.id = otlp::span_id::from_hex("00f067aa0ba902b7");
    child.parent = root.id;
    child.name = "child";
    child.attributes.clear();

    const json::value d = cpprof_test::otlp::decode("traces", otlp::encode_traces({root, child}, options()));
    CHECK(d["type"].str() == "ExportTraceServiceRequest");
    MESSAGE("decoder: " << d["decoder"].str());
    const json::value& rs = d["message"]["resourceSpans"];
    REQUIRE(rs.size() == 1);
    const json::value& ss = rs[0]["scopeSpans"][0];
    check_resource_and_scope(rs[0]["resource"], ss["scope"]);
    REQUIRE(ss["spans"].size() == 2);
    const json::value& s = ss["spans"][0];
    CHECK(s["traceId"].str() == "0af7651916cd43dd8448eb211c80319c");
    CHECK(s["spanId"].str() == "b7ad6b7169203331");
    CHECK_FALSE(s.has("parentSpanId"));
    CHECK(s["name"].str() == "expensive_operation");
    CHECK(s["kind"].as_int() == 1);  // INTERNAL
    CHECK(s["startTimeUnixNano"].str() == std::to_string(t0));
    CHECK(s["endTimeUnixNano"].str() == std::to_string(t0 + dur));
    CHECK(s["flags"].as_int() == 1);
    CHECK(attr_int(s["attributes"], "profiling.samples") == "5");
    CHECK(attr_str(s["attributes"], "profiling.hotspot") == "compute(int)");
    CHECK(s["attributes"][2]["value"]["doubleValue"].text == "0.25");
    CHECK(s["attributes"][3]["value"]["boolValue"].b);
    const json::value& c = ss["spans"][1];
    CHECK(c["parentSpanId"].str() == "b7ad6b7169203331");
    CHECK(c["spanId"].str() == "00f067aa0ba902b7");
    CHECK(c["traceId"].str() == "0af7651916cd43dd8448eb211c80319c");

    otlp::span_data bad = root;
    bad.name.clear();
    CHECK_THROWS_AS(otlp::encode_traces({bad}), cpprof::error);
    bad = root;
    bad.id = otlp::span_id{};
    CHECK_THROWS_AS(otlp::encode_traces({bad}), cpprof::error);
}

namespace {

/// A decoded profiles request, resolved back into names.
struct resolved_profiles {
    const json::value* dict = nullptr;
    std::vector<std::string> strings;

    std::string str(const json::value& obj, const char* field) const {
        if (!obj.has(field)) return "";
        const auto i = static_cast<std::size_t>(obj[field].as_int());
        REQUIRE(i < strings.size());
        return strings[i];
    }
    /// Function names of stack `index`, root first, joined with ';' (folded style).
    std::string stack(std::int64_t index) const {
        const json::value& stacks = (*dict)["stackTable"];
        REQUIRE(index > 0);
        REQUIRE(static_cast<std::size_t>(index) < stacks.size());
        std::vector<std::string> names;  // leaf first
        for (const auto& li : stacks[static_cast<std::size_t>(index)]["locationIndices"].items) {
            const json::value& loc = (*dict)["locationTable"][static_cast<std::size_t>(li.as_int())];
            for (const auto& line : loc["lines"].items) {
                const json::value& fn = (*dict)["functionTable"][static_cast<std::size_t>(line["functionIndex"].as_int())];
                names.push_back(str(fn, "nameStrindex") + ":" + line["line"].text);
            }
        }
        std::string out;
        for (auto it = names.rbegin(); it != names.rend(); ++it) out += (out.empty() ? "" : ";") + *it;
        return out;
    }
};

}  // namespace

TEST_CASE("otlp: profiles request (v1development, v1.11.0 layout) with links from span labels") {
    if (!cpprof_test::otlp::decoder_available()) return;
    cpprof::profile p = cpu_profile();
    // An inlined frame folds into its caller's Location, with two Lines, as in pprof.
    {
        const std::size_t m = p.add_mapping(cpprof::mapping{0x400000, 0x500000, 0, "/usr/bin/app", "abcdef0123", true});
        cpprof::frame inl;
        inl.function = "inlined_helper";
        inl.line = 7;
        inl.address = 0x401000;
        inl.mapping = m;
        inl.inlined = true;
        cpprof::frame site = inl;
        site.function = "caller";
        site.line = 77;
        site.inlined = false;
        const auto a = p.intern(inl), b = p.intern(site);
        p.add_sample({a, b}, {1, 10000000}, {label{"thread_id", {}, 42, {}}});
    }
    const json::value d = cpprof_test::otlp::decode("profiles", otlp::encode_profiles(p, options()));
    MESSAGE("decoder: " << d["decoder"].str());
    CHECK(d["type"].str() == "ExportProfilesServiceRequest");
    const json::value& m = d["message"];
    const json::value& dict = m["dictionary"];
    resolved_profiles r;
    r.dict = &dict;
    for (const auto& s : dict["stringTable"].items) r.strings.push_back(s.str());

    // Table 0 of every table is the zero value.
    REQUIRE(!r.strings.empty());
    CHECK(r.strings[0].empty());
    CHECK(dict["mappingTable"][0].size() == 0);
    CHECK(dict["locationTable"][0].size() == 0);
    CHECK(dict["functionTable"][0].size() == 0);
    CHECK(dict["attributeTable"][0].size() == 0);
    CHECK(dict["stackTable"][0].size() == 0);
    CHECK(dict["linkTable"][0]["traceId"].str() == std::string(32, '0'));
    CHECK(dict["linkTable"][0]["spanId"].str() == std::string(16, '0'));
    // No duplicates in the string table.
    CHECK(std::set<std::string>(r.strings.begin(), r.strings.end()).size() == r.strings.size());

    const json::value& rp = m["resourceProfiles"];
    REQUIRE(rp.size() == 1);
    const json::value& sp = rp[0]["scopeProfiles"][0];
    check_resource_and_scope(rp[0]["resource"], sp["scope"]);
    const json::value& profiles = sp["profiles"];
    REQUIRE(profiles.size() == 2);  // one per sample type

    const char* expected_types[2][2] = {{"samples", "count"}, {"cpu", "nanoseconds"}};
    std::set<std::string> profile_ids;
    for (std::size_t t = 0; t < 2; ++t) {
        const json::value& prof = profiles[t];
        CHECK(r.str(prof["sampleType"], "typeStrindex") == expected_types[t][0]);
        CHECK(r.str(prof["sampleType"], "unitStrindex") == expected_types[t][1]);
        CHECK(prof["timeUnixNano"].str() == std::to_string(t0));
        CHECK(prof["durationNano"].str() == std::to_string(dur));
        CHECK(r.str(prof["periodType"], "typeStrindex") == "cpu");
        CHECK(r.str(prof["periodType"], "unitStrindex") == "nanoseconds");
        CHECK(prof["period"].str() == "10000000");
        CHECK(prof["profileId"].str().size() == 32);
        profile_ids.insert(prof["profileId"].str());

        // stack + attributes + span link -> value
        std::map<std::string, std::int64_t> got;
        for (const auto& s : prof["samples"].items) {
            std::string key = r.stack(s["stackIndex"].as_int());
            std::vector<std::string> attrs;
            if (s.has("attributeIndices")) {
                for (const auto& ai : s["attributeIndices"].items) {
                    const json::value& a = dict["attributeTable"][static_cast<std::size_t>(ai.as_int())];
                    const json::value& v = a["value"];
                    attrs.push_back(r.str(a, "keyStrindex") + "=" +
                                    (v.has("stringValue") ? v["stringValue"].str() : v["intValue"].str()));
                }
            }
            for (const auto& a : attrs) key += " " + a;
            if (s.has("linkIndex")) {
                const json::value& l = dict["linkTable"][static_cast<std::size_t>(s["linkIndex"].as_int())];
                key += " link=" + l["traceId"].str() + "/" + l["spanId"].str();
            }
            REQUIRE(s["values"].size() == 1);
            CHECK_FALSE(s.has("timestampsUnixNano"));
            got[key] += std::stoll(s["values"][0].str());
        }
        const std::int64_t k = t == 0 ? 1 : 10000000;
        const std::string link_a = " link=0af7651916cd43dd8448eb211c80319c/b7ad6b7169203331";
        const std::string link_b = " link=0af7651916cd43dd8448eb211c80319c/00f067aa0ba902b7";
        const std::map<std::string, std::int64_t> expected = {
            {"main:10;work:20;compute(int):30 thread=main" + link_a, 3 * k},
            {"main:10;work:20;compute(int):30 thread=main", 2 * k},
            {"main:10;work:20 thread=worker", 2 * k},
            {"main:10;parse:40 thread=main" + link_b, 3 * k},
            {"caller:77;inlined_helper:7 thread_id=42", 1 * k},
        };
        CHECK(got == expected);
    }
    CHECK(profile_ids.size() == 2);

    // The inlined run is one Location with two Lines (leaf first), in the mapping with its build id.
    bool found = false;
    for (const auto& loc : dict["locationTable"].items) {
        if (!loc.has("lines") || loc["lines"].size() != 2) continue;
        found = true;
        CHECK(loc["address"].str() == std::to_string(0x401000));
        const json::value& map = dict["mappingTable"][static_cast<std::size_t>(loc["mappingIndex"].as_int())];
        CHECK(r.str(map, "filenameStrindex") == "/usr/bin/app");
        CHECK(map["memoryStart"].str() == std::to_string(0x400000));
        CHECK(map["memoryLimit"].str() == std::to_string(0x500000));
        REQUIRE(map["attributeIndices"].size() == 1);
        const json::value& a = dict["attributeTable"][static_cast<std::size_t>(map["attributeIndices"][0].as_int())];
        CHECK(r.str(a, "keyStrindex") == "process.executable.build_id.gnu");
        CHECK(a["value"]["stringValue"].str() == "abcdef0123");
    }
    CHECK(found);
}

TEST_CASE("otlp: profiles keep malformed span labels as attributes and reject bad samples") {
    if (!cpprof_test::otlp::decoder_available()) return;
    builder b;
    b.add({b.fn("main"), b.fn("f")}, {4}, {str_label("span_id", "not-hex"), str_label("trace_id", "0af7651916cd43dd8448eb211c80319c")});
    const json::value d = cpprof_test::otlp::decode("profiles", otlp::encode_profiles(b.p));
    const json::value& prof = d["message"]["resourceProfiles"][0]["scopeProfiles"][0]["profiles"][0];
    REQUIRE(prof["samples"].size() == 1);
    CHECK_FALSE(prof["samples"][0].has("linkIndex"));
    CHECK(prof["samples"][0]["attributeIndices"].size() == 2);
    CHECK(d["message"]["dictionary"]["linkTable"].size() == 1);  // just the zero link
    CHECK(attr_str(d["message"]["resourceProfiles"][0]["resource"]["attributes"], "service.name") == "unknown_service");

    b.p.add_sample({0}, {1, 2});
    CHECK_THROWS_AS(otlp::encode_profiles(b.p), cpprof::error);
}

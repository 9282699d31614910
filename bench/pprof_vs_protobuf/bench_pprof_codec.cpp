// pprof encode and decode: cpprof's own protobuf code vs the C++ code protoc generates from
// pprof's profile.proto (libprotobuf), on the same profile, in one run.
//
// The profile: cpprof_test::synthetic_profile (tests/support): C++ names, a call tree with shared
// prefixes, several call sites per function, some inlined frames (Locations with two Lines),
// two mappings, two values and two labels (thread name, thread id) per sample. The argument is
// the number of samples; the counters say what it makes (locations, functions, strings, bytes).
//
// What is timed, every throughput in MB/s of the same uncompressed pprof message:
//   encode/cpprof                cpprof::encode_pprof(profile): the raw protobuf, no gzip
//                                (write_pprof = this + gzip when the file name ends in .gz)
//   encode/protobuf_serialize    Profile::SerializeToString of an already filled message: the
//                                generated code's serializer alone
//   encode/protobuf_fill_serialize  filling a Profile from the cpprof::profile (string table,
//                                Locations with inline runs folded, Functions, Mappings, labels:
//                                what encode_pprof does, done the obvious way with the
//                                generated API), then SerializeToString: the like-for-like
//                                comparison with encode/cpprof
//   decode/cpprof                cpprof::parse_pprof(bytes): bytes -> cpprof::profile, checked
//   decode/protobuf_parse        Profile::ParseFromString into a fresh message (heap)
//   decode/protobuf_parse_arena  the same into a message on a google::protobuf::Arena
//   decode/protobuf_parse_convert   ParseFromString, then the message -> cpprof::profile with
//                                the same rules as parse_pprof (frames interned, one per Line,
//                                inline flags, mappings, labels, string indices checked): the
//                                like-for-like comparison with decode/cpprof
// Each iteration builds and destroys its result (string, message or profile) as a user's call
// would. Before any timing, setup checks that the filled message serializes to exactly the
// bytes encode_pprof writes and that both decoders give the profile back; it aborts otherwise.
//
//   tools/bench_pprof_codec.sh      builds it with protoc, runs it pinned, prints the table
#include <benchmark/benchmark.h>

#include <google/protobuf/arena.h>

#include <cpprof/input/pprof.hpp>
#include <cpprof/output/pprof.hpp>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <tuple>
#include <unordered_map>
#include <utility>
#include <vector>

#include "../../tests/support/synthetic_profile.hpp"
#include "profile.pb.h"

namespace {

namespace pb = perftools::profiles;

// ---- cpprof::profile -> Profile message (what encode_pprof does, with the generated API) -----

class message_filler {
public:
    message_filler(const cpprof::profile& p, pb::Profile& m) : p_(p), m_(m) {}

    void fill() {
        str("");
        location_of_frame_.assign(p_.frames().size(), 0);
        function_of_frame_.assign(p_.frames().size(), 0);
        for (const auto& t : p_.sample_types()) {
            pb::ValueType* v = m_.add_sample_type();
            v->set_type(str(t.type));
            v->set_unit(str(t.unit));
        }
        const std::int64_t period_type = str(p_.period_type().type);
        const std::int64_t period_unit = str(p_.period_type().unit);
        for (const auto& c : p_.comments()) m_.add_comment(str(c));
        const auto& types = p_.sample_types();
        const std::size_t def = p_.default_sample_index();
        if (!types.empty() && def != types.size() - 1) m_.set_default_sample_type(str(types[def].type));

        m_.mutable_sample()->Reserve(static_cast<int>(p_.samples().size()));
        for (const cpprof::sample& s : p_.samples()) {
            pb::Sample* out = m_.add_sample();
            auto* ids = out->mutable_location_id();
            for (std::size_t j = 0; j < s.stack.size();) {
                std::size_t run = 1;
                while (j + run < s.stack.size() && folds_into(s.stack[j + run - 1], s.stack[j + run])) ++run;
                ids->Add(location_id(s.stack.data() + j, run));
                j += run;
            }
            for (const std::int64_t v : s.values) out->add_value(v);
            for (const cpprof::label& l : s.labels) {
                pb::Label* pl = out->add_label();
                pl->set_key(str(l.key));
                if (l.is_numeric()) {
                    pl->set_num(l.num);
                    pl->set_num_unit(str(l.num_unit));
                } else {
                    pl->set_str(str(l.str));
                }
            }
        }
        for (std::size_t i = 0; i < p_.mappings().size(); ++i) {
            const cpprof::mapping& mp = p_.mappings()[i];
            pb::Mapping* out = m_.add_mapping();
            out->set_id(i + 1);
            out->set_memory_start(mp.memory_start);
            out->set_memory_limit(mp.memory_limit);
            out->set_file_offset(mp.file_offset);
            out->set_filename(str(mp.filename));
            out->set_build_id(str(mp.build_id));
            out->set_has_functions(mp.has_functions);
        }
        // The string table last: every index above was handed out as strings were met.
        m_.mutable_string_table()->Reserve(static_cast<int>(strings_.size()));
        for (const std::string_view s : strings_) m_.add_string_table(std::string(s));
        m_.set_time_nanos(p_.time_nanos());
        m_.set_duration_nanos(p_.duration_nanos());
        if (period_type != 0 || period_unit != 0) {
            m_.mutable_period_type()->set_type(period_type);
            m_.mutable_period_type()->set_unit(period_unit);
        }
        m_.set_period(p_.period());
    }

private:
    std::int64_t str(std::string_view s) {
        auto [it, added] = index_.try_emplace(s, static_cast<std::int64_t>(strings_.size()));
        if (added) strings_.push_back(s);
        return it->second;
    }

    bool folds_into(cpprof::frame_id callee, cpprof::frame_id caller) const {
        const cpprof::frame& a = p_.frame_at(callee);
        if (!a.inlined) return false;
        const cpprof::frame& b = p_.frame_at(caller);
        return a.address == b.address && a.mapping == b.mapping;
    }

    std::uint64_t location_id(const cpprof::frame_id* run, std::size_t n) {
        if (n == 1) {
            std::uint64_t& id = location_of_frame_[run[0]];
            if (id == 0) id = add_location(run, 1);
            return id;
        }
        std::vector<cpprof::frame_id> key(run, run + n);
        auto it = location_of_run_.find(key);
        if (it != location_of_run_.end()) return it->second;
        const std::uint64_t id = add_location(run, n);
        location_of_run_.emplace(std::move(key), id);
        return id;
    }

    std::uint64_t add_location(const cpprof::frame_id* run, std::size_t n) {
        pb::Location* loc = m_.add_location();
        const std::uint64_t id = static_cast<std::uint64_t>(m_.location_size());
        const cpprof::frame& site = p_.frame_at(run[n - 1]);
        loc->set_id(id);
        loc->set_mapping_id(site.mapping < p_.mappings().size() ? site.mapping + 1 : 0);
        loc->set_address(site.address);
        for (std::size_t k = 0; k < n; ++k) {
            const cpprof::frame& fr = p_.frame_at(run[k]);
            if (fr.function.empty()) continue;
            pb::Line* line = loc->add_line();
            line->set_function_id(function_id(run[k]));
            line->set_line(fr.line);
        }
        return id;
    }

    std::uint64_t function_id(cpprof::frame_id fid) {
        std::uint64_t& memo = function_of_frame_[fid];
        if (memo != 0) return memo;
        const cpprof::frame& fr = p_.frame_at(fid);
        const std::int64_t name = str(fr.function);
        const std::int64_t system_name = fr.system_name.empty() ? name : str(fr.system_name);
        const std::int64_t file = str(fr.file);
        auto [it, added] = functions_.try_emplace(std::make_tuple(name, system_name, file), 0);
        if (added) {
            pb::Function* f = m_.add_function();
            it->second = static_cast<std::uint64_t>(m_.function_size());
            f->set_id(it->second);
            f->set_name(name);
            f->set_system_name(system_name);
            f->set_filename(file);
        }
        return memo = it->second;
    }

    struct run_hash {
        std::size_t operator()(const std::vector<cpprof::frame_id>& v) const {
            std::uint64_t h = 0xcbf29ce484222325ull;
            for (cpprof::frame_id id : v) h = (h ^ id) * 0x100000001b3ull;
            return static_cast<std::size_t>(h);
        }
    };

    const cpprof::profile& p_;
    pb::Profile& m_;
    std::vector<std::string_view> strings_;
    std::unordered_map<std::string_view, std::int64_t> index_;
    std::vector<std::uint64_t> location_of_frame_;
    std::unordered_map<std::vector<cpprof::frame_id>, std::uint64_t, run_hash> location_of_run_;
    std::vector<std::uint64_t> function_of_frame_;
    using function_key = std::tuple<std::int64_t, std::int64_t, std::int64_t>;
    struct function_key_hash {
        std::size_t operator()(const function_key& k) const {
            std::uint64_t h = 0xcbf29ce484222325ull;
            for (std::int64_t v : {std::get<0>(k), std::get<1>(k), std::get<2>(k)})
                h = (h ^ static_cast<std::uint64_t>(v)) * 0x100000001b3ull;
            return static_cast<std::size_t>(h);
        }
    };
    std::unordered_map<function_key, std::uint64_t, function_key_hash> functions_;
};

void fill_message(const cpprof::profile& p, pb::Profile& m) { message_filler(p, m).fill(); }

// ---- Profile message -> cpprof::profile (parse_pprof's rules) --------------------------------

[[noreturn]] void bad(const char* what) {
    std::fprintf(stderr, "convert: %s\n", what);
    std::abort();
}

const std::string& string_at(const pb::Profile& m, std::int64_t i) {
    if (i < 0 || i >= m.string_table_size()) bad("string index out of range");
    return m.string_table(static_cast<int>(i));
}

cpprof::profile to_profile(const pb::Profile& m) {
    if (m.string_table_size() == 0 || !m.string_table(0).empty()) bad("string_table[0] must be \"\"");
    cpprof::profile p;
    std::vector<cpprof::value_type> types;
    for (const pb::ValueType& t : m.sample_type())
        types.push_back({string_at(m, t.type()), string_at(m, t.unit())});
    p.set_sample_types(std::move(types));
    p.set_period({string_at(m, m.period_type().type()), string_at(m, m.period_type().unit())}, m.period());
    p.set_time_nanos(m.time_nanos());
    p.set_duration_nanos(m.duration_nanos());
    for (const std::int64_t c : m.comment()) p.add_comment(string_at(m, c));
    if (m.default_sample_type() != 0) {
        const std::size_t i = p.sample_index(string_at(m, m.default_sample_type()));
        if (i != static_cast<std::size_t>(-1)) p.set_default_sample_index(i);
    }

    std::unordered_map<std::uint64_t, std::size_t> mapping_index;
    for (const pb::Mapping& mp : m.mapping()) {
        cpprof::mapping out;
        out.memory_start = mp.memory_start();
        out.memory_limit = mp.memory_limit();
        out.file_offset = mp.file_offset();
        out.filename = string_at(m, mp.filename());
        out.build_id = string_at(m, mp.build_id());
        out.has_functions = mp.has_functions();
        if (mp.id() == 0 || !mapping_index.emplace(mp.id(), p.add_mapping(std::move(out))).second)
            bad("bad mapping id");
    }
    std::unordered_map<std::uint64_t, const pb::Function*> functions;
    for (const pb::Function& f : m.function()) {
        string_at(m, f.name());
        string_at(m, f.system_name());
        string_at(m, f.filename());
        if (f.id() == 0 || !functions.emplace(f.id(), &f).second) bad("bad function id");
    }
    // Locations by id: a dense table when ids are 1..N, as parse_pprof does.
    std::vector<int> location_at;
    std::unordered_map<std::uint64_t, int> location_index;
    for (int i = 0; i < m.location_size(); ++i) {
        const pb::Location& loc = m.location(i);
        if (loc.id() == 0 || !location_index.emplace(loc.id(), i).second) bad("bad location id");
        for (const pb::Line& l : loc.line())
            if (functions.find(l.function_id()) == functions.end()) bad("line names no function");
    }
    std::uint64_t max_id = 0;
    for (const auto& e : location_index) max_id = e.first > max_id ? e.first : max_id;
    const bool dense = max_id <= 2 * location_index.size() + 16;
    if (dense) {
        location_at.assign(static_cast<std::size_t>(max_id) + 1, -1);
        for (const auto& e : location_index) location_at[static_cast<std::size_t>(e.first)] = e.second;
    }
    std::vector<std::vector<cpprof::frame_id>> frames(static_cast<std::size_t>(m.location_size()));
    std::vector<bool> resolved(frames.size());
    auto frames_of = [&](int i) -> const std::vector<cpprof::frame_id>& {
        std::vector<cpprof::frame_id>& out = frames[static_cast<std::size_t>(i)];
        if (resolved[static_cast<std::size_t>(i)]) return out;
        resolved[static_cast<std::size_t>(i)] = true;
        const pb::Location& loc = m.location(i);
        cpprof::frame base;
        base.address = loc.address();
        const auto mp = mapping_index.find(loc.mapping_id());
        base.mapping = loc.mapping_id() != 0 && mp != mapping_index.end() ? mp->second : cpprof::no_mapping;
        if (loc.line_size() == 0) {
            out.push_back(p.intern(base));
            return out;
        }
        for (int k = 0; k < loc.line_size(); ++k) {
            const pb::Function& fn = *functions.find(loc.line(k).function_id())->second;
            cpprof::frame f = base;
            f.function = m.string_table(static_cast<int>(fn.name()));
            const std::string& sys = m.string_table(static_cast<int>(fn.system_name()));
            if (sys != f.function) f.system_name = sys;
            f.file = m.string_table(static_cast<int>(fn.filename()));
            f.line = static_cast<int>(loc.line(k).line());
            f.inlined = k + 1 < loc.line_size();
            out.push_back(p.intern(f));
        }
        return out;
    };
    const std::size_t num_types = p.sample_types().size();
    p.mutable_samples().reserve(static_cast<std::size_t>(m.sample_size()));
    for (const pb::Sample& s : m.sample()) {
        cpprof::sample out;
        out.values.assign(s.value().begin(), s.value().end());
        if (out.values.size() != num_types) bad("wrong number of values");
        for (const std::uint64_t id : s.location_id()) {
            int i = -1;
            if (dense) {
                i = id < location_at.size() ? location_at[static_cast<std::size_t>(id)] : -1;
            } else {
                const auto it = location_index.find(id);
                i = it == location_index.end() ? -1 : it->second;
            }
            if (i < 0) bad("sample names no location");
            const auto& f = frames_of(i);
            out.stack.insert(out.stack.end(), f.begin(), f.end());
        }
        for (const pb::Label& l : s.label())
            out.labels.push_back({string_at(m, l.key()), string_at(m, l.str()), l.num(), string_at(m, l.num_unit())});
        p.mutable_samples().push_back(std::move(out));
    }
    return p;
}

// ---- the data, checked once -------------------------------------------------------------------

struct fixture {
    cpprof::profile profile;
    std::string bytes;       // encode_pprof(profile)
    pb::Profile message;     // filled from profile
};

const fixture& data(std::size_t samples) {
    static std::map<std::size_t, std::unique_ptr<fixture>> cache;
    auto& slot = cache[samples];
    if (slot) return *slot;
    slot = std::make_unique<fixture>();
    fixture& f = *slot;
    f.profile = cpprof_test::synthetic_profile(samples, 20000);
    f.bytes = cpprof::encode_pprof(f.profile);
    fill_message(f.profile, f.message);
    std::string serialized;
    if (!f.message.SerializeToString(&serialized)) bad("SerializeToString failed");
    if (serialized != f.bytes) bad("the filled message does not serialize to encode_pprof's bytes");
    pb::Profile parsed;
    if (!parsed.ParseFromString(f.bytes)) bad("ParseFromString failed");
    const cpprof::profile a = cpprof::parse_pprof(f.bytes);
    const cpprof::profile b = to_profile(parsed);
    if (cpprof::encode_pprof(a) != f.bytes || cpprof::encode_pprof(b) != f.bytes)
        bad("a decoded profile does not encode back to the same bytes");
    return f;
}

void counters(benchmark::State& state, const fixture& f) {
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) *
                            static_cast<std::int64_t>(f.bytes.size()));
    state.counters["pprof_bytes"] = static_cast<double>(f.bytes.size());
    state.counters["samples"] = static_cast<double>(f.message.sample_size());
    state.counters["locations"] = static_cast<double>(f.message.location_size());
    state.counters["functions"] = static_cast<double>(f.message.function_size());
    state.counters["strings"] = static_cast<double>(f.message.string_table_size());
}

void encode_cpprof(benchmark::State& state) {
    const fixture& f = data(static_cast<std::size_t>(state.range(0)));
    for (auto _ : state) {
        std::string out = cpprof::encode_pprof(f.profile);
        benchmark::DoNotOptimize(out.data());
    }
    counters(state, f);
}

void encode_protobuf_serialize(benchmark::State& state) {
    const fixture& f = data(static_cast<std::size_t>(state.range(0)));
    for (auto _ : state) {
        std::string out;
        f.message.SerializeToString(&out);
        benchmark::DoNotOptimize(out.data());
    }
    counters(state, f);
}

void encode_protobuf_fill_serialize(benchmark::State& state) {
    const fixture& f = data(static_cast<std::size_t>(state.range(0)));
    for (auto _ : state) {
        pb::Profile m;
        fill_message(f.profile, m);
        std::string out;
        m.SerializeToString(&out);
        benchmark::DoNotOptimize(out.data());
    }
    counters(state, f);
}

void decode_cpprof(benchmark::State& state) {
    const fixture& f = data(static_cast<std::size_t>(state.range(0)));
    for (auto _ : state) {
        cpprof::profile p = cpprof::parse_pprof(f.bytes);
        benchmark::DoNotOptimize(p.samples().data());
    }
    counters(state, f);
}

void decode_protobuf_parse(benchmark::State& state) {
    const fixture& f = data(static_cast<std::size_t>(state.range(0)));
    for (auto _ : state) {
        pb::Profile m;
        if (!m.ParseFromString(f.bytes)) state.SkipWithError("ParseFromString failed");
        benchmark::DoNotOptimize(m.sample_size());
    }
    counters(state, f);
}

void decode_protobuf_parse_arena(benchmark::State& state) {
    const fixture& f = data(static_cast<std::size_t>(state.range(0)));
    for (auto _ : state) {
        google::protobuf::Arena arena;
        pb::Profile* m = google::protobuf::Arena::CreateMessage<pb::Profile>(&arena);
        if (!m->ParseFromString(f.bytes)) state.SkipWithError("ParseFromString failed");
        benchmark::DoNotOptimize(m->sample_size());
    }
    counters(state, f);
}

void decode_protobuf_parse_convert(benchmark::State& state) {
    const fixture& f = data(static_cast<std::size_t>(state.range(0)));
    for (auto _ : state) {
        pb::Profile m;
        if (!m.ParseFromString(f.bytes)) state.SkipWithError("ParseFromString failed");
        cpprof::profile p = to_profile(m);
        benchmark::DoNotOptimize(p.samples().data());
    }
    counters(state, f);
}

// 50 000 samples: ~3 MB of pprof, tens of thousands of locations and functions.
#define CPPROF_CODEC_BENCH(fn) \
    BENCHMARK(fn)->Name("pprof/" #fn)->Arg(50000)->Unit(benchmark::kMillisecond)
CPPROF_CODEC_BENCH(encode_cpprof);
CPPROF_CODEC_BENCH(encode_protobuf_serialize);
CPPROF_CODEC_BENCH(encode_protobuf_fill_serialize);
CPPROF_CODEC_BENCH(decode_cpprof);
CPPROF_CODEC_BENCH(decode_protobuf_parse);
CPPROF_CODEC_BENCH(decode_protobuf_parse_arena);
CPPROF_CODEC_BENCH(decode_protobuf_parse_convert);

}  // namespace

#pragma once
// speedscope's own JSON file format (https://www.speedscope.app; open the file there, or run
// `speedscope FILE`). One "sampled" profile per thread, all sharing one frame table:
//
//   {"$schema":"https://www.speedscope.app/file-format-schema.json",
//    "exporter":"cpprof@0.1.0", "name":"cpu profile", "activeProfileIndex":0,
//    "shared":{"frames":[{"name":"main","file":"main.cpp","line":12}, ...]},
//    "profiles":[{"type":"sampled","name":"main","unit":"nanoseconds",
//                 "startValue":0,"endValue":<sum of weights>,
//                 "samples":[[0,3,5], ...],   frame indices, root first, leaf last
//                 "weights":[1200000, ...]}, ...]}
//
// - Threads: samples are grouped by their thread-name label ("thread"); samples without one by
//   their thread id ("[tid N]"); samples with neither form one more profile, "[no thread]"
//   ("all", or speedscope_options::name, when it is the only profile). Named threads come
//   first, alphabetically, then thread ids in numeric order. activeProfileIndex, the profile
//   speedscope opens with, is the one with the most weight.
// - Frames are functions, as in speedscope's own pprof import: one per distinct name (the
//   function, or its address in hex when unknown) and source file, with the lowest line the
//   profile saw in it (a profile keeps sampled lines, not where functions start); with
//   speedscope_options::lines(true), one per name, file and line. Inlined functions are frames
//   of their own, in call order, as the profile holds them (read_pprof expands a location's
//   lines the same way).
// - Samples: identical stacks of a thread are merged and listed in frame-by-frame alphabetical
//   order, so speedscope's "Time Order" view reads like a flame graph (a pprof profile has no
//   time order to show). Samples whose value is zero, and samples with no frames, are left out
//   (speedscope would show the latter as idle time). A negative value, which cpprof::diff
//   produces, is an error: speedscope rejects negative weights.
// - Units: nanoseconds, microseconds, milliseconds, seconds and bytes are kept (speedscope
//   formats them); any other unit ("count") becomes "none".
// - Text is always valid JSON: invalid UTF-8 becomes U+FFFD, quotes, backslashes and control
//   characters are escaped; every number is an integer.
// - An empty profile gives a valid file with one profile and no samples: speedscope fails on a
//   file whose profile list is empty.
//
// Written from the format description in the project's format reference (speedscope's
// file-format-spec.ts), and checked against speedscope's own importer (tests/speedscope/).
// The writers are templates with a dummy parameter, called like plain functions: see the note
// on lazy instantiation in config.hpp.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <limits>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include <cpprof/detail/chunked_writer.hpp>
#include <cpprof/detail/json.hpp>
#include <cpprof/detail/stacks.hpp>
#include <cpprof/error.hpp>
#include <cpprof/profile.hpp>
#include <cpprof/version.hpp>

namespace cpprof {

class speedscope_options {
public:
    /// The file's name, which speedscope shows as its title. Empty (the default): the chosen
    /// sample type and "profile", e.g. "cpu profile".
    speedscope_options& name(std::string text) {
        name_ = std::move(text);
        return *this;
    }
    const std::string& name() const { return name_; }

    /// The value column that becomes the weights (an index into profile::sample_types()).
    /// Unset: the profile's default_sample_index().
    speedscope_options& sample_index(std::size_t index) {
        sample_index_ = index;
        return *this;
    }
    std::optional<std::size_t> sample_index() const { return sample_index_; }

    /// One speedscope profile per thread (the default), or all samples in one profile.
    speedscope_options& thread_profiles(bool on) {
        thread_profiles_ = on;
        return *this;
    }
    bool thread_profiles() const { return thread_profiles_; }

    /// One frame per function and source line (like pprof's -lines) rather than per function.
    /// Default off.
    speedscope_options& lines(bool on) {
        lines_ = on;
        return *this;
    }
    bool lines() const { return lines_; }

private:
    std::string name_;
    std::optional<std::size_t> sample_index_;
    bool thread_profiles_ = true;
    bool lines_ = false;
};

namespace detail {

inline constexpr std::string_view speedscope_schema =
    "https://www.speedscope.app/file-format-schema.json";

struct speedscope_frame {
    std::string name;
    std::string file;  ///< empty when unknown
    int line = 0;      ///< 0 when unknown
};

struct speedscope_thread {
    struct stack {
        std::size_t offset;    ///< into `ids`
        std::uint32_t length;  ///< frames, at least one
        std::int64_t weight;   ///< > 0
    };
    std::string name;
    std::vector<std::uint32_t> ids;  ///< frame indices of every stack, root first, back to back
    std::vector<stack> stacks;       ///< merged and sorted
    std::int64_t total = 0;
};

struct speedscope_document {
    std::string name;
    std::string unit;
    std::vector<speedscope_frame> frames;
    std::vector<speedscope_thread> profiles;  ///< at least one
    std::size_t active = 0;
};

/// speedscope's ValueUnit for a pprof unit.
inline std::string_view speedscope_unit(std::string_view unit) {
    for (std::string_view known : {"nanoseconds", "microseconds", "milliseconds", "seconds", "bytes"})
        if (unit == known) return known;
    return "none";
}

/// Everything the file says, worked out before any of it is written (so that a path is not
/// created for a profile that cannot be written). Throws cpprof::error.
template <class = void>
speedscope_document build_speedscope(const profile& p, const speedscope_options& o) {
    const std::size_t requested = o.sample_index().value_or(default_sample);
    const std::size_t index = resolve_sample_index(p, requested);
    if (index == default_sample)
        throw error(bad_sample_index_message(p, requested, "write_speedscope"));
    const auto& samples = p.samples();
    const auto& frames = p.frames();
    const bool typed = index < p.sample_types().size();

    speedscope_document doc;
    doc.unit = speedscope_unit(typed ? std::string_view(p.sample_types()[index].unit) : "");
    if (!o.name().empty())
        sanitize_utf8(o.name(), doc.name);
    else
        sanitize_utf8((typed ? p.sample_types()[index].type : std::string()) + " profile", doc.name);
    if (doc.name == " profile") doc.name = "profile";

    // Which samples go in, into which thread, and which frames they use.
    enum : char { named_thread, tid_thread, no_thread };
    struct thread_key {
        char kind;
        std::string name;  // sanitized; named threads only
        std::int64_t tid;  // tid threads only
    };
    std::vector<thread_key> threads;  // as first seen
    std::unordered_map<std::string_view, std::uint32_t> by_name;
    std::unordered_map<std::int64_t, std::uint32_t> by_tid;
    std::uint32_t unnamed = static_cast<std::uint32_t>(-1);
    constexpr std::uint32_t skipped = static_cast<std::uint32_t>(-1);
    std::vector<std::uint32_t> sample_thread(samples.size(), skipped);
    std::vector<char> used(frames.size(), 0);
    for (std::size_t i = 0; i < samples.size(); ++i) {
        const sample& s = samples[i];
        const std::int64_t v = sample_value(s, index);
        if (v < 0)
            throw error("write_speedscope: sample " + std::to_string(i) + " has the negative value " +
                        std::to_string(v) + " in column " + std::to_string(index) +
                        (typed ? " (" + p.sample_types()[index].type + ")" : std::string()) +
                        ", and speedscope rejects negative weights (a profile from cpprof::diff "
                        "has them: write each side on its own, or a differential flame graph)");
        if (v == 0 || s.stack.empty()) continue;
        for (frame_id f : s.stack)
            if (f >= frames.size())
                throw error("write_speedscope: sample " + std::to_string(i) + " names frame " +
                            std::to_string(f) + ", but the profile has " +
                            std::to_string(frames.size()) + " frames");
        for (frame_id f : s.stack) used[f] = 1;

        std::uint32_t t;
        std::string_view name = o.thread_profiles() ? s.label_str(label_keys::thread_name) : "";
        const label* tid = nullptr;
        if (o.thread_profiles() && name.empty())
            for (const auto& l : s.labels)
                if (l.key == label_keys::thread_id && l.str.empty()) {
                    tid = &l;
                    break;
                }
        if (!name.empty()) {
            auto it = by_name.find(name);
            if (it == by_name.end()) {
                it = by_name.emplace(name, static_cast<std::uint32_t>(threads.size())).first;
                threads.push_back({named_thread, {}, 0});
                sanitize_utf8(name, threads.back().name);
            }
            t = it->second;
        } else if (tid != nullptr) {
            auto it = by_tid.find(tid->num);
            if (it == by_tid.end()) {
                it = by_tid.emplace(tid->num, static_cast<std::uint32_t>(threads.size())).first;
                threads.push_back({tid_thread, {}, tid->num});
            }
            t = it->second;
        } else {
            if (unnamed == skipped) {
                unnamed = static_cast<std::uint32_t>(threads.size());
                threads.push_back({no_thread, {}, 0});
            }
            t = unnamed;
        }
        sample_thread[i] = t;
    }

    // Threads in their final order; names that read the same once sanitized merge.
    std::vector<std::uint32_t> order(threads.size());
    for (std::uint32_t i = 0; i < order.size(); ++i) order[i] = i;
    auto thread_less = [&](std::uint32_t a, std::uint32_t b) {
        const thread_key& x = threads[a];
        const thread_key& y = threads[b];
        if (x.kind != y.kind) return x.kind < y.kind;
        if (x.kind == named_thread) return x.name < y.name;
        return x.tid < y.tid;
    };
    std::sort(order.begin(), order.end(), thread_less);
    std::vector<std::uint32_t> thread_profile(threads.size(), 0);
    for (std::size_t k = 0; k < order.size(); ++k) {
        if (k == 0 || thread_less(order[k - 1], order[k])) {
            const thread_key& key = threads[order[k]];
            speedscope_thread t;
            if (key.kind == named_thread)
                t.name = key.name;
            else if (key.kind == tid_thread)
                t.name = "[tid " + std::to_string(key.tid) + "]";
            doc.profiles.push_back(std::move(t));
        }
        thread_profile[order[k]] = static_cast<std::uint32_t>(doc.profiles.size() - 1);
    }
    // The profile of samples with no thread: alone it stands for all of them.
    const std::string whole_name = o.name().empty() ? std::string("all") : doc.name;
    if (unnamed != skipped)
        doc.profiles[thread_profile[unnamed]].name =
            doc.profiles.size() == 1 ? whole_name : std::string("[no thread]");

    // Frames: sanitized (name, file[, line]) sorted and numbered, so that comparing indices
    // compares names.
    struct candidate {
        std::string name, file;
        int line;
        frame_id source;
    };
    std::vector<candidate> cands;
    for (std::size_t f = 0; f < frames.size(); ++f) {
        if (!used[f]) continue;
        const frame& fr = frames[f];
        candidate c{{}, {}, fr.line, static_cast<frame_id>(f)};
        if (fr.function.empty())
            sanitize_utf8(fr.display_name(), c.name);
        else
            sanitize_utf8(fr.function, c.name);
        sanitize_utf8(fr.file, c.file);
        cands.push_back(std::move(c));
    }
    const bool lines = o.lines();
    auto same_frame = [lines](const speedscope_frame& a, const candidate& b) {
        return a.name == b.name && a.file == b.file && (!lines || a.line == b.line);
    };
    std::sort(cands.begin(), cands.end(), [](const candidate& a, const candidate& b) {
        if (int c = a.name.compare(b.name)) return c < 0;
        if (int c = a.file.compare(b.file)) return c < 0;
        return a.line < b.line;
    });
    std::vector<std::uint32_t> frame_index(frames.size(), 0);
    for (std::size_t i = 0; i < cands.size(); ++i) {
        candidate& c = cands[i];
        if (i == 0 || !same_frame(doc.frames.back(), c)) {
            doc.frames.push_back({std::move(c.name), std::move(c.file), c.line});
        } else if (c.line > 0) {
            int& line = doc.frames.back().line;  // the lowest known line of the function
            if (line == 0 || c.line < line) line = c.line;
        }
        frame_index[c.source] = static_cast<std::uint32_t>(doc.frames.size() - 1);
    }

    // Stacks, root first, then merged and sorted per thread.
    for (std::size_t i = 0; i < samples.size(); ++i) {
        if (sample_thread[i] == skipped) continue;
        const sample& s = samples[i];
        speedscope_thread& t = doc.profiles[thread_profile[sample_thread[i]]];
        const std::size_t offset = t.ids.size();
        for (auto it = s.stack.rbegin(); it != s.stack.rend(); ++it)
            t.ids.push_back(frame_index[*it]);
        t.stacks.push_back({offset, static_cast<std::uint32_t>(s.stack.size()),
                            sample_value(s, index)});
    }
    for (speedscope_thread& t : doc.profiles) {
        const std::uint32_t* ids = t.ids.data();
        auto less = [ids](const speedscope_thread::stack& a, const speedscope_thread::stack& b) {
            return std::lexicographical_compare(ids + a.offset, ids + a.offset + a.length,
                                                ids + b.offset, ids + b.offset + b.length);
        };
        std::sort(t.stacks.begin(), t.stacks.end(), less);
        std::vector<speedscope_thread::stack> merged;
        merged.reserve(t.stacks.size());
        for (const auto& st : t.stacks) {
            if (std::numeric_limits<std::int64_t>::max() - st.weight < t.total)
                throw error("write_speedscope: the weights of thread '" + t.name +
                            "' add up to more than a 64-bit integer holds");
            t.total += st.weight;
            if (!merged.empty() && !less(merged.back(), st))
                merged.back().weight += st.weight;  // equal stacks (sorted, so not less)
            else
                merged.push_back(st);
        }
        t.stacks = std::move(merged);
    }

    if (doc.profiles.empty()) {
        doc.profiles.emplace_back();
        doc.profiles.back().name = whole_name;
    }
    for (std::size_t i = 1; i < doc.profiles.size(); ++i)
        if (doc.profiles[i].total > doc.profiles[doc.active].total) doc.active = i;
    return doc;
}

template <class = void>
void render_speedscope(const speedscope_document& doc, std::ostream& os) {
    chunked_writer w(os);
    w.put("{\"$schema\":");
    put_json_string(w, speedscope_schema);
    w.put(",\n\"exporter\":");
    put_json_string(w, "cpprof@" CPPROF_VERSION_STRING);
    w.put(",\n\"name\":");
    put_json_string(w, doc.name);
    w.put(",\n\"activeProfileIndex\":");
    w.put_int(static_cast<std::int64_t>(doc.active));
    w.put(",\n\"shared\":{\"frames\":[");
    for (std::size_t i = 0; i < doc.frames.size(); ++i) {
        const speedscope_frame& f = doc.frames[i];
        w.put(i == 0 ? "\n{\"name\":" : ",\n{\"name\":");
        put_json_string(w, f.name);
        if (!f.file.empty()) {
            w.put(",\"file\":");
            put_json_string(w, f.file);
        }
        if (f.line > 0) {
            w.put(",\"line\":");
            w.put_int(f.line);
        }
        w.put('}');
    }
    w.put("]},\n\"profiles\":[");
    for (std::size_t pi = 0; pi < doc.profiles.size(); ++pi) {
        const speedscope_thread& t = doc.profiles[pi];
        w.put(pi == 0 ? "\n{\"type\":\"sampled\",\"name\":" : ",\n{\"type\":\"sampled\",\"name\":");
        put_json_string(w, t.name);
        w.put(",\"unit\":");
        put_json_string(w, doc.unit);
        w.put(",\"startValue\":0,\"endValue\":");
        w.put_int(t.total);
        w.put(",\n\"samples\":[");
        for (std::size_t si = 0; si < t.stacks.size(); ++si) {
            const speedscope_thread::stack& st = t.stacks[si];
            w.put(si == 0 ? "\n[" : ",\n[");
            for (std::uint32_t k = 0; k < st.length; ++k) {
                if (k != 0) w.put(',');
                w.put_int(t.ids[st.offset + k]);
            }
            w.put(']');
        }
        w.put("],\n\"weights\":[");
        for (std::size_t si = 0; si < t.stacks.size(); ++si) {
            if (si != 0) w.put(',');
            w.put_int(t.stacks[si].weight);
        }
        w.put("]}");
    }
    w.put("]}\n");
    w.flush();
}

}  // namespace detail

/// Writes `p` in speedscope's JSON format to `os`: one profile per thread (see the top of this
/// file). Throws cpprof::error when sample_index names no sample type of `p` or a sample's
/// value is negative; nothing is written then.
template <class = void>
void write_speedscope(const profile& p, std::ostream& os, const speedscope_options& options = {}) {
    detail::render_speedscope(detail::build_speedscope(p, options), os);
}

/// Writes the speedscope file to `path` (created or truncated). Throws cpprof::error for bad
/// options or negative values (before creating the file) and, naming the path and the
/// system's reason, when the file cannot be written.
template <class = void>
void write_speedscope(const profile& p, const std::string& path,
                      const speedscope_options& options = {}) {
    const detail::speedscope_document doc = detail::build_speedscope(p, options);
    std::string failure =
        detail::write_file(path, [&](std::ostream& os) { detail::render_speedscope(doc, os); });
    if (!failure.empty()) throw error("write_speedscope: " + failure);
}

}  // namespace cpprof

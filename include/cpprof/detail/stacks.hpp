#pragma once
// IWYU pragma: private, include <cpprof/cpprof.hpp>
// What the stack writers (folded text, flame graph) and the analyses share: choosing the value
// column, naming the thread root frame, and turning samples into merged, sorted stacks of
// name ids.
//
// Names, not frames, identify a box in a flame graph or a line of folded text: two frames of
// one function (different lines or addresses) merge. Name ids are handed out in sorted name
// order, so comparing two id sequences compares the stacks frame by frame, alphabetically; the
// sorted stack list is then a depth-first walk of the merged call tree with siblings in
// alphabetical order (and a node's own samples after its children's), and a renderer builds
// the tree in one pass with no per-node hash map.
//
// Functions with bodies that use std templates are templates with a dummy parameter: see the
// note on lazy instantiation in config.hpp.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include <cpprof/error.hpp>
#include <cpprof/profile.hpp>

namespace cpprof::detail {

/// "Use the profile's default sample type" where a sample index is asked for.
inline constexpr std::size_t default_sample = static_cast<std::size_t>(-1);

/// The value column to read: `requested`, or `p.default_sample_index()` for default_sample.
/// Returns default_sample when `requested` names no column of `p`.
inline std::size_t resolve_sample_index(const profile& p, std::size_t requested) {
    if (requested == default_sample) return p.default_sample_index();
    return requested < p.sample_types().size() ? requested : default_sample;
}

template <class = void>
std::string bad_sample_index_message(const profile& p, std::size_t requested,
                                     std::string_view who) {
    std::string m(who);
    m += ": sample index ";
    m += std::to_string(requested);
    m += " is out of range; the profile has ";
    m += std::to_string(p.sample_types().size());
    m += " sample type(s)";
    for (std::size_t i = 0; i < p.sample_types().size(); ++i) {
        m += i == 0 ? ": " : ", ";
        m += p.sample_types()[i].type;
    }
    return m;
}

inline std::int64_t sample_value(const sample& s, std::size_t index) {
    return index < s.values.size() ? s.values[index] : 0;
}

/// Number of distinct non-empty thread-name labels, counting no further than `limit`.
template <class = void>
std::size_t count_thread_names(const profile& p, std::size_t limit) {
    std::vector<std::string_view> seen;
    for (const auto& s : p.samples()) {
        std::string_view name = s.label_str(label_keys::thread_name);
        if (name.empty() || std::find(seen.begin(), seen.end(), name) != seen.end()) continue;
        seen.push_back(name);
        if (seen.size() >= limit) break;
    }
    return seen.size();
}

/// The text of a sample's thread root frame: its thread name, else "[tid N]", else
/// "[unknown thread]". The view points into `s` or into `scratch`.
template <class = void>
std::string_view thread_frame_name(const sample& s, std::string& scratch) {
    std::string_view name = s.label_str(label_keys::thread_name);
    if (!name.empty()) return name;
    for (const auto& l : s.labels)
        if (l.key == label_keys::thread_id && l.str.empty()) {
            scratch = "[tid " + std::to_string(l.num) + "]";
            return scratch;
        }
    return "[unknown thread]";
}

/// Frame names with ids in sorted order. Thread root frames are names of their own kind, so a
/// thread called "main" and the function main() stay apart.
struct name_table {
    static constexpr frame_id no_frame = static_cast<frame_id>(-1);
    std::vector<std::string> text;        ///< by name id, sorted
    std::vector<char> is_thread;          ///< by name id
    std::vector<frame_id> example_frame;  ///< by name id: one frame with this name (of the first
                                          ///< profile read), or no_frame
    std::vector<std::uint32_t> of_frame;  ///< by frame id (of the first profile read): its name id
};

/// Samples merged into distinct stacks of name ids, root first.
struct stack_set {
    struct entry {
        std::size_t offset;    ///< into `ids`
        std::uint32_t length;  ///< number of frames (thread root included)
        std::uint32_t source;  ///< while collecting: which profile the stack came from
        std::int64_t value;    ///< merged value: > 0, except in a pair (collect_stack_pair)
    };
    name_table names;
    std::vector<std::uint32_t> ids;  ///< every stack's name ids back to back
    std::vector<entry> stacks;       ///< in depth-first order (see the top of this file)
    std::int64_t total = 0;          ///< sum of the stacks' values
};

/// One profile's value column, as read into a stack set.
struct stack_source {
    const profile* p;
    std::size_t index;
};

/// Builds one stack set from one or two sources (see collect_stacks, collect_stack_pair).
/// Names are shared: the same text in both profiles gets one id. With two sources,
/// `first_values` receives each stack's value in the first and `stacks[i].value` holds its
/// value in the second; per source, a stack whose merged value is zero or negative counts as
/// 0, and stacks that are 0 in both are left out.
template <class Sanitize>
stack_set collect_stacks_from(const stack_source* sources, std::size_t source_count,
                              bool thread_frames, bool reverse, Sanitize&& sanitize,
                              std::vector<std::int64_t>* first_values) {
    stack_set out;

    // Threads first: their names come from labels, seen only by walking the samples.
    constexpr std::uint32_t no_thread = static_cast<std::uint32_t>(-1);
    std::vector<std::vector<std::uint32_t>> sample_thread(source_count);  // by source, sample
    std::vector<std::string_view> thread_texts;
    std::vector<std::unique_ptr<std::string>> owned;  // texts made up for unnamed samples
    if (thread_frames) {
        std::unordered_map<std::string_view, std::uint32_t> thread_ids;
        std::string scratch;
        for (std::size_t src = 0; src < source_count; ++src) {
            const auto& samples = sources[src].p->samples();
            const std::size_t index = sources[src].index;
            std::vector<std::uint32_t>& threads = sample_thread[src];
            threads.assign(samples.size(), no_thread);
            for (std::size_t i = 0; i < samples.size(); ++i) {
                const sample& s = samples[i];
                if (s.stack.empty() || sample_value(s, index) == 0) continue;
                std::string_view name = thread_frame_name(s, scratch);
                auto it = thread_ids.find(name);
                if (it == thread_ids.end()) {
                    if (name.data() == scratch.data())
                        name = *owned.emplace_back(std::make_unique<std::string>(scratch));
                    it = thread_ids.emplace(name, static_cast<std::uint32_t>(thread_texts.size()))
                             .first;
                    thread_texts.push_back(name);
                }
                threads[i] = it->second;
            }
        }
    }

    // Every frame and thread name, sanitized, sorted, and numbered by rank.
    struct candidate {
        std::string text;
        char is_thread;
        std::uint32_t source;  // frame id or thread index
        std::uint32_t src;     // which profile (frames only)
    };
    std::vector<candidate> cands;
    std::size_t frame_total = 0;
    for (std::size_t src = 0; src < source_count; ++src)
        frame_total += sources[src].p->frames().size();
    cands.reserve(frame_total + thread_texts.size());
    for (std::size_t src = 0; src < source_count; ++src) {
        const auto& frames = sources[src].p->frames();
        for (std::size_t f = 0; f < frames.size(); ++f) {
            candidate c{{}, 0, static_cast<std::uint32_t>(f), static_cast<std::uint32_t>(src)};
            const frame& fr = frames[f];
            if (fr.function.empty())
                sanitize(fr.display_name(), c.text);
            else
                sanitize(fr.function, c.text);
            cands.push_back(std::move(c));
        }
    }
    for (std::size_t t = 0; t < thread_texts.size(); ++t) {
        candidate c{{}, 1, static_cast<std::uint32_t>(t), 0};
        sanitize(thread_texts[t], c.text);
        cands.push_back(std::move(c));
    }
    std::sort(cands.begin(), cands.end(), [](const candidate& a, const candidate& b) {
        int c = a.text.compare(b.text);
        if (c != 0) return c < 0;
        return a.is_thread != b.is_thread ? a.is_thread < b.is_thread : a.src < b.src;
    });

    name_table& names = out.names;
    std::vector<std::vector<std::uint32_t>> of_frame(source_count);  // by source, frame
    for (std::size_t src = 0; src < source_count; ++src)
        of_frame[src].assign(sources[src].p->frames().size(), 0);
    std::vector<std::uint32_t> thread_name(thread_texts.size(), 0);
    for (std::size_t i = 0; i < cands.size(); ++i) {
        candidate& c = cands[i];
        if (names.text.empty() || c.is_thread != names.is_thread.back() ||
            c.text != names.text.back()) {
            names.text.push_back(std::move(c.text));
            names.is_thread.push_back(c.is_thread);
            // Profile 0's frame when it has the name: it sorts first.
            names.example_frame.push_back(c.is_thread || c.src != 0 ? name_table::no_frame
                                                                    : c.source);
        }
        auto id = static_cast<std::uint32_t>(names.text.size() - 1);
        (c.is_thread ? thread_name[c.source] : of_frame[c.src][c.source]) = id;
    }
    names.of_frame = std::move(of_frame[0]);

    // Stacks, root first (leaf first when reversed).
    std::size_t frame_count = 0, sample_count = 0;
    for (std::size_t src = 0; src < source_count; ++src) {
        for (const auto& s : sources[src].p->samples())
            frame_count += s.stack.size() + (thread_frames ? 1 : 0);
        sample_count += sources[src].p->samples().size();
    }
    out.ids.reserve(frame_count);
    std::vector<stack_set::entry> raw;
    raw.reserve(sample_count);
    for (std::size_t src = 0; src < source_count; ++src) {
        const auto& samples = sources[src].p->samples();
        const std::size_t index = sources[src].index;
        const std::uint32_t* name_of = src == 0 ? names.of_frame.data() : of_frame[src].data();
        for (std::size_t i = 0; i < samples.size(); ++i) {
            const sample& s = samples[i];
            std::int64_t v = sample_value(s, index);
            if (s.stack.empty() || v == 0) continue;
            std::size_t offset = out.ids.size();
            if (!reverse) {
                if (thread_frames) out.ids.push_back(thread_name[sample_thread[src][i]]);
                for (auto it = s.stack.rbegin(); it != s.stack.rend(); ++it)
                    out.ids.push_back(name_of[*it]);
            } else {
                for (frame_id f : s.stack) out.ids.push_back(name_of[f]);
                if (thread_frames) out.ids.push_back(thread_name[sample_thread[src][i]]);
            }
            raw.push_back({offset, static_cast<std::uint32_t>(out.ids.size() - offset),
                           static_cast<std::uint32_t>(src), v});
        }
    }

    // Frame by frame; a stack comes after the longer stacks it is a prefix of, so a node's
    // children start at its left edge and its own (self) value is the gap at its right.
    const std::uint32_t* ids = out.ids.data();
    auto less = [ids](const stack_set::entry& a, const stack_set::entry& b) {
        const std::uint32_t n = std::min(a.length, b.length);
        const std::uint32_t* x = ids + a.offset;
        const std::uint32_t* y = ids + b.offset;
        for (std::uint32_t i = 0; i < n; ++i)
            if (x[i] != y[i]) return x[i] < y[i];
        return a.length > b.length;
    };
    auto same = [ids](const stack_set::entry& a, const stack_set::entry& b) {
        return a.length == b.length && std::equal(ids + a.offset, ids + a.offset + a.length,
                                                  ids + b.offset);
    };
    std::sort(raw.begin(), raw.end(), less);

    // Sums are checked: values are 64-bit and hostile input can hold any of them. A total that
    // does not fit is an error, and every partial sum a writer takes is at most the total.
    auto add = [](std::int64_t& sum, std::int64_t v) {
        if (__builtin_add_overflow(sum, v, &sum))
            throw error("the sample values add up to more than 2^63 - 1; they cannot be drawn or "
                        "written as one total");
    };
    out.stacks.reserve(raw.size());
    if (first_values == nullptr) {
        for (std::size_t i = 0; i < raw.size();) {
            stack_set::entry merged = raw[i];
            std::size_t j = i + 1;
            for (; j < raw.size() && same(raw[j], merged); ++j) add(merged.value, raw[j].value);
            if (merged.value > 0) {
                out.stacks.push_back(merged);
                add(out.total, merged.value);
            }
            i = j;
        }
        return out;
    }
    first_values->clear();
    std::int64_t first_total = 0;
    for (std::size_t i = 0; i < raw.size();) {
        std::int64_t sums[2] = {0, 0};
        std::size_t j = i;
        for (; j < raw.size() && same(raw[j], raw[i]); ++j) add(sums[raw[j].source != 0], raw[j].value);
        const std::int64_t first = std::max<std::int64_t>(sums[0], 0);
        const std::int64_t second = std::max<std::int64_t>(sums[1], 0);
        if (first > 0 || second > 0) {
            out.stacks.push_back({raw[i].offset, raw[i].length, 0, second});
            first_values->push_back(first);
            add(first_total, first);
            add(out.total, second);
        }
        i = j;
    }
    return out;
}

/// Builds the stack set of value column `index`. `sanitize(std::string_view in, std::string& out)`
/// writes the text a name is shown with (each writer has its own forbidden characters); names
/// that read the same after it merge. Samples whose merged value is zero or negative are left
/// out, as are samples with no frames (no thread root either); neither can be drawn. With
/// `reverse`, each stack is turned around before merging (leaf first, the thread frame last),
/// as flamegraph.pl --reverse does to folded lines.
template <class Sanitize>
stack_set collect_stacks(const profile& p, std::size_t index, bool thread_frames,
                         Sanitize&& sanitize, bool reverse = false) {
    const stack_source source{&p, index};
    return collect_stacks_from(&source, 1, thread_frames, reverse, sanitize, nullptr);
}

/// The stacks of two profiles in one set, matched by name (the union of both): each stack's
/// value in `second` is `stacks[i].value` (`total` is their sum), its value in `first` is
/// `first_values[i]`. Either can be 0 (a stack only the other profile has); stacks whose
/// merged value is zero or negative count as 0, as they would in folded text.
template <class Sanitize>
stack_set collect_stack_pair(const profile& first, std::size_t first_index,
                             const profile& second, std::size_t second_index,
                             bool thread_frames, bool reverse, Sanitize&& sanitize,
                             std::vector<std::int64_t>& first_values) {
    const stack_source sources[2] = {{&first, first_index}, {&second, second_index}};
    return collect_stacks_from(sources, 2, thread_frames, reverse, sanitize, &first_values);
}

}  // namespace cpprof::detail

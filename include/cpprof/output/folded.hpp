#pragma once
// Folded ("collapsed") stacks, Brendan Gregg's text format that flamegraph.pl, inferno,
// speedscope and Pyroscope read:
//
//     main;run;compute 42
//
// One line per distinct stack: frames root first and leaf last, joined by ';', one space, and
// the stack's integer count for the chosen sample type. Written for the strictest readers:
// - frames are shown by name (frame::display_name(): the function, or its address in hex);
//   frames with the same name merge, as they would in any folded-stack tool;
// - ';' in a name becomes ':' and '\n' or '\r' becomes a space, so a line always splits right;
// - lines come sorted frame by frame (each frame compared by its name, a stack after the
//   longer stacks it starts), the flame graph's left-to-right order, so output is deterministic;
// - stacks whose summed value is zero or negative, and samples with no frames, are left out:
//   the format has no way to say either.
//
// The writers are templates with a dummy parameter, called like plain functions: see the note
// on lazy instantiation in config.hpp.

#include <cstddef>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>

#include <cpprof/detail/chunked_writer.hpp>
#include <cpprof/detail/stacks.hpp>
#include <cpprof/error.hpp>
#include <cpprof/profile.hpp>

namespace cpprof {

class folded_options {
public:
    /// The value column to count (an index into profile::sample_types()). Unset: the profile's
    /// default_sample_index().
    folded_options& sample_index(std::size_t index) {
        sample_index_ = index;
        return *this;
    }
    std::optional<std::size_t> sample_index() const { return sample_index_; }

    /// Prepend the sample's thread name (label "thread") as a root frame, so each thread gets
    /// its own tower. Samples without the label get "[tid N]" or "[unknown thread]". Default off.
    folded_options& thread_frames(bool on) {
        thread_frames_ = on;
        return *this;
    }
    bool thread_frames() const { return thread_frames_; }

private:
    std::optional<std::size_t> sample_index_;
    bool thread_frames_ = false;
};

namespace detail {

inline void sanitize_folded_name(std::string_view in, std::string& out) {
    out.assign(in.data(), in.size());
    for (char& c : out) {
        if (c == ';')
            c = ':';
        else if (c == '\n' || c == '\r')
            c = ' ';
    }
}

template <class = void>
std::size_t folded_sample_index(const profile& p, const folded_options& options) {
    std::size_t requested = options.sample_index().value_or(default_sample);
    std::size_t index = resolve_sample_index(p, requested);
    if (index == default_sample)
        throw error(bad_sample_index_message(p, requested, "write_folded"));
    return index;
}

template <class = void>
void write_folded_at(const profile& p, std::size_t index, bool thread_frames,
                     std::ostream& os) {
    stack_set set = collect_stacks(p, index, thread_frames, sanitize_folded_name);
    chunked_writer w(os);
    for (const auto& s : set.stacks) {
        for (std::uint32_t i = 0; i < s.length; ++i) {
            if (i != 0) w.put(';');
            w.put(set.names.text[set.ids[s.offset + i]]);
        }
        w.put(' ');
        w.put_int(s.value);
        w.put('\n');
    }
    w.flush();
}

}  // namespace detail

/// Writes `p` as folded stacks to `os`. Throws cpprof::error when options.sample_index() names
/// no sample type of `p`. The stream's own state is left for the caller to check.
template <class = void>
void write_folded(const profile& p, std::ostream& os, const folded_options& options = {}) {
    detail::write_folded_at(p, detail::folded_sample_index(p, options), options.thread_frames(),
                            os);
}

/// Writes `p` as folded stacks to the file `path` (created or truncated). Throws cpprof::error
/// naming the path and the system's reason when the file cannot be written.
template <class = void>
void write_folded(const profile& p, const std::string& path,
                  const folded_options& options = {}) {
    std::size_t index = detail::folded_sample_index(p, options);  // before touching the file
    std::string failure = detail::write_file(path, [&](std::ostream& os) {
        detail::write_folded_at(p, index, options.thread_frames(), os);
    });
    if (!failure.empty()) throw error("write_folded: " + failure);
}

}  // namespace cpprof

#pragma once
// Reads folded ("collapsed") stacks, the text format of flamegraph.pl, inferno, `perf script |
// stackcollapse-perf.pl` and cpprof's own write_folded:
//
//     main;run;compute 42
//
// Frames root first, ';' between them, then whitespace and a non-negative integer count (the
// last token of the line: difffolded.pl's two-count lines read as a frame name ending in the
// first count).
// Blank lines and lines starting with '#' are skipped; CRLF line ends are accepted. The
// result has one sample type, samples/count, a frame per distinct name and a sample per line
// (lines with the same stack stay separate samples; every writer and analysis merges them).
//
// The input is treated as hostile: every malformed line is a cpprof::error that names the line
// and what is wrong with it, and nothing is read past the input or allocated beyond its size.
// Functions are templates with a dummy parameter: see the note on lazy instantiation in
// config.hpp.

#include <cpprof/detail/input_file.hpp>
#include <cpprof/error.hpp>
#include <cpprof/profile.hpp>

#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace cpprof {

namespace detail {

inline std::string folded_error(std::size_t line, const std::string& what) {
    return "folded: line " + std::to_string(line) + ": " + what;
}

}  // namespace detail

/// Parses folded stacks held in memory. Throws cpprof::error on malformed input.
template <class = void>
profile parse_folded(std::string_view text) {
    profile p({{"samples", "count"}});
    std::unordered_map<std::string_view, frame_id> ids;
    std::vector<frame_id> stack;
    std::size_t line_no = 0;
    std::size_t pos = 0;
    while (pos < text.size()) {
        std::size_t end = text.find('\n', pos);
        if (end == std::string_view::npos) end = text.size();
        std::string_view line = text.substr(pos, end - pos);
        pos = end + 1;
        ++line_no;
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
        if (line.find_first_not_of(" \t") == std::string_view::npos || line.front() == '#')
            continue;
        if (line.find('\0') != std::string_view::npos)
            throw error(detail::folded_error(line_no, "contains a NUL byte (binary data?)"));

        // The count: the last whitespace-separated token.
        std::size_t last = line.find_last_not_of(" \t");
        std::size_t space = line.find_last_of(" \t", last);
        if (space == std::string_view::npos)
            throw error(detail::folded_error(line_no, "has no count (expected \"a;b;c 42\")"));
        std::string_view count_text = line.substr(space + 1, last - space);
        std::int64_t count = 0;
        for (char c : count_text) {
            if (c < '0' || c > '9')
                throw error(detail::folded_error(
                    line_no, "count '" + std::string(count_text.substr(0, 32)) +
                                 "' is not a non-negative integer"));
            if (count > (std::numeric_limits<std::int64_t>::max() - (c - '0')) / 10)
                throw error(detail::folded_error(line_no, "count is too large for 64 bits"));
            count = count * 10 + (c - '0');
        }
        std::string_view frames = line.substr(0, space);
        const std::size_t frames_end = frames.find_last_not_of(" \t");
        if (frames_end == std::string_view::npos)
            throw error(detail::folded_error(line_no, "has a count but no frames"));
        frames = frames.substr(0, frames_end + 1);

        // Frames root first; the profile wants them leaf first.
        stack.clear();
        std::size_t start = 0;
        while (true) {
            std::size_t semi = frames.find(';', start);
            std::string_view name =
                frames.substr(start, semi == std::string_view::npos ? std::string_view::npos
                                                                    : semi - start);
            if (name.empty())
                throw error(detail::folded_error(
                    line_no, "has an empty frame name at column " + std::to_string(start + 1)));
            auto it = ids.find(name);
            if (it == ids.end()) {
                frame f;
                f.function = std::string(name);
                // Keyed on a view into `text`, which outlives this loop (not into the
                // profile's frames, which move as the table grows).
                it = ids.emplace(name, p.intern(f)).first;
            }
            stack.push_back(it->second);
            if (semi == std::string_view::npos) break;
            start = semi + 1;
        }
        std::vector<frame_id> leaf_first(stack.rbegin(), stack.rend());
        p.add_sample(std::move(leaf_first), {count});
    }
    return p;
}

/// Reads a folded-stacks file. Throws cpprof::error when it cannot be read or is malformed.
template <class = void>
profile read_folded(const std::string& path) {
    const std::string text =
        detail::read_input_file(path, std::size_t{4} << 30, "folded stacks");
    try {
        return parse_folded(text);
    } catch (const error& e) {
        // Name the file: "cpprof: folded: line 3: ..." becomes "... in 'stacks.folded'".
        std::string what = e.what();
        const std::string_view prefix = "cpprof: ";
        if (what.compare(0, prefix.size(), prefix) == 0) what.erase(0, prefix.size());
        throw error(what + " (in '" + path + "')");
    }
}

}  // namespace cpprof

#pragma once
// Hotspots: which functions the profile's time (or bytes) is spent in.
//
//   self   value of the samples whose leaf frame is the function (time spent in its own code)
//   total  value of the samples with the function anywhere on the stack (itself and callees);
//          a recursive function counts once per sample, not once per occurrence, so total
//          never exceeds the profile's total
//
// Functions are identified by name (frame::display_name()), so the frames of one function at
// different lines or addresses add up.
//
//   auto top = cpprof::hotspots(profile, 10);
//   cpprof::print_hotspots(std::cout, top);
//
//   rank   self%   self  total%  total  function
//      1  45.45%     50  72.73%     80  compute(int)
//
// The functions are templates with a dummy parameter, called like plain functions: see the
// note on lazy instantiation in config.hpp.

#include <algorithm>
#include <cctype>
#include <cstddef>
#include <cstdint>
#include <ostream>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include <cpprof/detail/stacks.hpp>
#include <cpprof/detail/text.hpp>
#include <cpprof/error.hpp>
#include <cpprof/profile.hpp>

namespace cpprof {

struct hotspot {
    hotspot() = default;
    hotspot(std::string function_name, std::int64_t self_value, std::int64_t total_value,
            double self_share, double total_share, std::string value_unit = {})
        : function(std::move(function_name)),
          self(self_value),
          total(total_value),
          self_fraction(self_share),
          total_fraction(total_share),
          unit(std::move(value_unit)) {}

    std::string function;
    std::int64_t self = 0;
    std::int64_t total = 0;
    double self_fraction = 0;   ///< self / the profile's total for the sample type
    double total_fraction = 0;  ///< total / the profile's total for the sample type
    std::string unit;           ///< unit of self and total ("count", "nanoseconds", "bytes")
};

namespace detail {

/// Function ids by display name: `names[of_frame[frame id]]` is the frame's function.
struct function_index {
    std::vector<std::string> names;
    std::vector<std::uint32_t> of_frame;
};

template <class = void>
function_index function_names(const profile& p) {
    function_index t;
    std::unordered_map<std::string, std::uint32_t> ids;
    t.of_frame.reserve(p.frames().size());
    for (const frame& f : p.frames()) {
        auto it = ids.try_emplace(f.display_name(), static_cast<std::uint32_t>(t.names.size()));
        if (it.second) t.names.push_back(it.first->first);
        t.of_frame.push_back(it.first->second);
    }
    return t;
}

}  // namespace detail

/// The `n` functions with the highest self value, then total value, then name (so ties come
/// out in a stable order), for value column `sample_index` (default: the profile's default
/// sample type). Functions that appear only with zero values are left out. Pass
/// `static_cast<std::size_t>(-1)` as `n` for all of them. Throws cpprof::error when
/// `sample_index` names no sample type.
template <class = void>
std::vector<hotspot> hotspots(const profile& p, std::size_t n = 10,
                              std::size_t sample_index = detail::default_sample) {
    const std::size_t index = detail::resolve_sample_index(p, sample_index);
    if (index == detail::default_sample)
        throw error(detail::bad_sample_index_message(p, sample_index, "hotspots"));

    const detail::function_index fns = detail::function_names(p);
    std::vector<std::int64_t> self(fns.names.size()), total(fns.names.size());
    std::vector<char> seen(fns.names.size());  // marks the current sample's functions
    std::vector<std::uint32_t> on_stack;
    for (const sample& s : p.samples()) {
        const std::int64_t v = detail::sample_value(s, index);
        if (v == 0 || s.stack.empty()) continue;
        self[fns.of_frame[s.stack.front()]] += v;
        on_stack.clear();
        for (frame_id id : s.stack) {
            const std::uint32_t fn = fns.of_frame[id];
            if (seen[fn]) continue;  // recursion: once per sample
            seen[fn] = 1;
            on_stack.push_back(fn);
            total[fn] += v;
        }
        for (std::uint32_t fn : on_stack) seen[fn] = 0;
    }

    std::vector<std::uint32_t> order;
    for (std::uint32_t fn = 0; fn < fns.names.size(); ++fn)
        if (self[fn] != 0 || total[fn] != 0) order.push_back(fn);
    auto before = [&](std::uint32_t a, std::uint32_t b) {
        if (self[a] != self[b]) return self[a] > self[b];
        if (total[a] != total[b]) return total[a] > total[b];
        return fns.names[a] < fns.names[b];
    };
    const std::size_t count = std::min(n, order.size());
    std::partial_sort(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(count),
                      order.end(), before);

    const std::int64_t grand = p.total(index);
    auto share = [grand](std::int64_t v) {
        return grand == 0 ? 0.0 : static_cast<double>(v) / static_cast<double>(grand);
    };
    std::vector<hotspot> out;
    out.reserve(count);
    for (std::size_t i = 0; i < count; ++i) {
        const std::uint32_t fn = order[i];
        out.push_back({fns.names[fn], self[fn], total[fn], share(self[fn]), share(total[fn]),
                       p.sample_types()[index].unit});
    }
    return out;
}

namespace detail {

/// `name` with the template arguments nested deeper than `keep_depth` replaced by "...":
/// keep_depth 0 turns `std::map<int, std::vector<int> >::find` into `std::map<...>::find`.
/// Knows that the '<' and '>' of `operator<<`, `operator<`, `operator->` etc. are not brackets.
/// Returns an empty string when the brackets do not balance.
template <class = void>
std::string collapse_template_arguments(std::string_view name, int keep_depth) {
    std::string out;
    out.reserve(name.size());
    int depth = 0;
    for (std::size_t i = 0; i < name.size(); ++i) {
        const char c = name[i];
        const bool shown = depth <= keep_depth;
        if (name.compare(i, 8, "operator") == 0 &&
            (i == 0 || !(std::isalnum(static_cast<unsigned char>(name[i - 1])) ||
                         name[i - 1] == '_'))) {
            // "operator" and the symbol after it, taken as it is.
            std::size_t end = i + 8;
            while (end < name.size() && std::string_view("<>=-!+*/%^&|~").find(name[end]) !=
                                            std::string_view::npos)
                ++end;
            if (shown) out.append(name.data() + i, end - i);
            i = end - 1;
        } else if (c == '<') {
            ++depth;
            if (shown) out += depth > keep_depth ? "<..." : "<";
        } else if (c == '>' && !(i > 0 && name[i - 1] == '-')) {
            if (depth == 0) return {};
            --depth;
            if (depth <= keep_depth) out += '>';
        } else if (shown) {
            out += c;
        }
    }
    return depth == 0 ? out : std::string();
}

/// `name` made to fit in `width` characters for a table: template arguments are collapsed from
/// the innermost out until it fits, then the middle is cut ("...") keeping the start
/// (namespace, class) and the end (the function itself).
template <class = void>
std::string shorten_function_name(std::string_view name, std::size_t width) {
    if (width == 0 || utf8_length(name) <= width) return std::string(name);
    std::string best(name);
    for (int keep = 8; keep >= 0; --keep) {
        std::string c = collapse_template_arguments(name, keep);
        if (c.empty()) break;  // unbalanced: leave it to the cut below
        best = std::move(c);
        if (utf8_length(best) <= width) return best;
    }
    if (width < 7) return best.substr(0, utf8_prefix_bytes(best, width));
    const std::size_t head = (width - 3) / 2, tail = width - 3 - head;
    const std::size_t chars = utf8_length(best);
    return best.substr(0, utf8_prefix_bytes(best, head)) + "..." +
           best.substr(utf8_prefix_bytes(best, chars - tail));
}

/// A scale for printing values of `unit` whose largest is `max`: time in ns/us/ms/s and
/// memory in B/KiB/MiB/GiB, so a CPU profile reads "320.00 ms" rather than "320,000,000".
struct quantity_scale {
    double divisor = 1;
    const char* suffix = "";  ///< empty: print the plain grouped number
};

inline quantity_scale scale_for(const std::string& unit, std::int64_t max) {
    struct step {
        double divisor;
        const char* suffix;
    };
    static const step time[] = {{1e9, " s"}, {1e6, " ms"}, {1e3, " us"}, {1, " ns"}};
    static const step memory[] = {
        {1073741824.0, " GiB"}, {1048576.0, " MiB"}, {1024.0, " KiB"}, {1, " B"}};
    const step* steps = unit == "nanoseconds" ? time : unit == "bytes" ? memory : nullptr;
    if (!steps) return {};
    for (int i = 0; i < 3; ++i)
        if (static_cast<double>(max) >= steps[i].divisor) return {steps[i].divisor, steps[i].suffix};
    return {steps[3].divisor, steps[3].suffix};
}

inline std::string format_quantity(std::int64_t v, const quantity_scale& s) {
    if (!*s.suffix) return grouped_number(v);
    return fixed_number(static_cast<double>(v) / s.divisor, s.divisor == 1 ? 0 : 2) + s.suffix;
}

}  // namespace detail

/// Prints `rows` as an aligned table: rank, self%, self, total%, total and the function, which
/// comes last so that long names do not push the numbers out of line. Names longer than
/// `max_name_width` characters are shortened readably (template arguments first, then the
/// middle); 0 prints them whole.
template <class = void>
void print_hotspots(std::ostream& os, const std::vector<hotspot>& rows,
                    std::size_t max_name_width = 100) {
    struct line {
        std::string cells[6];
    };
    std::vector<line> lines;
    lines.push_back({{"rank", "self%", "self", "total%", "total", "function"}});
    std::int64_t largest = 0;
    for (const hotspot& h : rows) largest = std::max({largest, h.self, h.total});
    const detail::quantity_scale scale =
        detail::scale_for(rows.empty() ? std::string() : rows.front().unit, largest);
    for (std::size_t i = 0; i < rows.size(); ++i) {
        const hotspot& h = rows[i];
        lines.push_back({{std::to_string(i + 1), detail::fixed_number(100 * h.self_fraction, 2) + "%",
                          detail::format_quantity(h.self, scale),
                          detail::fixed_number(100 * h.total_fraction, 2) + "%",
                          detail::format_quantity(h.total, scale),
                          detail::shorten_function_name(h.function, max_name_width)}});
    }
    std::size_t widths[5] = {};
    for (const line& l : lines)
        for (std::size_t c = 0; c < 5; ++c) widths[c] = std::max(widths[c], l.cells[c].size());

    std::string out;
    for (const line& l : lines) {
        for (std::size_t c = 0; c < 5; ++c) {
            out.append(widths[c] - l.cells[c].size() + (c == 0 ? 1 : 2), ' ');
            out += l.cells[c];
        }
        out += "  ";
        out += l.cells[5];
        out += '\n';
    }
    if (rows.empty()) out += "  (no samples)\n";
    os.write(out.data(), static_cast<std::streamsize>(out.size()));
}

}  // namespace cpprof

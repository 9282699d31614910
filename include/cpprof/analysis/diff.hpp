#pragma once
// Comparing two profiles of the same program: per-stack deltas, and the functions whose share
// moved most.
//
//     cpprof::profile d = cpprof::diff(before, after);         // after - before, per stack
//     cpprof::print_hotspot_diff(std::cout, before, after, 10);
//
// Stacks and functions are matched by name (frame::display_name()), not by address, so two
// builds of a program, or two runs with different load addresses, compare. Sample types are
// matched by type name. The functions are templates with a dummy parameter: see the note on
// lazy instantiation in config.hpp.

#include <cpprof/analysis/hotspots.hpp>
#include <cpprof/detail/stacks.hpp>
#include <cpprof/detail/text.hpp>
#include <cpprof/error.hpp>
#include <cpprof/profile.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <ostream>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

namespace cpprof {

/// Per-stack deltas: a profile with `after`'s sample types whose samples hold, for every
/// distinct stack, its value in `after` minus its value in `before` (negative where it
/// shrank). A sample type `before` does not have counts as zero there; stacks whose deltas are
/// all zero are left out; labels (threads) are not kept. Raw values, not normalised: compare
/// profiles of equal length, or use print_hotspot_diff, which compares shares.
template <class = void>
profile diff(const profile& before, const profile& after) {
    profile out(after.sample_types());
    out.set_period(after.period_type(), after.period());
    out.set_time_nanos(after.time_nanos());
    out.set_duration_nanos(after.duration_nanos());
    out.add_comment("cpprof diff: values are after minus before, per stack");

    const std::size_t types = after.sample_types().size();
    // before's column for each of after's types (or none).
    std::vector<std::size_t> before_column(types, std::numeric_limits<std::size_t>::max());
    for (std::size_t t = 0; t < types; ++t)
        for (std::size_t b = 0; b < before.sample_types().size(); ++b)
            if (before.sample_types()[b].type == after.sample_types()[t].type) before_column[t] = b;

    struct entry {
        std::vector<std::string> names;  // leaf first
        std::vector<std::int64_t> delta;
    };
    std::vector<entry> entries;
    std::unordered_map<std::string, std::size_t> index;
    auto add = [&](const profile& p, bool is_after) {
        std::string key;
        for (const sample& s : p.samples()) {
            key.clear();
            for (frame_id id : s.stack) {
                key += p.frames()[id].display_name();
                key += '\0';
            }
            auto it = index.find(key);
            if (it == index.end()) {
                entry e;
                for (frame_id id : s.stack) e.names.push_back(p.frames()[id].display_name());
                e.delta.assign(types, 0);
                entries.push_back(std::move(e));
                it = index.emplace(key, entries.size() - 1).first;
            }
            entry& e = entries[it->second];
            for (std::size_t t = 0; t < types; ++t) {
                if (is_after) {
                    e.delta[t] += detail::sample_value(s, t);
                } else if (before_column[t] != std::numeric_limits<std::size_t>::max()) {
                    e.delta[t] -= detail::sample_value(s, before_column[t]);
                }
            }
        }
    };
    add(before, false);
    add(after, true);

    std::unordered_map<std::string, frame_id> frames;
    for (const entry& e : entries) {
        if (std::all_of(e.delta.begin(), e.delta.end(), [](std::int64_t v) { return v == 0; }))
            continue;
        std::vector<frame_id> stack;
        for (const std::string& name : e.names) {
            auto it = frames.find(name);
            if (it == frames.end()) {
                frame f;
                f.function = name;
                it = frames.emplace(name, out.intern(f)).first;
            }
            stack.push_back(it->second);
        }
        out.add_sample(std::move(stack), e.delta);
    }
    return out;
}

/// One function's place in two profiles.
struct hotspot_change {
    std::string function;
    double before_self_fraction = 0;
    double after_self_fraction = 0;
    double before_total_fraction = 0;
    double after_total_fraction = 0;
    std::int64_t before_self = 0;
    std::int64_t after_self = 0;
    std::string unit;
    /// after_self_fraction - before_self_fraction: how much of the profile it gained.
    double self_change() const { return after_self_fraction - before_self_fraction; }
};

/// The `n` functions whose self share moved most between the profiles (by absolute change of
/// self / total, so profiles of different lengths compare), largest first. `sample_index`
/// indexes `after`'s types (default: its default); `before` is read at the type of that name.
template <class = void>
std::vector<hotspot_change> hotspot_diff(const profile& before, const profile& after,
                                         std::size_t n = 10,
                                         std::size_t sample_index = detail::default_sample) {
    const std::size_t a_index = detail::resolve_sample_index(after, sample_index);
    if (a_index == detail::default_sample)
        throw error(detail::bad_sample_index_message(after, sample_index, "hotspot_diff"));
    const std::string& type = after.sample_types()[a_index].type;
    std::size_t b_index = detail::default_sample;
    for (std::size_t i = 0; i < before.sample_types().size(); ++i)
        if (before.sample_types()[i].type == type) b_index = i;
    if (b_index == detail::default_sample)
        throw error("hotspot_diff: the 'before' profile has no sample type '" + type + "'");

    const std::size_t all = std::numeric_limits<std::size_t>::max();
    std::unordered_map<std::string, hotspot_change> rows;
    for (const hotspot& h : hotspots(before, all, b_index)) {
        hotspot_change& c = rows[h.function];
        c.function = h.function;
        c.before_self = h.self;
        c.before_self_fraction = h.self_fraction;
        c.before_total_fraction = h.total_fraction;
        c.unit = h.unit;
    }
    for (const hotspot& h : hotspots(after, all, a_index)) {
        hotspot_change& c = rows[h.function];
        c.function = h.function;
        c.after_self = h.self;
        c.after_self_fraction = h.self_fraction;
        c.after_total_fraction = h.total_fraction;
        c.unit = h.unit;
    }
    std::vector<hotspot_change> out;
    out.reserve(rows.size());
    for (auto& [name, c] : rows) {
        (void)name;
        out.push_back(std::move(c));
    }
    std::sort(out.begin(), out.end(), [](const hotspot_change& a, const hotspot_change& b) {
        const double da = detail::math::fabs(a.self_change()), db = detail::math::fabs(b.self_change());
        if (da != db) return da > db;
        return a.function < b.function;
    });
    if (out.size() > n) out.resize(n);
    return out;
}

/// Prints hotspot_diff(before, after, n) as an aligned table: rank, self% before and after,
/// the change in percentage points, total% before and after, and the function.
template <class = void>
void print_hotspot_diff(std::ostream& os, const profile& before, const profile& after,
                        std::size_t n = 10, std::size_t max_name_width = 100) {
    const std::vector<hotspot_change> rows = hotspot_diff(before, after, n);
    std::vector<std::vector<std::string>> lines;
    lines.push_back({"rank", "self% before", "after", "change", "total% before", "after", "function"});
    auto pct = [](double f) { return detail::fixed_number(100 * f, 2) + "%"; };
    for (std::size_t i = 0; i < rows.size(); ++i) {
        const hotspot_change& c = rows[i];
        const double change = 100 * c.self_change();
        lines.push_back({std::to_string(i + 1), pct(c.before_self_fraction),
                         pct(c.after_self_fraction),
                         (change >= 0 ? "+" : "") + detail::fixed_number(change, 2) + " pp",
                         pct(c.before_total_fraction), pct(c.after_total_fraction),
                         detail::shorten_function_name(c.function, max_name_width)});
    }
    std::vector<std::size_t> widths(7, 0);
    for (const auto& l : lines)
        for (std::size_t c = 0; c < 7; ++c) widths[c] = std::max(widths[c], l[c].size());
    std::string out;
    for (const auto& l : lines) {
        for (std::size_t c = 0; c < 6; ++c) {
            out.append(widths[c] - l[c].size() + (c ? 2 : 1), ' ');
            out += l[c];
        }
        out += "  ";
        out += l[6];
        out += '\n';
    }
    os << out;
}

}  // namespace cpprof

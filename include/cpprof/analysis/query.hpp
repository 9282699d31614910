#pragma once
// Questions a test asks of a profile, such as "is at least 30 % of the time in parse()?":
//
//   CHECK(cpprof::fraction(profile, "parse") >= 0.3);       // parse() or what it calls
//   CHECK(cpprof::self_fraction(profile, "parse") < 0.1);   // parse() itself (leaf frame)
//
// and views of a profile by label (label_guard, pprof labels):
//
//   cpprof::profile orders = cpprof::filter(p, "route", "/api/orders");  // only those samples
//   cpprof::profile by_route = cpprof::group_by_label(p, "route");      // root frame per route
//   for (auto& [route, value] : cpprof::label_values(p, "route")) ...    // values, by weight
//
// Filtered and grouped profiles are ordinary profiles: every writer and analysis takes them
// (write_flamegraph(group_by_label(p, "route"), ...), hotspots(filter(p, ...)), write_pprof).
// The functions are templates with a dummy parameter: see the note on lazy instantiation in
// config.hpp.

#include <algorithm>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include <cpprof/profile.hpp>

namespace cpprof {

/// The share (0..1) of the profile's default sample value carried by the samples that have at
/// least one frame whose function name (frame::display_name()) contains `substring`. Each
/// sample counts once, however many of its frames match. 0 for a profile whose total is 0.
template <class = void>
double fraction(const profile& p, std::string_view substring) {
    const std::size_t index = p.default_sample_index();
    const std::int64_t total = p.total(index);
    if (total == 0) return 0;

    std::vector<char> matches(p.frames().size());
    for (std::size_t i = 0; i < matches.size(); ++i) {
        const frame& f = p.frames()[i];
        matches[i] = f.function.empty()
                         ? f.display_name().find(substring) != std::string::npos
                         : std::string_view(f.function).find(substring) != std::string_view::npos;
    }
    std::int64_t hit = 0;
    for (const sample& s : p.samples()) {
        if (index >= s.values.size()) continue;
        for (frame_id id : s.stack)
            if (matches[id]) {
                hit += s.values[index];
                break;
            }
    }
    return static_cast<double>(hit) / static_cast<double>(total);
}

/// Like fraction(), but only a sample's leaf frame (where the sample was taken) is matched:
/// the share of time spent in matching functions themselves, not in what they call.
template <class = void>
double self_fraction(const profile& p, std::string_view substring) {
    const std::size_t index = p.default_sample_index();
    const std::int64_t total = p.total(index);
    if (total == 0) return 0;
    std::int64_t hit = 0;
    for (const sample& s : p.samples()) {
        if (index >= s.values.size() || s.stack.empty()) continue;
        const frame& f = p.frames()[s.stack.front()];
        const bool match = f.function.empty()
                               ? f.display_name().find(substring) != std::string::npos
                               : std::string_view(f.function).find(substring) != std::string_view::npos;
        if (match) hit += s.values[index];
    }
    return static_cast<double>(hit) / static_cast<double>(total);
}

/// A copy of `p` with only the samples that carry the string label key=value (as label_guard
/// and pprof set them). Everything else (sample types, frames, mappings, period, times,
/// comments, losses) is kept as it is, so the result writes and reads like `p`; losses stay
/// those of the whole collection, since a lost sample's labels are unknown.
template <class = void>
profile filter(const profile& p, std::string_view key, std::string_view value) {
    profile out = p;
    auto& samples = out.mutable_samples();
    samples.erase(std::remove_if(samples.begin(), samples.end(),
                                 [&](const sample& s) {
                                     for (const label& l : s.labels)
                                         if (l.key == key && !l.is_numeric() && l.str == value)
                                             return false;
                                     return true;
                                 }),
                  samples.end());
    out.add_comment("cpprof: filtered to samples labelled " + std::string(key) + "=" +
                    std::string(value));
    return out;
}

/// What group_by_label names samples without the label: "key=" followed by this.
inline constexpr std::string_view unlabelled_group = "(none)";

/// A copy of `p` where every sample gets one more root frame, "key=value" for its string label
/// `key` ("key=(none)" when it has none), so a flame graph splits at the root by that label
/// and hotspots() lists each group as a function whose total is the group's share.
template <class = void>
profile group_by_label(const profile& p, std::string_view key) {
    profile out = p;
    std::string name;
    for (sample& s : out.mutable_samples()) {
        name.assign(key.data(), key.size());
        name += '=';
        std::string_view v = unlabelled_group;
        for (const label& l : s.labels)
            if (l.key == key && !l.is_numeric()) {
                v = l.str;
                break;
            }
        name.append(v.data(), v.size());
        frame f;
        f.function = name;
        s.stack.push_back(out.intern(f));
    }
    return out;
}

/// The distinct string values of label `key` in `p`, each with the sum of the value column
/// `sample_index` (default: the profile's default) over its samples, largest first (then by
/// value). Samples without the label are left out.
template <class = void>
std::vector<std::pair<std::string, std::int64_t>> label_values(
    const profile& p, std::string_view key, std::size_t sample_index = static_cast<std::size_t>(-1)) {
    const std::size_t index = sample_index == static_cast<std::size_t>(-1)
                                  ? p.default_sample_index()
                                  : sample_index;
    std::vector<std::pair<std::string, std::int64_t>> out;
    std::unordered_map<std::string_view, std::size_t> at;  // views into the samples' labels
    for (const sample& s : p.samples()) {
        for (const label& l : s.labels) {
            if (l.key != key || l.is_numeric()) continue;
            const std::int64_t v = index < s.values.size() ? s.values[index] : 0;
            auto [it, added] = at.try_emplace(l.str, out.size());
            if (added)
                out.emplace_back(l.str, v);
            else
                out[it->second].second += v;
            break;
        }
    }
    std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) {
        return a.second != b.second ? a.second > b.second : a.first < b.first;
    });
    return out;
}

}  // namespace cpprof

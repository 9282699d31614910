#pragma once
// Questions a test asks of a profile, such as "is at least 30 % of the time in parse()?":
//
//   CHECK(cpprof::fraction(profile, "parse") >= 0.3);
//
// fraction() is a template with a dummy parameter: see the note on lazy instantiation in
// config.hpp.

#include <cstdint>
#include <string_view>
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

}  // namespace cpprof

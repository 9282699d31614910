#pragma once
// IWYU pragma: private, include <cpprof/cpprof.hpp>
//
// Label sets as the collectors keep them: one std::string per distinct set, built outside any
// signal handler from what detail::pack_labels wrote (detail/label_stack.hpp):
//
//   [labels dropped: 1 byte, saturated at 255][labels cut: 1 byte][packed labels]
//
// and their decoding into cpprof::label values when a profile is built. Templates with a dummy
// parameter: see the note on lazy instantiation in config.hpp.

#include <cpprof/detail/label_stack.hpp>
#include <cpprof/profile.hpp>

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace cpprof::detail {

/// The set string for `info` and the bytes pack_labels wrote; empty when there is nothing.
template <class = void>
std::string make_label_set(const unsigned char* packed, const packed_labels_info& info) {
    if (info.bytes == 0 && info.dropped == 0) return {};
    std::string s;
    s.reserve(2 + info.bytes);
    s.push_back(static_cast<char>(info.dropped > 255 ? 255 : info.dropped));
    s.push_back(static_cast<char>(info.cut > 255 ? 255 : info.cut));
    s.append(reinterpret_cast<const char*>(packed), info.bytes);
    return s;
}

/// The labels of a set: the user's, innermost first, then the numeric cpprof.labels_dropped
/// and cpprof.labels_cut when not zero.
template <class = void>
std::vector<label> decode_label_set(const std::string& set) {
    std::vector<label> out;
    if (set.size() < 2) return out;
    const auto* p = reinterpret_cast<const unsigned char*>(set.data());
    std::int64_t cut = 0;
    for_each_packed_label(p + 2, set.size() - 2,
                          [&](const char* k, std::size_t kn, const char* v, std::size_t vn, bool c) {
                              out.push_back(label{std::string(k, kn), std::string(v, vn), 0, {}});
                              cut += c ? 1 : 0;
                          });
    if (p[0] != 0) out.push_back(label{std::string(label_keys::labels_dropped), {}, p[0], {}});
    if (cut != 0) out.push_back(label{std::string(label_keys::labels_cut), {}, cut, {}});
    return out;
}

}  // namespace cpprof::detail

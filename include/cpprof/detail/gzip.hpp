#pragma once
// IWYU pragma: private, include <cpprof/cpprof.hpp>
//
// gzip (RFC 1952): one member around a DEFLATE stream from deflate.hpp.
//
//   1f 8b 08 00 | MTIME 00 00 00 00 | XFL | OS ff | deflate data | CRC-32 (LE) | ISIZE (LE)
//
// No file name, no timestamp (so the output is a pure function of the input and the level),
// OS 255 "unknown". XFL says 4 for level 1 and 2 for level 9, as RFC 1952 suggests.
// Templates with a dummy parameter: see the note on lazy instantiation in config.hpp.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include <cpprof/detail/crc32.hpp>
#include <cpprof/detail/deflate.hpp>

namespace cpprof {
namespace detail {

/// Appends one gzip member holding `data` to `out`. `level` as for deflate_compress: 0 stores,
/// 1 fastest, 9 best, 6 default; values outside 0..9 are clamped (negative means 6).
template <class = void>
void gzip_compress(std::string_view data, int level, std::string& out) {
    const char xfl = level == 1 ? '\x04' : level >= 9 ? '\x02' : '\x00';
    const char header[10] = {'\x1f', '\x8b', '\x08', '\x00', '\x00', '\x00', '\x00', '\x00', xfl, '\xff'};
    out.append(header, sizeof header);
    deflate_compress(data, level, out);
    const std::uint32_t crc = crc32(data.data(), data.size());
    const auto size = static_cast<std::uint32_t>(data.size());  // ISIZE is the size mod 2^32
    const char trailer[8] = {static_cast<char>(crc), static_cast<char>(crc >> 8),
                             static_cast<char>(crc >> 16), static_cast<char>(crc >> 24),
                             static_cast<char>(size), static_cast<char>(size >> 8),
                             static_cast<char>(size >> 16), static_cast<char>(size >> 24)};
    out.append(trailer, sizeof trailer);
}

/// `data` as one gzip member (RFC 1952); see the overload above for `level`.
template <class = void>
std::string gzip_compress(std::string_view data, int level = 6) {
    std::string out;
    gzip_compress(data, level, out);
    return out;
}

}  // namespace detail
}  // namespace cpprof

#pragma once
// Bytes as space-separated lowercase hex, for readable byte-exact assertions.

#include <string>
#include <string_view>

namespace cpprof_test {

inline std::string hex(std::string_view s) {
    static const char digits[] = "0123456789abcdef";
    std::string out;
    for (unsigned char c : s) {
        if (!out.empty()) out += ' ';
        out += digits[c >> 4];
        out += digits[c & 15];
    }
    return out;
}

}  // namespace cpprof_test

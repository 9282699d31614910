#pragma once
// A minimal protobuf wire-format reader for tests: splits one message into its fields, so
// tests can look at what an encoder wrote without trusting the encoder's own code.

#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace cpprof_test {

struct wire_field {
    std::uint32_t number = 0;
    int type = 0;              ///< 0 varint, 1 fixed64, 2 LEN, 5 fixed32
    std::uint64_t value = 0;   ///< varint / fixed value
    std::string_view bytes;    ///< LEN payload
};

inline std::uint64_t read_varint(std::string_view s, std::size_t& pos) {
    std::uint64_t v = 0;
    for (int shift = 0; shift < 70; shift += 7) {
        if (pos >= s.size()) throw std::runtime_error("truncated varint");
        const auto b = static_cast<unsigned char>(s[pos++]);
        v |= std::uint64_t{b & 0x7fu} << shift;
        if ((b & 0x80) == 0) return v;
    }
    throw std::runtime_error("varint longer than 10 bytes");
}

inline std::vector<wire_field> parse_message(std::string_view s) {
    std::vector<wire_field> out;
    std::size_t pos = 0;
    while (pos < s.size()) {
        wire_field f;
        const std::uint64_t key = read_varint(s, pos);
        f.number = static_cast<std::uint32_t>(key >> 3);
        f.type = static_cast<int>(key & 7);
        if (f.number == 0) throw std::runtime_error("field number 0");
        switch (f.type) {
        case 0: f.value = read_varint(s, pos); break;
        case 1:
        case 5: {
            const std::size_t n = f.type == 1 ? 8 : 4;
            if (pos + n > s.size()) throw std::runtime_error("truncated fixed field");
            for (std::size_t i = 0; i < n; ++i)
                f.value |= std::uint64_t{static_cast<unsigned char>(s[pos + i])} << (8 * i);
            pos += n;
            break;
        }
        case 2: {
            const std::uint64_t n = read_varint(s, pos);
            if (n > s.size() - pos) throw std::runtime_error("LEN field runs past the end");
            f.bytes = s.substr(pos, n);
            pos += n;
            break;
        }
        default: throw std::runtime_error("unexpected wire type " + std::to_string(f.type));
        }
        out.push_back(f);
    }
    return out;
}

inline std::vector<std::uint64_t> unpack_varints(std::string_view s) {
    std::vector<std::uint64_t> out;
    std::size_t pos = 0;
    while (pos < s.size()) out.push_back(read_varint(s, pos));
    return out;
}

/// All fields numbered `number`, in order.
inline std::vector<wire_field> fields(const std::vector<wire_field>& msg, std::uint32_t number) {
    std::vector<wire_field> out;
    for (const auto& f : msg)
        if (f.number == number) out.push_back(f);
    return out;
}

}  // namespace cpprof_test

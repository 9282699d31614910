#pragma once
// IWYU pragma: private, include <cpprof/cpprof.hpp>
//
// Protocol Buffers wire-format decoder (no protobuf library), bounds-checked: every read is
// checked against the bytes left, and every failure is a cpprof::error that says what is wrong
// and at which byte of the outermost message, e.g.
//   "cpprof: pprof: over-long varint at byte 17"
//   "cpprof: pprof: field 2 (sample) length 4000000 exceeds the 120 bytes left at byte 9"
//
//   proto_reader r(bytes, "pprof", profile_field_names);
//   while (r.next()) {
//       switch (r.field()) {
//       case 9: time = r.int64(); break;              // checks the wire type is varint
//       case 2: parse_sample(r.message(sample_field_names)); break;
//       case 1: r.repeated_varint([&](std::uint64_t v) { ids.push_back(v); }); break;
//       default: r.skip();                            // unknown fields of every wire type
//       }
//   }
//
// Accepted wire types: 0 varint, 1 fixed64, 2 length-delimited, 5 fixed32. Groups (3, 4) and
// the undefined types 6 and 7 are errors, as is field number 0 or one above 2^29 - 1. A varint
// is at most 10 bytes and its 10th byte may carry only bit 63. Repeated scalars are accepted
// packed or one per key, as proto3 requires of readers.
//
// Field names: an optional table (index = field number) used only to name fields in errors.
// The reader never allocates except to build an error message.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include <cpprof/detail/protobuf.hpp>
#include <cpprof/error.hpp>

namespace cpprof {
namespace detail {

/// Names of a message's fields for error messages: names[n] is field n ("" or past the end:
/// unnamed).
struct proto_field_names {
    const char* const* names = nullptr;
    std::size_t count = 0;
    template <std::size_t N>
    constexpr proto_field_names(const char* const (&n)[N]) : names(n), count(N) {}
    constexpr proto_field_names() = default;
    const char* operator()(std::uint64_t field) const {
        return field < count && names[field] != nullptr ? names[field] : "";
    }
};

/// Use it as `proto_reader` (the template parameter is a dummy: see the note on lazy
/// instantiation in config.hpp).
template <class = void>
class basic_proto_reader {
public:
    /// Reads `data`, whose first byte is byte `base` of the outermost message. `what` prefixes
    /// every error ("pprof"); it must outlive the reader.
    explicit basic_proto_reader(std::string_view data, std::string_view what = "protobuf",
                          proto_field_names names = {}, std::size_t base = 0)
        : data_(data), what_(what), names_(names), base_(base) {}

    /// Reads the next key; false at the end of the message. Throws on a bad key.
    bool next() {
        if (pos_ >= data_.size()) return false;
        key_at_ = pos_;
        const std::uint64_t key = raw_varint("field key");
        const std::uint64_t number = key >> 3;
        const auto type = static_cast<std::uint32_t>(key & 7);
        if (number == 0) fail_at(key_at_, "field number 0 (a protobuf field number starts at 1)");
        if (number > 0x1fffffff)
            fail_at(key_at_, "field number " + std::to_string(number) + " is above the maximum 536870911");
        field_ = static_cast<std::uint32_t>(number);
        if (type == 3 || type == 4)
            fail_at(key_at_, field_label() + " uses wire type " + std::to_string(type) +
                                 " (groups), which is not supported");
        if (type == 6 || type == 7)
            fail_at(key_at_, field_label() + " has the invalid wire type " + std::to_string(type));
        type_ = static_cast<wire_type>(type);
        return true;
    }

    std::uint32_t field() const { return field_; }
    wire_type type() const { return type_; }
    /// Offset in the outermost message of the current field's key / of the next byte.
    std::size_t key_offset() const { return base_ + key_at_; }
    std::size_t offset() const { return base_ + pos_; }
    std::size_t remaining() const { return data_.size() - pos_; }
    std::string_view what() const { return what_; }

    // ---- values of the current field (each checks the wire type) ----------------------------
    std::uint64_t uint64() {
        expect(wire_type::varint);
        return raw_varint(nullptr);
    }
    std::int64_t int64() { return static_cast<std::int64_t>(uint64()); }
    bool boolean() { return uint64() != 0; }
    std::uint64_t fixed64() {
        expect(wire_type::i64);
        return raw_fixed(8);
    }
    std::uint32_t fixed32() {
        expect(wire_type::i32);
        return static_cast<std::uint32_t>(raw_fixed(4));
    }
    /// A length-delimited field (string, bytes, message, packed scalars).
    std::string_view bytes() {
        expect(wire_type::len);
        return raw_len();
    }
    /// A nested message: a reader over its bytes, offsets still counted from the outermost one.
    basic_proto_reader message(proto_field_names names = {}) {
        expect(wire_type::len);
        const std::string_view body = raw_len();
        return basic_proto_reader(body, what_, names, base_ + pos_ - body.size());
    }
    /// A repeated varint field, packed (wire type 2) or one value per key (wire type 0): calls
    /// `f(value)` for each value of this occurrence.
    template <class F>
    void repeated_varint(F&& f) {
        if (type_ == wire_type::varint) {
            f(raw_varint(nullptr));
            return;
        }
        if (type_ != wire_type::len) wrong_type("0 (varint) or 2 (packed)");
        const std::string_view packed = raw_len();
        basic_proto_reader inner(packed, what_, names_, base_ + pos_ - packed.size());
        inner.field_ = field_;
        while (inner.pos_ < packed.size()) f(inner.raw_varint("packed value"));
    }
    /// Skips the current field, whatever its wire type.
    void skip() {
        switch (type_) {
        case wire_type::varint: raw_varint(nullptr); break;
        case wire_type::i64: raw_fixed(8); break;
        case wire_type::i32: raw_fixed(4); break;
        case wire_type::len: raw_len(); break;
        }
    }

    /// Throws cpprof::error "<what>: <message> at byte <key offset of the current field>".
    [[noreturn]] void fail(const std::string& message) const { fail_at(key_at_, message); }
    /// "field 2 (sample)", or "field 2" when the field has no name.
    std::string field_label() const {
        std::string s = "field " + std::to_string(field_);
        const char* name = names_(field_);
        if (*name != '\0') s += std::string(" (") + name + ")";
        return s;
    }

private:
    [[noreturn]] void fail_at(std::size_t pos, const std::string& message) const {
        throw error(std::string(what_) + ": " + message + " at byte " + std::to_string(base_ + pos));
    }

    void expect(wire_type t) {
        if (type_ != t) {
            switch (t) {
            case wire_type::varint: wrong_type("0 (varint)"); break;
            case wire_type::i64: wrong_type("1 (fixed64)"); break;
            case wire_type::len: wrong_type("2 (length-delimited)"); break;
            case wire_type::i32: wrong_type("5 (fixed32)"); break;
            }
        }
    }
    [[noreturn]] void wrong_type(const char* expected) const {
        fail(field_label() + " has wire type " + std::to_string(static_cast<unsigned>(type_)) +
             ", expected " + expected);
    }

    /// A varint at pos_; `context` names it in errors (nullptr: the current field's value).
    std::uint64_t raw_varint(const char* context) {
        const std::size_t start = pos_;
        std::uint64_t v = 0;
        for (int i = 0; i < 10; ++i) {
            if (pos_ >= data_.size())
                fail_at(start, "truncated varint (" + describe(context) + "): the data ends");
            const auto b = static_cast<unsigned char>(data_[pos_++]);
            if (i == 9 && b > 1) {
                if (b & 0x80) fail_at(start, "over-long varint (" + describe(context) + ")");
                fail_at(start, "varint overflows 64 bits (" + describe(context) + ")");
            }
            v |= std::uint64_t{b & 0x7fu} << (7 * i);
            if ((b & 0x80) == 0) return v;
        }
        fail_at(start, "over-long varint");  // unreachable: the 10th byte returns or throws
    }
    std::string describe(const char* context) const {
        if (context != nullptr) {
            if (std::string_view(context) == "field key") return context;
            return std::string(context) + " of " + field_label();
        }
        return field_label();
    }

    std::uint64_t raw_fixed(std::size_t n) {
        if (data_.size() - pos_ < n)
            fail(field_label() + " needs " + std::to_string(n) + " bytes but only " +
                 std::to_string(data_.size() - pos_) + " are left");
        std::uint64_t v = 0;
        for (std::size_t i = 0; i < n; ++i)
            v |= std::uint64_t{static_cast<unsigned char>(data_[pos_ + i])} << (8 * i);
        pos_ += n;
        return v;
    }

    std::string_view raw_len() {
        const std::uint64_t n = raw_varint("length");
        const std::size_t left = data_.size() - pos_;
        if (n > left)
            fail(field_label() + " length " + std::to_string(n) + " exceeds the " +
                 std::to_string(left) + " bytes left");
        const std::string_view body = data_.substr(pos_, static_cast<std::size_t>(n));
        pos_ += static_cast<std::size_t>(n);
        return body;
    }

    std::string_view data_;
    std::string_view what_;
    proto_field_names names_;
    std::size_t base_ = 0;
    std::size_t pos_ = 0;
    std::size_t key_at_ = 0;
    std::uint32_t field_ = 0;
    wire_type type_ = wire_type::varint;
};

using proto_reader = basic_proto_reader<>;

}  // namespace detail
}  // namespace cpprof

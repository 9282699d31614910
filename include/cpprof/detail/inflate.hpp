#pragma once
// IWYU pragma: private, include <cpprof/cpprof.hpp>
//
// A DEFLATE decoder (RFC 1951) and a gzip reader (RFC 1952), written from the RFCs. No zlib.
//
//   inflate(data, max_output)   one raw DEFLATE stream -> its bytes
//   gunzip(data, max_output)    one or more gzip members -> their bytes, concatenated
//   is_gzip(data)               starts with the gzip magic 1f 8b
//
// The input is treated as hostile: every read of the input is bounds-checked, every code,
// length and distance is validated, the output never grows beyond `max_output` bytes (a
// "gzip bomb" fails as soon as it would pass the limit, not after inflating), and each loop
// consumes input or output, so none runs forever. Every failure is a cpprof::error whose
// message says what is wrong and at which byte of the input ("gzip: truncated deflate stream
// at byte 1234").
//
// How it decodes
//   * Bits come from a 64-bit buffer refilled eight bytes at a time while at least eight input
//     bytes remain (one unaligned load, no per-byte loop), byte by byte near the end. After a
//     refill the buffer holds at least 56 bits unless the input is nearly exhausted, which is
//     enough for a whole length/distance pair (15 + 5 + 15 + 13 bits), so the hot loop refills
//     once per symbol. Consuming more bits than the input holds is the "truncated" error.
//   * Huffman codes are canonical (RFC 1951 §3.2.2), so a code is fully described by its
//     per-length counts and its symbols sorted by code. Decoding looks the next `fast_bits`
//     bits up in a table giving the symbol and its code length directly; the rare longer codes
//     fall back to a bit-at-a-time walk over the counts (a handful of steps, at most 15).
//   * Code lengths are checked when a table is built: an over-subscribed set is always an
//     error; an incomplete one only passes where zlib (and therefore every encoder in the
//     wild) allows it: a single distance or literal/length code of length 1, or no distance
//     codes at all (a block of literals only).
//   * The output is one std::string grown geometrically but never past max_output; for gzip
//     the trailer's ISIZE (bounded by what DEFLATE's 1032:1 ratio allows for this input)
//     sizes it up front so a typical file is inflated without reallocating.
//
// Templates with a dummy parameter, tables built at run time: see the note on lazy
// instantiation in config.hpp. Including this header instantiates nothing.

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <string_view>
#include <utility>

#include <cpprof/detail/crc32.hpp>
#include <cpprof/detail/deflate_tables.hpp>
#include <cpprof/error.hpp>

namespace cpprof {
namespace detail {

namespace inflate_impl {

inline constexpr int max_bits = 15;   // longest code RFC 1951 allows
inline constexpr int fast_bits = 10;  // first-level table: 1 Ki entries, 2 KiB
inline constexpr std::size_t max_litlen = 288;  // the fixed code defines 286 and 287 too
inline constexpr std::size_t max_dist = 32;     // ... and distance codes 30 and 31


/// What a set of code lengths may be besides complete (see the header comment).
enum class incomplete_ok { never, single, single_or_empty };

/// A canonical prefix code ready to decode.
struct huffman_table {
    // fast[next fast_bits bits] = symbol << 4 | code length, or 0 when the code is longer than
    // fast_bits (or the bits start no code at all): take the slow path.
    std::array<std::uint16_t, std::size_t{1} << fast_bits> fast;
    std::array<std::uint16_t, max_bits + 1> count;  // number of codes of each length
    std::array<std::uint16_t, max_litlen> symbols;  // symbols ordered by code
};

/// Reverses the low `n` bits of `v`: codes are defined most significant bit first but packed
/// into the stream starting at the least significant bit.
inline std::uint32_t reverse_bits(std::uint32_t v, int n) {
    std::uint32_t r = 0;
    for (int i = 0; i < n; ++i) {
        r = (r << 1) | (v & 1u);
        v >>= 1;
    }
    return r;
}

inline std::uint64_t load_le64(const unsigned char* p) {
    std::uint64_t v = 0;
    for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];  // compiles to one mov on x86-64
    return v;
}

inline std::string hex32(std::uint32_t v) {
    char buf[16];
    std::snprintf(buf, sizeof buf, "0x%08x", static_cast<unsigned>(v));
    return buf;
}

inline std::string hex8(unsigned char v) {
    char buf[8];
    std::snprintf(buf, sizeof buf, "0x%02x", static_cast<unsigned>(v));
    return buf;
}

/// The fixed codes of RFC 1951 §3.2.6, built once on first use.
struct fixed_tables {
    huffman_table litlen;
    huffman_table dist;
};

/// Builds `h` from the code length of each of `n` symbols (0 = unused). Returns nullptr, or
/// what is wrong with the lengths.
template <class = void>
const char* build_table(huffman_table& h, const std::uint8_t* lengths, std::size_t n,
                        incomplete_ok ok) {
    h.count.fill(0);
    for (std::size_t s = 0; s < n; ++s) ++h.count[lengths[s]];
    const int used = static_cast<int>(n) - h.count[0];
    h.count[0] = 0;
    // Kraft: each length halves what is left of the code space.
    int left = 1;
    for (int len = 1; len <= max_bits; ++len) {
        left = (left << 1) - h.count[static_cast<std::size_t>(len)];
        if (left < 0) return "over-subscribed";
    }
    if (left > 0) {
        const bool single = used == 1 && h.count[1] == 1;
        const bool allowed = (ok == incomplete_ok::single && single) ||
                             (ok == incomplete_ok::single_or_empty && (single || used == 0));
        if (!allowed) return "incomplete";
    }
    // Symbols sorted by (length, symbol) = by code; the first code of each length.
    std::array<std::uint16_t, max_bits + 2> offs{};
    for (int len = 1; len <= max_bits; ++len)
        offs[static_cast<std::size_t>(len) + 1] = static_cast<std::uint16_t>(
            offs[static_cast<std::size_t>(len)] + h.count[static_cast<std::size_t>(len)]);
    std::array<std::uint32_t, max_bits + 1> next_code{};
    std::uint32_t code = 0;
    for (int len = 1; len <= max_bits; ++len) {
        code = (code + h.count[static_cast<std::size_t>(len) - 1]) << 1;
        next_code[static_cast<std::size_t>(len)] = code;
    }
    h.fast.fill(0);
    for (std::size_t s = 0; s < n; ++s) {
        const int len = lengths[s];
        if (len == 0) continue;
        h.symbols[offs[static_cast<std::size_t>(len)]++] = static_cast<std::uint16_t>(s);
        const std::uint32_t c = next_code[static_cast<std::size_t>(len)]++;
        if (len > fast_bits) continue;
        // Every table index whose low `len` bits are this code (reversed) decodes to s.
        const auto entry = static_cast<std::uint16_t>(s << 4 | static_cast<std::size_t>(len));
        for (std::uint32_t i = reverse_bits(c, len); i < (1u << fast_bits); i += 1u << len)
            h.fast[i] = entry;
    }
    return nullptr;
}

template <class = void>
fixed_tables make_fixed_tables() {
    fixed_tables t{};
    std::array<std::uint8_t, max_litlen> lit{};
    for (std::size_t s = 0; s < max_litlen; ++s)
        lit[s] = s < 144 ? 8 : s < 256 ? 9 : s < 280 ? 7 : 8;
    std::array<std::uint8_t, max_dist> dist{};
    dist.fill(5);
    build_table(t.litlen, lit.data(), lit.size(), incomplete_ok::never);
    build_table(t.dist, dist.data(), dist.size(), incomplete_ok::never);
    return t;
}

/// The decoder state: input cursor and bit buffer, output buffer and its limit.
template <class = void>
class basic_inflater {
public:
    basic_inflater(std::string_view in, std::size_t max_output, const char* what)
        : begin_(reinterpret_cast<const unsigned char*>(in.data())),
          pos_(begin_),
          end_(begin_ + in.size()),
          max_output_(max_output),
          what_(what) {}

    /// Sizes the output buffer for about `n` bytes in total (a hint; never past max_output).
    void reserve(std::size_t n) {
        n = std::min(n, max_output_);
        if (n > cap_) grow_to(n);
    }

    /// Byte offset of the input byte holding the next unread bit (after the end of a stream:
    /// of the byte after it).
    std::size_t offset() const {
        return (static_cast<std::size_t>(pos_ - begin_) * 8 - bits_) / 8;
    }
    std::size_t size() const { return n_; }
    const char* out_data() const { return out_.data(); }

    /// Moves the byte cursor to `off` (gzip header and trailer are parsed byte-wise outside).
    void seek(std::size_t off) {
        pos_ = begin_ + off;
        buf_ = 0;
        bits_ = 0;
    }

    /// Decodes one DEFLATE stream starting at the cursor, up to and including its final block;
    /// leaves the cursor on the byte after it. Back-references may not reach output written
    /// before this stream (each gzip member is independent).
    void inflate_stream() {
        const std::size_t stream_start = n_;
        bool final_block = false;
        while (!final_block) {
            refill();
            final_block = take(1) != 0;
            const std::uint32_t type = take(2);
            if (type == 0) {
                stored_block();
            } else if (type == 1) {
                const fixed_tables& f = fixed();
                codes(f.litlen, f.dist, stream_start);
            } else if (type == 2) {
                dynamic_block(stream_start);
            } else {
                fail("reserved block type 3", offset());
            }
        }
        align();  // the stream ends at a byte boundary
    }

    /// The output, trimmed to what was written.
    std::string finish() {
        out_.resize(n_);
        return std::move(out_);
    }

    [[noreturn]] void fail(const std::string& msg, std::size_t at) const {
        throw error(std::string(what_) + ": " + msg + " at byte " + std::to_string(at));
    }
    [[noreturn]] void fail(const std::string& msg) const {
        throw error(std::string(what_) + ": " + msg);
    }

private:
    // ---- bits ---------------------------------------------------------------------------
    /// Tops the bit buffer up to at least 56 bits, or to everything left of the input.
    void refill() {
        if (end_ - pos_ >= 8) {
            // Bits above bits_ may already hold the next byte's low bits from the previous
            // load; OR-ing the same bytes in again leaves them unchanged.
            buf_ |= load_le64(pos_) << bits_;
            pos_ += (63u - bits_) >> 3;
            bits_ |= 56u;
        } else {
            while (bits_ <= 56 && pos_ < end_) {
                buf_ |= static_cast<std::uint64_t>(*pos_++) << bits_;
                bits_ += 8;
            }
        }
    }
    /// Drops the bits up to the next byte boundary.
    void align() {
        const unsigned n = bits_ & 7u;
        buf_ >>= n;
        bits_ -= n;
    }
    [[noreturn]] void truncated() const { fail("truncated deflate stream", offset()); }
    /// Consumes `n` (<= 32) bits; the caller refilled.
    std::uint32_t take(unsigned n) {
        if (n > bits_) truncated();
        const auto v = static_cast<std::uint32_t>(buf_ & ((std::uint64_t{1} << n) - 1u));
        buf_ >>= n;
        bits_ -= n;
        return v;
    }
    /// Next symbol of code `h`; the caller refilled.
    std::uint32_t decode(const huffman_table& h) {
        const std::uint32_t e = h.fast[buf_ & ((1u << fast_bits) - 1u)];
        if (e != 0) {
            const unsigned len = e & 15u;
            if (len > bits_) truncated();
            buf_ >>= len;
            bits_ -= len;
            return e >> 4;
        }
        return decode_slow(h);
    }
    /// Canonical decoding one bit at a time: at each length, codes [first, first + count)
    /// are the ones of that length, in symbol order.
    std::uint32_t decode_slow(const huffman_table& h) {
        int code = 0;
        int first = 0;
        int index = 0;
        for (unsigned len = 1; len <= static_cast<unsigned>(max_bits); ++len) {
            code |= static_cast<int>((buf_ >> (len - 1)) & 1u);
            const int count = h.count[len];
            if (code - first < count) {
                if (len > bits_) truncated();
                buf_ >>= len;
                bits_ -= len;
                return h.symbols[static_cast<std::size_t>(index + code - first)];
            }
            index += count;
            first = (first + count) << 1;
            code <<= 1;
        }
        if (bits_ < static_cast<unsigned>(max_bits)) truncated();
        fail("invalid Huffman code", offset());
    }

    // ---- output -------------------------------------------------------------------------
    /// Makes room for `need` more bytes or fails if the output would pass max_output.
    void room(std::size_t need) {
        if (need > max_output_ - n_)
            fail("output would exceed " + std::to_string(max_output_) + " bytes", offset());
        std::size_t want = std::max<std::size_t>(cap_ * 2, 4096);
        want = std::max(want, n_ + need);
        grow_to(std::min(want, max_output_));
    }
    /// Reallocates to exactly `cap` bytes. A fresh string of that size rather than resize or
    /// reserve, which may round the allocation up past max_output.
    void grow_to(std::size_t cap) {
        std::string bigger(cap, '\0');
        if (n_ != 0) std::memcpy(&bigger[0], out_.data(), n_);
        out_.swap(bigger);
        cap_ = cap;
    }

    // ---- blocks -------------------------------------------------------------------------
    void stored_block() {
        align();
        const std::size_t at = offset();
        const std::uint32_t len = take(16);
        const std::uint32_t nlen = take(16);
        if ((len ^ 0xffffu) != nlen)
            fail("stored block LEN/NLEN mismatch (" + std::to_string(len) + " vs ~" +
                     std::to_string(nlen ^ 0xffffu) + ")",
                 at);
        seek(offset());  // bits_ is a multiple of 8: hand the buffered bytes back
        if (static_cast<std::size_t>(end_ - pos_) < len) {
            pos_ = end_;
            truncated();
        }
        if (cap_ - n_ < len) room(len);
        if (len != 0) std::memcpy(&out_[n_], pos_, len);
        n_ += len;
        pos_ += len;
    }

    void dynamic_block(std::size_t stream_start) {
        const std::size_t at = offset();
        const std::uint32_t hlit = take(5) + 257;
        const std::uint32_t hdist = take(5) + 1;
        const std::uint32_t hclen = take(4) + 4;
        if (hlit > 286 || hdist > 30)
            fail("too many length or distance codes (HLIT " + std::to_string(hlit) + ", HDIST " +
                     std::to_string(hdist) + ")",
                 at);
        std::array<std::uint8_t, 19> cl_lengths{};
        refill();  // 19 * 3 = 57 bits at most: two refills
        for (std::uint32_t i = 0; i < hclen; ++i) {
            if (i == 10) refill();
            cl_lengths[cl_order[i]] = static_cast<std::uint8_t>(take(3));
        }
        build(cl_, cl_lengths.data(), cl_lengths.size(), incomplete_ok::never, "code length", at);

        // Literal/length and distance code lengths, run-length coded as one sequence: a
        // repeat may run from one into the other (RFC 1951 §3.2.7) but not past the end.
        std::array<std::uint8_t, 286 + 30> lengths{};
        const std::uint32_t total = hlit + hdist;
        std::uint32_t i = 0;
        while (i < total) {
            refill();
            const std::uint32_t sym = decode(cl_);
            if (sym < 16) {
                lengths[i++] = static_cast<std::uint8_t>(sym);
                continue;
            }
            std::uint8_t value = 0;
            std::uint32_t repeat = 0;
            if (sym == 16) {
                if (i == 0) fail("code length repeat with no previous length", offset());
                value = lengths[i - 1];
                repeat = 3 + take(2);
            } else if (sym == 17) {
                repeat = 3 + take(3);
            } else {
                repeat = 11 + take(7);
            }
            if (repeat > total - i) fail("code length repeat past the end of the code lengths", offset());
            std::memset(&lengths[i], value, repeat);
            i += repeat;
        }
        if (lengths[256] == 0) fail("no code for end-of-block", at);
        build(litlen_, lengths.data(), hlit, incomplete_ok::single, "literal/length", at);
        build(dist_, lengths.data() + hlit, hdist, incomplete_ok::single_or_empty, "distance", at);
        codes(litlen_, dist_, stream_start);
    }

    void build(huffman_table& h, const std::uint8_t* lengths, std::size_t n, incomplete_ok ok,
               const char* name, std::size_t at) {
        if (const char* problem = build_table(h, lengths, n, ok))
            fail(std::string("invalid Huffman code lengths (") + name + " code " + problem + ")", at);
    }

    /// The compressed data of a Huffman block, up to its end-of-block code.
    ///
    /// The hot loop. Its state lives in locals, not members: the output is written through a
    /// char pointer, which may alias anything, so members would be reloaded from memory after
    /// every byte written. `save()` writes the state back before anything that reads members
    /// (the slow decode path, growing the output, errors).
    void codes(const huffman_table& litlen, const huffman_table& dist, std::size_t stream_start) {
        std::uint64_t buf = buf_;
        unsigned bits = bits_;
        const unsigned char* pos = pos_;
        const unsigned char* const end = end_;
        std::size_t n = n_;
        std::size_t cap = cap_;
        char* out = cap == 0 ? nullptr : &out_[0];
        const auto save = [&] {
            buf_ = buf;
            bits_ = bits;
            pos_ = pos;
            n_ = n;
        };
        const auto grow = [&](std::size_t need) {
            save();
            room(need);
            cap = cap_;
            out = &out_[0];
        };
        const auto take_bits = [&](unsigned k) -> std::uint32_t {
            if (k > bits) {
                save();
                truncated();
            }
            const auto v = static_cast<std::uint32_t>(buf & ((std::uint64_t{1} << k) - 1u));
            buf >>= k;
            bits -= k;
            return v;
        };
        const auto decode_local = [&](const huffman_table& h) -> std::uint32_t {
            const std::uint32_t e = h.fast[buf & ((1u << fast_bits) - 1u)];
            if (e != 0) {
                const unsigned len = e & 15u;
                if (len > bits) {
                    save();
                    truncated();
                }
                buf >>= len;
                bits -= len;
                return e >> 4;
            }
            save();
            const std::uint32_t sym = decode_slow(h);
            buf = buf_;
            bits = bits_;
            return sym;
        };
        for (;;) {
            // A length/distance pair takes at most 15 + 5 + 15 + 13 = 48 bits, so with 48 in
            // the buffer a whole symbol decodes without a refill, and after a refill (56+) up
            // to three literals do. Same refill as refill(), on the locals.
            if (bits < 48) {
                if (end - pos >= 8) {
                    buf |= load_le64(pos) << bits;
                    pos += (63u - bits) >> 3;
                    bits |= 56u;
                } else {
                    while (bits <= 56 && pos < end) {
                        buf |= static_cast<std::uint64_t>(*pos++) << bits;
                        bits += 8;
                    }
                }
            }
            std::uint32_t sym = decode_local(litlen);
            if (sym < 256) {
                if (n == cap) grow(1);
                out[n++] = static_cast<char>(sym);
                continue;
            }
            if (sym == 256) {
                save();
                return;
            }
            sym -= 257;
            if (sym >= 29) {
                save();
                fail("invalid literal/length code " + std::to_string(sym + 257), offset());
            }
            const std::size_t len = length_base[sym] + take_bits(length_extra[sym]);
            const std::uint32_t dsym = decode_local(dist);
            if (dsym >= 30) {
                save();
                fail("invalid distance code " + std::to_string(dsym), offset());
            }
            const std::size_t distance = dist_base[dsym] + take_bits(dist_extra[dsym]);
            if (distance > n - stream_start) {
                save();
                fail("distance " + std::to_string(distance) + " too far back (only " +
                         std::to_string(n - stream_start) + " bytes of output)",
                     offset());
            }
            if (cap - n < len) grow(len);
            char* dst = out + n;
            const char* src = dst - distance;
            if (distance >= 8 && cap - n >= len + 8) {
                // Eight bytes at a time, possibly writing up to 7 bytes past the match into
                // spare capacity (later output overwrites them). Each 8-byte load reads bytes
                // at least 8 behind what it writes, so it never sees its own output half-done.
                for (std::size_t k = 0; k < len; k += 8) std::memcpy(dst + k, src + k, 8);
            } else if (distance >= len) {
                std::memcpy(dst, src, len);
            } else if (distance == 1) {
                std::memset(dst, *src, len);
            } else {
                // Overlapping: the copy reads bytes it has just written (a repeated pattern).
                for (std::size_t k = 0; k < len; ++k) dst[k] = src[k];
            }
            n += len;
        }
    }

    static const fixed_tables& fixed() {
        static const fixed_tables t = make_fixed_tables<>();
        return t;
    }

    huffman_table cl_;
    huffman_table litlen_;
    huffman_table dist_;
    const unsigned char* begin_;
    const unsigned char* pos_;
    const unsigned char* end_;
    std::uint64_t buf_ = 0;
    unsigned bits_ = 0;
    std::string out_;
    std::size_t n_ = 0;    // bytes written
    std::size_t cap_ = 0;  // out_.size()
    std::size_t max_output_;
    const char* what_;
};

inline std::uint32_t load_le32(const unsigned char* p) {
    return static_cast<std::uint32_t>(p[0]) | static_cast<std::uint32_t>(p[1]) << 8 |
           static_cast<std::uint32_t>(p[2]) << 16 | static_cast<std::uint32_t>(p[3]) << 24;
}

}  // namespace inflate_impl

/// True if `data` starts with the gzip magic bytes 1f 8b.
inline bool is_gzip(std::string_view data) noexcept {
    return data.size() >= 2 && static_cast<unsigned char>(data[0]) == 0x1f &&
           static_cast<unsigned char>(data[1]) == 0x8b;
}

/// Decompresses one raw DEFLATE stream (RFC 1951, no zlib or gzip wrapper). Bytes after the
/// final block are ignored. Throws cpprof::error ("inflate: ... at byte N") on malformed or
/// truncated input, or when the output would exceed `max_output` bytes.
template <class T = void>
std::string inflate(std::string_view data, std::size_t max_output = std::size_t{1} << 30) {
    inflate_impl::basic_inflater<T> z(data, max_output, "inflate");
    z.inflate_stream();
    return z.finish();
}

/// Decompresses gzip data (RFC 1952): one member or several concatenated ones, as gzip(1)
/// accepts them, their contents concatenated; zero bytes after the last member are ignored
/// (padding), anything else there is an error. Each member's CRC-32 and ISIZE are checked, and
/// so is the header CRC when FHCRC is set. Throws cpprof::error ("gzip: ... at byte N") on
/// malformed or truncated input, or when the output would exceed `max_output` bytes.
template <class T = void>
std::string gunzip(std::string_view data, std::size_t max_output = std::size_t{1} << 30) {
    using inflate_impl::hex32;
    using inflate_impl::hex8;
    using inflate_impl::load_le32;
    inflate_impl::basic_inflater<T> z(data, max_output, "gzip");
    const auto* in = reinterpret_cast<const unsigned char*>(data.data());
    const std::size_t size = data.size();
    if (size == 0) z.fail("empty input, not gzip data");
    // The last ISIZE is the whole output when there is one member: size the buffer for it, but
    // no larger than DEFLATE's best ratio (258 bytes per 2 bits, about 1032:1) allows.
    if (size >= 18) {
        const std::size_t hint = load_le32(in + size - 4);
        z.reserve(std::min(hint, size * 1032 + 1024));
    }
    std::size_t off = 0;
    const auto need = [&](std::size_t n, const char* what) {
        if (size - off < n) z.fail(std::string("truncated gzip ") + what, size);
    };
    for (;;) {
        const std::size_t member = off;
        if (size - off < 2 || !is_gzip(data.substr(off)))
            z.fail("not gzip data (magic " + hex8(in[off]) + " " +
                       (size - off >= 2 ? hex8(in[off + 1]) : std::string("<end>")) + ")",
                   off);
        need(10, "header");
        if (in[off + 2] != 8)
            z.fail("unsupported compression method " + std::to_string(in[off + 2]) + " (only 8, deflate)", off + 2);
        const unsigned flags = in[off + 3];
        if ((flags & 0xe0u) != 0) z.fail("reserved header flags set (" + hex8(static_cast<unsigned char>(flags)) + ")", off + 3);
        off += 10;
        if (flags & 0x04u) {  // FEXTRA: XLEN, then XLEN bytes of subfields
            need(2, "header (FEXTRA)");
            const std::size_t xlen = static_cast<std::size_t>(in[off]) | static_cast<std::size_t>(in[off + 1]) << 8;
            off += 2;
            need(xlen, "header (FEXTRA)");
            off += xlen;
        }
        for (const unsigned flag : {0x08u, 0x10u}) {  // FNAME, FCOMMENT: zero-terminated
            if ((flags & flag) == 0) continue;
            const void* nul = std::memchr(in + off, 0, size - off);
            if (nul == nullptr) z.fail(flag == 0x08u ? "truncated gzip header (FNAME)" : "truncated gzip header (FCOMMENT)", size);
            off = static_cast<std::size_t>(static_cast<const unsigned char*>(nul) - in) + 1;
        }
        if (flags & 0x02u) {  // FHCRC: low 16 bits of the CRC-32 of the header so far
            need(2, "header (FHCRC)");
            const std::uint32_t stored = static_cast<std::uint32_t>(in[off]) | static_cast<std::uint32_t>(in[off + 1]) << 8;
            const std::uint32_t computed = crc32(in + member, off - member) & 0xffffu;
            if (stored != computed)
                z.fail("header CRC mismatch (stored " + hex32(stored) + ", computed " + hex32(computed) + ")", off);
            off += 2;
        }
        const std::size_t out_start = z.size();
        z.seek(off);
        z.inflate_stream();
        off = z.offset();
        need(8, "trailer");
        const std::size_t n = z.size() - out_start;
        const std::uint32_t stored_crc = load_le32(in + off);
        const std::uint32_t computed_crc = crc32(z.out_data() + out_start, n);
        if (stored_crc != computed_crc)
            z.fail("CRC-32 mismatch (stored " + hex32(stored_crc) + ", computed " + hex32(computed_crc) + ")", off);
        const std::uint32_t stored_size = load_le32(in + off + 4);
        if (stored_size != static_cast<std::uint32_t>(n))
            z.fail("ISIZE mismatch (stored " + std::to_string(stored_size) + ", actual " +
                       std::to_string(static_cast<std::uint32_t>(n)) + ")",
                   off + 4);
        off += 8;
        if (off == size || std::all_of(in + off, in + size, [](unsigned char b) { return b == 0; })) break;
    }
    return z.finish();
}

}  // namespace detail
}  // namespace cpprof

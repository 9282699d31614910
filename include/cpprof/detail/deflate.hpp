#pragma once
// IWYU pragma: private, include <cpprof/cpprof.hpp>
//
// A DEFLATE compressor (RFC 1951), written from the RFC. No zlib.
//
//   deflate_compress(data, level, out)   appends one complete raw DEFLATE stream to `out`
//
// How it works
//   * LZ77 over the whole input, which is in memory: a hash of the next 3 bytes selects a chain
//     of earlier positions with the same hash (`head_` + `prev_`, window 32 KiB). The chain walk
//     is bounded per level, stops early at a "nice" length, and compares 8 bytes at a time.
//     Levels 1-3 take the first match greedily; levels 4-9 use lazy matching (a match is kept
//     only if the next position does not start a longer one), like every mainstream deflater.
//   * Parsed symbols go into a block buffer (32 Ki symbols). When it is full, or the input
//     ends, the block is written in whichever form is smallest, counted exactly in bits:
//     dynamic Huffman (codes built from this block's frequencies, limited to 15 bits, with a
//     run-length coded header whose code-length code is limited to 7 bits), the fixed code of
//     RFC 1951 §3.2.6, or stored (raw) blocks, so incompressible data grows by only 5 bytes per
//     64 KiB.
//   * Level 0 writes stored blocks only.
//
// Positions in the hash tables are 32-bit and relative to a base that moves forward every
// GiB (`rebase`), so inputs larger than 4 GiB work too.
//
// Everything with a body here is a template (the deflater is basic_deflater<>) and the lookup
// tables are built on first use rather than by constexpr: see the note on lazy instantiation in
// config.hpp. Including this header instantiates nothing.

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include <cpprof/detail/deflate_tables.hpp>

namespace cpprof {
namespace detail {

namespace deflate_impl {

inline constexpr std::size_t min_match = 3;
inline constexpr std::size_t max_match = 258;
inline constexpr std::size_t window_size = 32768;  // largest distance DEFLATE can express
inline constexpr std::size_t window_mask = window_size - 1;
inline constexpr int max_code_bits = 15;      // literal/length and distance codes
inline constexpr int max_cl_code_bits = 7;    // the code-length code
inline constexpr std::size_t num_litlen = 286;  // 0-255 literals, 256 end of block, 257-285
inline constexpr std::size_t num_dist = 30;
inline constexpr std::size_t num_cl = 19;
inline constexpr std::uint32_t end_of_block = 256;
inline constexpr std::size_t max_stored = 65535;  // LEN of one stored block


/// Lookup tables from a match length / distance to its code index.
struct code_tables {
    std::array<std::uint8_t, 256> length_code{};  // [length - 3] -> index into length_base
    std::array<std::uint8_t, 256> dist_low{};     // [distance - 1] for distance <= 256
    std::array<std::uint8_t, 256> dist_high{};    // [(distance - 1) >> 7] for distance > 256
};

template <class = void>
code_tables make_code_tables() {
    code_tables t{};
    for (std::size_t code = 0; code < 28; ++code)  // code 28 (258) is handled below
        for (std::size_t len = length_base[code]; len < length_base[code + 1]; ++len)
            t.length_code[len - 3] = static_cast<std::uint8_t>(code);
    // 258 has its own code; 227 + 31 would also fit code 27 but RFC 1951 reserves it.
    t.length_code[255] = 28;
    for (std::size_t code = 0; code < 30; ++code) {
        const std::size_t first = dist_base[code] - 1u;
        const std::size_t last = first + (std::size_t{1} << dist_extra[code]);  // exclusive
        for (std::size_t d = first; d < last; ++d) {
            if (d < 256) t.dist_low[d] = static_cast<std::uint8_t>(code);
            else t.dist_high[d >> 7] = static_cast<std::uint8_t>(code);
        }
    }
    return t;
}
/// The code tables, built once on first use.
template <class = void>
const code_tables& tables() {
    static const code_tables t = make_code_tables();
    return t;
}

inline std::size_t dist_code(const code_tables& t, std::size_t distance) {
    const std::size_t d = distance - 1;
    return d < 256 ? t.dist_low[d] : t.dist_high[d >> 7];
}

/// Reverses the low `n` bits of `v` (Huffman codes are sent most significant bit first into
/// an LSB-first bit stream).
constexpr std::uint16_t reverse_bits(std::uint32_t v, int n) {
    std::uint32_t r = 0;
    for (int i = 0; i < n; ++i) {
        r = (r << 1) | (v & 1u);
        v >>= 1;
    }
    return static_cast<std::uint16_t>(r);
}

/// A prefix code ready to write: per symbol, its length and its bit-reversed code.
template <std::size_t N>
struct huffman_code {
    std::array<std::uint8_t, N> len{};
    std::array<std::uint16_t, N> code{};
};

/// Assigns canonical codes (RFC 1951 §3.2.2) to the lengths already in `c.len`.
template <std::size_t N>
constexpr void assign_canonical_codes(huffman_code<N>& c) {
    std::array<std::uint32_t, max_code_bits + 2> count{};
    for (std::size_t s = 0; s < N; ++s) ++count[c.len[s]];
    count[0] = 0;
    std::array<std::uint32_t, max_code_bits + 2> next{};
    std::uint32_t code = 0;
    for (std::size_t bits = 1; bits <= max_code_bits; ++bits) {
        code = (code + count[bits - 1]) << 1;
        next[bits] = code;
    }
    for (std::size_t s = 0; s < N; ++s)
        if (c.len[s] != 0) c.code[s] = reverse_bits(next[c.len[s]]++, c.len[s]);
}

/// The fixed codes of RFC 1951 §3.2.6: literal/length (288 symbols; 286 and 287 never occur)
/// and distance.
struct fixed_codes {
    huffman_code<288> litlen;
    huffman_code<30> dist;
};

template <class = void>
fixed_codes make_fixed_codes() {
    fixed_codes c{};
    for (std::size_t s = 0; s < 288; ++s)
        c.litlen.len[s] = static_cast<std::uint8_t>(s < 144 ? 8 : s < 256 ? 9 : s < 280 ? 7 : 8);
    assign_canonical_codes(c.litlen);
    for (auto& l : c.dist.len) l = 5;
    assign_canonical_codes(c.dist);
    return c;
}

/// The fixed codes, built once on first use.
template <class = void>
const fixed_codes& fixed() {
    static const fixed_codes c = make_fixed_codes();
    return c;
}

/// Computes length-limited Huffman code lengths for `freq[0..n)` into `len[0..n)` (0 for
/// unused symbols). Requires 2 <= n <= 286 and 2^max_bits >= n (every alphabet here: 286
/// literal/length symbols at 15 bits, 30 distance symbols at 15, 19 code-length symbols at 7).
///
/// Every code built here has at least two symbols (unused ones are added with a notional
/// weight if needed): a one-symbol or empty code is legal DEFLATE but some decoders reject an
/// incomplete code, and the cost is a few header bits. The result is always a complete prefix
/// code.
///
/// Method: an optimal Huffman tree by the two-queue construction over the symbols sorted by
/// weight, then, if it is deeper than `max_bits`, the overlong leaves are lifted to
/// `max_bits` and the Kraft sum is restored by pushing the deepest shorter leaves down one
/// level at a time; lengths are finally handed out shortest-first to the most frequent symbols.
template <class = void>
void build_code_lengths(const std::uint32_t* freq, std::size_t n, int max_bits,
                        std::uint8_t* len) {
    struct leaf {
        std::uint64_t weight;
        std::uint16_t symbol;
    };
    std::array<leaf, num_litlen> leaves{};
    std::size_t count = 0;
    for (std::size_t s = 0; s < n; ++s) {
        len[s] = 0;
        if (freq[s] != 0) leaves[count++] = leaf{freq[s], static_cast<std::uint16_t>(s)};
    }
    for (std::size_t s = 0; count < 2 && s < n; ++s)
        if (freq[s] == 0) leaves[count++] = leaf{1, static_cast<std::uint16_t>(s)};
    std::sort(leaves.begin(), leaves.begin() + static_cast<std::ptrdiff_t>(count),
              [](const leaf& a, const leaf& b) {
                  return a.weight != b.weight ? a.weight < b.weight : a.symbol < b.symbol;
              });

    // Two-queue Huffman: leaves 0..count-1 (ascending), internal nodes count..2count-2 are
    // created in ascending weight order, so each queue is consumed from its front.
    const std::size_t nodes = 2 * count - 1;
    std::array<std::uint64_t, 2 * num_litlen> weight{};
    std::array<std::uint16_t, 2 * num_litlen> parent{};
    for (std::size_t i = 0; i < count; ++i) weight[i] = leaves[i].weight;
    std::size_t next_leaf = 0;
    std::size_t next_inner = count;
    for (std::size_t k = count; k < nodes; ++k) {
        std::size_t pick[2];
        for (auto& p : pick) {
            if (next_leaf < count && (next_inner >= k || weight[next_leaf] <= weight[next_inner]))
                p = next_leaf++;
            else
                p = next_inner++;
        }
        weight[k] = weight[pick[0]] + weight[pick[1]];
        parent[pick[0]] = parent[pick[1]] = static_cast<std::uint16_t>(k);
    }
    // Depths: the root is the last node; parents always come after their children.
    std::array<std::uint8_t, 2 * num_litlen> depth{};
    depth[nodes - 1] = 0;
    std::array<std::uint32_t, 64> per_length{};  // number of leaves at each (clamped) depth
    std::size_t k = nodes - 1;
    while (k-- > 0) {
        depth[k] = static_cast<std::uint8_t>(std::min(depth[parent[k]] + 1, 63));
        if (k < count) ++per_length[std::min<std::size_t>(depth[k], static_cast<std::size_t>(max_bits))];
    }

    // Length limiting: lifting leaves to max_bits over-fills the Kraft sum
    // (sum of 2^(max_bits - length)); each step below removes exactly one unit.
    const auto limit = static_cast<std::size_t>(max_bits);
    std::uint64_t kraft = 0;
    for (std::size_t b = 1; b <= limit; ++b) kraft += std::uint64_t{per_length[b]} << (limit - b);
    const std::uint64_t full = std::uint64_t{1} << limit;
    while (kraft > full) {
        // A leaf at depth b < limit becomes an inner node whose two children are that leaf and
        // one leaf taken from depth `limit`.
        std::size_t b = limit - 1;
        while (per_length[b] == 0) --b;
        --per_length[b];
        per_length[b + 1] += 2;
        --per_length[limit];
        --kraft;
    }

    // Longest codes to the least frequent symbols.
    std::size_t i = 0;
    for (std::size_t b = limit; b >= 1; --b)
        for (std::uint32_t j = 0; j < per_length[b]; ++j) len[leaves[i++].symbol] = static_cast<std::uint8_t>(b);
}

/// Bits are packed starting at the least significant bit of each byte (RFC 1951 §3.1.1).
class bit_writer {
public:
    explicit bit_writer(std::string& out) : out_(out) {}

    /// Appends the low `n` bits of `bits` (n <= 32).
    void put(std::uint32_t bits, int n) {
        acc_ |= std::uint64_t{bits} << count_;
        count_ += n;
        if (count_ >= 32) {
            char b[4] = {static_cast<char>(acc_), static_cast<char>(acc_ >> 8),
                         static_cast<char>(acc_ >> 16), static_cast<char>(acc_ >> 24)};
            out_.append(b, 4);
            acc_ >>= 32;
            count_ -= 32;
        }
    }
    /// Pads with zero bits to the next byte boundary and flushes everything.
    void align() {
        while (count_ > 0) {
            out_.push_back(static_cast<char>(acc_));
            acc_ >>= 8;
            count_ = count_ > 8 ? count_ - 8 : 0;
        }
        acc_ = 0;
    }
    /// Raw bytes; only on a byte boundary (after align()).
    void put_bytes(const unsigned char* p, std::size_t n) {
        out_.append(reinterpret_cast<const char*>(p), n);
    }
    /// Bits written but not yet flushed (0..31).
    int pending_bits() const { return count_; }

private:
    std::string& out_;
    std::uint64_t acc_ = 0;
    int count_ = 0;
};

/// Tuning per level: the hash chain length searched, when to search less (`good`), when to stop
/// (`nice`), and for lazy levels the length above which the next position is not tried (`lazy`);
/// for greedy levels `lazy` is the longest match whose inner positions are still hashed.
struct level_params {
    std::uint16_t good;
    std::uint16_t lazy;
    std::uint16_t nice;
    std::uint16_t chain;
    bool lazy_matching;
};

inline level_params params_for(int level) {
    static constexpr level_params table[10] = {
        {0, 0, 0, 0, false},         // 0: stored only
        {4, 4, 8, 4, false},         // 1: fastest
        {4, 5, 16, 8, false},        // 2
        {4, 6, 32, 32, false},       // 3
        {4, 4, 16, 16, true},        // 4: first lazy level
        {8, 16, 32, 32, true},       // 5
        {8, 16, 128, 128, true},     // 6: the default
        {8, 32, 128, 256, true},     // 7
        {32, 128, 258, 1024, true},  // 8
        {32, 258, 258, 4096, true},  // 9: best
    };
    return table[level < 0 ? 6 : std::min(level, 9)];
}

/// Compresses inputs into DEFLATE streams; an object may be reused (its buffers are), but not
/// shared between threads. Use it as `deflater` (the template parameter is a dummy).
template <class = void>
class basic_deflater {
public:
    /// `rebase_every` is how far positions may run ahead of the hash-table base before the
    /// tables are rebased; only tests lower it.
    explicit basic_deflater(int level, std::size_t rebase_every = std::size_t{1} << 30)
        : level_(level < 0 ? 6 : std::min(level, 9)),
          params_(params_for(level_)),
          rebase_every_(std::max(rebase_every, 2 * window_size)) {}

    void compress(std::string_view input, std::string& out) {
        in_ = reinterpret_cast<const unsigned char*>(input.data());
        n_ = input.size();
        base_ = 0;
        covered_ = 0;
        bit_writer bw(out);
        bw_ = &bw;
        if (level_ == 0) {
            write_stored(0, n_, true);
        } else {
            // Small inputs get small tables: clearing 256 KiB would dominate a 1 KiB body.
            hash_bits_ = 9;
            while (hash_bits_ < max_hash_bits && (std::size_t{1} << hash_bits_) < n_) ++hash_bits_;
            head_.assign(std::size_t{1} << hash_bits_, 0);
            // Indexed by position & window_mask, which stays below n_ when n_ <= window_size.
            prev_.assign(std::min(window_size, n_), 0);
            syms_.reserve(std::min(block_symbols, n_ + 1));
            clear_block();
            if (params_.lazy_matching) parse_lazy();
            else parse_greedy();
            flush_block(true);
        }
        bw.align();
        bw_ = nullptr;
    }

private:
    static constexpr int max_hash_bits = 15;
    static constexpr std::size_t block_symbols = 32768;
    static constexpr std::size_t too_far = 4096;  // a 3-byte match farther than this rarely pays

    // ---- hash chains ----------------------------------------------------------------------
    // head_[h] and prev_[pos & window_mask] hold (position - base_ + 1); 0 ends a chain.

    std::uint32_t hash3(std::size_t pos) const {
        const std::uint32_t v = std::uint32_t{in_[pos]} | std::uint32_t{in_[pos + 1]} << 8 |
                                std::uint32_t{in_[pos + 2]} << 16;
        return (v * 0x9E3779B1u) >> (32 - hash_bits_);
    }

    /// Makes `pos` (with pos + 3 <= n) the head of its chain; returns the previous head.
    std::uint32_t insert(std::size_t pos) {
        std::uint32_t& head = head_[hash3(pos)];
        const std::uint32_t previous = head;
        prev_[pos & window_mask] = previous;
        head = static_cast<std::uint32_t>(pos - base_ + 1);
        return previous;
    }

    void maybe_rebase(std::size_t pos) {
        if (pos - base_ < rebase_every_) return;
        // Entries older than the window can never be used again: drop them, shift the rest.
        const std::size_t new_base = pos - window_size;
        const auto shift = static_cast<std::uint32_t>(new_base - base_);
        auto fix = [shift](std::uint32_t& e) { e = e > shift ? e - shift : 0; };
        for (auto& e : head_) fix(e);
        for (auto& e : prev_) fix(e);
        base_ = new_base;
    }

    /// Length of the common prefix of `a` and `b`, at most `limit` (both readable that far).
    static std::size_t common_length(const unsigned char* a, const unsigned char* b,
                                     std::size_t limit) {
        std::size_t i = 0;
#if defined(__GNUC__) && defined(__BYTE_ORDER__)
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
        while (i + 8 <= limit) {
            std::uint64_t x, y;
            std::memcpy(&x, a + i, 8);
            std::memcpy(&y, b + i, 8);
            if (x != y) return i + static_cast<std::size_t>(__builtin_ctzll(x ^ y) >> 3);
            i += 8;
        }
#endif
#endif
        while (i < limit && a[i] == b[i]) ++i;
        return i;
    }

    /// Walks the chain starting at `candidate` for a match at `pos` longer than `prev_len`.
    /// Returns the best length found (<= prev_len when there is no better one) and its distance.
    std::size_t longest_match(std::size_t pos, std::uint32_t candidate, std::size_t prev_len,
                              std::size_t& distance) const {
        const std::size_t max_len = std::min(max_match, n_ - pos);
        std::size_t best = std::max(prev_len, min_match - 1);
        if (best >= max_len) return best;
        const std::size_t nice = std::min<std::size_t>(params_.nice, max_len);
        std::uint32_t chain = prev_len >= params_.good ? params_.chain / 4u : params_.chain;
        if (chain == 0) chain = 1;
        const std::size_t lowest = pos > window_size ? pos - window_size : 0;
        const unsigned char* s = in_ + pos;
        while (candidate != 0) {
            const std::size_t c = candidate - 1 + base_;
            if (c < lowest) break;
            const unsigned char* m = in_ + c;
            // Cheap rejection first: the byte that would make this match longer than the best.
            if (m[best] == s[best] && m[0] == s[0] && m[1] == s[1]) {
                const std::size_t len = common_length(m, s, max_len);
                if (len > best) {
                    best = len;
                    distance = pos - c;
                    if (len >= nice) break;
                }
            }
            if (--chain == 0) break;
            candidate = prev_[c & window_mask];
        }
        return best;
    }

    // ---- parsing --------------------------------------------------------------------------

    void parse_greedy() {
        std::size_t pos = 0;
        while (pos < n_) {
            maybe_rebase(pos);
            if (pos + min_match <= n_) {
                const std::uint32_t candidate = insert(pos);
                std::size_t dist = 0;
                std::size_t len = candidate != 0 ? longest_match(pos, candidate, 0, dist) : 0;
                if (len == min_match && dist > too_far) len = 0;
                if (len >= min_match) {
                    emit_match(len, dist);
                    if (len <= params_.lazy)
                        for (std::size_t p = pos + 1; p < pos + len && p + min_match <= n_; ++p)
                            insert(p);
                    pos += len;
                    continue;
                }
            }
            emit_literal(in_[pos]);
            ++pos;
        }
    }

    void parse_lazy() {
        // A match found at pos - 1 waits ("pending") until pos shows whether a longer one
        // starts there.
        std::size_t pos = 0;
        bool pending = false;
        std::size_t prev_len = 0;
        std::size_t prev_dist = 0;
        while (pos < n_) {
            maybe_rebase(pos);
            std::size_t cur_len = 0;
            std::size_t cur_dist = 0;
            if (pos + min_match <= n_) {
                const std::uint32_t candidate = insert(pos);
                if (candidate != 0 && prev_len < params_.lazy) {
                    cur_len = longest_match(pos, candidate, prev_len, cur_dist);
                    if (cur_len < min_match || (cur_len == min_match && cur_dist > too_far))
                        cur_len = 0;
                }
            }
            if (pending && prev_len >= min_match && cur_len <= prev_len) {
                emit_match(prev_len, prev_dist);
                const std::size_t end = pos - 1 + prev_len;
                for (std::size_t p = pos + 1; p < end && p + min_match <= n_; ++p) insert(p);
                pos = end;
                pending = false;
                prev_len = 0;
                continue;
            }
            if (pending) emit_literal(in_[pos - 1]);
            pending = true;
            prev_len = cur_len;
            prev_dist = cur_dist;
            ++pos;
        }
        // A pending match always ends before n_, so it was emitted inside the loop.
        if (pending) emit_literal(in_[pos - 1]);
    }

    // ---- blocks ---------------------------------------------------------------------------
    // A symbol is packed as (distance << 16) | value: distance 0 means a literal byte `value`,
    // otherwise a match of length value + 3.

    void emit_literal(unsigned char c) {
        if (syms_.size() == block_symbols) flush_block(false);
        syms_.push_back(c);
        ++litlen_freq_[c];
        ++covered_;
    }

    void emit_match(std::size_t len, std::size_t dist) {
        if (syms_.size() == block_symbols) flush_block(false);
        syms_.push_back(static_cast<std::uint32_t>(dist << 16 | (len - min_match)));
        ++litlen_freq_[257 + codes_->length_code[len - min_match]];
        ++dist_freq_[dist_code(*codes_, dist)];
        covered_ += len;
    }

    void clear_block() {
        syms_.clear();
        litlen_freq_.fill(0);
        dist_freq_.fill(0);
        block_start_ = covered_;
    }

    /// The run-length coded code lengths of a dynamic block header (RFC 1951 §3.2.7).
    struct dynamic_header {
        std::size_t hlit = 257, hdist = 1, hclen = 4;
        std::vector<std::uint16_t> tokens;  // (extra << 5) | symbol, symbol 0..18
        huffman_code<num_cl> cl;
        std::uint64_t bits = 0;             // header size in bits, without the 3-bit block header
    };

    static void build_header(const huffman_code<num_litlen>& ll, const huffman_code<num_dist>& dl,
                             dynamic_header& h) {
        h.hlit = num_litlen;
        while (h.hlit > 257 && ll.len[h.hlit - 1] == 0) --h.hlit;
        h.hdist = num_dist;
        while (h.hdist > 1 && dl.len[h.hdist - 1] == 0) --h.hdist;
        std::array<std::uint8_t, num_litlen + num_dist> seq{};
        const std::size_t total = h.hlit + h.hdist;
        std::copy(ll.len.begin(), ll.len.begin() + static_cast<std::ptrdiff_t>(h.hlit), seq.begin());
        std::copy(dl.len.begin(), dl.len.begin() + static_cast<std::ptrdiff_t>(h.hdist),
                  seq.begin() + static_cast<std::ptrdiff_t>(h.hlit));

        // Runs may cross from the literal/length lengths into the distance lengths (§3.2.7).
        h.tokens.clear();
        std::array<std::uint32_t, num_cl> freq{};
        auto token = [&](std::uint32_t symbol, std::uint32_t extra) {
            h.tokens.push_back(static_cast<std::uint16_t>(extra << 5 | symbol));
            ++freq[symbol];
        };
        for (std::size_t i = 0; i < total;) {
            const std::uint8_t v = seq[i];
            std::size_t run = 1;
            while (i + run < total && seq[i + run] == v) ++run;
            i += run;
            if (v == 0) {
                while (run >= 11) {
                    const std::size_t r = std::min<std::size_t>(run, 138);
                    token(18, static_cast<std::uint32_t>(r - 11));
                    run -= r;
                }
                if (run >= 3) {
                    token(17, static_cast<std::uint32_t>(run - 3));
                    run = 0;
                }
            } else {
                token(v, 0);  // the first one is sent as itself; code 16 repeats the previous
                --run;
                while (run >= 3) {
                    const std::size_t r = std::min<std::size_t>(run, 6);
                    token(16, static_cast<std::uint32_t>(r - 3));
                    run -= r;
                }
            }
            for (; run > 0; --run) token(v, 0);
        }

        build_code_lengths(freq.data(), num_cl, max_cl_code_bits, h.cl.len.data());
        assign_canonical_codes(h.cl);
        h.hclen = num_cl;
        while (h.hclen > 4 && h.cl.len[cl_order[h.hclen - 1]] == 0) --h.hclen;
        h.bits = 5 + 5 + 4 + 3 * h.hclen;
        for (std::size_t s = 0; s < num_cl; ++s) h.bits += std::uint64_t{freq[s]} * h.cl.len[s];
        h.bits += 2 * std::uint64_t{freq[16]} + 3 * std::uint64_t{freq[17]} + 7 * std::uint64_t{freq[18]};
    }

    /// Size in bits of `len` input bytes as stored blocks, starting `pending` bits into a byte.
    static std::uint64_t stored_bits(std::size_t len, int pending) {
        const std::size_t pieces = len == 0 ? 1 : (len + max_stored - 1) / max_stored;
        const auto first_pad = static_cast<std::uint64_t>((8 - (pending + 3) % 8) % 8);
        return 3 + first_pad + 32 + (pieces - 1) * (8 + 32) + 8 * std::uint64_t{len};
    }

    void flush_block(bool final) {
        ++litlen_freq_[end_of_block];

        // Extra bits are the same whichever code is used.
        std::uint64_t extra = 0;
        for (std::size_t i = 0; i < 29; ++i) extra += std::uint64_t{litlen_freq_[257 + i]} * length_extra[i];
        for (std::size_t i = 0; i < num_dist; ++i) extra += std::uint64_t{dist_freq_[i]} * dist_extra[i];

        huffman_code<num_litlen> ll;
        huffman_code<num_dist> dl;
        build_code_lengths(litlen_freq_.data(), num_litlen, max_code_bits, ll.len.data());
        build_code_lengths(dist_freq_.data(), num_dist, max_code_bits, dl.len.data());
        assign_canonical_codes(ll);
        assign_canonical_codes(dl);
        build_header(ll, dl, header_);

        std::uint64_t dynamic_cost = 3 + header_.bits + extra;
        std::uint64_t fixed_cost = 3 + extra;
        for (std::size_t s = 0; s < num_litlen; ++s) {
            dynamic_cost += std::uint64_t{litlen_freq_[s]} * ll.len[s];
            fixed_cost += std::uint64_t{litlen_freq_[s]} * fixed_->litlen.len[s];
        }
        for (std::size_t s = 0; s < num_dist; ++s) {
            dynamic_cost += std::uint64_t{dist_freq_[s]} * dl.len[s];
            fixed_cost += std::uint64_t{dist_freq_[s]} * fixed_->dist.len[s];
        }
        const std::size_t block_len = covered_ - block_start_;
        const std::uint64_t stored_cost = stored_bits(block_len, bw_->pending_bits());

        if (stored_cost <= fixed_cost && stored_cost <= dynamic_cost) {
            write_stored(block_start_, block_len, final);
        } else if (fixed_cost <= dynamic_cost) {
            bw_->put(final ? 1u : 0u, 1);
            bw_->put(1, 2);
            write_symbols(fixed_->litlen, fixed_->dist);
        } else {
            bw_->put(final ? 1u : 0u, 1);
            bw_->put(2, 2);
            write_header(header_);
            write_symbols(ll, dl);
        }
        clear_block();
    }

    void write_header(const dynamic_header& h) {
        bw_->put(static_cast<std::uint32_t>(h.hlit - 257), 5);
        bw_->put(static_cast<std::uint32_t>(h.hdist - 1), 5);
        bw_->put(static_cast<std::uint32_t>(h.hclen - 4), 4);
        for (std::size_t i = 0; i < h.hclen; ++i) bw_->put(h.cl.len[cl_order[i]], 3);
        for (const std::uint16_t t : h.tokens) {
            const std::uint32_t symbol = t & 31u;
            const std::uint32_t extra = static_cast<std::uint32_t>(t) >> 5;
            bw_->put(h.cl.code[symbol], h.cl.len[symbol]);
            if (symbol == 16) bw_->put(extra, 2);
            else if (symbol == 17) bw_->put(extra, 3);
            else if (symbol == 18) bw_->put(extra, 7);
        }
    }

    template <std::size_t NL, std::size_t ND>
    void write_symbols(const huffman_code<NL>& ll, const huffman_code<ND>& dl) {
        for (const std::uint32_t sym : syms_) {
            const std::uint32_t dist = sym >> 16;
            const std::uint32_t value = sym & 0xffffu;
            if (dist == 0) {
                bw_->put(ll.code[value], ll.len[value]);
                continue;
            }
            // Code and extra bits go out in one put: at most 15 + 5 and 15 + 13 bits.
            const std::size_t lc = codes_->length_code[value];
            const int lbits = ll.len[257 + lc];
            bw_->put(ll.code[257 + lc] | (value + 3u - length_base[lc]) << lbits,
                     lbits + length_extra[lc]);
            const std::size_t dc = dist_code(*codes_, dist);
            const int dbits = dl.len[dc];
            bw_->put(dl.code[dc] | (dist - dist_base[dc]) << dbits, dbits + dist_extra[dc]);
        }
        bw_->put(ll.code[end_of_block], ll.len[end_of_block]);
    }

    /// Writes input bytes [start, start + len) as stored blocks (at least one, even if empty).
    void write_stored(std::size_t start, std::size_t len, bool final) {
        do {
            const std::size_t piece = std::min(len, max_stored);
            const bool last = piece == len;
            bw_->put(final && last ? 1u : 0u, 1);
            bw_->put(0, 2);
            bw_->align();
            const auto l = static_cast<std::uint32_t>(piece);
            const unsigned char lens[4] = {static_cast<unsigned char>(l), static_cast<unsigned char>(l >> 8),
                                           static_cast<unsigned char>(~l), static_cast<unsigned char>(~l >> 8)};
            bw_->put_bytes(lens, 4);
            bw_->put_bytes(in_ + start, piece);
            start += piece;
            len -= piece;
        } while (len > 0);
    }

    const code_tables* codes_ = &tables();  // pointers keep the deflater assignable
    const fixed_codes* fixed_ = &fixed();
    int level_;
    level_params params_;
    std::size_t rebase_every_;
    const unsigned char* in_ = nullptr;
    std::size_t n_ = 0;
    bit_writer* bw_ = nullptr;

    int hash_bits_ = max_hash_bits;
    std::vector<std::uint32_t> head_;
    std::vector<std::uint32_t> prev_;
    std::size_t base_ = 0;

    std::vector<std::uint32_t> syms_;
    std::array<std::uint32_t, num_litlen> litlen_freq_{};
    std::array<std::uint32_t, num_dist> dist_freq_{};
    std::size_t block_start_ = 0;
    std::size_t covered_ = 0;  // input bytes described by the symbols emitted so far
    dynamic_header header_;
};

using deflater = basic_deflater<>;

}  // namespace deflate_impl

/// Appends a complete raw DEFLATE stream (RFC 1951) for `data` to `out`.
/// `level`: 0 stores without compression, 1 is fastest, 9 compresses best, 6 is the default;
/// values below 0 mean 6 and values above 9 mean 9.
template <class T = void>
void deflate_compress(std::string_view data, int level, std::string& out) {
    out.reserve(out.size() + data.size() / 3 + 64);
    deflate_impl::basic_deflater<T>(level).compress(data, out);
}

/// A raw DEFLATE stream (RFC 1951) for `data`; see the overload above for `level`.
template <class = void>
std::string deflate_compress(std::string_view data, int level = 6) {
    std::string out;
    deflate_compress(data, level, out);
    return out;
}

}  // namespace detail
}  // namespace cpprof

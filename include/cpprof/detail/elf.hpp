#pragma once
// IWYU pragma: private, include <cpprof/cpprof.hpp>
//
// A bounds-checked reader for ELF64 little-endian images: a file mapped read-only, or bytes
// already in memory (the vDSO). It reads what the symbolizer needs and nothing more: section
// and program headers, function symbols from `.symtab` and `.dynsym`, and the GNU build-id.
//
// Every file is treated as hostile. Each offset and size is checked against the image before it
// is read, strings must end inside their string table, and a file that fails a check yields an
// empty result (no sections, no symbols, no build-id) with `error()` saying why, never a crash.
// Fields are copied out with memcpy, so nothing depends on the image's alignment.
//
// Layouts and constants are those of the System V gABI (ELF-64 object file format) and the
// elf(5) man page. Only images whose byte order matches the host are read.
//
// The code with bodies is templates (elf_image is basic_elf_image<>): see the note on lazy
// instantiation in config.hpp.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#if defined(__unix__) || defined(__APPLE__)
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#define CPPROF_DETAIL_ELF_HAS_MMAP 1
#else
#define CPPROF_DETAIL_ELF_HAS_MMAP 0
#endif

namespace cpprof::detail {

/// Raw ELF64 structures and constants laid out as in the gABI, and bounds-checked helpers.
namespace elf {

struct ehdr {
    unsigned char ident[16];
    std::uint16_t type;
    std::uint16_t machine;
    std::uint32_t version;
    std::uint64_t entry;
    std::uint64_t phoff;
    std::uint64_t shoff;
    std::uint32_t flags;
    std::uint16_t ehsize;
    std::uint16_t phentsize;
    std::uint16_t phnum;
    std::uint16_t shentsize;
    std::uint16_t shnum;
    std::uint16_t shstrndx;
};

struct phdr {
    std::uint32_t type;
    std::uint32_t flags;
    std::uint64_t offset;
    std::uint64_t vaddr;
    std::uint64_t paddr;
    std::uint64_t filesz;
    std::uint64_t memsz;
    std::uint64_t align;
};

struct shdr {
    std::uint32_t name;
    std::uint32_t type;
    std::uint64_t flags;
    std::uint64_t addr;
    std::uint64_t offset;
    std::uint64_t size;
    std::uint32_t link;
    std::uint32_t info;
    std::uint64_t addralign;
    std::uint64_t entsize;
};

struct sym {
    std::uint32_t name;
    unsigned char info;
    unsigned char other;
    std::uint16_t shndx;
    std::uint64_t value;
    std::uint64_t size;
};

struct nhdr {
    std::uint32_t namesz;
    std::uint32_t descsz;
    std::uint32_t type;
};

static_assert(sizeof(ehdr) == 64 && sizeof(phdr) == 56 && sizeof(shdr) == 64 &&
                  sizeof(sym) == 24 && sizeof(nhdr) == 12,
              "ELF64 structures must match the gABI layout");

inline constexpr unsigned char elfclass64 = 2;
inline constexpr unsigned char elfdata2lsb = 1;
inline constexpr unsigned char elfdata2msb = 2;
inline constexpr unsigned char ev_current = 1;

inline constexpr std::uint32_t pt_load = 1;
inline constexpr std::uint32_t pt_note = 4;
inline constexpr std::uint32_t pf_x = 1;
inline constexpr std::uint32_t pf_r = 4;

inline constexpr std::uint32_t sht_nobits = 8;
inline constexpr std::uint32_t sht_symtab = 2;
inline constexpr std::uint32_t sht_strtab = 3;
inline constexpr std::uint32_t sht_note = 7;
inline constexpr std::uint32_t sht_dynsym = 11;

inline constexpr std::uint16_t shn_undef = 0;
inline constexpr std::uint16_t shn_loreserve = 0xff00;
inline constexpr std::uint16_t shn_abs = 0xfff1;
inline constexpr std::uint16_t shn_xindex = 0xffff;

inline constexpr unsigned char stt_func = 2;
inline constexpr unsigned char stt_gnu_ifunc = 10;
inline constexpr unsigned char stb_local = 0;
inline constexpr unsigned char stb_global = 1;
inline constexpr unsigned char stb_weak = 2;
inline constexpr unsigned char stb_gnu_unique = 10;

inline constexpr std::uint32_t nt_gnu_build_id = 3;

/// A bounds-checked window onto bytes. Reads never go past `size()`.
class byte_view {
public:
    byte_view() = default;
    byte_view(const void* data, std::size_t size)
        : data_(static_cast<const unsigned char*>(data)), size_(data ? size : 0) {}

    const unsigned char* data() const { return data_; }
    std::size_t size() const { return size_; }

    /// True when [offset, offset + length) lies inside the view (overflow-safe).
    bool contains(std::uint64_t offset, std::uint64_t length) const {
        return offset <= size_ && length <= size_ - offset;
    }

    /// Copies a `T` from `offset`; false (and `out` untouched) when it does not fit.
    template <class T>
    bool read(std::uint64_t offset, T& out) const {
        if (!contains(offset, sizeof(T))) return false;
        std::memcpy(&out, data_ + offset, sizeof(T));
        return true;
    }

    /// The sub-view [offset, offset + length), or an empty view when it does not fit.
    byte_view slice(std::uint64_t offset, std::uint64_t length) const {
        if (!contains(offset, length)) return {};
        return byte_view(data_ + offset, static_cast<std::size_t>(length));
    }

    /// The NUL-terminated string starting at `offset`; empty when `offset` is outside the view
    /// or no NUL follows inside it.
    std::string_view c_string(std::uint64_t offset) const {
        if (offset >= size_) return {};
        const auto* begin = reinterpret_cast<const char*>(data_ + offset);
        const auto* nul = static_cast<const char*>(std::memchr(begin, 0, size_ - offset));
        if (!nul) return {};
        return std::string_view(begin, static_cast<std::size_t>(nul - begin));
    }

private:
    const unsigned char* data_ = nullptr;
    std::size_t size_ = 0;
};

/// Lowercase hex of `bytes`, as `readelf -n` prints a build-id.
template <class = void>
std::string hex(byte_view bytes) {
    static constexpr char digits[] = "0123456789abcdef";
    std::string out;
    out.reserve(bytes.size() * 2);
    for (std::size_t i = 0; i < bytes.size(); ++i) {
        out += digits[bytes.data()[i] >> 4];
        out += digits[bytes.data()[i] & 0xf];
    }
    return out;
}

/// Finds the GNU build-id in a block of notes (a PT_NOTE segment or SHT_NOTE section) whose
/// entries are padded to `align` bytes (4, or 8 for segments aligned to 8). Empty if absent.
template <class = void>
std::string find_build_id_note(byte_view notes, std::uint64_t align) {
    if (align != 8) align = 4;
    auto pad = [align](std::uint64_t n) { return (n + align - 1) & ~(align - 1); };
    std::uint64_t offset = 0;
    nhdr note{};
    while (notes.read(offset, note)) {
        const std::uint64_t name_at = offset + sizeof(nhdr);
        const std::uint64_t desc_at = pad(name_at + note.namesz);
        const std::uint64_t next = pad(desc_at + note.descsz);
        if (!notes.contains(name_at, note.namesz) || !notes.contains(desc_at, note.descsz))
            return {};
        if (note.type == nt_gnu_build_id && note.namesz == 4 && note.descsz > 0 &&
            std::memcmp(notes.data() + name_at, "GNU", 4) == 0)
            return hex(notes.slice(desc_at, note.descsz));
        if (next <= offset) return {};
        offset = next;
    }
    return {};
}

}  // namespace elf

/// One section header, with its name resolved. `name` points into the image.
struct elf_section {
    std::string_view name;
    std::uint32_t type = 0;
    std::uint64_t flags = 0;
    std::uint64_t addr = 0;
    std::uint64_t offset = 0;
    std::uint64_t size = 0;
    std::uint32_t link = 0;
    std::uint32_t info = 0;
    std::uint64_t addralign = 0;
    std::uint64_t entsize = 0;
};

/// One program header.
struct elf_segment {
    std::uint32_t type = 0;
    std::uint32_t flags = 0;
    std::uint64_t offset = 0;
    std::uint64_t vaddr = 0;
    std::uint64_t filesz = 0;
    std::uint64_t memsz = 0;
    std::uint64_t align = 0;
};

/// A function's address range [start, end) in the object's link-time addresses (st_value),
/// and where its name is in the owning table's name pool.
struct function_symbol {
    std::uint64_t start = 0;
    std::uint64_t end = 0;
    std::uint32_t name_offset = 0;
    std::uint32_t name_size = 0;
};

/// A sorted table of function symbols for binary search. Names are copied into one pool, so
/// the table does not depend on the image it was read from.
class function_table {
public:
    static constexpr std::size_t npos = static_cast<std::size_t>(-1);

    /// Index of the function containing `address` (link-time address), or npos.
    template <class = void>
    std::size_t find(std::uint64_t address) const {
        auto it = std::upper_bound(
            symbols_.begin(), symbols_.end(), address,
            [](std::uint64_t a, const function_symbol& s) { return a < s.start; });
        // The closest start at or below `address` usually contains it. When it does not, a
        // symbol that starts earlier may still enclose it (nested or overlapping symbols, as in
        // hand-written assembly); look back a few entries for one.
        constexpr int max_look_back = 8;
        for (int n = 0; n < max_look_back && it != symbols_.begin(); ++n) {
            --it;
            if (address < it->end) return static_cast<std::size_t>(it - symbols_.begin());
        }
        return npos;
    }

    const function_symbol& operator[](std::size_t i) const { return symbols_[i]; }
    std::string_view name(std::size_t i) const {
        return std::string_view(names_).substr(symbols_[i].name_offset, symbols_[i].name_size);
    }
    std::size_t size() const { return symbols_.size(); }
    bool empty() const { return symbols_.empty(); }
    const std::vector<function_symbol>& symbols() const { return symbols_; }

    /// Heap bytes held by the table.
    std::size_t memory_bytes() const {
        return symbols_.capacity() * sizeof(function_symbol) + names_.capacity();
    }

private:
    template <class>
    friend class basic_function_table_builder;
    std::vector<function_symbol> symbols_;
    std::string names_;
};

/// Collects candidate symbols, then resolves aliases, sizes and order into a function_table.
/// Use it as `function_table_builder` (the template parameter is a dummy).
template <class = void>
class basic_function_table_builder {
public:
    /// Preference among symbols at the same address: lower wins.
    enum class preference : std::uint8_t { global = 0, local = 1, weak = 2 };

    void reserve(std::size_t candidates) {
        keys_.reserve(candidates);
        details_.reserve(candidates);
    }

    /// Adds a function at `start` of `size` bytes (0 when unknown). `limit` is the end of the
    /// section it lies in (0 when unknown): a size-0 symbol never extends past it.
    void add(std::uint64_t start, std::uint64_t size, std::string_view name, preference pref,
             std::uint64_t limit) {
        // Names from a .symtab may carry a symbol version ("memcpy@GLIBC_2.2.5",
        // "foo@@VERS_1"); the version is not part of the function's name.
        if (auto at = name.find('@'); at != std::string_view::npos && at > 0)
            name = name.substr(0, at);
        if (name.empty() || start == 0) return;
        if (size > std::numeric_limits<std::uint64_t>::max() - start) return;
        if (details_.size() >= std::numeric_limits<std::uint32_t>::max()) return;
        keys_.push_back({start, std::uint64_t{static_cast<std::uint8_t>(pref)} << 32 |
                                    static_cast<std::uint64_t>(details_.size())});
        details_.push_back({size, limit, name});
    }

    std::size_t size() const { return keys_.size(); }

    /// Sorts by address; of several names at one address keeps a GLOBAL one, else the first
    /// non-weak one, else the first; gives size-0 symbols the room up to the next symbol (or
    /// the end of their section). The names added must still be valid.
    function_table finish() {
        // Sorting small keys and reading the details through them is several times faster
        // than sorting the candidates themselves.
        std::sort(keys_.begin(), keys_.end(), [](const key& a, const key& b) {
            return a.start != b.start ? a.start < b.start : a.rank < b.rank;
        });
        auto detail_of = [this](const key& k) -> const candidate& {
            return details_[static_cast<std::size_t>(k.rank & 0xffffffffu)];
        };
        function_table table;
        std::size_t name_bytes = 0;
        std::size_t unique = 0;
        for (std::size_t i = 0; i < keys_.size(); ++i) {
            if (i > 0 && keys_[i].start == keys_[i - 1].start) continue;
            name_bytes += detail_of(keys_[i]).name.size();
            ++unique;
        }
        table.symbols_.reserve(unique);
        table.names_.reserve(name_bytes);

        for (std::size_t i = 0; i < keys_.size();) {
            const std::uint64_t start = keys_[i].start;
            const candidate& best = detail_of(keys_[i]);
            std::uint64_t size = best.size;
            std::uint64_t limit = best.limit;
            std::size_t j = i + 1;
            for (; j < keys_.size() && keys_[j].start == start; ++j) {
                // An alias may know the size when the preferred name does not.
                size = std::max(size, detail_of(keys_[j]).size);
                if (limit == 0) limit = detail_of(keys_[j]).limit;
            }
            const std::uint64_t next = j < keys_.size() ? keys_[j].start : 0;
            i = j;

            std::uint64_t end = start + size;
            if (size == 0) {
                if (next != 0) end = next;
                if (limit > start && (next == 0 || limit < next)) end = limit;
                if (end <= start) end = start + 1;  // at least its first byte
            }
            if (table.names_.size() + best.name.size() >
                std::numeric_limits<std::uint32_t>::max())
                break;  // a pool this big is not a real symbol table
            function_symbol s;
            s.start = start;
            s.end = end;
            s.name_offset = static_cast<std::uint32_t>(table.names_.size());
            s.name_size = static_cast<std::uint32_t>(best.name.size());
            table.names_.append(best.name);
            table.symbols_.push_back(s);
        }
        keys_ = {};
        details_ = {};
        return table;
    }

private:
    struct key {
        std::uint64_t start;
        std::uint64_t rank;  ///< preference << 32 | order added (an index into details_)
    };
    struct candidate {
        std::uint64_t size;
        std::uint64_t limit;
        std::string_view name;
    };
    std::vector<key> keys_;
    std::vector<candidate> details_;
};

using function_table_builder = basic_function_table_builder<>;

/// An ELF64 image: a file mapped read-only (owned) or bytes in memory (borrowed).
/// Move-only. All accessors return empty results when the image is not a valid ELF64 file.
/// Use it as `elf_image` (the template parameter is a dummy).
template <class = void>
class basic_elf_image {
public:
    basic_elf_image() = default;
    basic_elf_image(const basic_elf_image&) = delete;
    basic_elf_image& operator=(const basic_elf_image&) = delete;
    basic_elf_image(basic_elf_image&& other) noexcept { *this = std::move(other); }
    basic_elf_image& operator=(basic_elf_image&& other) noexcept {
        if (this != &other) {
            release();
            bytes_ = std::exchange(other.bytes_, elf::byte_view{});
            mapped_ = std::exchange(other.mapped_, false);
            header_ = other.header_;
            shnum_ = other.shnum_;
            shstrndx_ = other.shstrndx_;
            error_ = std::exchange(other.error_, "no image");
        }
        return *this;
    }
    ~basic_elf_image() { release(); }

    /// Maps the file at `path` read-only. On failure the image is empty and `error()` says why.
    static basic_elf_image open(const std::string& path) {
        basic_elf_image image;
#if CPPROF_DETAIL_ELF_HAS_MMAP
        const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
        if (fd < 0) {
            image.error_ = "cannot open file";
            return image;
        }
        struct stat st {};
        if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
            ::close(fd);
            image.error_ = "not a regular file";
            return image;
        }
        if (st.st_size < static_cast<off_t>(sizeof(elf::ehdr))) {
            ::close(fd);
            image.error_ = "file too small for an ELF header";
            return image;
        }
        const auto size = static_cast<std::size_t>(st.st_size);
        void* data = ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
        ::close(fd);
        if (data == MAP_FAILED) {
            image.error_ = "cannot map file";
            return image;
        }
        image.bytes_ = elf::byte_view(data, size);
        image.mapped_ = true;
        image.parse_header();
#else
        (void)path;
        image.error_ = "reading files is not supported on this platform";
#endif
        return image;
    }

    /// Reads an image already in memory; `data` must stay valid while the image is used.
    static basic_elf_image from_memory(const void* data, std::size_t size) {
        basic_elf_image image;
        image.bytes_ = elf::byte_view(data, size);
        image.parse_header();
        return image;
    }

    bool valid() const { return error_ == nullptr; }
    /// Why the image is not valid, or nullptr.
    const char* error() const { return error_; }
    const elf::ehdr& header() const { return header_; }
    elf::byte_view bytes() const { return bytes_; }

    std::vector<elf_segment> segments() const {
        std::vector<elf_segment> out;
        if (!valid() || header_.phnum == 0) return out;
        if (header_.phentsize != sizeof(elf::phdr)) return out;
        if (!bytes_.contains(header_.phoff, std::uint64_t{header_.phnum} * sizeof(elf::phdr)))
            return out;
        out.reserve(header_.phnum);
        for (std::uint32_t i = 0; i < header_.phnum; ++i) {
            elf::phdr p{};
            bytes_.read(header_.phoff + std::uint64_t{i} * sizeof(elf::phdr), p);
            out.push_back({p.type, p.flags, p.offset, p.vaddr, p.filesz, p.memsz, p.align});
        }
        return out;
    }

    std::vector<elf_section> sections() const {
        std::vector<elf_section> out;
        if (!valid() || shnum_ == 0) return out;
        std::vector<std::uint32_t> name_offsets;
        out.reserve(shnum_);
        name_offsets.reserve(shnum_);
        for (std::uint32_t i = 0; i < shnum_; ++i) {
            elf::shdr s{};
            bytes_.read(header_.shoff + std::uint64_t{i} * sizeof(elf::shdr), s);
            out.push_back({{}, s.type, s.flags, s.addr, s.offset, s.size, s.link, s.info,
                           s.addralign, s.entsize});
            name_offsets.push_back(s.name);
        }
        if (shstrndx_ < out.size()) {
            const elf::byte_view names = contents(out[shstrndx_]);
            for (std::size_t i = 0; i < out.size(); ++i)
                out[i].name = names.c_string(name_offsets[i]);
        }
        return out;
    }

    /// The bytes of a section inside the image; empty for SHT_NOBITS or when out of bounds.
    elf::byte_view contents(const elf_section& s) const {
        if (s.type == elf::sht_nobits) return {};
        return bytes_.slice(s.offset, s.size);
    }

    /// True when the image has a (non-empty) `.symtab`, i.e. it is not stripped.
    bool has_symtab() const {
        for (const auto& s : sections())
            if (s.type == elf::sht_symtab && s.size > 0) return true;
        return false;
    }

    /// The GNU build-id as lowercase hex, from PT_NOTE segments or else SHT_NOTE sections;
    /// empty when there is none.
    std::string build_id() const {
        for (const auto& p : segments()) {
            if (p.type != elf::pt_note) continue;
            auto id = elf::find_build_id_note(bytes_.slice(p.offset, p.filesz), p.align);
            if (!id.empty()) return id;
        }
        for (const auto& s : sections()) {
            if (s.type != elf::sht_note) continue;
            auto id = elf::find_build_id_note(contents(s), s.addralign);
            if (!id.empty()) return id;
        }
        return {};
    }

    /// All defined function symbols (STT_FUNC and STT_GNU_IFUNC, every binding, so static and
    /// anonymous-namespace functions are included) from `.symtab` and `.dynsym`, merged,
    /// deduplicated and sorted. Addresses are link-time (st_value); add the load bias.
    function_table function_symbols() const {
        function_table_builder builder;
        const auto secs = sections();
        std::size_t most = 0;
        for (const auto& s : secs)
            if (s.type == elf::sht_symtab || s.type == elf::sht_dynsym)
                most += contents(s).size() / sizeof(elf::sym);
        builder.reserve(most);
        // .symtab first: where both tables name one address, its name is seen first.
        for (std::uint32_t wanted : {elf::sht_symtab, elf::sht_dynsym})
            for (const auto& s : secs)
                if (s.type == wanted) add_symbols(secs, s, builder);
        return builder.finish();
    }

private:
    void release() {
#if CPPROF_DETAIL_ELF_HAS_MMAP
        if (mapped_) ::munmap(const_cast<unsigned char*>(bytes_.data()), bytes_.size());
#endif
        mapped_ = false;
        bytes_ = {};
    }

    static bool host_is_little_endian() {
        const std::uint16_t one = 1;
        unsigned char first = 0;
        std::memcpy(&first, &one, 1);
        return first == 1;
    }

    void parse_header() {
        error_ = nullptr;
        if (!bytes_.read(0, header_)) {
            error_ = "too small for an ELF header";
            return;
        }
        if (std::memcmp(header_.ident, "\x7f" "ELF", 4) != 0) {
            error_ = "not an ELF file";
            return;
        }
        if (header_.ident[4] != elf::elfclass64) {
            error_ = "not a 64-bit ELF file";
            return;
        }
        const unsigned char host = host_is_little_endian() ? elf::elfdata2lsb : elf::elfdata2msb;
        if (header_.ident[5] != host) {
            error_ = "ELF byte order differs from the host's";
            return;
        }
        if (header_.ident[6] != elf::ev_current) {
            error_ = "unknown ELF version";
            return;
        }
        // Section headers. A file without them (or with a bad table) still has program
        // headers and may be usable; it just has no sections and so no symbols.
        shnum_ = 0;
        shstrndx_ = header_.shstrndx;
        if (header_.shoff == 0 || header_.shentsize != sizeof(elf::shdr)) return;
        std::uint64_t count = header_.shnum;
        elf::shdr first{};
        if (!bytes_.read(header_.shoff, first)) return;
        // Extended numbering (gABI): counts that do not fit 16 bits live in section 0.
        if (count == 0) count = first.size;
        if (shstrndx_ == elf::shn_xindex) shstrndx_ = first.link;
        if (count > bytes_.size() / sizeof(elf::shdr)) return;  // cannot fit: corrupt
        if (!bytes_.contains(header_.shoff, count * sizeof(elf::shdr))) return;
        shnum_ = static_cast<std::uint32_t>(count);
    }

    void add_symbols(const std::vector<elf_section>& secs, const elf_section& table,
                     function_table_builder& builder) const {
        if (table.entsize != sizeof(elf::sym) && table.entsize != 0) return;
        if (table.link >= secs.size() || secs[table.link].type != elf::sht_strtab) return;
        const elf::byte_view symbols = contents(table);
        const elf::byte_view strings = contents(secs[table.link]);
        const std::size_t count = symbols.size() / sizeof(elf::sym);
        for (std::size_t i = 1; i < count; ++i) {  // entry 0 is reserved (all zeros)
            elf::sym s{};
            symbols.read(i * sizeof(elf::sym), s);
            const unsigned type = s.info & 0xfu;
            if (type != elf::stt_func && type != elf::stt_gnu_ifunc) continue;
            if (s.shndx == elf::shn_undef) continue;  // an import, defined elsewhere
            std::uint64_t limit = 0;
            if (s.shndx < elf::shn_loreserve && s.shndx < secs.size()) {
                const elf_section& home = secs[s.shndx];
                if (s.value >= home.addr && s.value - home.addr < home.size)
                    limit = home.addr + home.size;
            } else if (s.shndx != elf::shn_abs && s.shndx != elf::shn_xindex) {
                continue;  // other reserved indices (common, processor-specific): not code
            }
            const unsigned bind = s.info >> 4;
            function_table_builder::preference pref;
            if (bind == elf::stb_global || bind == elf::stb_gnu_unique)
                pref = function_table_builder::preference::global;
            else if (bind == elf::stb_weak)
                pref = function_table_builder::preference::weak;
            else
                pref = function_table_builder::preference::local;
            builder.add(s.value, s.size, strings.c_string(s.name), pref, limit);
        }
    }

    elf::byte_view bytes_;
    bool mapped_ = false;
    elf::ehdr header_{};
    std::uint32_t shnum_ = 0;
    std::uint32_t shstrndx_ = 0;
    const char* error_ = "no image";
};

using elf_image = basic_elf_image<>;

}  // namespace cpprof::detail

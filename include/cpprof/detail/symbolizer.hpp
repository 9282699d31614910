#pragma once
// IWYU pragma: private, include <cpprof/cpprof.hpp>
//
// Turns instruction addresses of this process into function names.
//
// What it reads: the loaded objects (dl_iterate_phdr: load bias, program headers, build-id from
// the in-memory note) and the executable lines of /proc/self/maps (ranges and file offsets, as
// Go's runtime/pprof records them). Each object's `.symtab` and `.dynsym` are parsed lazily, on
// the first lookup that lands in it, from the file on disk (the vDSO from its in-memory image),
// into a sorted table searched by binary search. Static and anonymous-namespace functions are
// named, which dladdr cannot do. A library stripped of `.symtab` falls back to `.dynsym`, or to
// a separate debug file under /usr/lib/debug/.build-id/ when one is installed.
//
// Decisions worth knowing:
// - mappings() only grows: an index returned by lookup() stays valid for the symbolizer's
//   life. The main binary's mappings come first. Objects that were unloaded keep their entries
//   but are no longer matched. lookup() refreshes by itself when an address falls outside every
//   known mapping and the dynamic loader reports that objects were added or removed.
// - `has_functions` follows Go: true once a lookup in the mapping succeeded and none failed, so
//   `go tool pprof` still symbolizes a mapping where some addresses could not be named.
// - A file replaced on disk since it was mapped is not used: its symbols would name the wrong
//   code. The kernel marks such mappings " (deleted)"; as a second check, a file whose
//   build-id differs from the one in the loaded object's memory is refused too.
// - Parsed tables and demangled names count against a memory budget (64 MiB by default). When
//   it is exceeded, the least recently used objects' tables are dropped and re-read if needed.
//   The object being looked up is always kept, so one huge object may exceed the budget alone.
//
// NOT async-signal-safe: it allocates, takes the loader's lock and reads files. Never call it
// from a signal handler; the profile builder calls it outside the handler. Not thread-safe
// either: use one symbolizer per thread, or a lock around it.
//
// `symbolizer` is basic_symbolizer<> and the helpers are templates: see the note on lazy
// instantiation in config.hpp.

#include <cpprof/detail/elf.hpp>
#include <cpprof/detail/procfs.hpp>
#include <cpprof/profile.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#if defined(__has_include)
#if __has_include(<cxxabi.h>)
#include <cxxabi.h>
#define CPPROF_DETAIL_HAS_CXXABI 1
#endif
#endif
#ifndef CPPROF_DETAIL_HAS_CXXABI
#define CPPROF_DETAIL_HAS_CXXABI 0
#endif

#if defined(__linux__)
#include <link.h>
#include <sys/auxv.h>
#define CPPROF_DETAIL_HAS_DL_ITERATE_PHDR 1
#else
#define CPPROF_DETAIL_HAS_DL_ITERATE_PHDR 0
#endif

namespace cpprof::detail {

/// The demangled form of a C++ linker name ("_ZN3foo3barEv" -> "foo::bar()"), or the input
/// itself when it is not a mangled name (C functions) or cannot be demangled. Only names that
/// start with "_Z" are given to the demangler: it would otherwise read a C name such as "f" as
/// a type and return "float".
template <class = void>
std::string demangle(const char* mangled) {
    if (!mangled) return {};
#if CPPROF_DETAIL_HAS_CXXABI
    if (mangled[0] == '_' && mangled[1] == 'Z') {
        int status = 0;
        char* out = abi::__cxa_demangle(mangled, nullptr, nullptr, &status);
        if (out && status == 0) {
            std::string result(out);
            std::free(out);
            return result;
        }
        std::free(out);
    }
#endif
    return mangled;
}

/// The result of symbolizer::lookup.
struct symbol {
    std::string function;     ///< demangled name; empty when not found
    std::string system_name;  ///< name in the symbol table (mangled for C++); empty if not found
    std::size_t mapping = no_mapping;  ///< index into symbolizer::mappings(), even when not found
    bool found = false;
};

inline constexpr std::size_t default_symbolizer_memory_budget = std::size_t{64} << 20;

namespace symbolize {

/// What the dynamic loader says about one loaded object.
struct loaded_object {
    std::uint64_t bias = 0;  ///< runtime address minus link-time address
    std::vector<std::pair<std::uint64_t, std::uint64_t>> executable;  ///< runtime [start, end)
    std::string build_id;    ///< from the PT_NOTE in memory; empty when none
};

/// The dynamic loader's counters of objects added and removed (glibc's dlpi_adds/dlpi_subs):
/// when they have not changed, neither has the set of loaded objects.
struct loader_generation {
    unsigned long long adds = 0;
    unsigned long long subs = 0;
    friend bool operator==(const loader_generation& a, const loader_generation& b) {
        return a.adds == b.adds && a.subs == b.subs;
    }
    friend bool operator!=(const loader_generation& a, const loader_generation& b) {
        return !(a == b);
    }
};

#if CPPROF_DETAIL_HAS_DL_ITERATE_PHDR

inline const void* to_pointer(std::uint64_t address) {
    return reinterpret_cast<const void*>(static_cast<std::uintptr_t>(address));
}

/// The build-id from a loaded object's PT_NOTE segments, read in place. A note is read only
/// when it lies inside a readable PT_LOAD segment, so a malformed header cannot make us touch
/// unmapped memory.
template <class = void>
std::string build_id_in_memory(std::uint64_t bias, const std::vector<elf::phdr>& phdrs) {
    for (const auto& note : phdrs) {
        if (note.type != elf::pt_note || note.filesz == 0) continue;
        const bool mapped = std::any_of(phdrs.begin(), phdrs.end(), [&](const elf::phdr& load) {
            return load.type == elf::pt_load && (load.flags & elf::pf_r) &&
                   note.vaddr >= load.vaddr && note.vaddr - load.vaddr <= load.filesz &&
                   note.filesz <= load.filesz - (note.vaddr - load.vaddr);
        });
        if (!mapped) continue;
        const elf::byte_view bytes(to_pointer(bias + note.vaddr),
                                   static_cast<std::size_t>(note.filesz));
        std::string id = elf::find_build_id_note(bytes, note.align);
        if (!id.empty()) return id;
    }
    return {};
}

template <class = void>
loader_generation current_loader_generation() {
    loader_generation generation;
    dl_iterate_phdr(
        [](dl_phdr_info* info, std::size_t size, void* data) -> int {
            auto& g = *static_cast<loader_generation*>(data);
            if (size >= offsetof(dl_phdr_info, dlpi_subs) + sizeof(info->dlpi_subs)) {
                g.adds = info->dlpi_adds;
                g.subs = info->dlpi_subs;
            }
            return 1;  // the counters are the same in every entry: stop after the first
        },
        &generation);
    return generation;
}

/// Every object the dynamic loader has loaded, the main program first. Throws
/// std::bad_alloc, after the loader's lock is released, if memory runs out.
template <class = void>
std::vector<loaded_object> loaded_objects() {
    struct context {
        std::vector<loaded_object> objects;
        std::exception_ptr failure;
    } ctx;
    dl_iterate_phdr(
        [](dl_phdr_info* info, std::size_t, void* data) -> int {
            auto& c = *static_cast<context*>(data);
            try {  // no exception may cross the C loader's frames
                loaded_object object;
                object.bias = info->dlpi_addr;
                std::vector<elf::phdr> phdrs(info->dlpi_phnum);
                if (!phdrs.empty())
                    std::memcpy(phdrs.data(), info->dlpi_phdr, phdrs.size() * sizeof(elf::phdr));
                for (const auto& p : phdrs)
                    if (p.type == elf::pt_load && (p.flags & elf::pf_x) && p.memsz > 0)
                        object.executable.emplace_back(object.bias + p.vaddr,
                                                       object.bias + p.vaddr + p.memsz);
                object.build_id = build_id_in_memory(object.bias, phdrs);
                c.objects.push_back(std::move(object));
                return 0;
            } catch (...) {
                c.failure = std::current_exception();
                return 1;
            }
        },
        &ctx);
    static_assert(sizeof(ElfW(Phdr)) == sizeof(elf::phdr), "program header layout");
    if (ctx.failure) std::rethrow_exception(ctx.failure);
    return std::move(ctx.objects);
}

inline std::uint64_t vdso_address() { return getauxval(AT_SYSINFO_EHDR); }

#else

template <class = void>
loader_generation current_loader_generation() { return {}; }
template <class = void>
std::vector<loaded_object> loaded_objects() { return {}; }
inline std::uint64_t vdso_address() { return 0; }
inline const void* to_pointer(std::uint64_t) { return nullptr; }

#endif

/// The load bias of an object whose file offset `map_offset` is mapped at `map_start`, from
/// the PT_LOAD segment holding that offset. False when no segment holds it.
template <class = void>
bool bias_from_segments(const std::vector<elf_segment>& segments, std::uint64_t map_start,
                        std::uint64_t map_offset, std::uint64_t& bias) {
    for (const auto& s : segments) {
        if (s.type != elf::pt_load) continue;
        if (map_offset < s.offset || map_offset - s.offset >= std::max(s.filesz, s.memsz))
            continue;
        // runtime(x) = map_start + (x - map_offset); link-time(x) = vaddr + (x - offset)
        bias = map_start - map_offset + s.offset - s.vaddr;
        return true;
    }
    return false;
}

/// The path of a separate debug file for `build_id` (Debian's -dbgsym packages), or "".
template <class = void>
std::string debug_file_for(const std::string& build_id) {
    if (build_id.size() < 3) return {};
    return "/usr/lib/debug/.build-id/" + build_id.substr(0, 2) + "/" + build_id.substr(2) +
           ".debug";
}

}  // namespace symbolize

/// Names the addresses of this process. See the top of this file. Use it as `symbolizer`
/// (the template parameter is a dummy).
template <class = void>
class basic_symbolizer {
public:
    basic_symbolizer() : basic_symbolizer(default_symbolizer_memory_budget) {}
    explicit basic_symbolizer(std::size_t memory_budget) : budget_(memory_budget) { refresh(); }

    basic_symbolizer(const basic_symbolizer&) = delete;
    basic_symbolizer& operator=(const basic_symbolizer&) = delete;
    basic_symbolizer(basic_symbolizer&&) = default;
    basic_symbolizer& operator=(basic_symbolizer&&) = default;

    /// Picks up objects loaded since the last snapshot and retires those unloaded. Objects
    /// already parsed keep their tables; mappings keep their indices.
    void refresh() {
        generation_ = symbolize::current_loader_generation();
        merge(snapshot());
    }

    /// The executable mappings seen so far: the main binary first, then the others in the
    /// order they were found. Only grows.
    const std::vector<mapping>& mappings() const { return mappings_; }

    /// Names the function containing `address`, taken as given (for a return address, the
    /// caller passes address - 1 to stay inside the call). `mapping` is set whenever the
    /// address lies in a known mapping, even if no symbol covers it.
    symbol lookup(std::uint64_t address) {
        symbol out;
        std::size_t index = find_active(address);
        if (index == no_mapping && symbolize::current_loader_generation() != generation_) {
            refresh();
            index = find_active(address);
        }
        if (index == no_mapping) return out;
        out.mapping = index;
        const std::size_t object_index = states_[index].object;
        if (object_index != no_object && ensure_parsed(object_index)) {
            object& o = objects_[object_index];
            const std::size_t i = o.table.find(address - o.bias);
            if (i != function_table::npos) {
                out.found = true;
                out.system_name = std::string(o.table.name(i));
                out.function = demangled(object_index, i, out.system_name);
            }
        }
        mapping_state& state = states_[index];
        ++(out.found ? state.found : state.missed);
        mappings_[index].has_functions = state.found > 0 && state.missed == 0;
        return out;
    }

    std::size_t memory_budget() const { return budget_; }
    /// Changes the budget; tables over it are dropped now.
    void set_memory_budget(std::size_t bytes) {
        budget_ = bytes;
        enforce_budget(no_object);
    }
    /// Bytes currently held by parsed symbol tables and cached demangled names.
    std::size_t memory_usage() const { return usage_; }

private:
    static constexpr std::size_t no_object = static_cast<std::size_t>(-1);

    /// Where an object's symbols come from, and how its addresses translate.
    struct object_source {
        std::string name;       ///< as shown in the mapping
        std::string open_path;  ///< file to read; empty for an in-memory image or none
        bool in_memory = false; ///< the vDSO: read [image_start, image_start + image_size)
        std::uint64_t image_start = 0;
        std::uint64_t image_size = 0;
        bool bias_known = false;
        std::uint64_t bias = 0;
        std::uint64_t base = 0;  ///< bias, or map start - offset when unknown: with name, the key
        std::uint64_t map_start = 0;
        std::uint64_t map_offset = 0;
        std::string build_id;
    };

    struct discovered {
        mapping m;
        bool main = false;
        bool has_source = false;
        object_source source;
    };

    struct object {
        object_source source;
        enum class status : std::uint8_t { unparsed, parsed, failed } state = status::unparsed;
        std::uint64_t bias = 0;
        function_table table;
        std::unordered_map<std::size_t, std::string> demangled;  ///< by table index
        std::size_t charged = 0;  ///< bytes counted in usage_
        std::uint64_t last_use = 0;
    };

    struct mapping_state {
        std::size_t object = no_object;
        std::uint64_t found = 0;
        std::uint64_t missed = 0;
        bool active = true;
    };

    struct active_range {
        std::uint64_t start;
        std::uint64_t limit;
        std::size_t mapping;
    };

    /// The executable mappings of the process now, each tied to the object it belongs to.
    static std::vector<discovered> snapshot() {
        std::vector<discovered> out;
        const std::vector<symbolize::loaded_object> objects = symbolize::loaded_objects();
        const std::string exe = self_exe_path();
        const std::uint64_t vdso = symbolize::vdso_address();
        for (const maps_entry& e : read_self_maps()) {
            if (!e.executable) continue;
            // Like Go: anonymous executable memory (JIT code, the unpopulated start of
            // huge-page text) is not a mapping. [vdso] and [vsyscall] are kept.
            if (e.inode == 0 && e.path.empty()) continue;

            std::size_t owner = no_object;
            for (std::size_t k = 0; k < objects.size() && owner == no_object; ++k)
                for (const auto& range : objects[k].executable)
                    if (range.first < e.end && e.start < range.second) owner = k;

            discovered d;
            d.m.memory_start = e.start;
            d.m.memory_limit = e.end;
            d.m.file_offset = e.offset;
            d.m.filename = e.path;
            d.main = owner == 0 || (owner == no_object && !exe.empty() && e.path == exe);
            if (owner != no_object) d.m.build_id = objects[owner].build_id;

            object_source& s = d.source;
            s.name = e.path;
            s.map_start = e.start;
            s.map_offset = e.offset;
            s.build_id = d.m.build_id;
            if (owner != no_object) {
                s.bias_known = true;
                s.bias = objects[owner].bias;
            }
            if (e.path == "[vdso]") {
                s.in_memory = true;
                s.image_start = vdso >= e.start && vdso < e.end ? vdso : e.start;
                s.image_size = e.end - s.image_start;
                d.has_source = true;
            } else if (!exe.empty() && e.path == exe) {
                // /proc/self/exe is the very file that was executed, even if it has since been
                // replaced or deleted on disk.
                s.open_path = "/proc/self/exe";
                d.has_source = true;
            } else if (!e.path.empty() && e.path[0] == '/' && !e.deleted) {
                // A " (deleted)" file was unlinked or replaced since it was mapped: whatever is
                // at its path now is other code, so it is not read at all.
                s.open_path = e.path;
                d.has_source = true;
                if (owner == no_object && d.m.build_id.empty()) {  // no note read in memory
                    d.m.build_id = elf_image::open(s.open_path).build_id();
                    s.build_id = d.m.build_id;
                }
            }
            s.base = s.bias_known ? s.bias : e.start - e.offset;
            out.push_back(std::move(d));
        }
        // The main binary first (pprof's convention), then by address.
        std::stable_sort(out.begin(), out.end(), [](const discovered& a, const discovered& b) {
            return a.main != b.main ? a.main : a.m.memory_start < b.m.memory_start;
        });
        return out;
    }

    void merge(std::vector<discovered> found) {
        std::vector<bool> seen(mappings_.size(), false);
        for (discovered& d : found) {
            const std::size_t existing = find_active(d.m.memory_start);
            if (existing != no_mapping) {
                const mapping& m = mappings_[existing];
                if (m.memory_start == d.m.memory_start && m.memory_limit == d.m.memory_limit &&
                    m.file_offset == d.m.file_offset && m.filename == d.m.filename &&
                    m.build_id == d.m.build_id) {
                    seen[existing] = true;
                    continue;
                }
            }
            mapping_state state;
            if (d.has_source) state.object = find_or_add_object(std::move(d.source));
            mappings_.push_back(std::move(d.m));
            states_.push_back(state);
            seen.push_back(true);
        }
        for (std::size_t i = 0; i < states_.size(); ++i) states_[i].active = seen[i];

        // Objects no longer mapped anywhere give their memory back.
        std::vector<bool> in_use(objects_.size(), false);
        for (const auto& state : states_)
            if (state.active && state.object != no_object) in_use[state.object] = true;
        for (std::size_t k = 0; k < objects_.size(); ++k)
            if (!in_use[k]) release(objects_[k]);

        active_.clear();
        for (std::size_t i = 0; i < states_.size(); ++i)
            if (states_[i].active)
                active_.push_back({mappings_[i].memory_start, mappings_[i].memory_limit, i});
        std::sort(active_.begin(), active_.end(),
                  [](const active_range& a, const active_range& b) { return a.start < b.start; });
    }

    std::size_t find_or_add_object(object_source source) {
        for (std::size_t k = 0; k < objects_.size(); ++k) {
            const object_source& s = objects_[k].source;
            if (s.name == source.name && s.base == source.base && s.build_id == source.build_id &&
                s.in_memory == source.in_memory)
                return k;
        }
        object o;
        o.source = std::move(source);
        objects_.push_back(std::move(o));
        return objects_.size() - 1;
    }

    std::size_t find_active(std::uint64_t address) const {
        auto it = std::upper_bound(
            active_.begin(), active_.end(), address,
            [](std::uint64_t a, const active_range& r) { return a < r.start; });
        if (it == active_.begin()) return no_mapping;
        --it;
        return address < it->limit ? it->mapping : no_mapping;
    }

    /// Parses the object's symbols on first use. False when they cannot be read.
    bool ensure_parsed(std::size_t index) {
        object& o = objects_[index];
        if (o.state == object::status::parsed) {
            o.last_use = ++clock_;
            return true;
        }
        if (o.state == object::status::failed) return false;
        o.state = object::status::failed;  // until proven otherwise

        const object_source& s = o.source;
        elf_image image =
            s.in_memory ? elf_image::from_memory(symbolize::to_pointer(s.image_start),
                                                 static_cast<std::size_t>(s.image_size))
                        : elf_image::open(s.open_path);
        if (!image.valid()) return false;
        if (!s.in_memory) {
            const std::string file_id = image.build_id();
            if (!s.build_id.empty() && !file_id.empty() && file_id != s.build_id) return false;
        }
        o.bias = s.bias;
        if (!s.bias_known &&
            !symbolize::bias_from_segments(image.segments(), s.map_start, s.map_offset, o.bias))
            return false;

        o.table = image.function_symbols();
        if (!s.in_memory && !s.build_id.empty() && !image.has_symtab()) {
            // Stripped: a separate debug file, when installed, has the full .symtab.
            const elf_image debug = elf_image::open(symbolize::debug_file_for(s.build_id));
            if (debug.valid() && debug.build_id() == s.build_id) {
                function_table full = debug.function_symbols();
                if (full.size() > o.table.size()) o.table = std::move(full);
            }
        }
        o.state = object::status::parsed;
        o.last_use = ++clock_;
        charge(o, o.table.memory_bytes());
        enforce_budget(index);
        return true;
    }

    /// The demangled name of symbol `i` of object `index`, cached for mangled names.
    std::string demangled(std::size_t index, std::size_t i, const std::string& raw) {
        if (raw.size() < 2 || raw[0] != '_' || raw[1] != 'Z') return raw;
        object& o = objects_[index];
        auto it = o.demangled.find(i);
        if (it != o.demangled.end()) return it->second;
        std::string name = demangle(raw.c_str());
        o.demangled.emplace(i, name);
        constexpr std::size_t node_overhead = 64;  // hash node, bucket, string header
        charge(o, name.capacity() + node_overhead);
        enforce_budget(index);
        return name;
    }

    void charge(object& o, std::size_t bytes) {
        o.charged += bytes;
        usage_ += bytes;
    }

    void release(object& o) {
        usage_ -= o.charged;
        o.charged = 0;
        o.table = function_table{};
        o.demangled = {};
        if (o.state == object::status::parsed) o.state = object::status::unparsed;
    }

    /// Drops least recently used tables until the budget holds, never the one at `keep`.
    void enforce_budget(std::size_t keep) {
        while (usage_ > budget_) {
            std::size_t victim = no_object;
            for (std::size_t k = 0; k < objects_.size(); ++k) {
                if (k == keep || objects_[k].charged == 0) continue;
                if (victim == no_object || objects_[k].last_use < objects_[victim].last_use)
                    victim = k;
            }
            if (victim == no_object) return;
            release(objects_[victim]);
        }
    }

    std::vector<mapping> mappings_;
    std::vector<mapping_state> states_;  ///< parallel to mappings_
    std::vector<active_range> active_;   ///< mappings still present, sorted by start
    std::vector<object> objects_;
    symbolize::loader_generation generation_;
    std::size_t budget_ = default_symbolizer_memory_budget;
    std::size_t usage_ = 0;
    std::uint64_t clock_ = 0;
};

using symbolizer = basic_symbolizer<>;

/// One symbolizer per process: ELF symbol tables are parsed once and reused by every report;
/// refresh() picks up libraries loaded since.
template <class T = void>
basic_symbolizer<T>& process_symbolizer(std::unique_lock<std::mutex>& lock) {
    static std::mutex m;
    // never destroyed: reports may run during static destruction
    static basic_symbolizer<T>* s = nullptr;
    lock = std::unique_lock<std::mutex>(m);
    if (!s) s = new basic_symbolizer<T>();
    else s->refresh();
    return *s;
}

/// The frame for `addr`, named by `sym`, interned into `p`; `ids` remembers the addresses
/// already interned so that each is looked up once per profile.
template <class T>
frame_id intern_address(profile& p, basic_symbolizer<T>& sym,
                        std::unordered_map<std::uint64_t, frame_id>& ids, std::uint64_t addr) {
    auto it = ids.find(addr);
    if (it == ids.end()) {
        symbol s = sym.lookup(addr);
        frame f;
        f.address = addr;
        if (s.found) {
            f.function = std::move(s.function);
            if (s.system_name != f.function) f.system_name = std::move(s.system_name);
        }
        f.mapping = s.mapping;
        it = ids.emplace(addr, p.intern(f)).first;
    }
    return it->second;
}

}  // namespace cpprof::detail

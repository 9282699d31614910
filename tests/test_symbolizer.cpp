// Tests for the ELF reader (detail/elf.hpp), the /proc helpers (detail/procfs.hpp) and the
// symbolizer (detail/symbolizer.hpp). They run against the test binary itself, libc,
// libstdc++, the vDSO, a library compiled and dlopen'd at run time, and hand-built and damaged
// ELF images.
#include <cpprof/detail/elf.hpp>
#include <cpprof/detail/procfs.hpp>
#include <cpprof/detail/symbolizer.hpp>

#include <doctest/doctest.h>

#include <dlfcn.h>
#include <fcntl.h>
#include <link.h>
#include <pthread.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <climits>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>
#include <vector>

using cpprof::detail::elf_image;
using cpprof::detail::function_table;
using cpprof::detail::symbolizer;

// ---- functions the symbolizer must name ---------------------------------------------------

namespace cpprof_test {
int extern_function(int x);

__attribute__((noinline, used)) int extern_function(int x) {
    volatile int acc = x;
    for (int i = 0; i < 8; ++i) acc = acc * 31 + i;
    return acc;
}
}  // namespace cpprof_test

static __attribute__((noinline, used)) int static_function(int x) {
    volatile int acc = x;
    for (int i = 0; i < 5; ++i) acc = acc * 17 + i;
    return acc;
}

namespace {
__attribute__((noinline, used)) int anonymous_function(int x) {
    volatile int acc = x;
    for (int i = 0; i < 3; ++i) acc = acc * 13 + i;
    return acc;
}

// ---- helpers ------------------------------------------------------------------------------

template <class R, class... A>
std::uint64_t address_of(R (*f)(A...)) {
    return static_cast<std::uint64_t>(reinterpret_cast<std::uintptr_t>(f));
}

std::uint64_t address_of(const void* p) {
    return static_cast<std::uint64_t>(reinterpret_cast<std::uintptr_t>(p));
}

std::string real_path(const std::string& path) {
    char buffer[PATH_MAX];
    return ::realpath(path.c_str(), buffer) ? std::string(buffer) : path;
}

/// The load bias of the main program, as the dynamic loader reports it.
std::uint64_t main_program_bias() {
    std::uint64_t bias = 0;
    dl_iterate_phdr(
        [](dl_phdr_info* info, std::size_t, void* data) -> int {
            *static_cast<std::uint64_t*>(data) = info->dlpi_addr;
            return 1;
        },
        &bias);
    return bias;
}

/// Output of a shell command, or nothing when it could not run.
bool run_capture(const std::string& command, std::string& output) {
    FILE* pipe = ::popen(command.c_str(), "r");
    if (!pipe) return false;
    char buffer[4096];
    std::size_t n;
    while ((n = std::fread(buffer, 1, sizeof buffer, pipe)) > 0) output.append(buffer, n);
    return ::pclose(pipe) == 0;
}

std::vector<unsigned char> read_whole_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return std::vector<unsigned char>(std::istreambuf_iterator<char>(in), {});
}

/// A temporary directory removed (with its files) at the end of the scope.
struct temp_dir {
    std::string path;
    temp_dir() {
        char pattern[] = "/tmp/cpprof-symbolizer-XXXXXX";
        if (::mkdtemp(pattern)) path = real_path(pattern);
    }
    ~temp_dir() {
        if (!path.empty()) std::system(("rm -rf '" + path + "'").c_str());
    }
};

std::size_t find_mapping(const std::vector<cpprof::mapping>& maps, const std::string& name) {
    for (std::size_t i = 0; i < maps.size(); ++i)
        if (maps[i].filename == name) return i;
    return cpprof::no_mapping;
}

/// Compiles a small shared library into `output` (extra compiler flags in `flags`, e.g. "-s"
/// to strip it). False when no C++ compiler works here ($CXX, else c++).
bool build_plugin(const temp_dir& dir, const std::string& output, const std::string& flags) {
    const std::string source = dir.path + "/plugin.cpp";
    std::ofstream(source) << R"(
        static int __attribute__((noinline, used)) plugin_static(int x) { return x * 7 + 1; }
        namespace plugin {
        int __attribute__((noinline)) work(int x) { return plugin_static(x) * 3; }
        }
        extern "C" int plugin_c_entry(int x) { return plugin::work(x) + PLUGIN_VARIANT; }
        extern "C" void* plugin_static_address() { return reinterpret_cast<void*>(&plugin_static); }
    )";
    const char* cxx = std::getenv("CXX");
    const std::string compiler = cxx && *cxx ? cxx : "c++";
    const std::string variant = flags.find("-DPLUGIN_VARIANT") == std::string::npos
                                    ? " -DPLUGIN_VARIANT=1"
                                    : "";
    const std::string command = compiler + " -shared -fPIC -O1" + variant + " " + flags +
                                " -o '" + output + "' '" + source + "' >/dev/null 2>&1";
    return std::system(command.c_str()) == 0;
}

// ---- a hand-built ELF image ---------------------------------------------------------------

namespace elf = cpprof::detail::elf;

/// Builds a small, valid ELF64 shared object in memory: a .text section at 0x1000, a .symtab
/// and a .dynsym with chosen symbols, a build-id note, and the section headers last (so every
/// truncation cuts them).
class elf_builder {
public:
    struct symbol_spec {
        const char* name;
        std::uint64_t value;
        std::uint64_t size;
        unsigned char bind;
        unsigned char type;
        std::uint16_t shndx;
    };

    static constexpr std::uint64_t text_addr = 0x1000;
    static constexpr std::uint64_t text_size = 0x100;
    static constexpr std::uint16_t text_index = 1;
    static constexpr unsigned char build_id[] = {0x01, 0x23, 0x45, 0x67, 0x89, 0xab,
                                                 0xcd, 0xef, 0xfe, 0xdc};

    std::vector<unsigned char> build(const std::vector<symbol_spec>& symtab,
                                     const std::vector<symbol_spec>& dynsym) {
        out_.assign(sizeof(elf::ehdr) + 2 * sizeof(elf::phdr), 0);

        // The note: namesz 4, descsz 10, type 3, "GNU\0", id padded to 4.
        align(4);
        const std::uint64_t note_offset = out_.size();
        elf::nhdr nh{4, sizeof build_id, elf::nt_gnu_build_id};
        append(&nh, sizeof nh);
        append("GNU", 4);
        append(build_id, sizeof build_id);
        align(4);
        const std::uint64_t note_size = out_.size() - note_offset;

        align(16);
        const std::uint64_t text_offset = out_.size();
        out_.resize(out_.size() + text_size, 0xcc);

        std::string strtab(1, '\0'), dynstr(1, '\0');
        const std::uint64_t symtab_offset = add_symbols(symtab, strtab);
        const std::uint64_t symtab_size = out_.size() - symtab_offset;
        const std::uint64_t strtab_offset = out_.size();
        append(strtab.data(), strtab.size());
        const std::uint64_t dynsym_offset = add_symbols(dynsym, dynstr);
        const std::uint64_t dynsym_size = out_.size() - dynsym_offset;
        const std::uint64_t dynstr_offset = out_.size();
        append(dynstr.data(), dynstr.size());

        const std::string shstrtab =
            std::string("\0.text\0.symtab\0.strtab\0.dynsym\0.dynstr\0.note\0.shstrtab\0", 55);
        const std::uint64_t shstrtab_offset = out_.size();
        append(shstrtab.data(), shstrtab.size());

        align(8);
        const std::uint64_t shoff = out_.size();
        auto section = [&](std::uint32_t name, std::uint32_t type, std::uint64_t addr,
                           std::uint64_t offset, std::uint64_t size, std::uint32_t link,
                           std::uint64_t entsize, std::uint64_t addralign) {
            elf::shdr s{name, type, 0, addr, offset, size, link, 1, addralign, entsize};
            append(&s, sizeof s);
        };
        section(0, 0, 0, 0, 0, 0, 0, 0);                                               // 0
        section(1, 1, text_addr, text_offset, text_size, 0, 0, 16);                    // 1 .text
        section(7, elf::sht_symtab, 0, symtab_offset, symtab_size, 3, 24, 8);          // 2
        section(15, elf::sht_strtab, 0, strtab_offset, strtab.size(), 0, 0, 1);        // 3
        section(23, elf::sht_dynsym, 0, dynsym_offset, dynsym_size, 5, 24, 8);         // 4
        section(31, elf::sht_strtab, 0, dynstr_offset, dynstr.size(), 0, 0, 1);        // 5
        section(39, elf::sht_note, 0, note_offset, note_size, 0, 0, 4);                // 6
        section(45, elf::sht_strtab, 0, shstrtab_offset, shstrtab.size(), 0, 0, 1);    // 7

        elf::ehdr h{};
        std::memcpy(h.ident, "\x7f" "ELF", 4);
        h.ident[4] = elf::elfclass64;
        h.ident[5] = elf::elfdata2lsb;
        h.ident[6] = elf::ev_current;
        h.type = 3;  // ET_DYN
        h.machine = 62;
        h.version = 1;
        h.phoff = sizeof(elf::ehdr);
        h.shoff = shoff;
        h.ehsize = sizeof(elf::ehdr);
        h.phentsize = sizeof(elf::phdr);
        h.phnum = 2;
        h.shentsize = sizeof(elf::shdr);
        h.shnum = 8;
        h.shstrndx = 7;
        std::memcpy(out_.data(), &h, sizeof h);

        // PT_LOAD maps the file so that .text's file offset lands at text_addr.
        const elf::phdr load{elf::pt_load, elf::pf_r | elf::pf_x, 0, text_addr - text_offset,
                             0, out_.size(), out_.size(), 0x1000};
        const elf::phdr note{elf::pt_note, elf::pf_r, note_offset, 0, 0, note_size, note_size, 4};
        std::memcpy(out_.data() + sizeof h, &load, sizeof load);
        std::memcpy(out_.data() + sizeof h + sizeof load, &note, sizeof note);
        return out_;
    }

private:
    void append(const void* p, std::size_t n) {
        const auto* b = static_cast<const unsigned char*>(p);
        out_.insert(out_.end(), b, b + n);
    }
    void align(std::size_t a) { out_.resize((out_.size() + a - 1) / a * a, 0); }

    std::uint64_t add_symbols(const std::vector<symbol_spec>& symbols, std::string& strings) {
        align(8);
        const std::uint64_t offset = out_.size();
        elf::sym null_symbol{};
        append(&null_symbol, sizeof null_symbol);
        for (const auto& spec : symbols) {
            elf::sym s{};
            s.name = static_cast<std::uint32_t>(strings.size());
            strings += spec.name;
            strings += '\0';
            s.info = static_cast<unsigned char>(spec.bind << 4 | spec.type);
            s.shndx = spec.shndx;
            s.value = spec.value;
            s.size = spec.size;
            append(&s, sizeof s);
        }
        return offset;
    }

    std::vector<unsigned char> out_;
};

constexpr unsigned char stt_object = 1;

std::vector<unsigned char> sample_elf() {
    using s = elf_builder::symbol_spec;
    constexpr auto text = elf_builder::text_index;
    const std::vector<s> symtab = {
        // Out of address order on purpose.
        {"sized_zero", 0x1040, 0, elf::stb_local, elf::stt_func, text},
        {"local_alias", 0x1000, 0x10, elf::stb_local, elf::stt_func, text},
        {"global_fn", 0x1000, 0x10, elf::stb_global, elf::stt_func, text},
        {"weak_first", 0x1020, 0x10, elf::stb_weak, elf::stt_func, text},
        {"local_second", 0x1020, 0, elf::stb_local, elf::stt_func, text},
        {"resolver", 0x1060, 0x8, elf::stb_global, elf::stt_gnu_ifunc, text},
        {"data_object", 0x1070, 0x8, elf::stb_global, stt_object, text},
        {"versioned@@VERS_1", 0x1080, 0x8, elf::stb_global, elf::stt_func, text},
        {"imported", 0, 0, elf::stb_global, elf::stt_func, elf::shn_undef},
        {"last_zero", 0x10f0, 0, elf::stb_local, elf::stt_func, text},
    };
    const std::vector<s> dynsym = {
        {"global_fn", 0x1000, 0x10, elf::stb_global, elf::stt_func, text},
        {"dyn_only", 0x10a0, 0x10, elf::stb_global, elf::stt_func, text},
    };
    return elf_builder().build(symtab, dynsym);
}

std::string name_at(const function_table& table, std::uint64_t address) {
    const std::size_t i = table.find(address);
    return i == function_table::npos ? std::string("<none>") : std::string(table.name(i));
}

/// Everything the reader offers, exercised; returns the number of symbols. Under ASan this is
/// what catches a read out of bounds.
std::size_t exercise(const elf_image& image) {
    std::size_t total = image.sections().size() + image.segments().size();
    total += image.build_id().size();
    const function_table table = image.function_symbols();
    for (std::size_t i = 0; i < table.size(); ++i) {
        REQUIRE(table[i].start < table[i].end);
        if (i > 0) REQUIRE(table[i - 1].start < table[i].start);
        total += table.name(i).size();
    }
    (void)total;
    (void)image.has_symtab();
    return table.size();
}

}  // namespace

// ---- the ELF reader -------------------------------------------------------------------------

TEST_CASE("elf: symbols of a hand-built image, with aliases, sizes and order resolved") {
    const std::vector<unsigned char> bytes = sample_elf();
    const elf_image image = elf_image::from_memory(bytes.data(), bytes.size());
    REQUIRE(image.valid());
    CHECK(image.has_symtab());
    CHECK(image.build_id() == "0123456789abcdeffedc");
    CHECK(image.sections().size() == 8);
    CHECK(image.sections()[2].name == ".symtab");
    CHECK(image.segments().size() == 2);

    const function_table table = image.function_symbols();
    // global_fn, local_second, sized_zero, resolver, versioned, dyn_only, last_zero
    CHECK(table.size() == 7);
    CHECK(name_at(table, 0x1000) == "global_fn");       // GLOBAL beats a LOCAL alias
    CHECK(name_at(table, 0x100f) == "global_fn");
    CHECK(name_at(table, 0x1010) == "<none>");          // past its size
    CHECK(name_at(table, 0x1020) == "local_second");    // first non-weak name
    CHECK(name_at(table, 0x102f) == "local_second");    // size taken from its weak alias
    CHECK(name_at(table, 0x1030) == "<none>");
    CHECK(name_at(table, 0x1040) == "sized_zero");      // size 0: runs to the next symbol
    CHECK(name_at(table, 0x105f) == "sized_zero");
    CHECK(name_at(table, 0x1060) == "resolver");        // STT_GNU_IFUNC counts as a function
    CHECK(name_at(table, 0x1070) == "<none>");          // an object, not a function
    CHECK(name_at(table, 0x1084) == "versioned");       // "@@VERS_1" dropped
    CHECK(name_at(table, 0x10a8) == "dyn_only");        // only in .dynsym
    CHECK(name_at(table, 0x10ff) == "last_zero");       // size 0, last: to the section end
    CHECK(name_at(table, 0x1100) == "<none>");
    CHECK(name_at(table, 0x0fff) == "<none>");
    CHECK(name_at(table, 0) == "<none>");
    CHECK(name_at(table, ~std::uint64_t{0}) == "<none>");
}

TEST_CASE("elf: every truncation of an image gives a clear empty result, never a crash") {
    const std::vector<unsigned char> bytes = sample_elf();
    for (std::size_t n = 0; n < bytes.size(); ++n) {
        // An exact-size heap copy, so that ASan sees any read past the end.
        const std::unique_ptr<unsigned char[]> copy(new unsigned char[n + 1]);
        std::memcpy(copy.get(), bytes.data(), n);
        const elf_image image = elf_image::from_memory(copy.get(), n);
        INFO("length " << n);
        CHECK(exercise(image) == 0);  // the section headers are last: always cut
        CHECK(image.sections().empty());
        if (n < sizeof(elf::ehdr)) {
            CHECK_FALSE(image.valid());
            CHECK(image.error() != nullptr);
        }
    }
}

TEST_CASE("elf: corrupted bytes anywhere in an image never crash the reader") {
    const std::vector<unsigned char> bytes = sample_elf();
    const unsigned char values[] = {0x00, 0x01, 0x7f, 0x80, 0xff};
    std::size_t parsed_with_symbols = 0;
    for (std::size_t at = 0; at < bytes.size(); ++at) {
        for (unsigned char v : values) {
            std::vector<unsigned char> damaged = bytes;
            damaged[at] = v;
            damaged.shrink_to_fit();
            const elf_image image = elf_image::from_memory(damaged.data(), damaged.size());
            parsed_with_symbols += exercise(image) > 0;
        }
    }
    // Most single-byte changes (in .text, in names) leave a readable table.
    CHECK(parsed_with_symbols > bytes.size());

    SUBCASE("huge counts and offsets in the header") {
        std::vector<unsigned char> damaged = bytes;
        elf::ehdr h{};
        std::memcpy(&h, damaged.data(), sizeof h);
        for (std::uint64_t shoff : {std::uint64_t{0}, ~std::uint64_t{0}, ~std::uint64_t{0} - 63,
                                    std::uint64_t{damaged.size() - 1}}) {
            for (std::uint16_t shnum : {std::uint16_t{0}, std::uint16_t{0xffff}}) {
                elf::ehdr bad = h;
                bad.shoff = shoff;
                bad.shnum = shnum;
                bad.phoff = shoff;
                bad.phnum = shnum;
                bad.shstrndx = 0xffff;
                std::memcpy(damaged.data(), &bad, sizeof bad);
                const elf_image image = elf_image::from_memory(damaged.data(), damaged.size());
                CHECK(exercise(image) == 0);
            }
        }
    }
}

TEST_CASE("elf: files that are missing, empty, not ELF, truncated or a directory") {
    temp_dir dir;
    REQUIRE_FALSE(dir.path.empty());

    CHECK_FALSE(elf_image::open(dir.path + "/missing").valid());
    CHECK(std::string(elf_image::open(dir.path + "/missing").error()) == "cannot open file");
    CHECK(std::string(elf_image::open(dir.path).error()) == "not a regular file");

    std::ofstream(dir.path + "/empty").close();
    CHECK(exercise(elf_image::open(dir.path + "/empty")) == 0);
    CHECK_FALSE(elf_image::open(dir.path + "/empty").valid());

    std::ofstream(dir.path + "/text") << "#!/bin/sh\necho this is not an ELF file, but long enough"
                                         " to hold an ELF header's sixty-four bytes\n";
    CHECK(std::string(elf_image::open(dir.path + "/text").error()) == "not an ELF file");

    // The test binary itself, cut short at several points.
    const std::vector<unsigned char> self = read_whole_file("/proc/self/exe");
    REQUIRE(self.size() > 4096);
    for (std::size_t n : {std::size_t{64}, std::size_t{65}, std::size_t{4096}, self.size() / 2,
                          self.size() - 1}) {
        const std::string path = dir.path + "/cut";
        std::ofstream(path, std::ios::binary)
            .write(reinterpret_cast<const char*>(self.data()), static_cast<std::streamsize>(n));
        const elf_image image = elf_image::open(path);
        INFO("length " << n);
        CHECK(image.valid());  // the header is intact
        CHECK(exercise(image) == 0);  // the section headers, at the end, are not
    }
    const elf_image whole = elf_image::open("/proc/self/exe");
    CHECK(exercise(whole) > 100);
}

// ---- /proc helpers --------------------------------------------------------------------------

TEST_CASE("procfs: /proc/self/maps lines") {
    using cpprof::detail::parse_maps_line;
    auto e = parse_maps_line(
        "7fd722dc7000-7fd722f1d000 r-xp 00026000 fe:00 332835                     "
        "/usr/lib/x86_64-linux-gnu/libc.so.6\n");
    REQUIRE(e);
    CHECK(e->start == 0x7fd722dc7000);
    CHECK(e->end == 0x7fd722f1d000);
    CHECK(e->offset == 0x26000);
    CHECK(e->readable);
    CHECK_FALSE(e->writable);
    CHECK(e->executable);
    CHECK_FALSE(e->shared);
    CHECK(e->inode == 332835);
    CHECK(e->path == "/usr/lib/x86_64-linux-gnu/libc.so.6");
    CHECK_FALSE(e->deleted);

    e = parse_maps_line("00400000-00452000 r-xp 00000000 08:02 173521 /tmp/my dir/a b (deleted)");
    REQUIRE(e);
    CHECK(e->path == "/tmp/my dir/a b");
    CHECK(e->deleted);

    e = parse_maps_line("7ffd5b1f0000-7ffd5b1f2000 r-xp 00000000 00:00 0                  [vdso]");
    REQUIRE(e);
    CHECK(e->path == "[vdso]");
    CHECK(e->inode == 0);

    e = parse_maps_line("7f0000000000-7f0000001000 rw-s 00000000 00:00 0");
    REQUIRE(e);
    CHECK(e->path.empty());
    CHECK(e->shared);

    CHECK_FALSE(parse_maps_line(""));
    CHECK_FALSE(parse_maps_line("garbage"));
    CHECK_FALSE(parse_maps_line("2000-1000 r-xp 00000000 00:00 0"));  // end before start
    CHECK_FALSE(parse_maps_line("1000-2000 r-xp"));

    const auto maps = cpprof::detail::read_self_maps();
    CHECK(maps.size() > 5);
    bool exe_seen = false;
    const std::string exe = real_path("/proc/self/exe");
    for (const auto& m : maps) exe_seen = exe_seen || (m.path == exe && m.executable);
    CHECK(exe_seen);
}

TEST_CASE("procfs: thread names and the executable's path") {
    char saved[64] = {};
    REQUIRE(pthread_getname_np(pthread_self(), saved, sizeof saved) == 0);
    REQUIRE(pthread_setname_np(pthread_self(), "cpprof-symtest") == 0);
    const auto tid = static_cast<pid_t>(::syscall(SYS_gettid));
    CHECK(cpprof::detail::thread_name(tid) == "cpprof-symtest");
    pthread_setname_np(pthread_self(), saved);
    CHECK(cpprof::detail::thread_name(tid) == saved);
    CHECK(cpprof::detail::thread_name(-1).empty());

    CHECK(cpprof::detail::self_exe_path() == real_path("/proc/self/exe"));
}

// ---- demangling -----------------------------------------------------------------------------

TEST_CASE("demangle") {
    using cpprof::detail::demangle;
    CHECK(demangle("_ZN11cpprof_test15extern_functionEi") == "cpprof_test::extern_function(int)");
    CHECK(demangle("_ZL15static_functioni") == "static_function(int)");
    CHECK(demangle("_Z3foov.cold") == "foo() [clone .cold]");
    CHECK(demangle("getpid") == "getpid");
    CHECK(demangle("f") == "f");  // a C name, not the type "float"
    CHECK(demangle("_Znot a mangled name") == "_Znot a mangled name");
    CHECK(demangle("") == "");
    CHECK(demangle(nullptr) == "");
}

// ---- the symbolizer -------------------------------------------------------------------------

TEST_CASE("symbolizer: mappings list the main binary first, with its real path and build-id") {
    symbolizer s;
    const auto& maps = s.mappings();
    REQUIRE_FALSE(maps.empty());
    const std::string exe = real_path("/proc/self/exe");
    CHECK(maps[0].filename == exe);
    CHECK(maps[0].memory_start < maps[0].memory_limit);
    const std::uint64_t self = address_of(&cpprof_test::extern_function);
    CHECK(maps[0].memory_start <= self);
    CHECK(self < maps[0].memory_limit);
    CHECK(maps[0].memory_start % 4096 == 0);
    CHECK(maps[0].file_offset % 4096 == 0);

    const std::string id = elf_image::open("/proc/self/exe").build_id();
    CHECK(maps[0].build_id == id);

    // Independent check: what readelf (or file) prints.
    std::string text;
    if (run_capture("readelf -n '" + exe + "' 2>/dev/null", text)) {
        const auto at = text.find("Build ID: ");
        if (at == std::string::npos) {
            MESSAGE("the test binary has no build-id (linked without --build-id)");
            CHECK(id.empty());
        } else {
            CHECK(text.substr(at + 10, id.size()) == id);
            CHECK_FALSE(id.empty());
        }
    } else if (run_capture("file -L '" + exe + "' 2>/dev/null", text) &&
               text.find("BuildID[") != std::string::npos) {
        CHECK(text.find("=" + id) != std::string::npos);
    } else {
        MESSAGE("neither readelf nor file is available: build-id not cross-checked");
    }

    // Every mapping is a real range, and all but pseudo files have an absolute path.
    for (const auto& m : maps) {
        CHECK(m.memory_start < m.memory_limit);
        CHECK_FALSE(m.filename.empty());
        CHECK((m.filename[0] == '/' || m.filename[0] == '['));
    }
    // Known libraries are there, with build-ids read from memory.
    bool libc_seen = false;
    for (const auto& m : maps)
        if (m.filename.find("/libc.so") != std::string::npos) {
            libc_seen = true;
            CHECK(m.build_id == elf_image::open(m.filename).build_id());
        }
    CHECK(libc_seen);
}

TEST_CASE("symbolizer: functions of the test binary, extern, static and anonymous") {
    symbolizer s;

    SUBCASE("an extern function at its first byte") {
        const auto r = s.lookup(address_of(&cpprof_test::extern_function));
        CHECK(r.found);
        CHECK(r.mapping == 0);
        CHECK(r.function == "cpprof_test::extern_function(int)");
        CHECK(r.system_name == "_ZN11cpprof_test15extern_functionEi");
        CHECK(s.mappings()[0].has_functions);
    }
    SUBCASE("a static function") {
        const auto r = s.lookup(address_of(&static_function));
        CHECK(r.found);
        CHECK(r.mapping == 0);
        CHECK(r.function == "static_function(int)");
        CHECK(r.system_name == "_ZL15static_functioni");
    }
    SUBCASE("a function in an anonymous namespace") {
        const auto r = s.lookup(address_of(&anonymous_function));
        CHECK(r.found);
        CHECK(r.function == "(anonymous namespace)::anonymous_function(int)");
    }
    SUBCASE("addresses inside a function, up to its last byte") {
        const std::uint64_t start = address_of(&cpprof_test::extern_function);
        CHECK(s.lookup(start + 1).function == "cpprof_test::extern_function(int)");
        CHECK(s.lookup(start + 8).function == "cpprof_test::extern_function(int)");

        // The symbol's size from the file: its last byte is in, the byte after is not.
        const elf_image image = elf_image::open("/proc/self/exe");
        const function_table table = image.function_symbols();
        const std::size_t i = table.find(start - main_program_bias());
        REQUIRE(i != function_table::npos);
        const std::uint64_t size = table[i].end - table[i].start;
        CHECK(size > 8);
        CHECK(s.lookup(start + size - 1).function == "cpprof_test::extern_function(int)");
        CHECK(s.lookup(start + size).function != "cpprof_test::extern_function(int)");
    }
    SUBCASE("many lookups agree with each other (the table is cached)") {
        const auto first = s.lookup(address_of(&static_function) + 2);
        const std::size_t usage = s.memory_usage();
        CHECK(usage > 0);
        for (int i = 0; i < 1000; ++i) {
            const auto again = s.lookup(address_of(&static_function) + 2);
            REQUIRE(again.function == first.function);
        }
        CHECK(s.memory_usage() == usage);  // no re-parse, no new cache entries
    }
}

TEST_CASE("symbolizer: functions of libc and libstdc++") {
    symbolizer s;
    const void* getpid_address = dlsym(RTLD_DEFAULT, "getpid");
    REQUIRE(getpid_address != nullptr);
    const auto r = s.lookup(address_of(getpid_address));
    REQUIRE(r.found);
    REQUIRE(r.mapping != cpprof::no_mapping);
    CHECK(s.mappings()[r.mapping].filename.find("/libc.so") != std::string::npos);
    // glibc defines getpid as a weak alias of __getpid; either name is the same code.
    CHECK((r.system_name == "getpid" || r.system_name == "__getpid"));
    CHECK(dlsym(RTLD_DEFAULT, r.system_name.c_str()) == getpid_address);
    CHECK(r.function == r.system_name);  // a C name stays as it is

    const void* terminate_address = dlsym(RTLD_DEFAULT, "_ZSt9terminatev");
    REQUIRE(terminate_address != nullptr);
    const auto t = s.lookup(address_of(terminate_address));
    CHECK(t.found);
    CHECK(t.function == "std::terminate()");
    CHECK(t.system_name == "_ZSt9terminatev");
    CHECK(s.mappings()[t.mapping].filename.find("libstdc++") != std::string::npos);
}

TEST_CASE("symbolizer: the vDSO is read from memory") {
    const std::uint64_t base = getauxval(AT_SYSINFO_EHDR);
    if (base == 0) {
        MESSAGE("no vDSO in this process");
        return;
    }
    symbolizer s;
    const std::size_t index = find_mapping(s.mappings(), "[vdso]");
    REQUIRE(index != cpprof::no_mapping);
    const cpprof::mapping& m = s.mappings()[index];
    CHECK(m.memory_start <= base);
    CHECK(base < m.memory_limit);

    // Where __vdso_clock_gettime is, computed here from the image and its first segment.
    const elf_image image = elf_image::from_memory(reinterpret_cast<const void*>(base),
                                                   static_cast<std::size_t>(m.memory_limit - base));
    REQUIRE(image.valid());
    CHECK(m.build_id == image.build_id());
    const function_table table = image.function_symbols();
    std::uint64_t first_load_vaddr = 0;
    for (const auto& seg : image.segments())
        if (seg.type == elf::pt_load && seg.offset == 0) first_load_vaddr = seg.vaddr;
    std::uint64_t target = 0;
    for (std::size_t i = 0; i < table.size(); ++i)
        if (table.name(i) == "__vdso_clock_gettime") target = table[i].start;
    REQUIRE(target != 0);
    const std::uint64_t address = base + (target - first_load_vaddr) + 3;

    const auto r = s.lookup(address);
    CHECK(r.found);
    CHECK(r.mapping == index);
    // __vdso_clock_gettime is GLOBAL, its alias clock_gettime WEAK.
    CHECK(r.function == "__vdso_clock_gettime");
}

TEST_CASE("symbolizer: addresses that no symbol covers") {
    symbolizer s;
    SUBCASE("outside every mapping") {
        for (std::uint64_t address : {std::uint64_t{0}, std::uint64_t{16}, ~std::uint64_t{0}}) {
            const auto r = s.lookup(address);
            CHECK_FALSE(r.found);
            CHECK(r.mapping == cpprof::no_mapping);
            CHECK(r.function.empty());
            CHECK(r.system_name.empty());
        }
        int on_the_stack = 0;
        CHECK(s.lookup(address_of(&on_the_stack)).mapping == cpprof::no_mapping);
    }
    SUBCASE("inside the main binary, in the PLT, which has no symbols") {
        const elf_image image = elf_image::open("/proc/self/exe");
        std::uint64_t plt = 0;
        for (const auto& section : image.sections())
            if ((section.name == ".plt" || section.name == ".plt.sec") && section.size > 0)
                plt = section.addr;
        if (plt == 0) {
            MESSAGE("the test binary has no .plt section");
            return;
        }
        CHECK(s.lookup(address_of(&cpprof_test::extern_function)).found);
        CHECK(s.mappings()[0].has_functions);
        const auto r = s.lookup(main_program_bias() + plt);
        CHECK_FALSE(r.found);
        CHECK(r.mapping == 0);  // still attributed to the main binary, for pprof
        // Like Go: a mapping with a failed lookup is left for pprof to symbolize.
        CHECK_FALSE(s.mappings()[0].has_functions);
    }
    SUBCASE("[vsyscall], which is executable but not readable") {
        const std::size_t index = find_mapping(s.mappings(), "[vsyscall]");
        if (index == cpprof::no_mapping) {
            MESSAGE("no [vsyscall] mapping on this kernel");
            return;
        }
        const auto r = s.lookup(s.mappings()[index].memory_start);
        CHECK_FALSE(r.found);
        CHECK(r.mapping == index);
    }
}

TEST_CASE("symbolizer: a small memory budget evicts tables but lookups stay right") {
    const std::uint64_t in_main = address_of(&static_function);
    const std::uint64_t in_libstdcxx = address_of(dlsym(RTLD_DEFAULT, "_ZSt9terminatev"));

    // What each object's table costs, measured with room for both.
    symbolizer roomy;
    CHECK(roomy.memory_budget() == cpprof::detail::default_symbolizer_memory_budget);
    CHECK(roomy.memory_usage() == 0);  // nothing parsed before the first lookup
    roomy.lookup(in_main);
    const std::size_t main_cost = roomy.memory_usage();
    roomy.lookup(in_libstdcxx);
    const std::size_t both_cost = roomy.memory_usage();
    REQUIRE(main_cost > 0);
    REQUIRE(both_cost > main_cost);

    symbolizer tight(1);  // every table is over budget: only the one in use is kept
    for (int round = 0; round < 3; ++round) {
        CHECK(tight.lookup(in_main).function == "static_function(int)");
        CHECK(tight.memory_usage() == main_cost);
        CHECK(tight.lookup(in_libstdcxx).function == "std::terminate()");
        CHECK(tight.memory_usage() == both_cost - main_cost);  // the main table was dropped
    }

    roomy.set_memory_budget(0);
    CHECK(roomy.memory_usage() == 0);
    CHECK(roomy.lookup(in_main).function == "static_function(int)");  // parsed again
    CHECK(roomy.memory_usage() == main_cost);
}

TEST_CASE("symbolizer: a library dlopen'd after construction, plain and stripped") {
    temp_dir dir;
    REQUIRE_FALSE(dir.path.empty());
    const std::string plain = dir.path + "/libplugin.so";
    const std::string stripped = dir.path + "/libplugin-stripped.so";
    if (!build_plugin(dir, plain, "") || !build_plugin(dir, stripped, "-s")) {
        MESSAGE("no working C++ compiler: dlopen test skipped");
        return;
    }

    symbolizer explicit_refresh;  // both constructed before the library is loaded
    symbolizer automatic;
    const std::vector<cpprof::mapping> before = explicit_refresh.mappings();

    void* handle = dlopen(plain.c_str(), RTLD_NOW | RTLD_LOCAL);
    REQUIRE(handle != nullptr);
    const std::uint64_t entry = address_of(dlsym(handle, "plugin_c_entry"));
    const std::uint64_t work = address_of(dlsym(handle, "_ZN6plugin4workEi"));
    auto static_address = reinterpret_cast<void* (*)()>(dlsym(handle, "plugin_static_address"));
    REQUIRE(entry != 0);
    REQUIRE(work != 0);
    REQUIRE(address_of(reinterpret_cast<const void*>(static_address)) != 0);
    const std::uint64_t hidden = address_of(static_address());

    explicit_refresh.refresh();
    const auto& after = explicit_refresh.mappings();
    REQUIRE(after.size() > before.size());
    for (std::size_t i = 0; i < before.size(); ++i) {  // indices stay valid
        CHECK(after[i].filename == before[i].filename);
        CHECK(after[i].memory_start == before[i].memory_start);
    }
    for (symbolizer* s : {&explicit_refresh, &automatic}) {
        const auto r = s->lookup(entry);
        CHECK(r.found);
        CHECK(r.function == "plugin_c_entry");
        REQUIRE(r.mapping != cpprof::no_mapping);
        CHECK(s->mappings()[r.mapping].filename == plain);
        CHECK(s->lookup(work + 1).function == "plugin::work(int)");
        CHECK(s->lookup(hidden).function == "plugin_static(int)");  // from .symtab
    }
    const std::size_t plugin_mapping = automatic.lookup(entry).mapping;

    // Stripped: exported functions come from .dynsym; the static one cannot be named, but the
    // address still belongs to the library's mapping.
    void* stripped_handle = dlopen(stripped.c_str(), RTLD_NOW | RTLD_LOCAL);
    REQUIRE(stripped_handle != nullptr);
    CHECK_FALSE(elf_image::open(stripped).has_symtab());
    const std::uint64_t stripped_entry = address_of(dlsym(stripped_handle, "plugin_c_entry"));
    auto stripped_static =
        reinterpret_cast<void* (*)()>(dlsym(stripped_handle, "plugin_static_address"));
    REQUIRE(address_of(reinterpret_cast<const void*>(stripped_static)) != 0);
    const auto r = automatic.lookup(stripped_entry);
    CHECK(r.function == "plugin_c_entry");
    const auto h = automatic.lookup(address_of(stripped_static()));
    CHECK(h.mapping == r.mapping);
    CHECK(automatic.mappings()[h.mapping].filename == stripped);
    CHECK_FALSE(h.found);

    // Unloaded: the old mapping is kept (indices stay valid) but no longer matched.
    dlclose(stripped_handle);
    dlclose(handle);
    automatic.refresh();
    CHECK(automatic.mappings()[plugin_mapping].filename == plain);
    CHECK(automatic.lookup(entry).mapping != plugin_mapping);
}

TEST_CASE("symbolizer: a file mapped executable by hand, and one replaced on disk") {
    temp_dir dir;
    REQUIRE_FALSE(dir.path.empty());
    const std::string path = dir.path + "/libmapped.so";
    if (!build_plugin(dir, path, "")) {
        MESSAGE("no working C++ compiler: test skipped");
        return;
    }
    const elf_image image = elf_image::open(path);
    const function_table table = image.function_symbols();
    std::uint64_t entry_vaddr = 0;
    for (std::size_t i = 0; i < table.size(); ++i)
        if (table.name(i) == "plugin_c_entry") entry_vaddr = table[i].start;
    REQUIRE(entry_vaddr != 0);
    cpprof::detail::elf_segment text{};
    for (const auto& seg : image.segments())
        if (seg.type == elf::pt_load && (seg.flags & elf::pf_x)) text = seg;
    REQUIRE(text.filesz > 0);

    // Not through the loader: the symbolizer must derive the bias from the file's segments.
    const std::uint64_t page = static_cast<std::uint64_t>(::sysconf(_SC_PAGESIZE));
    const std::uint64_t offset = text.offset & ~(page - 1);
    const std::size_t length = static_cast<std::size_t>(text.offset + text.filesz - offset);
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    REQUIRE(fd >= 0);
    void* base = ::mmap(nullptr, length, PROT_READ | PROT_EXEC, MAP_PRIVATE, fd,
                        static_cast<off_t>(offset));
    ::close(fd);
    REQUIRE(base != MAP_FAILED);
    const std::uint64_t entry =
        address_of(base) + (entry_vaddr - text.vaddr) + (text.offset - offset);
    {
        symbolizer s;
        const auto r = s.lookup(entry + 1);
        CHECK(r.found);
        CHECK(r.function == "plugin_c_entry");
        REQUIRE(r.mapping != cpprof::no_mapping);
        CHECK(s.mappings()[r.mapping].filename == path);
        CHECK(s.mappings()[r.mapping].build_id == image.build_id());  // read from the file
        CHECK_FALSE(image.build_id().empty());
    }

    // Replace the file under the mapping (a new build renamed over it, as package managers
    // do): the old inode stays mapped, but the file at that path is different code, whose
    // symbols must not be used.
    const std::string replacement = dir.path + "/libmapped-new.so";
    REQUIRE(build_plugin(dir, replacement, "-DPLUGIN_VARIANT=2 -fno-inline -O0"));
    REQUIRE(elf_image::open(replacement).build_id() != image.build_id());
    REQUIRE(::rename(replacement.c_str(), path.c_str()) == 0);
    {
        symbolizer s;
        const auto r = s.lookup(entry + 1);
        REQUIRE(r.mapping != cpprof::no_mapping);
        CHECK(s.mappings()[r.mapping].filename == path);  // " (deleted)" removed
        CHECK_FALSE(r.found);
    }
    ::munmap(base, length);
}

TEST_CASE("symbolizer: a loaded library whose path now holds a different build") {
    temp_dir dir;
    REQUIRE_FALSE(dir.path.empty());
    const std::string path = dir.path + "/libswapped.so";
    if (!build_plugin(dir, path, "")) {
        MESSAGE("no working C++ compiler: test skipped");
        return;
    }
    const std::string loaded_id = elf_image::open(path).build_id();
    REQUIRE_FALSE(loaded_id.empty());
    void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
    REQUIRE(handle != nullptr);
    const std::uint64_t entry = address_of(dlsym(handle, "plugin_c_entry"));
    REQUIRE(entry != 0);

    // A second link keeps the loaded inode alive under another name; the kernel still marks
    // the mapping " (deleted)" because the name it was loaded by now holds another file. The
    // mapping must keep the build-id of the code in memory, not the new file's.
    REQUIRE(::link(path.c_str(), (dir.path + "/keep.so").c_str()) == 0);
    const std::string replacement = dir.path + "/libswapped-new.so";
    REQUIRE(build_plugin(dir, replacement, "-DPLUGIN_VARIANT=2 -O0"));
    REQUIRE(::rename(replacement.c_str(), path.c_str()) == 0);

    symbolizer s;
    const auto r = s.lookup(entry);
    REQUIRE(r.mapping != cpprof::no_mapping);
    CHECK(s.mappings()[r.mapping].filename == path);
    CHECK(s.mappings()[r.mapping].build_id == loaded_id);
    CHECK_FALSE(r.found);
    dlclose(handle);
}

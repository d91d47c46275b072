#include "base/build_info.h"

#include <elf.h>
#include <link.h>

#include <cstdio>
#include <cstring>

namespace nightshift {

// Written by cmake/build_version.cmake at every build.
extern const char* const kBuildCommit;
extern const bool kBuildDirty;
extern const char* const kBuildCompiler;

namespace {

// The GNU build-id note of the main program (the linker writes one by
// default on Debian); "" when there is none.
int find_build_id(dl_phdr_info* info, size_t, void* out) {
  auto* id = static_cast<std::string*>(out);
  for (int i = 0; i < info->dlpi_phnum; ++i) {
    const ElfW(Phdr)& segment = info->dlpi_phdr[i];
    if (segment.p_type != PT_NOTE) continue;
    const char* p = reinterpret_cast<const char*>(info->dlpi_addr + segment.p_vaddr);
    const char* end = p + segment.p_memsz;
    while (p + sizeof(ElfW(Nhdr)) <= end) {
      const auto* note = reinterpret_cast<const ElfW(Nhdr)*>(p);
      const char* name = p + sizeof(ElfW(Nhdr));
      const char* desc = name + ((note->n_namesz + 3) & ~3u);
      if (note->n_type == NT_GNU_BUILD_ID && note->n_namesz == 4 && std::memcmp(name, "GNU", 4) == 0) {
        for (unsigned j = 0; j < note->n_descsz; ++j) {
          char hex[3];
          std::snprintf(hex, sizeof hex, "%02x", static_cast<unsigned char>(desc[j]));
          id->append(hex);
        }
        return 1;
      }
      p = desc + ((note->n_descsz + 3) & ~3u);
    }
  }
  return 1;  // only the first object: the main program
}

}  // namespace

const BuildInfo& build_info() {
  static const BuildInfo info = [] {
    BuildInfo b;
    b.commit = kBuildCommit;
    b.dirty = kBuildDirty;
    b.compiler = kBuildCompiler;
    dl_iterate_phdr(find_build_id, &b.build_id);
    return b;
  }();
  return info;
}

std::string kernel_isa() {
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
  return __builtin_cpu_supports("x86-64-v3") ? "x86-64-v3" : "baseline";
#else
  return "baseline";
#endif
}

}  // namespace nightshift

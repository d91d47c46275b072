#include "base/build_id.h"

#include <elf.h>
#include <link.h>

#include <cstring>

#include <fmt/format.h>

namespace nightshift {
namespace {

// dl_iterate_phdr lists the main program first (empty name); its PT_NOTE
// segments hold the build id note.
int find_build_id(dl_phdr_info* info, size_t, void* out) {
  auto* text = static_cast<std::string*>(out);
  for (int i = 0; i < info->dlpi_phnum; ++i) {
    const ElfW(Phdr)& segment = info->dlpi_phdr[i];
    if (segment.p_type != PT_NOTE) continue;
    const char* at = reinterpret_cast<const char*>(info->dlpi_addr + segment.p_vaddr);
    const char* end = at + segment.p_memsz;
    while (at + sizeof(ElfW(Nhdr)) <= end) {
      ElfW(Nhdr) note;
      std::memcpy(&note, at, sizeof note);
      const char* name = at + sizeof note;
      const char* desc = name + ((note.n_namesz + 3) & ~3u);
      if (note.n_type == NT_GNU_BUILD_ID && note.n_namesz == 4 &&
          std::memcmp(name, "GNU", 4) == 0 && desc + note.n_descsz <= end) {
        for (unsigned j = 0; j < note.n_descsz; ++j) {
          *text += fmt::format("{:02x}", static_cast<unsigned char>(desc[j]));
        }
        return 1;
      }
      at = desc + ((note.n_descsz + 3) & ~3u);
    }
  }
  return 1;  // only the first object (the executable)
}

}  // namespace

const std::string& build_id() {
  static const std::string id = [] {
    std::string text;
    dl_iterate_phdr(find_build_id, &text);
    return text;
  }();
  return id;
}

const std::string& code_version() {
  static const std::string version = build_id().empty() ? std::string("nightshift-0.1.0") : build_id();
  return version;
}

}  // namespace nightshift

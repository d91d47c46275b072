// The running executable's GNU build id (the linker's hash of its contents,
// .note.gnu.build-id), as hex: what the result cache calls the code version,
// since any change to the code that computed a result changes it.
#pragma once

#include <string>

namespace nightshift {

// "" when the executable carries no build id (linked without --build-id).
const std::string& build_id();

// build_id(), or the project version when there is none.
const std::string& code_version();

}  // namespace nightshift

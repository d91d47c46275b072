// Small readers for kernel text files (/proc, /sys): the whole file, one
// integer, or the current level of an amdgpu DPM table. Errors name the file.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "schema/result.h"

namespace nightshift::telemetry {

Result<std::string> read_text_file(const std::string& path);
Result<int64_t> read_int_file(const std::string& path);

// Parses "0: 500Mhz\n1: 1800Mhz *\n" (pp_dpm_sclk / pp_dpm_mclk): the MHz
// of the line marked '*'.
Result<double> parse_dpm_current_mhz(const std::string& text);

// Entries of a directory whose names start with `prefix`, sorted; empty if
// the directory cannot be read.
std::vector<std::string> list_dir(const std::string& dir, const std::string& prefix = "");

bool path_exists(const std::string& path);

}  // namespace nightshift::telemetry

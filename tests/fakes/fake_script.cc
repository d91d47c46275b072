#include "tests/fakes/fake_script.h"

#include <cstdlib>
#include <fstream>
#include <sstream>

namespace nightshift::fake {
namespace {

std::string trimmed(const std::string& text) {
  auto begin = text.find_first_not_of(" \t\r");
  if (begin == std::string::npos) return "";
  auto end = text.find_last_not_of(" \t\r");
  return text.substr(begin, end - begin + 1);
}

}  // namespace

int64_t Answer::integer() const { return std::strtoll(text.c_str(), nullptr, 0); }
uint64_t Answer::unsigned_integer() const { return std::strtoull(text.c_str(), nullptr, 0); }
double Answer::real() const { return std::strtod(text.c_str(), nullptr); }

bool FakeScript::load(const char* env_var) {
  values_.clear();
  const char* path = std::getenv(env_var);
  if (path == nullptr) return false;
  std::ifstream in(path);
  if (!in) return false;
  std::string line;
  while (std::getline(in, line)) {
    line = trimmed(line.substr(0, line.find('#')));
    auto equals = line.find('=');
    if (equals == std::string::npos) continue;
    Values values;
    std::istringstream items(line.substr(equals + 1));
    std::string item;
    while (std::getline(items, item, ',')) values.items.push_back(trimmed(item));
    values_[trimmed(line.substr(0, equals))] = values;
  }
  return true;
}

Answer FakeScript::next(const std::string& key) {
  auto it = values_.find(key);
  if (it == values_.end() || it->second.items.empty()) return Answer{not_supported_, ""};
  Values& v = it->second;
  const std::string& text = v.items[std::min(v.position, v.items.size() - 1)];
  ++v.position;
  if (!text.empty() && text[0] == '!') {
    return Answer{std::strtoll(text.c_str() + 1, nullptr, 0), text};
  }
  return Answer{std::nullopt, text};
}

int64_t FakeScript::integer_or(const std::string& key, int64_t fallback) {
  if (!has(key)) return fallback;
  return next(key).integer();
}

std::vector<std::string> FakeScript::words(const std::string& key) {
  std::vector<std::string> out;
  if (!has(key)) return out;
  std::istringstream in(next(key).text);
  std::string word;
  while (in >> word) out.push_back(word);
  return out;
}

std::string device_key(uint32_t device, const char* field) {
  return std::to_string(device) + "." + field;
}

}  // namespace nightshift::fake

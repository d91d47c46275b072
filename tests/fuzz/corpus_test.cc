// The seed corpus and the fuzzer's type list against schema/ itself: every
// `kType = "..."` declared in schema/*.h has a frame in the corpus that
// decodes as that type, and the list names no type schema/ lacks.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>
#include <string>

#include "schema/codec.h"
#include "tests/fuzz/corpus.h"
#include "tests/fuzz/message_types.h"

namespace nightshift::fuzz {
namespace {

// The wire names declared in schema/*.h, read from the source.
std::set<std::string> declared_types() {
  const std::regex declaration(R"re(kType\s*=\s*"([^"]+)")re");
  std::set<std::string> types;
  for (const auto& entry : std::filesystem::directory_iterator(NIGHTSHIFT_SCHEMA_DIR)) {
    if (entry.path().extension() != ".h") continue;
    std::ifstream in(entry.path());
    std::stringstream text;
    text << in.rdbuf();
    std::string source = text.str();
    for (std::sregex_iterator it(source.begin(), source.end(), declaration), end; it != end; ++it) {
      types.insert((*it)[1]);
    }
  }
  return types;
}

TEST(FuzzCorpus, HoldsAFrameOfEveryMessageTypeInSchema) {
  std::set<std::string> declared = declared_types();
  ASSERT_GE(declared.size(), 15u) << "the scan of " << NIGHTSHIFT_SCHEMA_DIR << " found too few";

  std::set<std::string> listed;
  for_each_type(MessageTypes{}, [&]<typename Payload>() { listed.insert(Payload::kType); });
  EXPECT_EQ(listed, declared) << "tests/fuzz/message_types.h and schema/*.h differ";

  std::set<std::string> in_corpus;
  for (const auto& bytes : corpus_frames()) {
    auto frame = decode_frame(bytes);
    ASSERT_TRUE(frame) << frame.error();
    in_corpus.insert(frame->header.type);
    int decoded_as = 0;
    for_each_type(MessageTypes{}, [&]<typename Payload>() {
      if (frame->header.type != Payload::kType) return;
      auto payload = decode_payload<Payload>(*frame);
      EXPECT_TRUE(payload) << frame->header.type << ": " << payload.error();
      ++decoded_as;
    });
    EXPECT_EQ(decoded_as, 1) << frame->header.type;
  }
  EXPECT_EQ(in_corpus, declared);
  for (const auto& type : declared) EXPECT_TRUE(is_known_type(type)) << type;
}

}  // namespace
}  // namespace nightshift::fuzz

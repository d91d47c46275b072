// The fuzzer's seed corpus: one valid frame per message type, each with its
// optional and nested fields filled, so mutations start from every shape.
#pragma once

#include <string>
#include <vector>

namespace nightshift::fuzz {

// A sample payload per message type; only the types of MessageTypes are
// defined (corpus.cc), so a type added to the list without one fails to link.
template <typename Payload>
Payload corpus_sample();

// One encoded frame per type of MessageTypes, in its order.
std::vector<std::string> corpus_frames();

}  // namespace nightshift::fuzz

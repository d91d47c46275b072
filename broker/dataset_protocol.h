// The dataset service's wire rules, shared by the service (stages/fetcher)
// and its client (dataset_client.h).
//
// Request: [dataset.request][body]. Reply: [dataset.reply][part 0]...[part n-1]
// where every part is an encoded DatasetReply carrying the same metadata and
// a slice of at most `rows_per_part(bus)` bars. ZeroMQ's maxmsgsize and the
// codec's frame cap apply per part, so a year of 1m bars (~30 MB of msgpack)
// crosses the bus without raising either limit.
#pragma once

#include <zmq.hpp>

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "config/config.h"
#include "schema/codec.h"
#include "schema/data_messages.h"
#include "schema/result.h"

namespace nightshift::dataset {

// Content fingerprint: 128 bits of FNV-1a over the row count and the raw
// little-endian column bytes, as 32 hex digits. Equal bars, equal fingerprint.
std::string fingerprint(const Bars& bars);

// Cache key of a request: source, symbol, timeframe and range.
std::string request_key(const DatasetRequest& request);

// Rows per reply part so that one part stays well under the frame cap
// (a row costs at most 54 bytes of msgpack).
std::size_t rows_per_part(const config::BusConfig& bus);

// Splits `reply` (metadata + all bars) into encoded parts.
std::vector<std::string> encode_reply(const Header& header, const DatasetReply& reply,
                                      std::size_t rows_per_part);

// Joins decoded parts back into one reply; checks part numbering, row count
// and (for status ok) that the bars match the fingerprint.
Result<DatasetReply> decode_reply(const std::vector<std::string>& parts,
                                  const DecodeLimits& limits);

// Sends [type][part]... as one multipart message; false if not queued in time.
bool send_parts(zmq::socket_t& socket, const std::string& type,
                const std::vector<std::string>& parts, std::chrono::milliseconds timeout);

// Receives one multipart message; nullopt on timeout. parts[0] is the type.
std::optional<std::vector<std::string>> receive_parts(zmq::socket_t& socket,
                                                      std::chrono::milliseconds timeout);

}  // namespace nightshift::dataset

#include "broker/zap_handler.h"

#include <arpa/inet.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <zmq.h>

#include <vector>

#include "base/log.h"
#include "broker/curve_keys.h"

namespace nightshift::bus {
namespace {

constexpr const char* kZapEndpoint = "inproc://zeromq.zap.01";

// `address` is inside `allowed`: the same text, or an IPv4 address inside an
// IPv4/CIDR block.
bool address_matches(const std::string& address, const std::string& allowed) {
  if (address == allowed) return true;
  auto slash = allowed.find('/');
  if (slash == std::string::npos) return false;
  in_addr a{};
  in_addr net{};
  if (inet_pton(AF_INET, address.c_str(), &a) != 1 ||
      inet_pton(AF_INET, allowed.substr(0, slash).c_str(), &net) != 1) {
    return false;
  }
  int bits = std::atoi(allowed.c_str() + slash + 1);
  if (bits < 0 || bits > 32) return false;
  uint32_t mask = bits == 0 ? 0 : ~uint32_t{0} << (32 - bits);
  return (ntohl(a.s_addr) & mask) == (ntohl(net.s_addr) & mask);
}

// The authorized keys, re-read when the folder's modification time changes.
class KeyRing {
 public:
  // The binder's own key is always admitted (role head): the head's stages
  // connect with the key pair the broker and the dataset service hold.
  KeyRing(std::string dir, std::string own_key) : dir_(std::move(dir)) {
    own_.name = "(this host)";
    own_.public_key = std::move(own_key);
    own_.role = "head";
  }

  const std::vector<PublicKeyFile>& keys() {
    struct stat st{};
    int64_t mtime = stat(dir_.c_str(), &st) == 0
                        ? int64_t{st.st_mtim.tv_sec} * 1'000'000'000 + st.st_mtim.tv_nsec
                        : -1;
    if (mtime != mtime_ns_ || !loaded_) {
      std::vector<std::string> problems;
      keys_ = read_authorized_keys(dir_, &problems);
      keys_.push_back(own_);
      for (const auto& p : problems) spdlog::warn("authorized keys: {} (ignored)", p);
      spdlog::info("authorized keys: {} in {} (and this host's own)", keys_.size() - 1, dir_);
      mtime_ns_ = mtime;
      loaded_ = true;
    }
    return keys_;
  }

 private:
  std::string dir_;
  PublicKeyFile own_;
  std::vector<PublicKeyFile> keys_;
  int64_t mtime_ns_ = -1;
  bool loaded_ = false;
};

}  // namespace

Result<std::unique_ptr<ZapHandler>> ZapHandler::start(zmq::context_t& context,
                                                      const config::BusConfig& bus) {
  try {
    zmq::socket_t socket(context, zmq::socket_type::rep);
    socket.set(zmq::sockopt::linger, 0);
    socket.bind(kZapEndpoint);
    return std::unique_ptr<ZapHandler>(
        new ZapHandler(std::move(socket), bus.curve.authorized_keys_dir, bus.curve.public_key));
  } catch (const zmq::error_t& e) {
    return make_error(std::string("cannot start the ZAP handler: ") + e.what());
  }
}

ZapHandler::ZapHandler(zmq::socket_t socket, std::string keys_dir, std::string own_key)
    : socket_(std::move(socket)), keys_dir_(std::move(keys_dir)), own_key_(std::move(own_key)) {
  thread_ = std::thread([this] { serve(); });
}

ZapHandler::~ZapHandler() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
}

nlohmann::json ZapHandler::stats_json() const {
  std::lock_guard lock(by_endpoint_mutex_);
  return {{"curve", true},
          {"admitted", admitted_.load()},
          {"refused", refused_.load()},
          {"refused_by_endpoint", refused_by_endpoint_}};
}

void ZapHandler::serve() {
  KeyRing ring(keys_dir_, own_key_);
  RateLimitedLog refusals;
  while (!stop_) {
    zmq::pollitem_t item{socket_.handle(), 0, ZMQ_POLLIN, 0};
    try {
      if (zmq::poll(&item, 1, std::chrono::milliseconds(100)) == 0) continue;
      std::vector<zmq::message_t> frames;
      zmq::message_t frame;
      bool more = true;
      while (more && socket_.recv(frame, zmq::recv_flags::dontwait)) {
        more = frame.more();
        frames.push_back(std::move(frame));
      }
      auto text = [&](std::size_t i) {
        return i < frames.size() ? frames[i].to_string() : std::string();
      };
      // [version][request id][domain][address][identity][mechanism][credentials]
      std::string domain = text(2);
      std::string address = text(3);
      std::string mechanism = text(5);
      std::string why;
      std::string user;
      if (frames.size() < 7 || mechanism != "CURVE" || frames[6].size() != 32) {
        why = "not a CURVE handshake (" + mechanism + ")";
      } else {
        char z85[41];
        zmq_z85_encode(z85, frames[6].data<uint8_t>(), 32);
        const PublicKeyFile* found = nullptr;
        for (const auto& key : ring.keys()) {
          if (key.public_key == z85) found = &key;
        }
        if (found == nullptr) {
          why = std::string("unknown key ") + std::string(z85, 8) + "...";
        } else if (!role_may(found->role, domain)) {
          why = "key '" + found->name + "' (role " + found->role + ") may not use " + domain;
        } else if (!found->from.empty() &&
                   std::none_of(found->from.begin(), found->from.end(), [&](const auto& a) {
                     return address_matches(address, a);
                   })) {
          why = "key '" + found->name + "' may not connect from " + address;
        } else {
          user = found->name;
        }
      }
      bool ok = why.empty();
      if (ok) {
        ++admitted_;
      } else {
        ++refused_;
        {
          std::lock_guard lock(by_endpoint_mutex_);
          auto& count = refused_by_endpoint_[domain.empty() ? "?" : domain];
          count = count.is_null() ? 1 : count.get<uint64_t>() + 1;
        }
        refusals.warn("refused a connection to " + loggable(domain) + " from " +
                      loggable(address) + ": " + loggable(why));
      }
      std::vector<std::string> reply = {"1.0", text(1), ok ? "200" : "400",
                                        ok ? "OK" : "refused", user, ""};
      for (std::size_t i = 0; i < reply.size(); ++i) {
        auto flags = i + 1 < reply.size() ? zmq::send_flags::sndmore : zmq::send_flags::none;
        socket_.send(zmq::buffer(reply[i]), flags);
      }
    } catch (const zmq::error_t& e) {
      if (e.num() == ETERM) return;
      spdlog::warn("ZAP handler: {}", e.what());
    }
  }
}

}  // namespace nightshift::bus

// Result<T>: a value or an error. Errors are values at module boundaries
// (decoding, parsing, I/O); the caller decides what to do, and branches on
// the error's kind, never on its text.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace nightshift {

// What went wrong, for callers that act differently on different failures
// (retry a busy database, say disk full out loud, refuse a corrupt file).
enum class ErrorKind {
  other,          // nothing a caller branches on
  invalid_input,  // the caller's or the sender's input is wrong
  corrupt,        // stored data is damaged or not what it claims to be
  busy,           // locked by someone else; trying again later may work
  disk_full,      // no space left for a write
  unavailable,    // a file, device or peer cannot be reached or opened
  not_found,      // what was asked for does not exist
};

std::string_view error_kind_text(ErrorKind kind);

struct Error {
  std::string message;
  ErrorKind kind = ErrorKind::other;
};

inline Error make_error(std::string message) { return Error{std::move(message)}; }
inline Error make_error(ErrorKind kind, std::string message) {
  return Error{std::move(message), kind};
}

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : state_(std::move(value)) {}  // NOLINT: implicit by design
  Result(Error error) : state_(std::move(error)) {}  // NOLINT

  bool ok() const { return std::holds_alternative<T>(state_); }
  explicit operator bool() const { return ok(); }

  T& value() & { return std::get<T>(state_); }
  const T& value() const& { return std::get<T>(state_); }
  T&& value() && { return std::get<T>(std::move(state_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

  const std::string& error() const { return std::get<Error>(state_).message; }
  ErrorKind error_kind() const { return std::get<Error>(state_).kind; }
  // The error itself, to pass on with its kind: `return result.take_error();`
  Error take_error() const { return std::get<Error>(state_); }

 private:
  std::variant<T, Error> state_;
};

// Status: success or an error, for operations with no value.
class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(Error error) : error_(std::move(error.message)), kind_(error.kind), ok_(false) {}  // NOLINT
  static Status success() { return Status(); }

  bool ok() const { return ok_; }
  explicit operator bool() const { return ok_; }
  const std::string& error() const { return error_; }
  ErrorKind error_kind() const { return kind_; }
  Error take_error() const { return Error{error_, kind_}; }

 private:
  std::string error_;
  ErrorKind kind_ = ErrorKind::other;
  bool ok_ = true;
};

inline std::string_view error_kind_text(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::other: return "other";
    case ErrorKind::invalid_input: return "invalid_input";
    case ErrorKind::corrupt: return "corrupt";
    case ErrorKind::busy: return "busy";
    case ErrorKind::disk_full: return "disk_full";
    case ErrorKind::unavailable: return "unavailable";
    case ErrorKind::not_found: return "not_found";
  }
  return "other";
}

}  // namespace nightshift

// Errors as values: every fallible call of the client library returns a Result (a value or an
// error) or a Status (ok or an error). Nothing in the public API throws, except std::bad_alloc
// and Result::value()/error() misuse (std::bad_variant_access).
#ifndef WALLET_EVENTD_RESULT_H_
#define WALLET_EVENTD_RESULT_H_

#include <string>
#include <utility>
#include <variant>

namespace wallet_eventd {

// A general error: a stable code for programs and a message for people.
struct Error {
  enum class Code {
    kInvalidArgument,  // the caller passed something wrong (bad event, bad config)
    kUnavailable,      // the broker or another dependency cannot be reached
    kTimeout,          // not done within the configured time
    kBroker,           // the broker answered with an error (message says which)
    kAborted,          // a transaction was aborted
    kInternal,
  };
  Code code = Code::kInternal;
  std::string message;
};

template <typename T, typename E = Error>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::in_place_index<0>, std::move(value)) {}
  Result(E error) : v_(std::in_place_index<1>, std::move(error)) {}

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }
  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  const E& error() const { return std::get<1>(v_); }

 private:
  std::variant<T, E> v_;
};

// ok, or an Error.
class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(Error error) : error_(std::move(error)), ok_(false) {}
  static Status Ok() { return {}; }
  bool ok() const { return ok_; }
  explicit operator bool() const { return ok_; }
  const Error& error() const { return error_; }
  const std::string& message() const { return error_.message; }

 private:
  Error error_;
  bool ok_ = true;
};

}  // namespace wallet_eventd

#endif  // WALLET_EVENTD_RESULT_H_

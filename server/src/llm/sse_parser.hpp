// An incremental Server-Sent Events parser (the WHATWG event-stream format): feed it bytes
// as they arrive, in pieces of any size, and take complete events out.
//
// Lines end with "\r\n", "\n" or "\r"; an event ends with an empty line; "data:" lines join
// with "\n"; comments (":") and unknown fields are ignored. Memory is bounded: an event (or
// a line) longer than maxEventBytes is an error, not an ever-growing buffer.
#pragma once

#include <cstddef>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "util/result.hpp"

namespace atelier::llm {

struct SseEvent {
  std::string event;  // "" when the stream did not name it
  std::string data;
  std::string id;
};

class SseParser {
 public:
  explicit SseParser(std::size_t maxEventBytes = 1 << 20) : max_(maxEventBytes) {}

  // Parses the next bytes; the events they complete are then events(). After an error the
  // parser stays failed.
  Result<void> feed(std::string_view bytes);
  // The events the last feed() completed, valid until the next feed(). Their strings are
  // reused from feed to feed, so a steady stream of events allocates nothing.
  std::span<const SseEvent> events() const noexcept { return {events_.data(), ready_}; }
  // True when bytes of an unfinished event are pending (a stream that ends here was cut).
  bool midEvent() const noexcept { return !line_.empty() || hasFields_; }

 private:
  void processLine();

  std::size_t max_;
  std::string line_;
  SseEvent current_;
  std::vector<SseEvent> events_;  // the first ready_ are the last feed's events
  std::size_t ready_ = 0;
  bool hasFields_ = false;
  bool dataSeen_ = false;
  bool lastWasCr_ = false;
  bool failed_ = false;
  std::size_t eventBytes_ = 0;
};

}  // namespace atelier::llm

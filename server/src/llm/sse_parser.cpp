#include "llm/sse_parser.hpp"

#include <cstring>
#include <utility>

namespace atelier::llm {

Result<void> SseParser::feed(std::string_view bytes) {
  ready_ = 0;
  if (failed_) return Error::make(Errc::upstream_error, "the event stream is malformed");
  // Line by line rather than byte by byte: memchr finds the end of a line, and the bytes up
  // to it go in at once. The next CR is looked up once and reused (most streams have none).
  const char* const base = bytes.data();
  const std::size_t size = bytes.size();
  const auto find = [&](char c, std::size_t from, std::size_t to) {
    const void* p = std::memchr(base + from, c, to - from);
    return p == nullptr ? to : static_cast<std::size_t>(static_cast<const char*>(p) - base);
  };
  std::size_t cr = find('\r', 0, size);
  std::size_t i = 0;
  while (i < size) {
    if (lastWasCr_) {
      lastWasCr_ = false;
      if (base[i] == '\n') {  // the "\n" of a "\r\n"
        ++i;
        continue;
      }
    }
    if (cr < i) cr = find('\r', i, size);
    const std::size_t end = find('\n', i, cr);  // the first LF before that CR, else the CR
    const std::size_t n = end - i;
    if (n > max_ - eventBytes_) {
      failed_ = true;
      return Error::make(Errc::upstream_error,
                         "an event from the provider exceeds " + std::to_string(max_) + " bytes");
    }
    line_.append(base + i, n);
    eventBytes_ += n;
    if (end == size) break;
    lastWasCr_ = base[end] == '\r';
    processLine();
    i = end + 1;
  }
  return {};
}

void SseParser::processLine() {
  if (line_.empty()) {
    if (dataSeen_) {
      // Swapped, not moved: the slot's old strings come back to current_ with their capacity.
      if (ready_ == events_.size()) events_.emplace_back();
      std::swap(events_[ready_++], current_);
    }
    current_.event.clear();
    current_.data.clear();
    current_.id.clear();
    hasFields_ = dataSeen_ = false;
    eventBytes_ = 0;
    return;
  }
  hasFields_ = true;
  if (line_.front() == ':') {  // a comment
    line_.clear();
    return;
  }
  const auto colon = line_.find(':');
  std::string_view field = colon == std::string::npos ? std::string_view(line_)
                                                      : std::string_view(line_).substr(0, colon);
  std::string_view value =
      colon == std::string::npos ? std::string_view() : std::string_view(line_).substr(colon + 1);
  if (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  if (field == "data") {
    if (dataSeen_) current_.data += '\n';
    current_.data.append(value);
    dataSeen_ = true;
  } else if (field == "event") {
    current_.event.assign(value);
  } else if (field == "id") {
    current_.id.assign(value);
  }
  line_.clear();
}

}  // namespace atelier::llm

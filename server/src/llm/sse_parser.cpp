#include "llm/sse_parser.hpp"

namespace atelier::llm {

Result<void> SseParser::feed(std::string_view bytes, std::vector<SseEvent>& out) {
  if (failed_) return Error::make(Errc::upstream_error, "the event stream is malformed");
  for (char c : bytes) {
    if (lastWasCr_) {
      lastWasCr_ = false;
      if (c == '\n') continue;  // the "\n" of a "\r\n"
    }
    if (c == '\r' || c == '\n') {
      lastWasCr_ = c == '\r';
      processLine(out);
      continue;
    }
    line_ += c;
    if (++eventBytes_ > max_) {
      failed_ = true;
      return Error::make(Errc::upstream_error,
                         "an event from the provider exceeds " + std::to_string(max_) + " bytes");
    }
  }
  return {};
}

void SseParser::processLine(std::vector<SseEvent>& out) {
  if (line_.empty()) {
    if (dataSeen_) out.push_back(std::move(current_));
    current_ = SseEvent{};
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
    current_.event = std::string(value);
  } else if (field == "id") {
    current_.id = std::string(value);
  }
  line_.clear();
}

}  // namespace atelier::llm

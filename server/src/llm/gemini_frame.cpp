#include "llm/gemini_frame.hpp"

#include <array>
#include <boost/json/basic_parser_impl.hpp>
#include <boost/json/value.hpp>
#include <optional>
#include <string>

namespace atelier::llm {

namespace json = boost::json;

std::int64_t intField(const json::object& o, std::string_view key) {
  auto it = o.find(key);
  if (it == o.end()) return 0;
  if (it->value().is_int64()) return it->value().as_int64();
  if (it->value().is_uint64()) return static_cast<std::int64_t>(it->value().as_uint64());
  return 0;
}

namespace {

Error malformed() {
  return Error::make(Errc::upstream_error, "the provider sent a malformed frame");
}

}  // namespace

namespace {

// Reads a frame in one pass with Boost.JSON's SAX parser: the fields are picked up as they
// go by, without building the document (the frame arrives for every piece of every reply).
// The outcome is the document's: where a key repeats, its last value counts, as
// boost::json::parse keeps; the fuzz target provider_stream checks it against a reading of
// the parsed document.
class GeminiReader {
  using error_code = boost::system::error_code;
  using string_view = boost::json::string_view;

 public:
  static constexpr std::size_t max_object_size = std::size_t(-1);  // NOLINT: Boost's names
  static constexpr std::size_t max_array_size = std::size_t(-1);   // NOLINT
  static constexpr std::size_t max_key_size = std::size_t(-1);     // NOLINT
  static constexpr std::size_t max_string_size = std::size_t(-1);  // NOLINT

  // What the document made of the frame: malformed(), or the frame in `f` (every field set;
  // the strings assigned, so that their capacity is kept from frame to frame).
  Result<void> result(GeminiFrame& f) const {
    if (rootNotObject_ || (error_ && !errorIsObject_)) return malformed();
    f.text.clear();
    f.finishReason.clear();
    f.usage.reset();
    f.blockReason.clear();
    f.errorCode.reset();
    f.errorStatus.clear();
    if (error_) {  // an error object: nothing else of the frame counts
      f.errorCode = static_cast<int>(errorCode_);
      f.errorStatus = errorStatus_;
      return {};
    }
    if (candidatesMalformed_) return malformed();
    f.text = text_;
    f.finishReason = finishReason_;
    if (usage_) {
      TokenUsage u;
      u.prompt = promptTokens_;
      u.completion = candidatesTokens_ + thoughtsTokens_;
      u.total = totalTokens_ != 0 ? totalTokens_ : u.prompt + u.completion;
      f.usage = u;
    }
    f.blockReason = blockReason_;
    return {};
  }

  // Back to the state before a document, the strings' capacity kept.
  void clear() {
    depth_ = 0;
    key_.clear();
    string_.clear();
    rootNotObject_ = error_ = errorIsObject_ = false;
    errorCode_ = 0;
    errorStatus_.clear();
    candidatesMalformed_ = false;
    text_.clear();
    finishReason_.clear();
    partText_.clear();
    hasPartText_ = partThought_ = usage_ = false;
    promptTokens_ = candidatesTokens_ = thoughtsTokens_ = totalTokens_ = 0;
    blockReason_.clear();
  }

  // ---- the parser's handler -------------------------------------------------------------
  bool on_document_begin(error_code&) { return true; }  // NOLINT
  bool on_document_end(error_code&) { return true; }    // NOLINT
  bool on_object_begin(error_code& ec) {                // NOLINT
    if (depth_ == stack_.size()) return tooDeep(ec);
    const Field f = beginValue();
    switch (f) {
      case Field::error:
        errorIsObject_ = true;
        break;
      case Field::part:
        hasPartText_ = false;
        partThought_ = false;
        break;
      case Field::usageMetadata:
        usage_ = true;
        break;
      default:
        break;
    }
    const bool read = f == Field::root || f == Field::error || f == Field::firstCandidate ||
                      f == Field::content || f == Field::part || f == Field::usageMetadata ||
                      f == Field::promptFeedback;
    push(read ? f : Field::none);
    return true;
  }
  bool on_object_end(std::size_t, error_code&) {  // NOLINT
    if (stack_[--depth_].is == Field::part && hasPartText_ && !partThought_) text_ += partText_;
    endValue();
    return true;
  }
  bool on_array_begin(error_code& ec) {  // NOLINT
    if (depth_ == stack_.size()) return tooDeep(ec);
    const Field f = beginValue();
    if (f == Field::root) rootNotObject_ = true;
    if (f == Field::candidates) candidatesMalformed_ = false;
    if (f == Field::firstCandidate) candidatesMalformed_ = true;
    push(f == Field::candidates || f == Field::parts ? f : Field::none);
    return true;
  }
  bool on_array_end(std::size_t, error_code&) {  // NOLINT
    --depth_;
    endValue();
    return true;
  }
  bool on_key_part(string_view s, std::size_t, error_code&) {  // NOLINT
    key_.append(s.data(), s.size());
    return true;
  }
  bool on_key(string_view s, std::size_t, error_code&) {  // NOLINT
    if (key_.empty()) {  // the usual case: the whole key at once, nothing copied
      stack_[depth_ - 1].key = keyOf(stack_[depth_ - 1].is, std::string_view(s.data(), s.size()));
      return true;
    }
    key_.append(s.data(), s.size());
    stack_[depth_ - 1].key = keyOf(stack_[depth_ - 1].is, key_);
    key_.clear();
    return true;
  }
  bool on_string_part(string_view s, std::size_t, error_code&) {  // NOLINT
    string_.append(s.data(), s.size());
    return true;
  }
  bool on_string(string_view s, std::size_t, error_code&) {  // NOLINT
    std::string_view value(s.data(), s.size());
    if (!string_.empty()) {  // it came in parts
      string_.append(value);
      value = string_;
    }
    switch (scalar()) {
      case Field::status:
        errorStatus_ = value;
        break;
      case Field::finishReason:
        finishReason_ = value;
        break;
      case Field::text:
        partText_.assign(value);
        hasPartText_ = true;
        break;
      case Field::blockReason:
        blockReason_ = value;
        break;
      default:
        break;
    }
    string_.clear();
    return true;
  }
  bool on_number_part(string_view, error_code&) { return true; }  // NOLINT
  bool on_int64(std::int64_t i, string_view, error_code&) {       // NOLINT
    integer(i);
    return true;
  }
  bool on_uint64(std::uint64_t u, string_view, error_code&) {  // NOLINT
    integer(static_cast<std::int64_t>(u));
    return true;
  }
  bool on_double(double, string_view, error_code&) {  // NOLINT
    scalar();
    return true;
  }
  bool on_bool(bool b, error_code&) {  // NOLINT
    if (scalar() == Field::thought) partThought_ = b;
    return true;
  }
  bool on_null(error_code&) {  // NOLINT
    scalar();
    return true;
  }
  bool on_comment_part(string_view, error_code&) { return true; }  // NOLINT
  bool on_comment(string_view, error_code&) { return true; }       // NOLINT

 private:
  // What a value is: a key read (by the object it is in), or a place without a key.
  enum class Field : std::uint8_t {
    none,  // anything not read
    // places
    root,
    firstCandidate,  // candidates[0]
    part,            // an element of parts
    // the frame's keys
    error,
    candidates,
    usageMetadata,
    promptFeedback,
    // error's
    code,
    status,
    // candidates[0]'s
    content,
    finishReason,
    // content's
    parts,
    // a part's
    text,
    thought,
    // usageMetadata's
    promptTokens,
    candidatesTokens,
    thoughtsTokens,
    totalTokens,
    // promptFeedback's
    blockReason
  };
  // An open object or array: the field it is the value of (none when nothing in it is read).
  struct Level {
    Field is;
    Field key;          // objects: the key of the value being read
    std::size_t index;  // arrays: the index of the value being read
  };

  static Field keyOf(Field in, std::string_view k) {
    switch (in) {
      case Field::root:
        if (k == "error") return Field::error;
        if (k == "candidates") return Field::candidates;
        if (k == "usageMetadata") return Field::usageMetadata;
        if (k == "promptFeedback") return Field::promptFeedback;
        break;
      case Field::error:
        if (k == "code") return Field::code;
        if (k == "status") return Field::status;
        break;
      case Field::firstCandidate:
        if (k == "content") return Field::content;
        if (k == "finishReason") return Field::finishReason;
        break;
      case Field::content:
        if (k == "parts") return Field::parts;
        break;
      case Field::part:
        if (k == "text") return Field::text;
        if (k == "thought") return Field::thought;
        break;
      case Field::usageMetadata:
        if (k == "promptTokenCount") return Field::promptTokens;
        if (k == "candidatesTokenCount") return Field::candidatesTokens;
        if (k == "thoughtsTokenCount") return Field::thoughtsTokens;
        if (k == "totalTokenCount") return Field::totalTokens;
        break;
      case Field::promptFeedback:
        if (k == "blockReason") return Field::blockReason;
        break;
      default:
        break;
    }
    return Field::none;
  }

  // What the value starting now is; a key's earlier value is forgotten (the last counts).
  Field beginValue() {
    if (depth_ == 0) return Field::root;
    const Level& at = stack_[depth_ - 1];
    switch (at.is) {
      case Field::candidates:
        return at.index == 0 ? Field::firstCandidate : Field::none;
      case Field::parts:
        return Field::part;
      case Field::none:
        return Field::none;
      default:
        break;
    }
    switch (at.key) {
      case Field::error:
        error_ = true;
        errorIsObject_ = false;
        errorCode_ = 0;
        errorStatus_.clear();
        break;
      case Field::code:
        errorCode_ = 0;
        break;
      case Field::status:
        errorStatus_.clear();
        break;
      case Field::candidates:
        candidatesMalformed_ = true;  // until the value turns out to be an array
        text_.clear();
        finishReason_.clear();
        break;
      case Field::content:
      case Field::parts:
        text_.clear();
        break;
      case Field::finishReason:
        finishReason_.clear();
        break;
      case Field::text:
        hasPartText_ = false;
        break;
      case Field::thought:
        partThought_ = false;
        break;
      case Field::usageMetadata:
        usage_ = false;
        promptTokens_ = candidatesTokens_ = thoughtsTokens_ = totalTokens_ = 0;
        break;
      case Field::promptTokens:
        promptTokens_ = 0;
        break;
      case Field::candidatesTokens:
        candidatesTokens_ = 0;
        break;
      case Field::thoughtsTokens:
        thoughtsTokens_ = 0;
        break;
      case Field::totalTokens:
        totalTokens_ = 0;
        break;
      case Field::promptFeedback:
      case Field::blockReason:
        blockReason_.clear();
        break;
      default:
        break;
    }
    return at.key;
  }
  // A value ended: the next one in an array has the next index.
  void endValue() {
    if (depth_ > 0) ++stack_[depth_ - 1].index;
  }
  void push(Field is) { stack_[depth_++] = Level{is, Field::none, 0}; }
  static bool tooDeep(error_code& ec) {  // (the parser's own limit, 32, comes first)
    ec = boost::json::error::too_deep;
    return false;
  }
  // A string, number, bool or null: what it was (a scalar where an object or array is
  // needed makes the frame malformed, as the document reading does).
  Field scalar() {
    const Field at = beginValue();
    if (at == Field::root) rootNotObject_ = true;
    if (at == Field::firstCandidate) candidatesMalformed_ = true;
    endValue();
    return at;
  }
  void integer(std::int64_t v) {
    switch (scalar()) {
      case Field::code:
        errorCode_ = v;
        break;
      case Field::promptTokens:
        promptTokens_ = v;
        break;
      case Field::candidatesTokens:
        candidatesTokens_ = v;
        break;
      case Field::thoughtsTokens:
        thoughtsTokens_ = v;
        break;
      case Field::totalTokens:
        totalTokens_ = v;
        break;
      default:
        break;
    }
  }

  std::array<Level, 64> stack_{};
  std::size_t depth_ = 0;
  std::string key_, string_;
  bool rootNotObject_ = false;
  bool error_ = false, errorIsObject_ = false;
  std::int64_t errorCode_ = 0;
  std::string errorStatus_;
  bool candidatesMalformed_ = false;
  std::string text_, finishReason_;
  std::string partText_;  // the current part's text, when hasPartText_
  bool hasPartText_ = false;
  bool partThought_ = false;
  bool usage_ = false;
  std::int64_t promptTokens_ = 0, candidatesTokens_ = 0, thoughtsTokens_ = 0, totalTokens_ = 0;
  std::string blockReason_;
};

}  // namespace

struct GeminiFrameParser::Impl {
  boost::json::basic_parser<GeminiReader> parser{boost::json::parse_options{}};
};

GeminiFrameParser::GeminiFrameParser() : impl_(std::make_unique<Impl>()) {}
GeminiFrameParser::~GeminiFrameParser() = default;

Result<void> GeminiFrameParser::parse(std::string_view text, GeminiFrame& out) {
  auto& parser = impl_->parser;
  parser.reset();
  parser.handler().clear();
  boost::system::error_code ec;
  const auto used = parser.write_some(false, text.data(), text.size(), ec);
  if (ec || used != text.size() || !parser.done()) return malformed();
  return parser.handler().result(out);
}

Result<GeminiFrame> parseGeminiFrame(std::string_view text) {
  GeminiFrameParser parser;
  GeminiFrame frame;
  if (auto parsed = parser.parse(text, frame); !parsed) return std::move(parsed).error();
  return frame;
}

std::string describeGeminiError(std::string_view body) {
  auto frame = parseGeminiFrame(body);
  if (!frame || !frame->errorCode) return "";
  return std::to_string(*frame->errorCode) +
         (frame->errorStatus.empty() ? "" : " " + frame->errorStatus);
}

}  // namespace atelier::llm

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

  // What the document made of the frame: malformed() or the frame.
  Result<GeminiFrame> result() {
    if (rootNotObject_ || (error_ && !errorIsObject_)) return malformed();
    GeminiFrame f;
    if (error_) {  // an error object: nothing else of the frame counts
      f.errorCode = static_cast<int>(errorCode_);
      f.errorStatus = std::move(errorStatus_);
      return f;
    }
    if (candidatesMalformed_) return malformed();
    f.text = std::move(text_);
    f.finishReason = std::move(finishReason_);
    if (usage_) {
      TokenUsage u;
      u.prompt = promptTokens_;
      u.completion = candidatesTokens_ + thoughtsTokens_;
      u.total = totalTokens_ != 0 ? totalTokens_ : u.prompt + u.completion;
      f.usage = u;
    }
    f.blockReason = std::move(blockReason_);
    return f;
  }

  // ---- the parser's handler -------------------------------------------------------------
  bool on_document_begin(error_code&) { return true; }  // NOLINT
  bool on_document_end(error_code&) { return true; }    // NOLINT
  bool on_object_begin(error_code& ec) {                // NOLINT
    if (depth_ == stack_.size()) return tooDeep(ec);
    Role role = Role::ignore;
    switch (beginValue()) {
      case Slot::root:
        role = Role::root;
        break;
      case Slot::error:
        errorIsObject_ = true;
        role = Role::error;
        break;
      case Slot::candidates:
        candidatesMalformed_ = true;
        break;
      case Slot::firstCandidate:
        role = Role::candidate;
        break;
      case Slot::content:
        role = Role::content;
        break;
      case Slot::part:
        role = Role::part;
        partText_.reset();
        partThought_ = false;
        break;
      case Slot::usage:
        usage_ = true;
        role = Role::usage;
        break;
      case Slot::feedback:
        role = Role::feedback;
        break;
      default:
        break;
    }
    push(role);
    return true;
  }
  bool on_object_end(std::size_t, error_code&) {  // NOLINT
    const Role role = stack_[--depth_].role;
    if (role == Role::part && partText_ && !partThought_) text_ += *partText_;
    endValue();
    return true;
  }
  bool on_array_begin(error_code& ec) {  // NOLINT
    if (depth_ == stack_.size()) return tooDeep(ec);
    Role role = Role::ignore;
    switch (beginValue()) {
      case Slot::root:
        rootNotObject_ = true;
        break;
      case Slot::candidates:
        candidatesMalformed_ = false;
        role = Role::candidates;
        break;
      case Slot::firstCandidate:
        candidatesMalformed_ = true;
        break;
      case Slot::parts:
        role = Role::parts;
        break;
      default:
        break;
    }
    push(role);
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
      stack_[depth_ - 1].key = keyOf(stack_[depth_ - 1].role, std::string_view(s.data(), s.size()));
      return true;
    }
    key_.append(s.data(), s.size());
    stack_[depth_ - 1].key = keyOf(stack_[depth_ - 1].role, key_);
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
    switch (beginValue()) {
      case Slot::root:
        rootNotObject_ = true;
        break;
      case Slot::firstCandidate:
        candidatesMalformed_ = true;
        break;
      case Slot::errorStatus:
        errorStatus_ = value;
        break;
      case Slot::finishReason:
        finishReason_ = value;
        break;
      case Slot::partText:
        partText_ = value;
        break;
      case Slot::blockReason:
        blockReason_ = value;
        break;
      default:
        break;
    }
    string_.clear();
    endValue();
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
    if (scalar() == Slot::partThought) partThought_ = b;
    return true;
  }
  bool on_null(error_code&) {  // NOLINT
    scalar();
    return true;
  }
  bool on_comment_part(string_view, error_code&) { return true; }  // NOLINT
  bool on_comment(string_view, error_code&) { return true; }       // NOLINT

 private:
  // What an object or array is, for the fields read from it.
  enum class Role : std::uint8_t {
    ignore,
    root,
    error,
    candidates,
    candidate,
    content,
    parts,
    part,
    usage,
    feedback
  };
  // The keys read, by the object they are in.
  enum class Key : std::uint8_t {
    none,
    // the frame's
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

  // Where a value is: the place of every field read.
  enum class Slot : std::uint8_t {
    other,
    root,
    error,
    errorCode,
    errorStatus,
    candidates,
    firstCandidate,
    content,
    finishReason,
    parts,
    part,
    partText,
    partThought,
    usage,
    promptTokens,
    candidatesTokens,
    thoughtsTokens,
    totalTokens,
    feedback,
    blockReason
  };
  struct Level {
    Role role;
    Key key;            // objects: the key of the value being read
    std::size_t index;  // arrays: the index of the value being read
  };

  static Key keyOf(Role in, std::string_view k) {
    switch (in) {
      case Role::root:
        if (k == "error") return Key::error;
        if (k == "candidates") return Key::candidates;
        if (k == "usageMetadata") return Key::usageMetadata;
        if (k == "promptFeedback") return Key::promptFeedback;
        break;
      case Role::error:
        if (k == "code") return Key::code;
        if (k == "status") return Key::status;
        break;
      case Role::candidate:
        if (k == "content") return Key::content;
        if (k == "finishReason") return Key::finishReason;
        break;
      case Role::content:
        if (k == "parts") return Key::parts;
        break;
      case Role::part:
        if (k == "text") return Key::text;
        if (k == "thought") return Key::thought;
        break;
      case Role::usage:
        if (k == "promptTokenCount") return Key::promptTokens;
        if (k == "candidatesTokenCount") return Key::candidatesTokens;
        if (k == "thoughtsTokenCount") return Key::thoughtsTokens;
        if (k == "totalTokenCount") return Key::totalTokens;
        break;
      case Role::feedback:
        if (k == "blockReason") return Key::blockReason;
        break;
      default:
        break;
    }
    return Key::none;
  }

  // Where the value starting now is; a key's earlier value is forgotten (the last counts).
  Slot beginValue() {
    if (depth_ == 0) return Slot::root;
    Level& at = stack_[depth_ - 1];
    switch (at.role) {
      case Role::candidates:
        return at.index == 0 ? Slot::firstCandidate : Slot::other;
      case Role::parts:
        return Slot::part;
      case Role::ignore:
        return Slot::other;
      default:
        break;
    }
    switch (at.key) {
      case Key::error:
        error_ = true;
        errorIsObject_ = false;
        errorCode_ = 0;
        errorStatus_.clear();
        return Slot::error;
      case Key::code:
        errorCode_ = 0;
        return Slot::errorCode;
      case Key::status:
        errorStatus_.clear();
        return Slot::errorStatus;
      case Key::candidates:
        candidatesMalformed_ = true;  // until the value turns out to be an array
        text_.clear();
        finishReason_.clear();
        return Slot::candidates;
      case Key::content:
        text_.clear();
        return Slot::content;
      case Key::finishReason:
        finishReason_.clear();
        return Slot::finishReason;
      case Key::parts:
        text_.clear();
        return Slot::parts;
      case Key::text:
        partText_.reset();
        return Slot::partText;
      case Key::thought:
        partThought_ = false;
        return Slot::partThought;
      case Key::usageMetadata:
        usage_ = false;
        promptTokens_ = candidatesTokens_ = thoughtsTokens_ = totalTokens_ = 0;
        return Slot::usage;
      case Key::promptTokens:
        promptTokens_ = 0;
        return Slot::promptTokens;
      case Key::candidatesTokens:
        candidatesTokens_ = 0;
        return Slot::candidatesTokens;
      case Key::thoughtsTokens:
        thoughtsTokens_ = 0;
        return Slot::thoughtsTokens;
      case Key::totalTokens:
        totalTokens_ = 0;
        return Slot::totalTokens;
      case Key::promptFeedback:
        blockReason_.clear();
        return Slot::feedback;
      case Key::blockReason:
        blockReason_.clear();
        return Slot::blockReason;
      case Key::none:
        break;
    }
    return Slot::other;
  }
  // A value ended: the next one in an array has the next index.
  void endValue() {
    if (depth_ > 0) ++stack_[depth_ - 1].index;
  }
  void push(Role role) { stack_[depth_++] = Level{role, Key::none, 0}; }
  static bool tooDeep(error_code& ec) {  // (the parser's own limit, 32, comes first)
    ec = boost::json::error::too_deep;
    return false;
  }
  // A number, null, bool or double: where it was (non-strings where an object or array
  // is needed make the frame malformed as the document reading does).
  Slot scalar() {
    const Slot at = beginValue();
    if (at == Slot::root) rootNotObject_ = true;
    if (at == Slot::firstCandidate) candidatesMalformed_ = true;
    endValue();
    return at;
  }
  void integer(std::int64_t v) {
    switch (scalar()) {
      case Slot::errorCode:
        errorCode_ = v;
        break;
      case Slot::promptTokens:
        promptTokens_ = v;
        break;
      case Slot::candidatesTokens:
        candidatesTokens_ = v;
        break;
      case Slot::thoughtsTokens:
        thoughtsTokens_ = v;
        break;
      case Slot::totalTokens:
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
  std::optional<std::string> partText_;
  bool partThought_ = false;
  bool usage_ = false;
  std::int64_t promptTokens_ = 0, candidatesTokens_ = 0, thoughtsTokens_ = 0, totalTokens_ = 0;
  std::string blockReason_;
};

}  // namespace

Result<GeminiFrame> parseGeminiFrame(std::string_view text) {
  boost::json::basic_parser<GeminiReader> parser{boost::json::parse_options{}};
  boost::system::error_code ec;
  const auto used = parser.write_some(false, text.data(), text.size(), ec);
  if (ec || used != text.size() || !parser.done()) return malformed();
  return parser.handler().result();
}

std::string describeGeminiError(std::string_view body) {
  auto frame = parseGeminiFrame(body);
  if (!frame || !frame->errorCode) return "";
  return std::to_string(*frame->errorCode) +
         (frame->errorStatus.empty() ? "" : " " + frame->errorStatus);
}

}  // namespace atelier::llm

#include "chat/search.hpp"

#include <algorithm>

#include "util/text.hpp"

namespace atelier::chat {

namespace {

constexpr std::string_view kIdeographicSpace = "\xe3\x80\x80";

bool isContinuation(char c) {
  return (static_cast<unsigned char>(c) & 0xc0) == 0x80;
}

std::string lowerAscii(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    c = asciiLower(c);
  return out;
}

}  // namespace

std::vector<std::string> queryWords(std::string_view q) {
  // The ideographic space as a plain one (copied piecewise: g++ 12 warns falsely on replace).
  std::string text;
  text.reserve(q.size());
  for (std::size_t i = 0; i < q.size();) {
    if (q.substr(i, kIdeographicSpace.size()) == kIdeographicSpace) {
      text += ' ';
      i += kIdeographicSpace.size();
    } else {
      text += q[i++];
    }
  }
  std::vector<std::string> words;
  std::size_t i = 0;
  while (i < text.size() && words.size() < kMaxQueryWords) {
    const auto start = text.find_first_not_of(kWhiteSpace, i);
    if (start == std::string::npos) break;
    const auto end = std::min(text.find_first_of(kWhiteSpace, start), text.size());
    std::string word = lowerAscii(std::string_view(text).substr(start, end - start));
    i = end;
    // Punctuation alone matches nothing in a word index: such a "word" is left out.
    const bool meaningful = std::any_of(word.begin(), word.end(), [](char c) {
      return isAsciiAlnum(c) || static_cast<unsigned char>(c) >= 0x80;
    });
    if (meaningful && std::find(words.begin(), words.end(), word) == words.end())
      words.push_back(std::move(word));
  }
  return words;
}

std::string snippetOf(std::string_view text, const std::vector<std::string>& words) {
  const std::string lower = lowerAscii(text);
  std::size_t hit = std::string::npos;
  for (const auto& w : words)
    hit = std::min(hit, lower.find(w));
  if (hit == std::string::npos) hit = 0;
  // Start a quarter of the window before the match, on a character boundary.
  std::size_t start = hit;
  for (std::size_t back = 0; start > 0 && back < kMaxSnippetChars / 4;) {
    --start;
    if (!isContinuation(text[start])) ++back;
  }
  std::string out;
  if (start > 0) out += "…";
  std::size_t chars = start > 0 ? 1 : 0;
  bool space = false;
  std::size_t i = start;
  for (; i < text.size(); ++i) {
    const char c = text[i];
    if (kWhiteSpace.find(c) != std::string_view::npos) {
      space = !out.empty();
      continue;
    }
    if (!isContinuation(c)) {
      if (chars + (space ? 1 : 0) + 1 >= kMaxSnippetChars) break;  // room for "…"
      if (space) {
        out += ' ';
        ++chars;
      }
      space = false;
      ++chars;
    }
    out += c;
  }
  if (i < text.size()) out += "…";
  return out;
}

}  // namespace atelier::chat

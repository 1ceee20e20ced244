// Search over the caller's chats: the query split into words (all must match), and a plain
// snippet of the text around the first match.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace atelier::chat {

inline constexpr std::size_t kMaxQueryChars = 200;
inline constexpr std::size_t kMaxSnippetChars = 200;
inline constexpr std::size_t kMaxQueryWords = 16;

// The words of `q`: split on white space (ASCII and the ideographic space), ASCII letters
// lower-cased, words without a letter or digit left out, duplicates dropped, at most
// kMaxQueryWords.
std::vector<std::string> queryWords(std::string_view q);

// Up to kMaxSnippetChars code points of `text` around the first occurrence of any of `words`
// (ASCII case ignored; the start of the text when none is found), white space collapsed,
// "…" where it was cut.
std::string snippetOf(std::string_view text, const std::vector<std::string>& words);

}  // namespace atelier::chat

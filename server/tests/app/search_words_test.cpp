// How a search query becomes words, and the snippet around the first match.
#include <gtest/gtest.h>

#include "chat/message_tree.hpp"
#include "chat/search.hpp"

namespace atelier::chat {
namespace {

using Words = std::vector<std::string>;

TEST(QueryWords, SplitLowerCaseAndDropPunctuationOnlyWords) {
  EXPECT_EQ(queryWords("  Neon KOI\tlanterns \n"), (Words{"neon", "koi", "lanterns"}));
  EXPECT_EQ(queryWords("koi koi KOI"), (Words{"koi"}));
  EXPECT_EQ(queryWords("\" * ( ) : -"), Words{});
  EXPECT_EQ(queryWords("NEAR OR -minus"), (Words{"near", "or", "-minus"}));
  EXPECT_EQ(queryWords("猫\xe3\x80\x80水墨画"), (Words{"猫", "水墨画"}));  // ideographic space
  EXPECT_EQ(queryWords("CAFÉ"), (Words{"cafÉ"}));  // non-ASCII case is the index's business
  std::string many;
  for (int i = 0; i < 40; ++i)
    many += "w" + std::to_string(i) + " ";
  EXPECT_EQ(queryWords(many).size(), kMaxQueryWords);
}

TEST(Snippet, AroundTheFirstMatchWithinTheLimit) {
  const std::string before(300, 'a');
  const std::string text = before + " the Neon koi\n\n swims " + std::string(300, 'b');
  const auto s = snippetOf(text, {"koi"});
  EXPECT_NE(s.find("Neon koi swims"), std::string::npos) << s;
  EXPECT_EQ(s.rfind("…", 0), 0u);
  EXPECT_EQ(s.substr(s.size() - 3), "…");
  std::size_t chars = 0;
  for (const char c : s)
    chars += (static_cast<unsigned char>(c) & 0xc0) != 0x80;
  EXPECT_LE(chars, kMaxSnippetChars);
  EXPECT_EQ(snippetOf("short text", {"absent"}), "short text");
  // Multi-byte text is never cut inside a character.
  std::string cjk;
  for (int i = 0; i < 300; ++i)
    cjk += "猫";
  const auto c = snippetOf(cjk, {"猫"});
  EXPECT_EQ(c.size() % 3, 0u);
}

TEST(MessageTree, PathsSiblingsAndNewestLeaves) {
  // a -> b -> c ; a -> b2 -> c2 -> d2 ; root2
  MessageTree t({{"a", std::nullopt, "user"},
                 {"b", "a", "assistant"},
                 {"c", "b", "user"},
                 {"b2", "a", "assistant"},
                 {"c2", "b2", "user"},
                 {"root2", std::nullopt, "user"},
                 {"d2", "c2", "assistant"}});
  EXPECT_EQ(t.pathTo("d2"), (Words{"a", "b2", "c2", "d2"}));
  EXPECT_EQ(t.pathTo("c"), (Words{"a", "b", "c"}));
  EXPECT_TRUE(t.pathTo("nope").empty());
  EXPECT_EQ(t.siblingsOf("b"), (Words{"b", "b2"}));
  EXPECT_EQ(t.siblingsOf("a"), (Words{"a", "root2"}));
  EXPECT_EQ(t.newestLeafBelow("a"), "d2");
  EXPECT_EQ(t.newestLeafBelow("b"), "c");
  EXPECT_EQ(t.newestLeafBelow("root2"), "root2");
  EXPECT_EQ(t.newestLeafBelow("nope"), "");
}

}  // namespace
}  // namespace atelier::chat

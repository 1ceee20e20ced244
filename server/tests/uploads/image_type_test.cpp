#include "uploads/image_type.hpp"

#include <gtest/gtest.h>

namespace atelier::uploads {
namespace {

using namespace std::string_view_literals;

TEST(ImageType, KnowsTheFourSignatures) {
  EXPECT_EQ(sniffImageType("\x89PNG\r\n\x1a\n...."sv)->mimeType, "image/png");
  EXPECT_EQ(sniffImageType("\xff\xd8\xff\xe0..JFIF"sv)->mimeType, "image/jpeg");
  EXPECT_EQ(sniffImageType("GIF89a\x01\x00"sv)->mimeType, "image/gif");
  EXPECT_EQ(sniffImageType("GIF87a"sv)->extension, "gif");
  EXPECT_EQ(sniffImageType("RIFF\x10\x00\x00\x00WEBPVP8 "sv)->mimeType, "image/webp");
  EXPECT_EQ(sniffImageType("\xff\xd8\xff"sv)->extension, "jpg");
}

TEST(ImageType, RefusesEverythingElse) {
  EXPECT_FALSE(sniffImageType(""));
  EXPECT_FALSE(sniffImageType("hello, I am a text file named cat.png"));
  EXPECT_FALSE(sniffImageType("\x89PNG\r\n"sv));               // cut short
  EXPECT_FALSE(sniffImageType("RIFF\x10\x00\x00\x00WAVE"sv));  // audio
  EXPECT_FALSE(sniffImageType("RIFF"sv));
  EXPECT_FALSE(sniffImageType("<svg xmlns='http://www.w3.org/2000/svg'/>"));
  EXPECT_FALSE(sniffImageType("GIF90a"));
  EXPECT_FALSE(sniffImageType("%PDF-1.7"));
}

TEST(ImageType, MapsMimeTypesBack) {
  EXPECT_EQ(imageTypeOf("image/webp")->extension, "webp");
  EXPECT_FALSE(imageTypeOf("image/svg+xml"));
}

}  // namespace
}  // namespace atelier::uploads

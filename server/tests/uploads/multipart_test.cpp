#include "uploads/multipart.hpp"

#include <gtest/gtest.h>

namespace atelier::uploads {
namespace {

std::string form(const std::string& boundary, const std::string& parts) {
  return parts + "--" + boundary + "--\r\n";
}

std::string part(const std::string& boundary, const std::string& headers,
                 const std::string& content) {
  return "--" + boundary + "\r\n" + headers + "\r\n" + content + "\r\n";
}

TEST(MultipartBoundary, ReadsTokenAndQuotedBoundaries) {
  EXPECT_EQ(multipartBoundary("multipart/form-data; boundary=abc123").value(), "abc123");
  EXPECT_EQ(multipartBoundary("Multipart/Form-Data;boundary=\"a b:c\"").value(), "a b:c");
  EXPECT_EQ(multipartBoundary("multipart/form-data; charset=utf-8; boundary=----WebKitX").value(),
            "----WebKitX");
}

TEST(MultipartBoundary, RefusesOtherTypesAndBadBoundaries) {
  EXPECT_FALSE(multipartBoundary("image/png").ok());
  EXPECT_FALSE(multipartBoundary("multipart/form-data").ok());
  EXPECT_FALSE(multipartBoundary("multipart/form-data; boundary=").ok());
  EXPECT_FALSE(multipartBoundary("multipart/form-data; boundary=" + std::string(71, 'x')).ok());
  EXPECT_FALSE(multipartBoundary("multipart/form-data; boundary=\"unterminated").ok());
  EXPECT_FALSE(multipartBoundary("multipart/mixed; boundary=abc").ok());
  const auto e = multipartBoundary("text/plain").error();
  EXPECT_EQ(e.code, Errc::invalid_request);
}

TEST(Multipart, ParsesPartsWithNamesFilenamesTypesAndBinaryContent) {
  const std::string b = "XyZ";
  std::string binary("\x00\x01\r\n--Xy\r\n\xff", 10);
  const std::string body = form(
      b, part(b, "Content-Disposition: form-data; name=\"title\"\r\n", "hello") +
             part(b,
                  "content-disposition: form-data; name=\"file\"; filename=\"a \\\"b\\\".png\"\r\n"
                  "Content-Type: image/png\r\n",
                  binary));
  auto parts = parseMultipart(body, b);
  ASSERT_TRUE(parts.ok()) << parts.error().message;
  ASSERT_EQ(parts->size(), 2u);
  EXPECT_EQ((*parts)[0].name, "title");
  EXPECT_EQ((*parts)[0].body, "hello");
  EXPECT_EQ((*parts)[1].name, "file");
  EXPECT_EQ((*parts)[1].filename, "a \"b\".png");
  EXPECT_EQ((*parts)[1].contentType, "image/png");
  EXPECT_EQ((*parts)[1].body, binary);
}

TEST(Multipart, SkipsAPreambleAndAcceptsAnEmptyPart) {
  const std::string b = "bnd";
  const std::string body = "this is a preamble\r\n" +
                           form(b, part(b, "Content-Disposition: form-data; name=file\r\n", ""));
  auto parts = parseMultipart(body, b);
  ASSERT_TRUE(parts.ok()) << parts.error().message;
  ASSERT_EQ(parts->size(), 1u);
  EXPECT_EQ((*parts)[0].name, "file");
  EXPECT_TRUE((*parts)[0].body.empty());
}

TEST(Multipart, RefusesMalformedBodies) {
  const std::string b = "bnd";
  const std::string good = part(b, "Content-Disposition: form-data; name=\"file\"\r\n", "x");
  const std::vector<std::string> bad = {
      "",                                                            // nothing
      "no delimiter at all",                                         //
      good,                                                          // no closing delimiter
      "--bnd\r\nContent-Disposition: form-data; name=\"file\"\r\n",  // headers never end
      form(b, part(b, "Content-Type: image/png\r\n", "x")),          // no disposition
      form(b, part(b, "Content-Disposition: attachment; name=\"f\"\r\n", "x")),
      form(b, part(b, "Content-Disposition: form-data; filename=\"a\"\r\n", "x")),  // no name
      form(b, part(b, "Content-Disposition: form-data; name=\"f\r\n", "x")),        // open quote
      form(b, part(b, "NoColonHere\r\n", "x")),
      "--bnd-x\r\n",
  };
  for (const auto& body : bad) {
    auto r = parseMultipart(body, b);
    EXPECT_FALSE(r.ok()) << body;
    if (!r.ok()) {
      EXPECT_EQ(r.error().code, Errc::invalid_request);
      EXPECT_EQ(r.error().field, "file");
    }
  }
}

TEST(Multipart, LimitsPartsAndHeaderSize) {
  const std::string b = "bnd";
  std::string many;
  for (int i = 0; i < 17; ++i)
    many += part(b, "Content-Disposition: form-data; name=\"p\"\r\n", "x");
  EXPECT_FALSE(parseMultipart(form(b, many), b).ok());
  MultipartLimits limits;
  limits.maxParts = 17;
  EXPECT_TRUE(parseMultipart(form(b, many), b, limits).ok());

  const std::string bigHeader =
      "Content-Disposition: form-data; name=\"file\"\r\nX-Pad: " + std::string(9000, 'a') + "\r\n";
  EXPECT_FALSE(parseMultipart(form(b, part(b, bigHeader, "x")), b).ok());
}

TEST(Multipart, RecognisesTheType) {
  EXPECT_TRUE(isMultipartFormData("multipart/form-data; boundary=x"));
  EXPECT_TRUE(isMultipartFormData("MULTIPART/FORM-DATA"));
  EXPECT_FALSE(isMultipartFormData("image/png"));
  EXPECT_FALSE(isMultipartFormData(""));
}

}  // namespace
}  // namespace atelier::uploads

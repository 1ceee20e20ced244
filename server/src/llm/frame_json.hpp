// Parsing one provider frame's JSON (a few hundred bytes, dozens a second per stream) without
// the heap: the document lives in a buffer on the caller's stack, so building it is a pointer
// bump and dropping it is nothing at all. Larger frames spill over to the heap as usual.
#pragma once

#include <boost/json/monotonic_resource.hpp>
#include <boost/json/parser.hpp>
#include <boost/json/value.hpp>
#include <string_view>

namespace atelier::llm {

class FrameJson {
 public:
  FrameJson() = default;
  FrameJson(const FrameJson&) = delete;
  FrameJson& operator=(const FrameJson&) = delete;

  // The document (null with `ec` set when `text` is not JSON). It refers to this object's
  // memory: valid while this FrameJson lives.
  boost::json::value parse(std::string_view text, boost::system::error_code& ec) {
    parser_.reset(&arena_);
    parser_.write(text.data(), text.size(), ec);
    if (ec) return nullptr;
    return parser_.release();
  }

 private:
  alignas(16) unsigned char document_[6144];
  unsigned char parserStack_[1024];
  boost::json::monotonic_resource arena_{document_, sizeof document_};
  boost::json::parser parser_{boost::json::storage_ptr(), {}, parserStack_, sizeof parserStack_};
};

}  // namespace atelier::llm

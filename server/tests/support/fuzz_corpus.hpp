// Runs a libFuzzer target's committed corpus through its entry point (linked into the test
// binary), so that the seeds and every crash once found stay fixed under the sanitizers.
#pragma once

#include <gtest/gtest.h>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

namespace atelier::test {

// Every file of server/fuzz/corpus/<target> returns 0; there are at least `minInputs`.
inline void replayFuzzCorpus(const std::string& target, int minInputs = 5) {
  const std::filesystem::path dir =
      std::filesystem::path(ATELIER_SOURCE_DIR) / "server/fuzz/corpus" / target;
  int inputs = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    std::ifstream in(entry.path(), std::ios::binary);
    const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    SCOPED_TRACE(entry.path().filename().string());
    EXPECT_EQ(
        LLVMFuzzerTestOneInput(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size()),
        0);
    ++inputs;
  }
  EXPECT_GE(inputs, minInputs);
}

}  // namespace atelier::test

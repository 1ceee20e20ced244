// Runs the provider-stream fuzz target over its committed corpus on every test run, under the
// test preset's sanitizers (the seeds, and every crash the fuzzer finds once added there).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

namespace {

TEST(ProviderStreamFuzzCorpus, EveryInputRunsClean) {
  const std::filesystem::path dir =
      std::filesystem::path(ATELIER_SOURCE_DIR) / "server/fuzz/corpus/provider_stream";
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
  EXPECT_GE(inputs, 5);
}

}  // namespace

// The multipart fuzz target over its committed corpus, on every test run.
#include "support/fuzz_corpus.hpp"

TEST(MultipartFuzzCorpus, EveryInputRunsClean) {
  atelier::test::replayFuzzCorpus("multipart");
}

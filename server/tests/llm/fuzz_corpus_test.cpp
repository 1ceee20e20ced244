// The provider-stream fuzz target over its committed corpus, on every test run.
#include "support/fuzz_corpus.hpp"

TEST(ProviderStreamFuzzCorpus, EveryInputRunsClean) {
  atelier::test::replayFuzzCorpus("provider_stream");
}

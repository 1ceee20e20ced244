// The configuration fuzz target over its committed corpus, on every test run.
#include "support/fuzz_corpus.hpp"

TEST(ConfigFuzzCorpus, EveryInputRunsClean) {
  atelier::test::replayFuzzCorpus("config");
}

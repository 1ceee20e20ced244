// The route-body fuzz target over its committed corpus, on every test run.
#include "support/fuzz_corpus.hpp"

namespace {

TEST(RouteBodyFuzzCorpus, EverySeedDecodesOrIsRefusedCleanly) {
  atelier::test::replayFuzzCorpus("route_body", 20);
}

}  // namespace

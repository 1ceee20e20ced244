// Runs a model provider's request to its end on an IoLoop and gathers what came back: the
// text pieces, the last finish reason and usage, or how it failed.
#pragma once

#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/strand.hpp>
#include <future>
#include <optional>
#include <string>
#include <vector>

#include "llm/provider.hpp"
#include "support/io_loop.hpp"

namespace atelier::test {

struct ProviderOutcome {
  std::string text;
  std::vector<std::string> pieces;
  std::string finishReason;
  std::optional<llm::TokenUsage> usage;
  std::optional<Error> startError;
  std::optional<Error> streamError;
};

inline ProviderOutcome runToEnd(IoLoop& loop, llm::ModelProvider& provider,
                                llm::GenerationRequest request) {
  namespace asio = boost::asio;
  std::promise<ProviderOutcome> done;
  asio::co_spawn(
      asio::make_strand(loop.context()),
      [&]() -> asio::awaitable<void> {
        ProviderOutcome out;
        auto stream = co_await provider.start(std::move(request));
        if (!stream) {
          out.startError = stream.error();
        } else {
          for (;;) {
            auto chunk = co_await (*stream)->next();
            if (!chunk) {
              out.streamError = chunk.error();
              break;
            }
            if (!chunk->text.empty()) out.pieces.emplace_back(chunk->text);
            out.text += chunk->text;
            out.finishReason = chunk->finishReason;
            out.usage = chunk->usage;
            if (chunk->done) break;
          }
        }
        done.set_value(std::move(out));
      },
      asio::detached);
  auto f = done.get_future();
  EXPECT_EQ(f.wait_for(std::chrono::seconds(30)), std::future_status::ready);
  return f.get();
}

}  // namespace atelier::test

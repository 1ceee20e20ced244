// The streaming suite's fixture: the app wired to the fake of one model provider (Gemini or
// an OpenAI-compatible server) on one database, so that every test runs once per provider
// and database through the provider-neutral test::FakeModel.
#pragma once

#include <memory>

#include "app/gemini_app_fixture.hpp"
#include "support/fake_openai.hpp"

namespace atelier::app {

enum class Provider { gemini, openai };

struct ProviderCase {
  Provider provider;
  test::DbKind db;
};
inline test::DbKind dbOf(const ProviderCase& c) {
  return c.db;
}

class ProviderAppFixture : public BasicChatFixture<ProviderCase> {
 protected:
  ProviderAppFixture() {
    if (GetParam().provider == Provider::gemini) {
      model_ = std::make_unique<test::FakeGemini>();
    } else {
      model_ = std::make_unique<test::FakeOpenAi>();
    }
  }
  config::EnvMap modelEnv() const {
    const auto env = model_->env();
    return {env.begin(), env.end()};
  }
  config::EnvMap extraEnv() const override { return modelEnv(); }

  std::unique_ptr<test::FakeModel> model_;
};

// Every provider on every database, named like "Openai_Postgres".
inline auto everyProviderAndDatabase() {
  return ::testing::Values(ProviderCase{Provider::gemini, test::DbKind::sqlite},
                           ProviderCase{Provider::gemini, test::DbKind::postgres},
                           ProviderCase{Provider::openai, test::DbKind::sqlite},
                           ProviderCase{Provider::openai, test::DbKind::postgres});
}
inline std::string providerCaseName(const ::testing::TestParamInfo<ProviderCase>& info) {
  return std::string(info.param.provider == Provider::gemini ? "Gemini_" : "Openai_") +
         test::dbKindName(info.param.db);
}

}  // namespace atelier::app

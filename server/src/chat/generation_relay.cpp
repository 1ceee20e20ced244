#include "chat/generation_relay.hpp"

#include <spdlog/spdlog.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <charconv>

#include "store/acting.hpp"
#include "util/crypto.hpp"

namespace atelier::chat {

namespace asio = boost::asio;
using SteadyClock = std::chrono::steady_clock;

namespace relay {

std::string encode(std::uint64_t seq, char kind, std::string_view data) {
  std::string out = std::to_string(seq);
  out += ' ';
  out += kind;
  if (!data.empty()) {
    out += ' ';
    out.append(data);
  }
  return out;
}

std::optional<Piece> decode(std::string_view payload) {
  Piece p;
  const auto [end, ec] = std::from_chars(payload.data(), payload.data() + payload.size(), p.seq);
  if (ec != std::errc()) return std::nullopt;
  std::string_view rest(end, static_cast<std::size_t>(payload.data() + payload.size() - end));
  if (rest.size() < 2 || rest[0] != ' ') return std::nullopt;
  p.kind = rest[1];
  if (p.kind != 'H' && p.kind != 'D' && p.kind != 'C' && p.kind != 'K') return std::nullopt;
  if (rest.size() > 2) {
    if (rest[2] != ' ') return std::nullopt;
    p.data = rest.substr(3);
  }
  return p;
}

std::vector<std::string_view> splitUtf8(std::string_view bytes, std::size_t max) {
  std::vector<std::string_view> out;
  while (!bytes.empty()) {
    std::size_t n = std::min(max, bytes.size());
    // Back off to the start of a code point (a continuation byte is 10xxxxxx).
    while (n < bytes.size() && n > 0 && (static_cast<unsigned char>(bytes[n]) & 0xc0) == 0x80)
      --n;
    if (n == 0) n = std::min(max, bytes.size());  // not UTF-8 after all: cut anyway
    out.push_back(bytes.substr(0, n));
    bytes.remove_prefix(n);
  }
  return out;
}

std::vector<std::string> takeFrames(std::string& buffer) {
  std::vector<std::string> frames;
  std::size_t from = 0;
  for (std::size_t end; (end = buffer.find("\n\n", from)) != std::string::npos; from = end + 2)
    frames.push_back(buffer.substr(from, end + 2 - from));
  buffer.erase(0, from);
  return frames;
}

}  // namespace relay

namespace {

// The closing event a mirror ends with when its owner goes quiet: the reply itself is saved
// by the owner (or, if it died, recovered as incomplete), so the reader reloads the chat.
std::string lostFrame() {
  return "event: error\ndata: {\"error\":{\"code\":\"upstream_error\",\"message\":\"the server "
         "writing this reply stopped answering; reload the chat to see what was saved\"},"
         "\"message\":null}\n\n";
}

}  // namespace

struct GenerationRelay::Mirror {
  std::string channel, userId, chatId, generationId;
  asio::any_io_executor executor;            // attach's, and the watch's
  std::shared_ptr<asio::steady_timer> wake;  // attach waits on it; cancelled to wake it

  std::mutex mu;       // guards what follows (the listener's thread against attach and watch)
  int subscribed = 0;  // 1 listening, -1 could not
  std::shared_ptr<Generation> held;  // from the header until attach takes it
  std::weak_ptr<Generation> mirror;  // then only the readers keep it
  std::uint64_t next = 0;            // the sequence number expected
  std::string pending;               // bytes of a frame not complete yet
  bool ended = false;
  SteadyClock::time_point lastHeard = SteadyClock::now();

  void wakeAttach() {
    asio::post(executor, [t = wake] { t->cancel(); });
  }
};

GenerationRelay::GenerationRelay(RelaySettings settings, store::Store& store, WorkerPool& dbPool,
                                 const Clock& clock, GenerationRegistry& registry)
    : settings_(settings), store_(store), dbPool_(dbPool), clock_(clock), registry_(registry) {}

GenerationRelay::~GenerationRelay() = default;

asio::awaitable<Result<void>> GenerationRelay::publish(const std::string& channel,
                                                       std::string payload) {
  co_return co_await dbPool_.run(
      [this, &channel, &payload] { return store_.notify(channel, payload); });
}

// ---- the reader's instance ----------------------------------------------------------------

asio::awaitable<Result<std::shared_ptr<Generation>>> GenerationRelay::attach(
    std::string userId, std::string chatId, std::string generationId) {
  if (notifications_ == nullptr) {
    co_return Error::make(Errc::unavailable,
                          "re-attaching through another server needs PostgreSQL");
  }
  const auto executor = co_await asio::this_coro::executor;
  auto m = std::make_shared<Mirror>();
  std::string subscription = newUuidV7();
  std::erase(subscription, '-');
  m->channel = std::string(store::kRelayChannelPrefix) + subscription;
  m->userId = std::move(userId);
  m->chatId = std::move(chatId);
  m->generationId = std::move(generationId);
  m->executor = executor;
  m->wake = std::make_shared<asio::steady_timer>(executor);
  {
    std::lock_guard lock(mu_);
    mirrors_[m->channel] = m;
  }
  // Waits (on `m->wake`) until `done` holds or the deadline passes.
  const auto waitFor = [&m](SteadyClock::time_point deadline, auto done) -> asio::awaitable<bool> {
    for (;;) {
      {
        std::lock_guard lock(m->mu);
        if (done()) co_return true;
      }
      if (SteadyClock::now() >= deadline) co_return false;
      m->wake->expires_at(deadline);
      (void)co_await m->wake->async_wait(asio::as_tuple(asio::use_awaitable));
    }
  };
  const auto deadline = SteadyClock::now() + settings_.answer;
  notifications_->listen(m->channel, [m](bool ok) {
    {
      std::lock_guard lock(m->mu);
      m->subscribed = ok ? 1 : -1;
    }
    m->wakeAttach();
  });
  // (Named, not temporaries: g++ 12 may destroy a temporary in a co_await expression twice.)
  const auto answered = [&m] { return m->subscribed != 0; };
  const bool answeredInTime = co_await waitFor(deadline, answered);
  auto fail = [&](Error e) -> Result<std::shared_ptr<Generation>> {
    forget(m);
    return e;
  };
  bool listening = false;
  {
    std::lock_guard lock(m->mu);
    listening = answeredInTime && m->subscribed > 0;
  }
  if (!listening) {
    co_return fail(Error::make(Errc::unavailable,
                               "the reply is being written by another server, which cannot be "
                               "reached now; try again"));
  }
  const std::string requestChannel(store::kRelayRequestChannel);
  std::string request = m->chatId + ":" + m->generationId + ":" + subscription;
  auto asked = co_await publish(requestChannel, std::move(request));
  if (!asked) co_return fail(std::move(asked).error());
  const auto headed = [&m] { return m->held != nullptr; };
  if (!co_await waitFor(deadline, headed)) {
    // No answer: the reply may have ended meanwhile, or its server died.
    auto active = co_await dbPool_.run([&] {
      const store::ActingAs as(m->userId);
      return store_.activeGeneration(m->chatId, clock_.now());
    });
    if (active && (!active->has_value() || **active != m->generationId)) {
      forget(m);
      co_return std::shared_ptr<Generation>();
    }
    co_return fail(
        Error::make(Errc::unavailable, "the server writing this reply does not answer; try again"));
  }
  std::shared_ptr<Generation> g;
  {
    std::lock_guard lock(m->mu);
    g = std::move(m->held);
  }
  asio::co_spawn(executor, watch(m), asio::detached);
  co_return g;
}

void GenerationRelay::received(std::string_view channel, std::string_view payload) {
  std::shared_ptr<Mirror> m;
  {
    std::lock_guard lock(mu_);
    if (auto it = mirrors_.find(std::string(channel)); it != mirrors_.end()) m = it->second;
  }
  if (!m) return;
  const auto piece = relay::decode(payload);
  std::lock_guard lock(m->mu);
  if (m->ended) return;
  m->lastHeard = SteadyClock::now();
  std::shared_ptr<Generation> g = m->held ? m->held : m->mirror.lock();
  if (!piece || piece->seq != m->next || (piece->kind == 'H') != (m->next == 0) ||
      (piece->kind != 'H' && !g)) {
    spdlog::warn("relay {}: notifications were lost; ending the re-attached stream", m->channel);
    if (g) g->close(lostFrame());
    m->ended = true;
    return;
  }
  ++m->next;
  switch (piece->kind) {
    case 'H':
      m->held = std::make_shared<Generation>(m->generationId, m->chatId, m->userId,
                                             std::string(piece->data));
      m->mirror = m->held;
      m->wakeAttach();
      return;
    case 'K':
      return;
    default:
      break;
  }
  m->pending.append(piece->data);
  auto frames = relay::takeFrames(m->pending);
  const bool closing = piece->kind == 'C';
  for (std::size_t i = 0; i < frames.size(); ++i) {
    if (closing && i + 1 == frames.size()) {
      g->close(std::move(frames[i]));
    } else {
      g->append(std::move(frames[i]));
    }
  }
  if (closing) m->ended = true;
}

asio::awaitable<void> GenerationRelay::watch(std::shared_ptr<Mirror> m) {
  asio::steady_timer timer(co_await asio::this_coro::executor);
  const auto every =
      std::min<SteadyClock::duration>(settings_.silence / 3, std::chrono::seconds(5));
  for (;;) {
    timer.expires_after(every);
    (void)co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
    std::shared_ptr<Generation> g;
    SteadyClock::duration quiet{};
    {
      std::lock_guard lock(m->mu);
      g = m->mirror.lock();
      if (!g || m->ended) break;  // every reader left, or the reply ended
      quiet = SteadyClock::now() - m->lastHeard;
    }
    bool lost = quiet > settings_.silence;
    if (!lost && quiet >= every) {
      // Quiet for a while: is the generation still alive (its owner renews the lease)?
      auto active = co_await dbPool_.run([&] {
        const store::ActingAs as(m->userId);
        return store_.activeGeneration(m->chatId, clock_.now());
      });
      lost = active && (!active->has_value() || **active != m->generationId);
    }
    if (lost) {
      std::lock_guard lock(m->mu);
      if (m->ended) break;
      spdlog::warn("relay {}: the server writing the reply in chat {} went away", m->channel,
                   m->chatId);
      g->close(lostFrame());
      m->ended = true;
      break;
    }
  }
  forget(m);
}

void GenerationRelay::forget(const std::shared_ptr<Mirror>& m) {
  {
    std::lock_guard lock(mu_);
    mirrors_.erase(m->channel);
  }
  notifications_->unlisten(m->channel);
}

// ---- the owner's instance -----------------------------------------------------------------

void GenerationRelay::requested(std::string_view payload, const asio::any_io_executor& executor) {
  // "<chat>:<generation>:<subscription>"
  const auto first = payload.find(':');
  const auto second = first == std::string_view::npos ? first : payload.find(':', first + 1);
  if (second == std::string_view::npos) return;
  const std::string chatId(payload.substr(0, first));
  const auto generationId = payload.substr(first + 1, second - first - 1);
  const auto subscription = payload.substr(second + 1);
  if (subscription.empty() || subscription.size() > 32) return;
  auto g = registry_.find(chatId);
  if (!g || g->id() != generationId) return;  // not here (or over)
  asio::co_spawn(
      executor,
      relay(std::move(g), std::string(store::kRelayChannelPrefix) + std::string(subscription)),
      asio::detached);
}

asio::awaitable<void> GenerationRelay::relay(std::shared_ptr<Generation> g, std::string channel) {
  spdlog::debug("relaying the reply in chat {} on {}", g->chatId(), channel);
  std::uint64_t seq = 0;
  std::string head = relay::encode(seq++, 'H', g->assistantMessageId());
  if (!co_await publish(channel, std::move(head))) co_return;
  const auto timer = std::make_shared<asio::steady_timer>(co_await asio::this_coro::executor);
  std::string batch;
  std::size_t seen = 0;
  // Room for the sequence number and the kind in every notification.
  const std::size_t room = store::kMaxNotifyPayload - 32;
  for (;;) {
    batch.clear();
    const auto got = co_await g->waitBeyond(seen, batch, timer, settings_.heartbeat);
    if (got.frames == 0 && !got.closed) {
      std::string beat = relay::encode(seq++, 'K');
      if (!co_await publish(channel, std::move(beat))) co_return;
      continue;
    }
    seen += got.frames;
    const auto pieces = relay::splitUtf8(batch, room);
    for (std::size_t i = 0; i < pieces.size(); ++i) {
      const char kind = got.closed && i + 1 == pieces.size() ? 'C' : 'D';
      std::string piece = relay::encode(seq++, kind, pieces[i]);
      auto sent = co_await publish(channel, std::move(piece));
      if (!sent) {
        spdlog::warn("relaying the reply in chat {} failed: {}", g->chatId(), sent.error().message);
        co_return;
      }
    }
    if (got.closed) co_return;
  }
}

}  // namespace atelier::chat

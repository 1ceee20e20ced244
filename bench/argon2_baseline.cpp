// The floor for a login: argon2id verifications per second at libsodium's interactive
// limits, on N threads, with nothing else around them. bench/run compares the server's
// logins per second with this.
//
//   argon2_baseline <threads> <seconds>   → prints "<verifications per second>"
#include <sodium.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <thread>
#include <vector>

int main(int argc, char** argv) {
  if (sodium_init() < 0) return 1;
  const int threads = argc > 1 ? std::atoi(argv[1]) : 2;
  const double seconds = argc > 2 ? std::atof(argv[2]) : 5;
  const char* password = "correct horse battery staple";
  char hash[crypto_pwhash_STRBYTES];
  if (crypto_pwhash_str(hash, password, 28, crypto_pwhash_OPSLIMIT_INTERACTIVE,
                        crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0) {
    return 1;
  }
  std::atomic<long> done{0};
  std::atomic<bool> stop{false};
  std::vector<std::thread> pool;
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < threads; ++i) {
    pool.emplace_back([&] {
      while (!stop) {
        if (crypto_pwhash_str_verify(hash, password, 28) == 0) ++done;
      }
    });
  }
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
  stop = true;
  for (auto& t : pool)
    t.join();
  const double elapsed =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("%.1f\n", done.load() / elapsed);
  return 0;
}

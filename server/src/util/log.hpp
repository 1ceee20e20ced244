// Logging set-up. The program logs through spdlog's default logger; this installs an
// asynchronous logger (a bounded queue and one writer thread, so I/O threads never wait on
// stderr) with a text or JSON-lines format.
#pragma once

#include <string>
#include <string_view>

namespace spdlog {
class logger;
}

namespace atelier {

enum class LogFormat { text, json };

// level: trace|debug|info|warn|error|critical|off. Call once at start-up.
void setupLogging(std::string_view level, LogFormat format);
// Creates spdlog's registry and default logger now, on the calling thread, if nothing has
// yet. Call it before starting threads that log: libspdlog.so creates them on first use
// behind a guard ThreadSanitizer cannot see (the library is not instrumented), so a first
// use on one thread and the next on another would be reported as a race.
void prepareLogging() noexcept;
// Flushes and stops the async logger (call before exit).
void shutdownLogging();
LogFormat logFormat() noexcept;

// With LogFormat::json: a logger that writes each message as the whole line (for records
// that are already JSON objects, like the access log). With text it is the default logger.
spdlog::logger& accessLogger();

// Appends `s` JSON-escaped (without quotes) to `out`. Invalid UTF-8 bytes become U+FFFD.
void appendJsonEscaped(std::string& out, std::string_view s);
std::string jsonEscaped(std::string_view s);

}  // namespace atelier

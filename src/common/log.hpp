#pragma once

#include <sstream>
#include <string_view>

namespace daily::detail {

enum class LogLevel { Debug = 0, Info = 1, Warn = 2, Error = 3, Off = 4 };

/// The threshold: from DAILY_LOG (debug|info|warn|error|off), default warn; setLogLevel() overrides it.
LogLevel logLevel();
void setLogLevel(LogLevel level);
/// Writes one line to stderr with the component's name. Never pass a token or API key in message.
void logLine(LogLevel level, std::string_view component, std::string_view message);

}  // namespace daily::detail

#define DAILY_LOG(level, component, expr)                                          \
  do {                                                                             \
    if (::daily::detail::LogLevel::level >= ::daily::detail::logLevel()) {         \
      std::ostringstream daily_log_stream_;                                        \
      daily_log_stream_ << expr;                                                   \
      ::daily::detail::logLine(::daily::detail::LogLevel::level, component,        \
                               daily_log_stream_.str());                           \
    }                                                                              \
  } while (false)

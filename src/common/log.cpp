#include "common/log.hpp"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>

namespace daily::detail {
namespace {

LogLevel levelFromEnvironment() {
  const char* v = std::getenv("DAILY_LOG");
  if (!v) return LogLevel::Warn;
  if (!std::strcmp(v, "debug")) return LogLevel::Debug;
  if (!std::strcmp(v, "info")) return LogLevel::Info;
  if (!std::strcmp(v, "error")) return LogLevel::Error;
  if (!std::strcmp(v, "off")) return LogLevel::Off;
  return LogLevel::Warn;
}

std::atomic<int>& level() {
  static std::atomic<int> value{static_cast<int>(levelFromEnvironment())};
  return value;
}

const char* name(LogLevel l) {
  switch (l) {
    case LogLevel::Debug: return "debug";
    case LogLevel::Info: return "info";
    case LogLevel::Warn: return "warn";
    case LogLevel::Error: return "error";
    case LogLevel::Off: break;
  }
  return "";
}

}  // namespace

LogLevel logLevel() { return static_cast<LogLevel>(level().load(std::memory_order_relaxed)); }
void setLogLevel(LogLevel l) { level().store(static_cast<int>(l), std::memory_order_relaxed); }

void logLine(LogLevel l, std::string_view component, std::string_view message) {
  static std::mutex mu;
  const auto now = std::chrono::duration_cast<std::chrono::milliseconds>(
                       std::chrono::system_clock::now().time_since_epoch()).count();
  std::string line = std::to_string(now / 1000) + "." + std::to_string(1000 + now % 1000).substr(1) + " [" +
                     name(l) + "] " + std::string(component) + ": " + std::string(message) + "\n";
  std::lock_guard<std::mutex> lock(mu);
  std::fwrite(line.data(), 1, line.size(), stderr);
}

}  // namespace daily::detail

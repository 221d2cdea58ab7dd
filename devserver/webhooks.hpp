#pragma once

// Webhooks as Daily runs them: CRUD, a verification POST before a webhook is created, signed deliveries
// (X-Webhook-Signature / X-Webhook-Timestamp) in the order the events happened, retries, and the FAILED state.
// Deliveries go out from a thread of their own, so a dead receiver never blocks the io thread or the gateway.

#include <nlohmann/json.hpp>

#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

namespace daily::devserver {

struct WebhookSettings {
  std::chrono::milliseconds requestTimeout{5000};  // per delivery attempt
  std::chrono::milliseconds retryBase{1000};       // first retry delay; doubles per retry
  int circuitBreakerFailures = 3;                  // consecutive failures before FAILED ("circuit-breaker")
  int exponentialAttempts = 5;                     // attempts per message ("exponential")
};

class Webhooks {
 public:
  /// post runs a function on the io thread (where REST answers are sent).
  Webhooks(std::string domainId, WebhookSettings settings, std::function<void(std::function<void()>)> post);
  ~Webhooks();
  Webhooks(const Webhooks&) = delete;
  Webhooks& operator=(const Webhooks&) = delete;

  using Done = std::function<void(int status, nlohmann::json body)>;
  /// POST /webhooks: validates, sends the verification POST (off the io thread), then answers via done.
  void create(const nlohmann::json& body, Done done);
  /// POST /webhooks/:id: updates url/eventTypes/hmac/retryType; a FAILED webhook becomes ACTIVE again.
  void update(const std::string& uuid, const nlohmann::json& body, Done done);
  nlohmann::json list() const;
  std::optional<nlohmann::json> get(const std::string& uuid) const;
  bool remove(const std::string& uuid);

  /// Whether an ACTIVE webhook is subscribed to type.
  bool wants(const std::string& type) const;
  /// Queues an event for every ACTIVE webhook subscribed to type. payload gets domain_id added.
  void emit(const std::string& type, nlohmann::json payload);

 private:
  struct Delivery {
    std::string body;
    int attempts = 0;
  };
  struct Hook {
    std::string uuid, url, hmac, retryType, state = "ACTIVE", createdAt;
    std::vector<std::string> eventTypes;
    int failedCount = 0;
    std::deque<Delivery> queue;
    std::chrono::steady_clock::time_point nextAttempt{};
  };

  nlohmann::json toJson(const Hook& hook) const;
  bool checkBody(const nlohmann::json& body, bool creating, Hook& hook, std::string* why) const;
  /// Sends one signed POST; true on 2xx.
  bool deliver(const std::string& url, const std::string& hmac, const std::string& body) const;
  void run();

  std::string domainId_;
  WebhookSettings settings_;
  std::function<void(std::function<void()>)> post_;
  mutable std::mutex mu_;
  std::condition_variable wake_;
  std::map<std::string, Hook> hooks_;
  std::deque<std::function<void()>> jobs_;  // verification POSTs
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace daily::devserver

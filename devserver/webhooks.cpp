#include "webhooks.hpp"

#include "common/base64.hpp"
#include "common/ids.hpp"
#include "common/log.hpp"
#include "hub.hpp"

#include <daily/webhook.hpp>

#include <curl/curl.h>

#include <algorithm>

namespace daily::devserver {

using nlohmann::json;

namespace {

size_t discard(char*, size_t size, size_t n, void*) { return size * n; }

const std::vector<std::string> kEventTypes{
    "participant.joined",    "participant.left",       "dialin.connected",       "dialin.stopped",
    "dialin.error",          "dialout.connected",      "dialout.answered",       "dialout.stopped",
    "dialout.error",         "calltransfer.triggered", "calltransfer.initiated", "calltransfer.answered",
    "calltransfer.completed"};

}  // namespace

Webhooks::Webhooks(std::string domainId, WebhookSettings settings, std::function<void(std::function<void()>)> post)
    : domainId_(std::move(domainId)), settings_(settings), post_(std::move(post)), thread_([this] { run(); }) {}

Webhooks::~Webhooks() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  wake_.notify_all();
  thread_.join();
}

json Webhooks::toJson(const Hook& h) const {
  return {{"uuid", h.uuid},        {"url", h.url},           {"hmac", h.hmac},
          {"eventTypes", h.eventTypes}, {"state", h.state}, {"failedCount", h.failedCount},
          {"retryType", h.retryType}, {"domainId", domainId_}, {"createdAt", h.createdAt}};
}

bool Webhooks::checkBody(const json& body, bool creating, Hook& hook, std::string* why) const {
  if (!body.is_object()) return *why = "body must be a JSON object", false;
  if (auto url = body.find("url"); url != body.end()) {
    if (!url->is_string() || (url->get_ref<const std::string&>().rfind("http://", 0) != 0 &&
                              url->get_ref<const std::string&>().rfind("https://", 0) != 0))
      return *why = "url must be an http:// or https:// URL", false;
    if (url->get_ref<const std::string&>().find_first_of("\r\n ") != std::string::npos)
      return *why = "url must not contain whitespace", false;
    hook.url = url->get<std::string>();
  } else if (creating) {
    return *why = "url is required", false;
  }
  if (auto types = body.find("eventTypes"); types != body.end()) {
    if (!types->is_array()) return *why = "eventTypes must be an array of event type names", false;
    std::vector<std::string> out;
    for (const auto& t : *types) {
      if (!t.is_string() || std::find(kEventTypes.begin(), kEventTypes.end(), t.get<std::string>()) == kEventTypes.end())
        return *why = "unknown event type " + t.dump(), false;
      out.push_back(t.get<std::string>());
    }
    hook.eventTypes = std::move(out);
  }
  if (auto hmac = body.find("hmac"); hmac != body.end()) {
    if (!hmac->is_string() || !detail::base64Decode(hmac->get<std::string>()) || hmac->get_ref<const std::string&>().empty())
      return *why = "hmac must be a BASE-64 encoded secret", false;
    hook.hmac = hmac->get<std::string>();
  } else if (creating) {
    hook.hmac = detail::base64Encode(detail::randomHex(16));
  }
  if (auto retry = body.find("retryType"); retry != body.end()) {
    if (*retry != "circuit-breaker" && *retry != "exponential")
      return *why = "retryType must be \"circuit-breaker\" or \"exponential\"", false;
    hook.retryType = retry->get<std::string>();
  } else if (creating) {
    hook.retryType = "circuit-breaker";
  }
  return true;
}

void Webhooks::create(const json& body, Done done) {
  Hook hook;
  std::string why;
  if (!checkBody(body, true, hook, &why)) return done(400, {{"error", "invalid-request-error"}, {"info", why}});
  hook.uuid = detail::newUuid();
  hook.createdAt = isoTimestamp();
  // Daily checks the endpoint answers before it creates the webhook; so do we, off the io thread.
  std::lock_guard<std::mutex> lock(mu_);
  jobs_.push_back([this, hook, done] {
    const bool ok = deliver(hook.url, hook.hmac, R"({"test":"test"})");
    post_([this, hook, done, ok] {
      if (!ok)
        return done(400, {{"error", "invalid-request-error"},
                          {"info", "the webhook URL did not answer the verification POST with a 2xx"}});
      json created;
      {
        std::lock_guard<std::mutex> l(mu_);
        created = toJson(hooks_[hook.uuid] = hook);
      }
      DAILY_LOG(Info, "webhooks", "created " << hook.uuid << " -> " << hook.url);
      done(200, created);
    });
  });
  wake_.notify_all();
}

void Webhooks::update(const std::string& uuid, const json& body, Done done) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = hooks_.find(uuid);
  if (it == hooks_.end()) return done(404, {{"error", "not-found"}, {"info", "webhook " + uuid + " not found"}});
  Hook updated = it->second;
  std::string why;
  if (!checkBody(body, false, updated, &why)) return done(400, {{"error", "invalid-request-error"}, {"info", why}});
  updated.state = "ACTIVE";  // updating a FAILED webhook re-activates it, as Daily's does
  updated.failedCount = 0;
  it->second = std::move(updated);
  done(200, toJson(it->second));
}

json Webhooks::list() const {
  std::lock_guard<std::mutex> lock(mu_);
  json out = json::array();
  for (const auto& [id, h] : hooks_) out.push_back(toJson(h));
  return out;
}

std::optional<json> Webhooks::get(const std::string& uuid) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = hooks_.find(uuid);
  if (it == hooks_.end()) return std::nullopt;
  return toJson(it->second);
}

bool Webhooks::remove(const std::string& uuid) {
  std::lock_guard<std::mutex> lock(mu_);
  return hooks_.erase(uuid) > 0;
}

bool Webhooks::wants(const std::string& type) const {
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& [id, h] : hooks_)
    if (h.state == "ACTIVE" &&
        (h.eventTypes.empty() || std::find(h.eventTypes.begin(), h.eventTypes.end(), type) != h.eventTypes.end()))
      return true;
  return false;
}

void Webhooks::emit(const std::string& type, json payload) {
  payload["domain_id"] = domainId_;
  const auto now = std::chrono::system_clock::now().time_since_epoch();
  const json envelope{{"version", "1.0.0"},
                      {"type", type},
                      {"id", detail::newUuid()},
                      {"payload", std::move(payload)},
                      {"event_ts", std::chrono::duration<double>(now).count()}};
  const std::string body = envelope.dump();
  bool queued = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto& [id, h] : hooks_) {
      if (h.state != "ACTIVE") continue;
      if (!h.eventTypes.empty() && std::find(h.eventTypes.begin(), h.eventTypes.end(), type) == h.eventTypes.end())
        continue;
      h.queue.push_back(Delivery{body, 0});
      queued = true;
    }
  }
  if (queued) wake_.notify_all();
}

bool Webhooks::deliver(const std::string& url, const std::string& hmac, const std::string& body) const {
  const std::string timestamp = std::to_string(
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count());
  CURL* curl = curl_easy_init();
  if (!curl) return false;
  curl_slist* headers = curl_slist_append(nullptr, "Content-Type: application/json");
  headers = curl_slist_append(headers, ("X-Webhook-Timestamp: " + timestamp).c_str());
  headers = curl_slist_append(headers, ("X-Webhook-Signature: " + signWebhook(hmac, timestamp, body)).c_str());
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_POST, 1L);
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body.c_str());
  curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, static_cast<long>(body.size()));
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, static_cast<long>(settings_.requestTimeout.count()));
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, discard);
  const CURLcode rc = curl_easy_perform(curl);
  long status = 0;
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
  curl_slist_free_all(headers);
  curl_easy_cleanup(curl);
  return rc == CURLE_OK && status >= 200 && status < 300;
}

// The delivery thread: verification jobs first, then the head of each ACTIVE webhook's queue that is due.
void Webhooks::run() {
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    if (stopping_) return;
    if (!jobs_.empty()) {
      auto job = std::move(jobs_.front());
      jobs_.pop_front();
      lock.unlock();
      job();
      lock.lock();
      continue;
    }
    const auto now = std::chrono::steady_clock::now();
    Hook* due = nullptr;
    auto soonest = std::chrono::steady_clock::time_point::max();
    for (auto& [id, h] : hooks_) {
      if (h.state != "ACTIVE" || h.queue.empty()) continue;
      if (h.nextAttempt <= now) {
        due = &h;
        break;
      }
      soonest = std::min(soonest, h.nextAttempt);
    }
    if (!due) {
      if (soonest == std::chrono::steady_clock::time_point::max()) wake_.wait(lock);
      else wake_.wait_until(lock, soonest);
      continue;
    }
    const std::string uuid = due->uuid, url = due->url, hmac = due->hmac, body = due->queue.front().body;
    lock.unlock();
    const bool ok = deliver(url, hmac, body);
    lock.lock();
    auto it = hooks_.find(uuid);
    if (it == hooks_.end()) continue;  // deleted meanwhile
    Hook& h = it->second;
    if (ok) {
      h.failedCount = 0;
      if (!h.queue.empty()) h.queue.pop_front();
      continue;
    }
    ++h.failedCount;
    Delivery& d = h.queue.front();
    ++d.attempts;
    const bool exhausted = h.retryType == "exponential" ? d.attempts >= settings_.exponentialAttempts
                                                        : h.failedCount >= settings_.circuitBreakerFailures;
    DAILY_LOG(Warn, "webhooks", "delivery to " << url << " failed (" << h.failedCount << " in a row)");
    if (exhausted) {
      h.state = "FAILED";
      h.queue.clear();
      DAILY_LOG(Warn, "webhooks", "webhook " << uuid << " is FAILED");
      continue;
    }
    h.nextAttempt = std::chrono::steady_clock::now() + settings_.retryBase * (1 << std::min(d.attempts - 1, 10));
  }
}

}  // namespace daily::devserver

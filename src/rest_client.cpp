#include <daily/rest_client.hpp>
#include <daily/version.hpp>

#include "common/log.hpp"
#include "common/openssl_init.hpp"

#include <curl/curl.h>

#include <condition_variable>
#include <cstdlib>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>

namespace daily {
namespace {

using nlohmann::json;

void globalInit() {
  static std::once_flag once;
  std::call_once(once, [] {
    detail::initOpenSsl();  // before curl initialises OpenSSL with its atexit clean-up
    curl_global_init(CURL_GLOBAL_DEFAULT);
  });
}

ErrorCode codeForStatus(long status) {
  if (status == 400 || status == 409 || status == 422) return ErrorCode::InvalidArgument;
  if (status == 401 || status == 403) return ErrorCode::PermissionDenied;
  if (status == 404) return ErrorCode::NotFound;
  if (status == 408 || status == 504) return ErrorCode::Timeout;
  return ErrorCode::ServerError;
}

Room toRoom(const json& j) {
  if (!j.is_object()) throw Error(ErrorCode::ServerError, "the API answered with something that is not a room");
  Room r;
  r.id = j.value("id", "");
  r.name = j.value("name", "");
  r.url = j.value("url", "");
  r.privacy = j.value("privacy", "");
  r.createdAt = j.value("created_at", "");
  r.config = j.value("config", json::object());
  r.raw = j;
  return r;
}

Webhook toWebhook(const json& j) {
  if (!j.is_object()) throw Error(ErrorCode::ServerError, "the API answered with something that is not a webhook");
  Webhook w;
  w.uuid = j.value("uuid", "");
  w.url = j.value("url", "");
  w.hmac = j.value("hmac", "");
  w.state = j.value("state", "");
  w.retryType = j.value("retryType", "");
  w.failedCount = j.value("failedCount", 0);
  for (const auto& t : j.value("eventTypes", json::array()))
    if (t.is_string()) w.eventTypes.push_back(t.get<std::string>());
  w.raw = j;
  return w;
}

json webhookBody(const WebhookOptions& o) {
  json body{{"url", o.url}};
  if (!o.eventTypes.empty()) body["eventTypes"] = o.eventTypes;
  if (!o.hmac.empty()) body["hmac"] = o.hmac;
  if (o.retryType) body["retryType"] = *o.retryType;
  return body;
}

size_t appendBody(char* data, size_t size, size_t n, void* out) {
  static_cast<std::string*>(out)->append(data, size * n);
  return size * n;
}

// Captures Retry-After (seconds) from the response headers.
size_t readHeader(char* data, size_t size, size_t n, void* out) {
  std::string_view line(data, size * n);
  constexpr std::string_view kName = "retry-after:";
  if (line.size() > kName.size()) {
    std::string lower(line.substr(0, kName.size()));
    for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (lower == kName) *static_cast<long*>(out) = std::strtol(std::string(line.substr(kName.size())).c_str(), nullptr, 10);
  }
  return size * n;
}

}  // namespace

struct RestClient::Impl {
  explicit Impl(RestClientOptions o) : options(std::move(o)) {
    if (options.apiKey.empty())
      if (const char* env = std::getenv("DAILY_API_KEY")) options.apiKey = env;
    if (options.apiKey.empty())
      throw Error(ErrorCode::InvalidArgument, "RestClient needs an API key: set RestClientOptions::apiKey or DAILY_API_KEY");
    if (options.apiKey.find_first_of("\r\n") != std::string::npos)
      throw Error(ErrorCode::InvalidArgument, "the API key contains a line break");
    if (options.baseUrl.rfind("https://", 0) != 0 && options.baseUrl.rfind("http://", 0) != 0)
      throw Error(ErrorCode::InvalidArgument, "baseUrl must start with https:// or http://");
    while (!options.baseUrl.empty() && options.baseUrl.back() == '/') options.baseUrl.pop_back();
    globalInit();
    curl = curl_easy_init();
    if (!curl) throw Error(ErrorCode::ServerError, "curl_easy_init failed");
  }

  ~Impl() {
    shutdown();
    curl_easy_cleanup(curl);
  }

  // Finishes the job in progress, fails the queued ones, and joins the worker. Idempotent.
  void shutdown() {
    {
      std::lock_guard<std::mutex> lock(queueMu);
      stopping = true;
    }
    wake.notify_all();
    if (worker.joinable()) worker.join();
  }

  RestClientOptions options;
  std::mutex curlMu;
  CURL* curl = nullptr;

  std::mutex queueMu;
  std::condition_variable wake;
  std::deque<std::function<void(bool cancelled)>> queue;
  bool stopping = false;
  std::thread worker;

  std::string escape(const std::string& segment) {
    std::lock_guard<std::mutex> lock(curlMu);
    char* e = curl_easy_escape(curl, segment.c_str(), static_cast<int>(segment.size()));
    std::string out = e ? e : "";
    curl_free(e);
    return out;
  }

  struct Answer {
    CURLcode rc = CURLE_OK;
    long status = 0;
    long retryAfter = -1;
    std::string body;
  };

  Answer once(const std::string& method, const std::string& path, const std::string& body) {
    Answer a;
    std::lock_guard<std::mutex> lock(curlMu);
    curl_easy_reset(curl);  // keeps the connection cache: the handle reuses its connections
    const std::string url = options.baseUrl + path;
    curl_slist* headers = nullptr;
    headers = curl_slist_append(headers, ("Authorization: Bearer " + options.apiKey).c_str());
    headers = curl_slist_append(headers, "Content-Type: application/json");
    headers = curl_slist_append(headers, "Accept: application/json");
    curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method.c_str());
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(curl, CURLOPT_USERAGENT, (std::string("daily-cpp/") + kVersion).c_str());
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, static_cast<long>(options.timeout.count()));
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, options.verifyTls ? 1L : 0L);
    curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, options.verifyTls ? 2L : 0L);
    if (!options.caFile.empty()) curl_easy_setopt(curl, CURLOPT_CAINFO, options.caFile.c_str());
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, appendBody);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &a.body);
    curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, readHeader);
    curl_easy_setopt(curl, CURLOPT_HEADERDATA, &a.retryAfter);
    if (!body.empty()) {
      curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body.c_str());
      curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, static_cast<long>(body.size()));
    }
    a.rc = curl_easy_perform(curl);
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &a.status);
    curl_slist_free_all(headers);
    return a;
  }

  json perform(const std::string& method, const std::string& path, const json& body) {
    const std::string text = body.is_null() ? std::string() : body.dump();
    auto backoff = options.initialBackoff;
    for (int attempt = 0;; ++attempt) {
      Answer a = once(method, path, text);
      if (a.rc != CURLE_OK) {
        const std::string what = method + " " + path + ": " + curl_easy_strerror(a.rc);
        if (a.rc == CURLE_OPERATION_TIMEDOUT) throw Error(ErrorCode::Timeout, what, 0, 0, {});
        throw Error(ErrorCode::ConnectionLost, what, 0, 0, {});
      }
      if (a.status >= 200 && a.status < 300) {
        if (a.body.empty()) return json::object();
        json j = json::parse(a.body, nullptr, false);
        if (j.is_discarded())
          throw Error(ErrorCode::ServerError, method + " " + path + ": the answer is not JSON", 0, static_cast<int>(a.status), {});
        return j;
      }
      const bool retryable = a.status == 429 || (a.status >= 500 && (method != "POST" || a.status == 503));
      if (retryable && attempt < options.maxRetries) {
        auto wait = a.retryAfter >= 0 ? std::chrono::milliseconds(std::chrono::seconds(a.retryAfter)) : backoff;
        wait = std::min(wait, options.maxBackoff);
        DAILY_LOG(Info, "rest", method << " " << path << " answered " << a.status << "; retrying in " << wait.count() << " ms");
        std::this_thread::sleep_for(wait);
        backoff = std::min(backoff * 2, options.maxBackoff);
        continue;
      }
      json err = json::parse(a.body, nullptr, false);
      std::string kind, info;
      if (err.is_object()) {
        kind = err.value("error", "");
        info = err.value("info", "");
      }
      std::string message = method + " " + path + ": HTTP " + std::to_string(a.status);
      if (!kind.empty()) message += " " + kind;
      if (!info.empty()) message += ": " + info;
      const int sip = err.is_object() && err.value("sipStatus", json()).is_number_integer() ? err["sipStatus"].get<int>() : 0;
      ErrorCode code = codeForStatus(a.status);
      if (sip != 0) code = ErrorCode::SipRejected;
      throw Error(code, message, sip, static_cast<int>(a.status), kind);
    }
  }

  // Runs task on the worker thread; the future fails with ConnectionLost when the client is destroyed first.
  template <class T>
  std::future<T> async(std::function<T()> task) {
    auto promise = std::make_shared<std::promise<T>>();
    auto future = promise->get_future();
    std::lock_guard<std::mutex> lock(queueMu);
    if (stopping) {
      promise->set_exception(std::make_exception_ptr(Error(ErrorCode::ConnectionLost, "the RestClient was destroyed")));
      return future;
    }
    if (!worker.joinable()) worker = std::thread([this] { run(); });
    queue.push_back([promise, task = std::move(task)](bool cancelled) {
      if (cancelled) {
        promise->set_exception(std::make_exception_ptr(Error(ErrorCode::ConnectionLost, "the RestClient was destroyed")));
        return;
      }
      try {
        if constexpr (std::is_void_v<T>) {
          task();
          promise->set_value();
        } else {
          promise->set_value(task());
        }
      } catch (...) {
        promise->set_exception(std::current_exception());
      }
    });
    wake.notify_one();
    return future;
  }

  void run() {
    std::unique_lock<std::mutex> lock(queueMu);
    for (;;) {
      wake.wait(lock, [&] { return stopping || !queue.empty(); });
      if (queue.empty()) return;
      auto job = std::move(queue.front());
      queue.pop_front();
      const bool cancelled = stopping;
      lock.unlock();
      job(cancelled);
      lock.lock();
    }
  }
};

RestClient::RestClient(RestClientOptions options) : impl_(std::make_unique<Impl>(std::move(options))) {}
RestClient::~RestClient() { impl_->shutdown(); }  // while impl_ is still whole: the worker's job may use it

Room RestClient::createRoom(const CreateRoomOptions& o) {
  json body = json::object();
  if (o.name) body["name"] = *o.name;
  if (o.privacy) body["privacy"] = *o.privacy;
  if (!o.properties.empty()) body["properties"] = o.properties;
  return toRoom(impl_->perform("POST", "/rooms", body));
}

Room RestClient::getRoom(const std::string& name) { return toRoom(impl_->perform("GET", "/rooms/" + impl_->escape(name), nullptr)); }

RoomList RestClient::listRooms() {
  const json j = impl_->perform("GET", "/rooms", nullptr);
  RoomList list;
  list.totalCount = j.value("total_count", std::size_t{0});
  for (const auto& r : j.value("data", json::array())) list.data.push_back(toRoom(r));
  return list;
}

Room RestClient::updateRoom(const std::string& name, const UpdateRoomOptions& o) {
  json body = json::object();
  if (o.privacy) body["privacy"] = *o.privacy;
  if (!o.properties.empty()) body["properties"] = o.properties;
  return toRoom(impl_->perform("POST", "/rooms/" + impl_->escape(name), body));
}

void RestClient::deleteRoom(const std::string& name) { impl_->perform("DELETE", "/rooms/" + impl_->escape(name), nullptr); }

std::string RestClient::createMeetingToken(const MeetingTokenProperties& p) {
  json properties = p.extra.is_object() ? p.extra : json::object();
  if (p.roomName) properties["room_name"] = *p.roomName;
  if (p.isOwner) properties["is_owner"] = *p.isOwner;
  if (p.userName) properties["user_name"] = *p.userName;
  if (p.userId) properties["user_id"] = *p.userId;
  if (p.exp) properties["exp"] = *p.exp;
  if (p.nbf) properties["nbf"] = *p.nbf;
  if (p.canAdmin) properties["permissions"] = {{"canAdmin", *p.canAdmin}};
  const json j = impl_->perform("POST", "/meeting-tokens", {{"properties", properties}});
  if (!j.value("token", json()).is_string()) throw Error(ErrorCode::ServerError, "the API answered without a token");
  return j["token"];
}

json RestClient::validateMeetingToken(const std::string& token, bool ignoreNbf) {
  return impl_->perform("GET", "/meeting-tokens/" + impl_->escape(token) + (ignoreNbf ? "?ignoreNbf=true" : ""), nullptr);
}

void RestClient::sipRefer(const std::string& room, const SipReferOptions& o) {
  json body{{"sessionId", o.sessionId}, {"toEndPoint", o.toEndPoint}};
  if (!o.sipHeaders.empty()) body["sipHeaders"] = o.sipHeaders;
  if (!o.replacesSessionId.empty()) body["replacesSessionId"] = o.replacesSessionId;
  impl_->perform("POST", "/rooms/" + impl_->escape(room) + "/sipRefer", body);
}

void RestClient::sipCallTransfer(const std::string& room, const SipCallTransferOptions& o) {
  impl_->perform("POST", "/rooms/" + impl_->escape(room) + "/sipCallTransfer",
                 {{"sessionId", o.sessionId}, {"toEndPoint", o.toEndPoint}});
}

DialOutSession RestClient::startDialOut(const std::string& room, const StartDialOutOptions& o) {
  json body = json::object();
  if (!o.sipUri.empty()) body["sipUri"] = o.sipUri;
  if (!o.phoneNumber.empty()) body["phoneNumber"] = o.phoneNumber;
  if (!o.displayName.empty()) body["displayName"] = o.displayName;
  if (!o.userId.empty()) body["userId"] = o.userId;
  if (!o.callerId.empty()) body["callerId"] = o.callerId;
  if (o.video) body["video"] = *o.video;
  const json j = impl_->perform("POST", "/rooms/" + impl_->escape(room) + "/dialOut/start", body);
  if (!j.value("sessionId", json()).is_string()) throw Error(ErrorCode::ServerError, "the API answered without a sessionId");
  return DialOutSession{j["sessionId"]};
}

void RestClient::stopDialOut(const std::string& room, const StopDialOutOptions& o) {
  impl_->perform("POST", "/rooms/" + impl_->escape(room) + "/dialOut/stop", {{"sessionId", o.sessionId}});
}

void RestClient::sendDtmf(const std::string& room, const SendDtmfOptions& o) {
  json body{{"sessionId", o.sessionId}, {"tones", o.tones}};
  if (!o.method.empty()) body["method"] = o.method;
  if (o.digitDuration) body["digitDurationMs"] = o.digitDuration->count();
  impl_->perform("POST", "/rooms/" + impl_->escape(room) + "/dialOut/sendDTMF", body);
}

Webhook RestClient::createWebhook(const WebhookOptions& o) { return toWebhook(impl_->perform("POST", "/webhooks", webhookBody(o))); }

std::vector<Webhook> RestClient::listWebhooks() {
  const json j = impl_->perform("GET", "/webhooks", nullptr);
  std::vector<Webhook> out;
  for (const auto& w : j.is_array() ? j : j.value("data", json::array())) out.push_back(toWebhook(w));
  return out;
}

Webhook RestClient::getWebhook(const std::string& uuid) {
  return toWebhook(impl_->perform("GET", "/webhooks/" + impl_->escape(uuid), nullptr));
}

Webhook RestClient::updateWebhook(const std::string& uuid, const WebhookOptions& o) {
  return toWebhook(impl_->perform("POST", "/webhooks/" + impl_->escape(uuid), webhookBody(o)));
}

void RestClient::deleteWebhook(const std::string& uuid) { impl_->perform("DELETE", "/webhooks/" + impl_->escape(uuid), nullptr); }

json RestClient::request(const std::string& method, const std::string& path, const json& body) {
  if (path.empty() || path.front() != '/') throw Error(ErrorCode::InvalidArgument, "request(): path must start with '/'");
  return impl_->perform(method, path, body);
}

std::future<Room> RestClient::createRoomAsync(CreateRoomOptions o) {
  return impl_->async<Room>([this, o] { return createRoom(o); });
}
std::future<Room> RestClient::getRoomAsync(std::string name) {
  return impl_->async<Room>([this, name] { return getRoom(name); });
}
std::future<RoomList> RestClient::listRoomsAsync() { return impl_->async<RoomList>([this] { return listRooms(); }); }
std::future<void> RestClient::deleteRoomAsync(std::string name) {
  return impl_->async<void>([this, name] { deleteRoom(name); });
}
std::future<std::string> RestClient::createMeetingTokenAsync(MeetingTokenProperties p) {
  return impl_->async<std::string>([this, p] { return createMeetingToken(p); });
}
std::future<void> RestClient::sipReferAsync(std::string room, SipReferOptions o) {
  return impl_->async<void>([this, room, o] { sipRefer(room, o); });
}
std::future<void> RestClient::sipCallTransferAsync(std::string room, SipCallTransferOptions o) {
  return impl_->async<void>([this, room, o] { sipCallTransfer(room, o); });
}
std::future<DialOutSession> RestClient::startDialOutAsync(std::string room, StartDialOutOptions o) {
  return impl_->async<DialOutSession>([this, room, o] { return startDialOut(room, o); });
}
std::future<void> RestClient::stopDialOutAsync(std::string room, StopDialOutOptions o) {
  return impl_->async<void>([this, room, o] { stopDialOut(room, o); });
}
std::future<json> RestClient::requestAsync(std::string method, std::string path, json body) {
  return impl_->async<json>([this, method, path, body] { return request(method, path, body); });
}

}  // namespace daily

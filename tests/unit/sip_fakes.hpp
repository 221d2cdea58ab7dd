#pragma once

// Fakes for unit tests of the SIP layers without a wire: a transport that records what is sent (and when, on the
// manual clock) and lets a test make messages arrive, and timers on a clock that moves only when told.

#include "sip/message.hpp"
#include "sip/timers.hpp"
#include "sip/transport.hpp"

#include <chrono>
#include <functional>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace daily::devserver::sip::testing {

using namespace std::chrono_literals;

/// Timers on a manual clock: advance() fires what falls due, in order, moving now() to each timer's time.
class ManualTimers final : public Timers {
 public:
  Id start(std::chrono::milliseconds after, std::function<void()> fire) override {
    const Id id = next_++;
    due_.emplace(std::pair{now_ + after, id}, std::move(fire));
    return id;
  }
  void cancel(Id id) override {
    for (auto it = due_.begin(); it != due_.end(); ++it)
      if (it->first.second == id) return void(due_.erase(it));
  }
  Clock::time_point now() const override { return now_; }

  void advance(std::chrono::milliseconds by) {
    const auto until = now_ + by;
    while (!due_.empty() && due_.begin()->first.first <= until) {
      auto it = due_.begin();
      now_ = it->first.first;
      auto fire = std::move(it->second);
      due_.erase(it);
      fire();
    }
    now_ = until;
  }
  std::size_t pending() const { return due_.size(); }
  /// Milliseconds since the clock's start.
  long long elapsed() const { return std::chrono::duration_cast<std::chrono::milliseconds>(now_ - start_).count(); }

 private:
  Clock::time_point start_ = Clock::time_point() + std::chrono::hours(1);
  Clock::time_point now_ = start_;
  Id next_ = 1;
  std::map<std::pair<Clock::time_point, Id>, std::function<void()>> due_;
};

/// A transport that sends nothing anywhere: it keeps every message with the manual clock's time.
class FakeTransport final : public Transport {
 public:
  struct Sent {
    std::string wire;
    Flow to;
    long long at;  // ms on the manual clock
  };
  explicit FakeTransport(const ManualTimers& clock) : clock_(clock) {}

  bool reliable(Protocol protocol) const override { return reliable_ || protocol != Protocol::Udp; }
  std::string localHostPort(Protocol) const override { return "127.0.0.1:5060"; }
  void setReliable(bool reliable) { reliable_ = reliable; }
  /// A message arrives from `from`, as the socket would hand it up.
  void arrive(std::string_view message, const Flow& from) { deliver(message, from); }

  std::vector<Sent> sent;
  /// The last message sent, parsed.
  MessagePtr last() const { return sent.empty() ? nullptr : parse(sent.back().wire, nullptr); }
  std::vector<long long> times() const {
    std::vector<long long> out;
    for (const auto& s : sent) out.push_back(s.at);
    return out;
  }

 protected:
  Written write(const std::string& wire, const Flow& to, std::string*, OnError onError) override {
    sent.push_back({wire, to, clock_.elapsed()});
    if (onError) errors.push_back(std::move(onError));
    return Written::Sent;
  }

 public:
  /// The OnError of each message sent with one: a test calls it to play a transport failure.
  std::vector<OnError> errors;

 protected:

 private:
  const ManualTimers& clock_;
  bool reliable_ = false;
};

inline Flow peerFlow(std::uint16_t port = 5070, const std::string& host = "127.0.0.1") {
  return *flowTo(host, port);
}

/// A request from the peer at 127.0.0.1:5070, as text.
inline std::string requestText(const std::string& method, const std::string& branch, std::uint32_t cseq = 1,
                               const std::string& toTag = "", const std::string& extraHeaders = "",
                               const std::string& callId = "call-1@127.0.0.1") {
  return method + " sip:room@127.0.0.1:5060 SIP/2.0\r\n"
         "Via: SIP/2.0/UDP 127.0.0.1:5070;branch=" + branch + ";rport\r\n"
         "Max-Forwards: 70\r\n"
         "From: <sip:alice@127.0.0.1:5070>;tag=peer\r\n"
         "To: <sip:room@127.0.0.1:5060>" + (toTag.empty() ? "" : ";tag=" + toTag) + "\r\n"
         "Call-ID: " + callId + "\r\n"
         "CSeq: " + std::to_string(cseq) + " " + method + "\r\n"
         "Contact: <sip:alice@127.0.0.1:5070>\r\n" + extraHeaders +
         "Content-Length: 0\r\n\r\n";
}

/// The peer's response to a message we sent, as text.
inline std::string responseTo(const std::string& requestWire, int status, const std::string& toTag = "peer") {
  auto request = parse(requestWire, nullptr);
  auto response = newResponse(request.get(), status, toTag);
  return serialize(response.get());
}

}  // namespace daily::devserver::sip::testing

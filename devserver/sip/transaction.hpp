#pragma once

// The transaction layer (RFC 3261 §17, with RFC 6026's fixes). Client transactions retransmit on unreliable
// transports (T1 doubling, capped at T2 for non-INVITE; an INVITE stops at its first provisional), give up after
// Timer B/F, ACK a non-2xx final response, and linger to absorb repeated finals; an INVITE's repeated 2xx goes up
// for the dialog to ACK. Server transactions are matched on branch, sent-by and method (§17.2.3), remember their
// last response and repeat it to a retransmitted request; an INVITE's non-2xx final is retransmitted until its
// ACK (Timer G), which the transaction absorbs. Everything else (new requests, ACKs of 2xx, responses no
// transaction takes) goes up to the transaction user. Parsing and the stateless 400 for malformed requests
// happen here too.

#include "sip/message.hpp"
#include "sip/timers.hpp"
#include "sip/transport.hpp"

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>

namespace daily::devserver::sip {

struct TransactionConfig {
  /// RFC 3261 T1 (RTT estimate) and T2 (cap of non-INVITE retransmission intervals).
  std::chrono::milliseconds t1{500};
  std::chrono::milliseconds t2{4000};
  /// Timers B/F/H/J: how long a transaction waits for its final answer, and how long a finished one lingers
  /// (RFC 3261: 64*T1 = 32 s).
  std::chrono::milliseconds timeout{32000};
};

/// Why a client transaction ended without a final response.
enum class Failure {
  Timeout,    // Timer B/F: no final response in time
  Transport,  // the transport could not deliver the request (TCP: refused, broken or dropped connection)
};

class TransactionLayer {
 public:
  /// The longest request sent over UDP (RFC 3261 §18.1.1: 1300 bytes when the path MTU is unknown).
  static constexpr std::size_t kMaxUdpRequest = 1300;
  struct ClientTransaction;
  struct ServerTransaction;
  /// What a transaction user keeps of a client transaction: enough to abandon it, never to keep it alive.
  using ClientHandle = std::weak_ptr<ClientTransaction>;
  using OnResponse = std::function<void(osip_message_t* response)>;  // every provisional, then the first final
  using OnFailure = std::function<void(Failure)>;
  using Decorate = std::function<void(osip_message_t* response)>;

  /// The transaction user: news comes up through these, on the SIP thread.
  struct User {
    /// A request that is not a retransmission (ACKs included), already checked by sip::parse().
    std::function<void(MessagePtr request, const Flow& from)> request;
    /// A response no client transaction consumes: a 2xx to our INVITE after the first (RFC 6026: the dialog
    /// ACKs each one), or one that matches no transaction. Never answered here.
    std::function<void(osip_message_t* response, const Flow& from)> response;
  };

  TransactionLayer(Transport& transport, Timers& timers, TransactionConfig config);
  ~TransactionLayer();
  TransactionLayer(const TransactionLayer&) = delete;
  TransactionLayer& operator=(const TransactionLayer&) = delete;

  void setUser(User user) { user_ = std::move(user); }
  const TransactionConfig& config() const { return config_; }
  Transport& transport() { return transport_; }
  Timers& timers() { return timers_; }

  /// A message from the transport: parsed, matched to a transaction, or handed to the user.
  void receive(std::string_view wire, const Flow& from);

  /// Starts a client transaction for request (its top Via's branch names it) toward `to`. onResponse gets every
  /// provisional and the first final response; onFailure is called instead, once, when no final response came in
  /// time or the transport could not deliver the request.
  /// §18.1.1: a request for UDP longer than kMaxUdpRequest goes over TCP to the same address and port instead, its
  /// top Via saying TCP (the path MTU is not known); when that connection cannot be made or breaks before an
  /// answer, it goes over UDP after all. A CANCEL goes where its INVITE went, with that INVITE's Via (§9.1).
  ClientHandle request(osip_message_t* request, const Flow& to, OnResponse onResponse, OnFailure onFailure);
  /// Ends a client transaction without an answer, silently: a late response to it is then ignored.
  void abandon(const ClientHandle& handle);

  /// Sends (and remembers) a response of the server transaction of request, creating the transaction on its
  /// first response; decorate adds to the response before it is serialised. A final response to a request
  /// without a To tag gets toTag, or a new tag when toTag is empty (§8.2.6.2). Returns what was sent.
  std::string respond(osip_message_t* request, const Flow& peer, int status, const std::string& toTag,
                      const Decorate& decorate = {});
  /// The server transaction of request (which must have responded) keeps it: an INVITE's, so that a CANCEL
  /// can be answered and the INVITE answered later.
  void keep(MessagePtr request);
  /// The request kept by the server transaction named key, or null.
  osip_message_t* kept(const std::string& key) const;
  /// Whether a server transaction named key exists (it has responded and not yet expired).
  bool hasServer(const std::string& key) const { return servers_.count(key) != 0; }
  /// The name of the server transaction a request belongs to (§17.2.3): its top Via's branch and sent-by, and
  /// its method, or `as` instead (a CANCEL names its INVITE's with "INVITE"); an ACK's is its INVITE's.
  static std::string serverKey(const osip_message_t* request, const char* as = nullptr);
  /// The name of the client transaction a response (or our request) belongs to: top branch and CSeq method.
  static std::string clientKey(const osip_message_t* message);

  /// Abandons every transaction: no callbacks afterwards.
  void clear();
  std::size_t clientCount() const { return clients_.size(); }
  std::size_t serverCount() const { return servers_.size(); }

 private:
  void onResponse(MessagePtr response, const Flow& from);
  void retransmit(ClientTransaction& tx);
  void retransmitFinal(ServerTransaction& tx, std::chrono::milliseconds interval);
  std::string viaOver(const std::string& wire, Protocol protocol) const;
  void undelivered(const std::string& key, const std::string& why);
  void timedOut(const std::string& key);
  void failed(const std::string& key, Failure why, const std::string& detail);
  void answerMalformed(std::string_view wire, const Flow& from, const std::string& why);
  std::string ackForFailure(osip_message_t* response, const std::string& inviteWire);

  Transport& transport_;
  Timers& timers_;
  TransactionConfig config_;
  User user_;
  std::map<std::string, std::shared_ptr<ClientTransaction>> clients_;  // branch|method
  std::map<std::string, std::shared_ptr<ServerTransaction>> servers_;  // branch|method
};

}  // namespace daily::devserver::sip

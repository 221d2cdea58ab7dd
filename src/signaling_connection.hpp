#pragma once

#include "common/room_url.hpp"

#include <daily/options.hpp>

#include <functional>
#include <memory>
#include <string>

namespace daily::detail {

/// One signaling websocket (ws:// or wss://) on the process's network thread. Thread-safe.
/// Handlers run on the network thread; onClosed runs at most once, whether the connection failed to open
/// or closed later, and never after close() was called.
class SignalingConnection {
 public:
  struct Handlers {
    std::function<void()> onOpen;
    std::function<void(std::string&& text)> onMessage;
    /// A binary frame (audio, docs/protocol.md); frames are dropped when this is not set.
    std::function<void(std::string&& bytes)> onBinary;
    /// retryable: the connection failed or was lost in a way a new connection may fix (network errors, the
    /// server going away or restarting), as opposed to the server closing it on purpose.
    std::function<void(const std::string& reason, bool retryable)> onClosed;
  };

  /// Starts connecting to url.signalingUrl.
  static std::shared_ptr<SignalingConnection> open(const RoomUrl& url, const CallClientOptions& options,
                                                   Handlers handlers);

  virtual ~SignalingConnection() = default;
  /// Writes one text frame from the calling thread (dropped when the connection is not open).
  virtual void send(std::string text) = 0;
  /// Writes one binary frame from the calling thread (dropped when the connection is not open, or when more than
  /// maxBacklog bytes are still unsent: audio is worth nothing late).
  virtual void sendBinary(std::string bytes, std::size_t maxBacklog) = 0;
  /// Flow control: stops reading from the socket (TCP then holds the server back). Only from onMessage, on the
  /// network thread; the frames already read are still handed to onMessage.
  virtual void pauseReading() = 0;
  /// Reads again after pauseReading(), from any thread; does nothing when reading is not paused.
  virtual void resumeReading() = 0;
  /// Closes (or abandons a connection attempt) without calling onClosed.
  virtual void close() = 0;
};

}  // namespace daily::detail

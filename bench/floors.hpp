#pragma once

// The floors every figure is compared to, measured in the same run: what websocketpp and a UDP socket can do
// on this machine's loopback with no SDK in the way.

#include <cstddef>
#include <string>
#include <vector>

namespace daily::bench {

struct Percentiles {
  double p50 = 0;  // microseconds
  double p99 = 0;
  double mean = 0;
};

Percentiles percentiles(std::vector<double> micros);

/// A raw websocketpp client <-> server round trip of a ~200-byte JSON text frame, each side on its own thread.
Percentiles rawWebsocketRoundTrip(int iterations);
/// Raw websocketpp frames per second, server to client, pipelined (the client counts them).
double rawWebsocketFramesPerSecond(int frames);
/// A raw UDP round trip of a SIP-sized (~800-byte) datagram on loopback, each side on its own thread.
Percentiles rawUdpRoundTrip(int iterations);

/// A ~200-byte JSON text frame like the SDK's events.
std::string sampleFrame();

}  // namespace daily::bench

#pragma once

// The floors every figure is compared to, measured in the same run: what websocketpp and a UDP socket can do
// on this machine's loopback with no SDK in the way.

#include <sched.h>

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
/// A raw UDP round trip of a SIP-sized (~800-byte) datagram on loopback, each side on its own thread. With
/// `apart` (and two CPUs or more), the two threads are pinned to different CPUs: left to the scheduler they share
/// one in about a third of runs on a 2-vCPU VM, and the round trip is then a same-CPU hand-off (~16 us, not ~80).
Percentiles rawUdpRoundTrip(int iterations, bool apart = false);

/// While it lives, every thread of this process, and the threads and processes they start, run on one CPU only
/// (everything on one core: no cross-CPU wake-ups, only the work itself). Afterwards every thread of the process
/// may run on the CPUs the process had before.
class OnOneCpu {
 public:
  OnOneCpu();
  ~OnOneCpu();
  OnOneCpu(const OnOneCpu&) = delete;
  OnOneCpu& operator=(const OnOneCpu&) = delete;

 private:
  cpu_set_t before_{};
};

/// A ~200-byte JSON text frame like the SDK's events.
std::string sampleFrame();

}  // namespace daily::bench

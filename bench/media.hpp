#pragma once

// The media benchmarks (bench/media.cpp).

namespace daily::bench {

/// Latency through the gateway, `samples` clicks each way: a caller's RTP to a bot's renderer, a bot's writeFrames
/// to the caller's RTP; beside the raw UDP round trip. Prints a table.
void mediaLatency(int samples);
/// `calls` sipp calls streaming PCMU into one room, a steady window of `seconds`: packets received, sent, late or
/// lost, and the devserver's CPU per call. Prints a table.
void mediaCalls(int calls, int seconds);

}  // namespace daily::bench

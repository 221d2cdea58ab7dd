#pragma once

namespace daily::detail {

/// Initialises OpenSSL once, without its atexit clean-up. Call before any other OpenSSL (or libcurl) use.
///
/// The SDK's network and dispatcher threads live until the process ends (see Runtime); OpenSSL's atexit handler
/// would free its global locks while the network thread may still be tearing down a TLS connection of a client
/// destroyed just before exit (ThreadSanitizer caught exactly that). The OS reclaims the memory instead.
void initOpenSsl();

}  // namespace daily::detail

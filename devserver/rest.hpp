#pragma once

// Daily's REST API, the subset the devserver serves, with Daily's shapes and bearer auth.

#include "hub.hpp"

#include <nlohmann/json.hpp>

#include <string>

namespace daily::devserver {

struct HttpRequest {
  std::string method;
  std::string path;   // without the query
  std::string query;  // after '?', may be empty
  std::string authorization;
  std::string body;
};

struct HttpResponse {
  int status = 200;
  nlohmann::json body = nlohmann::json::object();
};

/// Routes one request. Errors carry Daily's body: {"error": "<kind>", "info": "<what>"}.
HttpResponse handleRest(Hub& hub, const HttpRequest& request);

}  // namespace daily::devserver

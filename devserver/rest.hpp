#pragma once

// Daily's REST API, the subset the devserver serves, with Daily's shapes and bearer auth.

#include "hub.hpp"
#include "sip/gateway.hpp"
#include "webhooks.hpp"

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

struct RestContext {
  Hub& hub;
  Gateway& gateway;
  Webhooks& webhooks;
};

/// Routes one request and answers it through respond, at once or (telephony, webhook creation) later, on the
/// io thread. Errors carry Daily's body: {"error": "<kind>", "info": "<what>"}.
void handleRest(RestContext& context, const HttpRequest& request, std::function<void(HttpResponse)> respond);

}  // namespace daily::devserver

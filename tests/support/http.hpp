#pragma once

// A small libcurl helper for tests: the devserver's REST API, without the SDK's RestClient in the way.

#include <nlohmann/json.hpp>

#include <string>

namespace daily::test {

struct HttpResult {
  long status = 0;
  nlohmann::json body;
};

/// method GET/POST/DELETE on url with an optional bearer key and JSON body.
HttpResult http(const std::string& method, const std::string& url, const std::string& apiKey = {},
                const std::string& body = {});

}  // namespace daily::test

#include "http.hpp"

#include <curl/curl.h>

#include <stdexcept>

namespace daily::test {
namespace {

size_t collect(char* data, size_t size, size_t n, void* out) {
  static_cast<std::string*>(out)->append(data, size * n);
  return size * n;
}

}  // namespace

HttpResult http(const std::string& method, const std::string& url, const std::string& apiKey, const std::string& body) {
  CURL* curl = curl_easy_init();
  if (!curl) throw std::runtime_error("curl_easy_init failed");
  std::string response;
  curl_slist* headers = curl_slist_append(nullptr, "Content-Type: application/json");
  if (!apiKey.empty()) headers = curl_slist_append(headers, ("Authorization: Bearer " + apiKey).c_str());
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method.c_str());
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT, 10L);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, collect);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &response);
  if (!body.empty() || method == "POST") curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body.c_str());
  const CURLcode rc = curl_easy_perform(curl);
  HttpResult result;
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &result.status);
  curl_slist_free_all(headers);
  curl_easy_cleanup(curl);
  if (rc != CURLE_OK) throw std::runtime_error(std::string("HTTP request failed: ") + curl_easy_strerror(rc));
  result.body = nlohmann::json::parse(response, nullptr, false);
  return result;
}

}  // namespace daily::test

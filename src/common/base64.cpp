#include "common/base64.hpp"

#include <openssl/evp.h>

#include <vector>

namespace daily::detail {

std::string base64Encode(std::string_view bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3), '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(bytes.data()), static_cast<int>(bytes.size()));
  out.resize(static_cast<std::size_t>(n));
  return out;
}

std::optional<std::string> base64Decode(std::string_view text) {
  if (text.size() % 4 != 0) return std::nullopt;
  for (char c : text) {
    const bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' ||
                    c == '/' || c == '=';
    if (!ok) return std::nullopt;  // EVP_DecodeBlock skips whitespace silently; we do not accept it
  }
  std::size_t padding = 0;
  if (!text.empty() && text.back() == '=') ++padding;
  if (text.size() > 1 && text[text.size() - 2] == '=') ++padding;
  if (text.substr(0, text.size() - padding).find('=') != std::string_view::npos) return std::nullopt;
  std::string out(3 * (text.size() / 4), '\0');
  const int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(text.data()), static_cast<int>(text.size()));
  if (n < 0) return std::nullopt;
  out.resize(static_cast<std::size_t>(n) - padding);
  return out;
}

std::string base64UrlEncode(std::string_view bytes) {
  std::string out = base64Encode(bytes);
  while (!out.empty() && out.back() == '=') out.pop_back();
  for (char& c : out) {
    if (c == '+') c = '-';
    else if (c == '/') c = '_';
  }
  return out;
}

std::optional<std::string> base64UrlDecode(std::string_view text) {
  std::string standard(text);
  for (char& c : standard) {
    if (c == '-') c = '+';
    else if (c == '_') c = '/';
    else if (c == '+' || c == '/') return std::nullopt;
  }
  while (!standard.empty() && standard.back() == '=') standard.pop_back();
  if (standard.size() % 4 == 1) return std::nullopt;
  while (standard.size() % 4 != 0) standard.push_back('=');
  auto decoded = base64Decode(standard);
  // Refuse non-canonical encodings (non-zero padding bits): each byte string has exactly one text, so a token's
  // signature cannot be altered without changing the bytes it stands for.
  if (!decoded) return std::nullopt;
  std::string_view unpadded = text;
  while (!unpadded.empty() && unpadded.back() == '=') unpadded.remove_suffix(1);
  if (base64UrlEncode(*decoded) != unpadded) return std::nullopt;
  return decoded;
}

}  // namespace daily::detail
